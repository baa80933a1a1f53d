-- Password hashes (SCRAM-SHA-256 or md5 verifiers, never plain text) of the
-- roles that have one. Needs SELECT on pg_authid (a superuser); pgshift asks
-- has_table_privilege first and otherwise copies roles without passwords.
-- No parameters.
--   name     : role name
--   password : the stored verifier, copied verbatim
SELECT a.rolname AS name, a.rolpassword AS password
  FROM pg_catalog.pg_authid a
 WHERE a.rolpassword IS NOT NULL;
