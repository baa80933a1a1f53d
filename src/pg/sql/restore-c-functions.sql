-- C-language functions of the current database that belong to no
-- extension: the target must load their shared library, built for its own
-- major version. An extension's functions are checked as extensions are
-- (installed on the target from its own package).
-- No parameters.
--   signature : schema.name(argument types), unquoted, e.g. public.autoinc()
--   library   : pg_proc.probin as the source has it ($libdir/name, a bare name, or an absolute path)
SELECT pg_catalog.format('%s.%s(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS signature,
       p.probin AS library
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE l.lanname = 'c'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
                      AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e')
 ORDER BY p.probin, 1;
