-- How a database was created, so the target copy can be created alike.
-- $1::text : database name
--   encoding          : e.g. UTF8
--   collate, ctype    : libc locale names (LC_COLLATE / LC_CTYPE)
--   owner             : owning role name
SELECT pg_catalog.pg_encoding_to_char(d.encoding) AS encoding,
       d.datcollate AS collate,
       d.datctype AS ctype,
       pg_catalog.pg_get_userbyid(d.datdba) AS owner
  FROM pg_catalog.pg_database d
 WHERE d.datname = $1;
