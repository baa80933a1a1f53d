-- Record that pgshift sets a table's replica identity, before it does. A table
-- recorded already keeps its first original (a re-run sees pgshift's own
-- setting); what pgshift sets is updated.
-- $1::text : the migrated database    $2::oid : its OID
-- $3::oid  : the table's OID           $4::text, $5::text : its schema and name
-- $6::text : its identity now (d n f i) $7::text : its identity index now, or NULL
-- $8::text : what pgshift sets (f i)   $9::text : the index it sets, or NULL
INSERT INTO pgshift.replica_identity
       (database, datoid, relid, schema_name, table_name, original, original_index, set_to, set_index)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (database, relid) DO UPDATE
   SET set_to = EXCLUDED.set_to, set_index = EXCLUDED.set_index,
       -- A record of another incarnation of the database (dropped and made again) is replaced whole.
       original = CASE WHEN pgshift.replica_identity.datoid = EXCLUDED.datoid THEN pgshift.replica_identity.original ELSE EXCLUDED.original END,
       original_index = CASE WHEN pgshift.replica_identity.datoid = EXCLUDED.datoid THEN pgshift.replica_identity.original_index ELSE EXCLUDED.original_index END,
       datoid = EXCLUDED.datoid;
