-- The database-wide default_transaction_read_only setting, if any, so a
-- readonly fence can put back exactly what was there.
-- $1::text : database name
-- Zero or one row: value
SELECT split_part(s.cfg, '=', 2) AS value
  FROM pg_catalog.pg_db_role_setting rs
  JOIN pg_catalog.pg_database d ON d.oid = rs.setdatabase
 CROSS JOIN LATERAL unnest(rs.setconfig) AS s(cfg)
 WHERE d.datname = $1
   AND rs.setrole = 0
   AND s.cfg LIKE 'default\_transaction\_read\_only=%';
