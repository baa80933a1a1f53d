// How many replication slots, WAL senders, workers and replication origins a
// migration needs on each side, against what the servers allow and already
// use. Pure arithmetic over numbers `check` reads from the clusters.
//
// Forward replication (source -> target), per database not yet replicating:
//   source: 1 logical slot and 1 WAL sender for the subscription, plus up to
//           max_sync_workers_per_subscription (the target's) more of each while
//           tables copy (each table-sync worker has its own slot and sender);
//   target: 1 apply worker, plus the table-sync workers, all counted against
//           max_logical_replication_workers and max_worker_processes (with the
//           launcher); 1 replication origin per subscription, a pool sized by
//           max_replication_slots before PostgreSQL 18 and by
//           max_active_replication_origins from 18 on.
// Reverse replication (target -> source, started at switchover for rollback),
// per database: the same with the sides swapped, without table-sync workers
// (nothing is copied). Short of the minimum is a fail; short of the amount for
// a parallel initial copy or for reverse replication is a warning.

import type { Severity } from '../events.js';
import { featuresOf } from '../pg/version.js';

export interface SideUsage {
  major: number;
  /** Numeric server settings by name. */
  settings: Record<string, number>;
  /** Replication slots that exist now (active or not: they all take a place). */
  slots: number;
  walSenders: number;
  /** Processes counted against max_worker_processes now. */
  bgWorkers: number;
  launcherRunning: boolean;
  /** Subscriptions in the cluster (each holds a replication origin). */
  subscriptions: number;
  /** Enabled subscriptions (each runs an apply worker). */
  enabledSubscriptions: number;
}

export interface CapacityInput {
  /** Databases of this migration whose forward replication does not exist yet. */
  pending: number;
  /** Databases that will replicate back at switchover (0 when reverse is off). */
  reverse: number;
  /** The target's max_sync_workers_per_subscription. */
  syncWorkers: number;
  source: SideUsage;
  target: SideUsage;
}

export type CapacityResource = 'slots' | 'origins' | 'wal senders' | 'workers';

export interface CapacityRow {
  side: 'source' | 'target';
  setting: string;
  /** What the setting limits here (max_replication_slots limits slots and, before 18, origins). */
  resource: CapacityResource;
  have: number;
  inUse: number;
  /** Needed on top of inUse; below inUse + required is a fail. */
  required: number;
  /** Wanted on top of inUse for a parallel copy and reverse replication; below is a warning. */
  recommended: number;
  severity: Severity;
  /** What the needed amount is made of, for people. */
  why: string;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function row(side: CapacityRow['side'], setting: string, resource: CapacityResource, u: SideUsage, inUse: number, required: number, recommended: number, parts: string[]): CapacityRow | undefined {
  if (required === 0 && recommended === 0) return undefined;
  const have = u.settings[setting] ?? 0;
  const rec = Math.max(required, recommended);
  const severity: Severity = have < inUse + required ? 'fail' : have < inUse + rec ? 'warn' : 'ok';
  return { side, setting, resource, have, inUse, required, recommended: rec, severity, why: parts.filter(Boolean).join(' + ') };
}

export function capacityRows(i: CapacityInput): CapacityRow[] {
  const { pending, reverse, syncWorkers: sync } = i;
  const copy = pending * sync;
  const out: (CapacityRow | undefined)[] = [];
  const s = i.source;
  const t = i.target;
  const copyPart = (what: string): string => (copy ? `${plural(copy, what)} for table sync during the initial copy` : '');

  // Source: publisher now, subscriber after switchover.
  out.push(row('source', 'max_replication_slots', 'slots', s, s.slots, pending, pending + copy,
    [pending ? plural(pending, 'slot') + ' for replication' : '', copyPart('slot')]));
  out.push(row('source', 'max_wal_senders', 'wal senders', s, s.walSenders, pending, pending + copy,
    [pending ? plural(pending, 'WAL sender') + ' for replication' : '', copyPart('WAL sender')]));
  if (reverse > 0) {
    const originSetting = featuresOf(s.major).activeReplicationOrigins ? 'max_active_replication_origins' : 'max_replication_slots';
    out.push(row('source', originSetting, 'origins', s, s.subscriptions, 0, reverse,
      [plural(reverse, 'replication origin') + ' for reverse replication']));
    out.push(row('source', 'max_logical_replication_workers', 'workers', s, s.enabledSubscriptions, 0, reverse,
      [plural(reverse, 'apply worker') + ' for reverse replication']));
    const launcher = s.launcherRunning ? 0 : 1;
    out.push(row('source', 'max_worker_processes', 'workers', s, s.bgWorkers, 0, reverse + launcher,
      [plural(reverse, 'apply worker') + ' for reverse replication', launcher ? 'the replication launcher' : '']));
  }

  // Target: subscriber now, publisher after switchover.
  const originSetting = featuresOf(t.major).activeReplicationOrigins ? 'max_active_replication_origins' : 'max_replication_slots';
  out.push(row('target', originSetting, 'origins', t, t.subscriptions, pending, pending,
    [pending ? plural(pending, 'replication origin') + ' for the subscription' + (pending === 1 ? '' : 's') : '']));
  out.push(row('target', 'max_logical_replication_workers', 'workers', t, t.enabledSubscriptions, pending, pending + copy,
    [pending ? plural(pending, 'apply worker') : '', copyPart('worker')]));
  const launcher = t.launcherRunning ? 0 : 1;
  out.push(row('target', 'max_worker_processes', 'workers', t, t.bgWorkers, pending ? pending + launcher : 0, pending || copy ? pending + copy + launcher : 0,
    [pending ? plural(pending, 'apply worker') : '', copyPart('worker'), launcher && pending ? 'the replication launcher' : '']));
  if (reverse > 0) {
    out.push(row('target', 'max_replication_slots', 'slots', t, t.slots, 0, reverse,
      [plural(reverse, 'slot') + ' for reverse replication']));
    out.push(row('target', 'max_wal_senders', 'wal senders', t, t.walSenders, 0, reverse,
      [plural(reverse, 'WAL sender') + ' for reverse replication']));
  }
  return out.filter((r): r is CapacityRow => r !== undefined);
}
