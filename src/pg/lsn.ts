// LSN arithmetic. An LSN is a 64-bit WAL position printed as two hex halves,
// "16/B374D848"; differences are byte counts.

export type Lsn = bigint;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new TypeError(`not an LSN: "${text}"`);
  return (BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2]);
}

export function formatLsn(lsn: Lsn): string {
  const hi = lsn >> 32n;
  const lo = lsn & 0xffffffffn;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

/** Bytes from b to a (a - b), never negative. */
export function lsnDiff(a: Lsn | string, b: Lsn | string): bigint {
  const x = typeof a === 'string' ? parseLsn(a) : a;
  const y = typeof b === 'string' ? parseLsn(b) : b;
  return x > y ? x - y : 0n;
}

export function lsnGte(a: Lsn | string, b: Lsn | string): boolean {
  const x = typeof a === 'string' ? parseLsn(a) : a;
  const y = typeof b === 'string' ? parseLsn(b) : b;
  return x >= y;
}
