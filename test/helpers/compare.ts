/** Schema comparison between a primary and the targets synced from it. */
import assert from 'node:assert/strict';
import { Cluster } from './cluster';

/**
 * Asserts that every standby has the primary's databases, each with the primary's schema as
 * `pg_dump --schema-only` prints it (the tool's own `ddl_sync` schema left out).
 */
export async function assertInStep(primary: Cluster, ...standbys: Cluster[]): Promise<void> {
  const dbs = await primary.databases();
  const dumps = new Map(dbs.map((db) => [db, primary.schemaDump(db)]));
  for (const s of standbys) {
    assert.deepEqual(await s.databases(), dbs, `databases of ${s.name}`);
    for (const db of dbs) assert.equal(s.schemaDump(db), dumps.get(db), `schema of ${db} on ${s.name}`);
  }
}

/** Catalog queries whose rows describe a database's schema on every major from 10 on. */
const CATALOG: Record<string, string> = {
  relations: `SELECT n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class') AS comment
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE %USER%`,
  columns: `SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
      pg_get_expr(d.adbin, d.adrelid) AS dflt
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND %USER%`,
  indexes: `SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid) AS def
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE %USER%`,
  constraints: `SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid) AS def
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE %USER%`,
  views: `SELECT n.nspname, c.relname, pg_get_viewdef(c.oid) AS def
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND %USER%`,
  functions: `SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result, p.prosrc
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE %USER%`,
  foreign: `SELECT c.relname, s.srvname, t.ftoptions::text AS options
    FROM pg_foreign_table t JOIN pg_class c ON c.oid = t.ftrelid JOIN pg_foreign_server s ON s.oid = t.ftserver`,
  servers: `SELECT s.srvname, w.fdwname, s.srvoptions::text AS options FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw`,
  extensions: `SELECT extname, extversion FROM pg_extension`,
  enums: `SELECT t.typname, e.enumsortorder, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid`,
};

const USER_OBJECTS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'ddl_sync') AND n.nspname NOT LIKE 'pg\\_to%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/**
 * The schema of every database and the roles of a cluster, read from the catalogs: for servers that
 * the installed pg_dump cannot dump (a newer major).
 */
export async function catalogOf(c: Cluster): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {
    databases: await c.databases(),
    roles: await c.query('postgres', "SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'postgres' ORDER BY 1"),
  };
  for (const db of out.databases as string[]) {
    for (const [what, sql] of Object.entries(CATALOG)) {
      const rows = await c.query(db, sql.replace('%USER%', USER_OBJECTS));
      out[`${db}.${what}`] = rows.map((r) => JSON.stringify(r)).sort();
    }
  }
  return out;
}

/** Asserts that every standby's catalogs describe the primary's schema (see catalogOf); returns those. */
export async function assertCatalogsInStep(primary: Cluster, ...standbys: Cluster[]): Promise<Record<string, unknown[]>> {
  const want = await catalogOf(primary);
  for (const s of standbys) assert.deepEqual(await catalogOf(s), want, `catalogs of ${s.name}`);
  return want;
}
