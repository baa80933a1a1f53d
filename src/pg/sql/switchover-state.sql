-- pgshift's switchover bookkeeping, kept in the maintenance database of the
-- cluster whose writes are paused, so it survives a crash of pgshift: which
-- database is fenced, how, and exactly what to give back (revoked CONNECT
-- grants, the previous read-only setting), and where replication the other way
-- starts (the receiving side's WAL position at the commit point).
-- No parameters. Idempotent, and safe to run from several sessions at once:
-- CREATE ... IF NOT EXISTS is not (two sessions both find nothing, and the
-- second fails on pg_namespace's unique index), so the statements below run
-- under one transaction-level advisory lock (pgshift's key 1 "pgsh", key 2
-- 0: its bookkeeping schema). Sent as one simple query, they are one
-- transaction: a second session waits, then finds what the first made.
-- The ALTER TABLE at the end gives a table an older pgshift made the
-- opposite_from column.
SELECT pg_catalog.pg_advisory_xact_lock(1885827944, 0);
CREATE SCHEMA IF NOT EXISTS pgshift;
CREATE TABLE IF NOT EXISTS pgshift.switchover_fence (
  database    text PRIMARY KEY,
  direction   text NOT NULL,          -- 'switchover' (source fenced) or 'rollback' (target fenced)
  method      text NOT NULL,          -- pgbouncer | revoke | readonly | command
  phase       text NOT NULL,          -- pausing | paused | committed | done
  revoked     jsonb NOT NULL DEFAULT '[]',   -- [{"grantee": "role" | null (PUBLIC), "grantable": bool}]
  readonly_before text,               -- previous default_transaction_read_only of the database, NULL if unset
  started_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  opposite_from pg_lsn                -- set at the commit point: replication the other way skips what committed before it
);
ALTER TABLE pgshift.switchover_fence ADD COLUMN IF NOT EXISTS opposite_from pg_lsn;
