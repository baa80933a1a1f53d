-- COPY commands running in the current database (PostgreSQL 14+): the
-- subscription's tablesync workers show their initial copy here.
-- No parameters.
-- One row per COPY: relid (target table OID), rows, bytes, bytes_total (0 when unknown)
SELECT relid::int8 AS relid,
       tuples_processed::int8 AS rows,
       bytes_processed::int8 AS bytes,
       bytes_total::int8 AS bytes_total
  FROM pg_catalog.pg_stat_progress_copy
 WHERE datname = pg_catalog.current_database();
