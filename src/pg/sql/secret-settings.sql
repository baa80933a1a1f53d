-- Settings that expose a statement's text, and whether this session may SET
-- them (15+: a superuser, a setting of context 'user', or GRANT SET ON PARAMETER).
-- $1::text[] : setting names; names the server does not have are left out
-- One row per known setting: name, setting (current value), may_set
SELECT s.name,
       s.setting,
--#if grantSetParameter
       (s.context = 'user' OR r.rolsuper OR pg_catalog.has_parameter_privilege(s.name, 'SET')) AS may_set
--#else
--|       (s.context = 'user' OR r.rolsuper) AS may_set
--#end
  FROM pg_catalog.pg_settings s
 CROSS JOIN (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) r
 WHERE s.name = ANY ($1::text[]);
