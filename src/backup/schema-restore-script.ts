/**
 * Objects outside a schema that depend directly on something inside it (a view over one of its
 * tables, a foreign key into it, a column of one of its types): what `DROP SCHEMA … CASCADE` would
 * destroy beyond the schema. `$1` is the schema's name. Inside means: the schema, every object in
 * it, what hangs off its relations (triggers, policies, rules, defaults), the operator-family
 * members of its operator families, and the member objects of the extensions installed in it
 * (their casts, say). Only direct dependents are needed: the cascade reaches anything further out
 * through one of them. Runs with search_path = pg_catalog, so every name comes out qualified.
 */
const OUTSIDE_DEPENDENTS = `
WITH target AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1),
relations AS (SELECT c.oid FROM pg_catalog.pg_class c JOIN target t ON c.relnamespace = t.oid),
inside (classid, objid) AS (
          SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, t.oid FROM target t
UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, r.oid FROM relations r
UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_type o JOIN target t ON o.typnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_proc o JOIN target t ON o.pronamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_constraint o JOIN target t ON o.connamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_operator o JOIN target t ON o.oprnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_opclass'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_opclass o JOIN target t ON o.opcnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_opfamily o JOIN target t ON o.opfnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_collation o JOIN target t ON o.collnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_conversion o JOIN target t ON o.connamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_statistic_ext o JOIN target t ON o.stxnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_ts_config o JOIN target t ON o.cfgnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_ts_dict o JOIN target t ON o.dictnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_ts_parser'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_ts_parser o JOIN target t ON o.prsnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_ts_template'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_ts_template o JOIN target t ON o.tmplnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_extension o JOIN target t ON o.extnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_trigger o JOIN relations r ON o.tgrelid = r.oid
UNION ALL SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_policy o JOIN relations r ON o.polrelid = r.oid
UNION ALL SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_rewrite o JOIN relations r ON o.ev_class = r.oid
UNION ALL SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, o.oid FROM pg_catalog.pg_attrdef o JOIN relations r ON o.adrelid = r.oid
UNION ALL SELECT 'pg_catalog.pg_amop'::pg_catalog.regclass, o.oid
            FROM pg_catalog.pg_amop o JOIN pg_catalog.pg_opfamily f ON o.amopfamily = f.oid JOIN target t ON f.opfnamespace = t.oid
UNION ALL SELECT 'pg_catalog.pg_amproc'::pg_catalog.regclass, o.oid
            FROM pg_catalog.pg_amproc o JOIN pg_catalog.pg_opfamily f ON o.amprocfamily = f.oid JOIN target t ON f.opfnamespace = t.oid
UNION ALL SELECT d.classid, d.objid
            FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON d.refobjid = e.oid JOIN target t ON e.extnamespace = t.oid
           WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
)
SELECT pg_catalog.array_agg(DISTINCT CASE WHEN d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
         THEN pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, (SELECT ev_class FROM pg_catalog.pg_rewrite WHERE oid = d.objid), 0)
         ELSE pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) END)
  FROM pg_catalog.pg_depend d
  JOIN inside i ON d.refclassid = i.classid AND d.refobjid = i.objid
 WHERE d.deptype IN ('n', 'a')
   AND NOT EXISTS (SELECT 1 FROM inside j WHERE j.classid = d.classid AND j.objid = d.objid)`

// Dependents named in the error before "and N more".
const NAMED_DEPENDENTS = 10

/**
 * Sent to psql before the SQL pg_restore makes of a one-schema dump, in the same transaction:
 * drops the schema (and everything in it, the extensions installed in it too) so that the restore
 * recreates exactly what was dumped and removes what was created after the backup. Everything
 * outside the schema is left as it is; if anything outside depends on the schema, the cascade
 * would destroy it, so the restore stops there (nothing changed) naming those objects.
 *
 * The name travels hex-encoded, so no quoting of it can go wrong inside the DO block.
 */
export function schemaRestorePrelude (schema: string): string {
  const hex = Buffer.from(schema, 'utf8').toString('hex')
  return `BEGIN;
SET LOCAL client_min_messages = error;
SET LOCAL statement_timeout = 0;
SET LOCAL search_path = pg_catalog;
DO $migration_deployer_restore$
DECLARE
    target text := pg_catalog.convert_from(pg_catalog.decode('${hex}', 'hex'), 'UTF8');
    outside text[];
    named text;
BEGIN
    EXECUTE $dependents$${OUTSIDE_DEPENDENTS}$dependents$ INTO outside USING target;
    IF pg_catalog.cardinality(outside) > 0 THEN
        named := pg_catalog.array_to_string(outside[1:${NAMED_DEPENDENTS}], ', ')
              || CASE WHEN pg_catalog.cardinality(outside) > ${NAMED_DEPENDENTS}
                      THEN pg_catalog.format(' and %s more', pg_catalog.cardinality(outside) - ${NAMED_DEPENDENTS}) ELSE '' END;
        RAISE EXCEPTION 'schema % cannot be restored on its own: objects outside it depend on it and would be dropped with it: %',
                        pg_catalog.quote_ident(target), named
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'drop those objects, or make them independent of the schema, then restore again';
    END IF;
    EXECUTE pg_catalog.format('DROP SCHEMA IF EXISTS %I CASCADE', target);
END
$migration_deployer_restore$;
`
}
