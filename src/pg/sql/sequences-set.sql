-- Set many sequences in one round trip.
-- $1::text[] : qualified, quoted sequence names ("schema"."name")
-- $2::int8[] : last_value for each
-- $3::bool[] : is_called for each (false: the next nextval returns last_value itself)
SELECT count(pg_catalog.setval(s.name::regclass, s.last_value, s.is_called))::int AS set
  FROM unnest($1::text[], $2::int8[], $3::bool[]) AS s(name, last_value, is_called);
