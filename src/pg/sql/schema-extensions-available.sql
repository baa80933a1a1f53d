-- Which of the given extensions this server can install, and in which versions.
-- $1::text[] : extension names
--   name               : the extension asked about
--   available          : the server has its control file
--   default_version    : the version CREATE EXTENSION would install
--   versions           : every installable version
--   installed_version  : the version installed in the current database, if any
SELECT n.name,
       a.name IS NOT NULL AS available,
       a.default_version,
       ARRAY(SELECT v.version::text FROM pg_catalog.pg_available_extension_versions v WHERE v.name = n.name) AS versions,
       a.installed_version
  FROM unnest($1::text[]) AS n(name)
  LEFT JOIN pg_catalog.pg_available_extensions a ON a.name = n.name;
