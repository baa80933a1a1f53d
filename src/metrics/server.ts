// The /metrics endpoint: node's http server, GET (or HEAD) /metrics only.
// "--metrics PORT" and "--metrics :PORT" bind to 127.0.0.1; a host given in
// full is bound as given: typing 0.0.0.0 or an interface's address is the
// explicit choice to be scraped from elsewhere (Prometheus usually runs on
// another host), and the CLI says when the address is not a loopback one.
// The page holds database names and numbers, never a connection string or a
// password, and nothing on it changes anything.

import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

export interface MetricsAddress {
  host: string;
  port: number;
}

export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** "9187", ":9187", "127.0.0.1:9187", "[::1]:9187", "localhost:9187", "0.0.0.0:0" (0: any free port). */
export function parseMetricsAddress(text: string): MetricsAddress {
  const bad = (why: string): never => {
    throw new UsageError(`--metrics: ${why}, found "${text}"`, {
      hint: 'Write HOST:PORT (127.0.0.1:9187, [::1]:9187, 0.0.0.0:9187 to be reachable from other hosts) or PORT alone for 127.0.0.1.',
    });
  };
  let host = DEFAULT_METRICS_HOST;
  let portText = text.trim();
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(portText);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
    if (isIP(host) !== 6) bad('expected an IPv6 address between the brackets');
  } else if (portText.includes(':')) {
    const i = portText.lastIndexOf(':');
    const h = portText.slice(0, i);
    portText = portText.slice(i + 1);
    if (h.includes(':')) bad('an IPv6 address goes between brackets, e.g. [::1]:9187');
    if (h !== '') host = h;
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) bad('expected a port number from 0 to 65535');
  if (host !== 'localhost' && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) bad('expected a host name or an IP address');
  return { host, port: Number(portText) };
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export class MetricsServer {
  private constructor(private readonly server: Server, readonly address: MetricsAddress) {}

  get url(): string {
    const h = isIP(this.address.host) === 6 ? `[${this.address.host}]` : this.address.host;
    return `http://${h}:${this.address.port}/metrics`;
  }

  /** Listen, or a usage error that says why not (the command has not started anything yet). */
  static async start(addr: MetricsAddress, render: () => string): Promise<MetricsServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('pgshift serves /metrics only\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      let body: string;
      try {
        body = render();
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`could not render the metrics: ${(e as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    // A scraper that connects and says nothing must not keep the command alive.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((e: NodeJS.ErrnoException) => {
      const where = `${addr.host}:${addr.port}`;
      const why = e.code === 'EADDRINUSE' ? 'the port is in use (another pgshift or exporter?): pick another one'
        : e.code === 'EADDRNOTAVAIL' ? 'that address is not one of this machine\'s'
          : e.code === 'EACCES' ? 'not allowed to listen there (ports below 1024 need privileges)'
            : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'the host name does not resolve'
              : e.message;
      throw new UsageError(`--metrics ${where}: cannot listen: ${why}`, { hint: 'Nothing was started. Choose a free port, e.g. --metrics 127.0.0.1:9187.', cause: e });
    });
    server.unref();
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : addr.port;
    return new MetricsServer(server, { host: addr.host, port });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
