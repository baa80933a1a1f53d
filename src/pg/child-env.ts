// The PGSHIFT_SOURCE_* / PGSHIFT_TARGET_* environment a user's command gets
// (pgshift exec, the command pause method): both clusters' connection
// parameters, the password only here, never in an argument list.

import type { EndpointConfig } from '../config/config.js';
import { formatConninfo } from '../config/conninfo.js';
import type { Side } from './connect.js';

export function endpointEnv(side: Side, ep: EndpointConfig): Record<string, string> {
  const p = side === 'source' ? 'PGSHIFT_SOURCE_' : 'PGSHIFT_TARGET_';
  const env: Record<string, string> = {
    [`${p}CONNINFO`]: formatConninfo(ep.conn),
    [`${p}SYSTEM_IDENTIFIER`]: ep.systemIdentifier,
  };
  const keys: [string, string | undefined][] = [
    ['HOST', ep.conn.host ?? ep.conn.hostaddr], ['PORT', ep.conn.port], ['USER', ep.conn.user], ['DBNAME', ep.conn.dbname],
    ['SSLMODE', ep.conn.sslmode], ['PASSWORD', ep.password],
  ];
  for (const [k, v] of keys) if (v !== undefined) env[`${p}${k}`] = v;
  return env;
}
