-- Settings and current use of the resources logical replication needs, for
-- `pgshift check`. Readable without superuser (counts only).
-- $1::text[] : names of settings to return
-- One row:
--   settings          : json object name -> setting (text) for those of $1 that exist
--   wal_senders       : WAL sender processes running now
--   bg_workers        : processes counted against max_worker_processes (background,
--                       parallel and logical replication workers, the launcher)
--   launcher          : whether the logical replication launcher is running
--   subscriptions     : subscriptions in this cluster (each holds a replication origin)
--   enabled_subscriptions : of those, enabled ones (each runs an apply worker)
SELECT (SELECT pg_catalog.json_object_agg(s.name, s.setting)
          FROM pg_catalog.pg_settings s
         WHERE s.name = ANY ($1::text[])) AS settings,
       (SELECT count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.backend_type = 'walsender')::int AS wal_senders,
       (SELECT count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.backend_type IN ('background worker', 'parallel worker')
            OR a.backend_type LIKE 'logical replication %')::int AS bg_workers,
       EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                WHERE a.backend_type = 'logical replication launcher') AS launcher,
       (SELECT count(*) FROM pg_catalog.pg_subscription)::int AS subscriptions,
       (SELECT count(*) FROM pg_catalog.pg_subscription s WHERE s.subenabled)::int AS enabled_subscriptions;
