-- pgshift's record of the replica identities it changed, kept in the
-- maintenance database of each cluster (beside pgshift.switchover_fence, and
-- for the same reasons: it survives pgshift being killed, any later run on
-- any machine finds it, and it is not in the migrated database, where a
-- FOR ALL TABLES publication of the user's would publish it). One row per
-- table whose identity pgshift set; cleanup restores the original and
-- deletes the row.
-- No parameters. Idempotent, and safe to run from several sessions at once:
-- CREATE ... IF NOT EXISTS is not (two sessions both find nothing, and the
-- second fails on pg_namespace's unique index), so the statements below run
-- under one transaction-level advisory lock (pgshift's key 1 "pgsh", key 2
-- 0: its bookkeeping schema). Sent as one simple query, they are one
-- transaction: a second session waits, then finds what the first made.
SELECT pg_catalog.pg_advisory_xact_lock(1885827944, 0);
CREATE SCHEMA IF NOT EXISTS pgshift;
CREATE TABLE IF NOT EXISTS pgshift.replica_identity (
  database       text NOT NULL,         -- the migrated database
  datoid         oid NOT NULL,          -- its pg_database.oid: a database dropped and made again has another
  relid          oid NOT NULL,          -- the table's pg_class.oid in that database (survives a rename)
  schema_name    text NOT NULL,         -- its name when recorded, for messages
  table_name     text NOT NULL,
  original       text NOT NULL,         -- relreplident before pgshift changed it: d default, n nothing, f full, i index
  original_index text,                  -- the index, when original = 'i'
  set_to         text NOT NULL,         -- what pgshift set: f full, i index
  set_index      text,                  -- the index, when set_to = 'i'
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (database, relid)
);
