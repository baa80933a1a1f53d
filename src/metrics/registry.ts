// The Prometheus text exposition format (version 0.0.4), for the handful of
// gauges and counters pgshift exports: each metric with its HELP and TYPE
// lines, then one sample per label set. pgshift only ever sets values it
// read or measured (a counter here is PostgreSQL's own, not incremented by
// pgshift), so a registry of last values is all it needs.

export type MetricType = 'gauge' | 'counter';

export interface MetricDef {
  name: string;
  help: string;
  type: MetricType;
  /** Label names, in the order they are written. */
  labels: readonly string[];
}

/** HELP text: backslash and newline escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class Registry {
  private readonly defs = new Map<string, MetricDef>();
  private readonly samples = new Map<string, Map<string, { labels: Record<string, string>; value: number }>>();

  constructor(defs: readonly MetricDef[] = []) {
    for (const d of defs) this.define(d);
  }

  define(def: MetricDef): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(def.name)) throw new Error(`not a metric name: ${def.name}`);
    this.defs.set(def.name, def);
    this.samples.set(def.name, new Map());
  }

  private key(def: MetricDef, labels: Record<string, string>): string {
    for (const l of Object.keys(labels)) if (!def.labels.includes(l)) throw new Error(`${def.name} has no label ${l}`);
    return def.labels.map((l) => labels[l] ?? '').join('\u0000');
  }

  /** Set a sample; null or undefined removes it (an unknown value is absent, not zero). */
  set(name: string, labels: Record<string, string>, value: number | null | undefined): void {
    const def = this.defs.get(name);
    if (!def) throw new Error(`unknown metric ${name}`);
    const k = this.key(def, labels);
    if (value === null || value === undefined) this.samples.get(name)!.delete(k);
    else this.samples.get(name)!.set(k, { labels: { ...labels }, value });
  }

  get(name: string, labels: Record<string, string>): number | undefined {
    const def = this.defs.get(name);
    if (!def) return undefined;
    return this.samples.get(name)!.get(this.key(def, labels))?.value;
  }

  /** Remove every sample of a metric whose labels include these. */
  removeWhere(name: string, labels: Record<string, string>): void {
    const m = this.samples.get(name);
    if (!m) return;
    for (const [k, s] of m) if (Object.entries(labels).every(([l, v]) => s.labels[l] === v)) m.delete(k);
  }

  render(): string {
    const lines: string[] = [];
    for (const def of this.defs.values()) {
      lines.push(`# HELP ${def.name} ${escapeHelp(def.help)}`);
      lines.push(`# TYPE ${def.name} ${def.type}`);
      const rows = [...this.samples.get(def.name)!.values()].sort((a, b) => JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1);
      for (const s of rows) {
        const labels = def.labels.filter((l) => s.labels[l] !== undefined).map((l) => `${l}="${escapeLabelValue(s.labels[l]!)}"`);
        lines.push(`${def.name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
