-- pgshift's switchover bookkeeping, kept in the maintenance database of the
-- cluster whose writes are paused, so it survives a crash of pgshift: which
-- database is fenced, how, and exactly what to give back (revoked CONNECT
-- grants, the previous read-only setting).
-- No parameters. Idempotent.
CREATE SCHEMA IF NOT EXISTS pgshift;
CREATE TABLE IF NOT EXISTS pgshift.switchover_fence (
  database    text PRIMARY KEY,
  direction   text NOT NULL,          -- 'switchover' (source fenced) or 'rollback' (target fenced)
  method      text NOT NULL,          -- pgbouncer | revoke | readonly | command
  phase       text NOT NULL,          -- pausing | paused | committed | done
  revoked     jsonb NOT NULL DEFAULT '[]',   -- [{"grantee": "role" | null (PUBLIC), "grantable": bool}]
  readonly_before text,               -- previous default_transaction_read_only of the database, NULL if unset
  started_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
