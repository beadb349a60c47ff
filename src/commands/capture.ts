/**
 * `capture install` and `capture remove`: the capture helper (core/capture, core/captureSql) on the
 * primary, in every database a session can connect to (template1 among them, so that new databases
 * are made with it). `capture status` reads it (io/captureHelper).
 *
 * The key is one per cluster: install takes the one a database holds already, or makes one. Every
 * session of these commands sets log_statement = 'none', so that their own DDL is never logged, and
 * so never propagated; the event trigger is dropped first and made last, so that it writes no record
 * of the helper's own objects.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { CAPTURE_MIN_VERSION_NUM, CAPTURE_REMOVE_SQL, CAPTURE_SCHEMA, captureInstallSql } from '../core/captureSql';
import { CaptureError } from '../errors';
import { connectableDatabases, inDatabase, primaryOf } from '../io/captureHelper';
import { Settings } from '../io/settings';
import { TargetSpec } from '../io/target';

export { captureLine, captureStatus, captureStatusExitCode } from '../io/captureHelper';
export type { CaptureDatabase } from '../io/captureHelper';

export interface CaptureInstalled {
  databases: string[];
  /** The key was found in a database (true) or made now (false). */
  keptKey: boolean;
}

/** What turns off each way a statement is logged, by setting: those the server has are set. */
const QUIET_SETTINGS: Record<string, string> = {
  log_statement: 'none',
  log_min_duration_statement: '-1',
  // A sampled transaction logs every statement with its parameters, the key among them (12 and later).
  log_transaction_sample_rate: '0',
  log_min_duration_sample: '-1',
  'auto_explain.log_min_duration': '-1',
};

/**
 * What a session that changes the helper sets first, before any transaction: none of its statements
 * is logged (not its DDL, which would be propagated, nor its INSERT, whose key a duration log's
 * parameters would show).
 */
const QUIET = [
  `SELECT pg_catalog.set_config(s.name, v.value, false) FROM pg_catalog.pg_settings s
     JOIN (VALUES ${Object.entries(QUIET_SETTINGS).map(([n, v]) => `('${n}', '${v}')`).join(', ')}) AS v(name, value) ON v.name OPERATOR(pg_catalog.=) s.name`,
];

/**
 * Installs the helper in every connectable database of the primary, again where it is.
 * @param settings its `source` is the primary
 */
export async function captureInstall(settings: Settings): Promise<CaptureInstalled> {
  const source = primaryOf(settings);
  const { versionNum, databases } = await preflight(source, settings);
  let key: string | undefined;
  for (const db of databases) {
    await inDatabase(source, db, settings, async (client) => {
      await refuseForeignObjects(client, db);
      key ??= await storedKey(client);
    });
  }
  const keptKey = key !== undefined;
  const theKey = key ?? randomBytes(32).toString('hex');
  for (const db of databases) {
    await inDatabase(source, db, settings, async (client) => {
      await inTransaction(client, async () => {
        await client.query(CAPTURE_REMOVE_SQL[0]);
        for (const sql of captureInstallSql(versionNum)) await client.query(sql, sql.includes('$1') ? [theKey] : []);
      });
    });
  }
  return { databases, keptKey };
}

/** Drops the helper from every connectable database of the primary; where it is not, nothing happens. */
export async function captureRemove(settings: Settings): Promise<string[]> {
  const source = primaryOf(settings);
  const { databases } = await preflight(source, settings);
  for (const db of databases) {
    await inDatabase(source, db, settings, (client) =>
      inTransaction(client, async () => {
        for (const sql of CAPTURE_REMOVE_SQL) await client.query(sql);
      }),
    );
  }
  return databases;
}

/** Refuses a role that is not a superuser and a major without what the trigger reads. */
async function preflight(source: TargetSpec, settings: Settings): Promise<{ versionNum: number; databases: string[] }> {
  return inDatabase(source, undefined, settings, async (client) => {
    const res = await client.query<{ usr: string; su: boolean; v: string }>(
      `SELECT current_user AS usr, r.rolsuper AS su, pg_catalog.current_setting('server_version_num') AS v
         FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user`,
    );
    const { usr, su, v } = res.rows[0];
    const versionNum = Number(v);
    if (versionNum < CAPTURE_MIN_VERSION_NUM) {
      throw new CaptureError(`the primary runs PostgreSQL ${v}: the capture helper needs 9.5 or later (pg_event_trigger_ddl_commands())`);
    }
    if (!su) throw new CaptureError(`role ${usr} is not a superuser: only a superuser makes event triggers and SECURITY DEFINER functions that read the capture key; connect as one`);
    return { versionNum, databases: await connectableDatabases(client) };
  });
}

/**
 * Refuses a helper schema that holds anything a role other than a superuser owns: that role made it
 * before the install (it could read or replace the key), and a person must look at it.
 */
async function refuseForeignObjects(client: Client, db: string): Promise<void> {
  const res = await client.query<{ what: string; owner: string }>(
    `WITH s AS (SELECT oid, nspowner FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1),
          owned AS (
            SELECT 'schema ' OPERATOR(pg_catalog.||) $1 AS what, nspowner AS owner FROM s
            UNION ALL SELECT 'relation ' OPERATOR(pg_catalog.||) c.relname, c.relowner FROM pg_catalog.pg_class c, s WHERE c.relnamespace OPERATOR(pg_catalog.=) s.oid
            UNION ALL SELECT 'function ' OPERATOR(pg_catalog.||) p.proname, p.proowner FROM pg_catalog.pg_proc p, s WHERE p.pronamespace OPERATOR(pg_catalog.=) s.oid
            UNION ALL SELECT 'type ' OPERATOR(pg_catalog.||) t.typname, t.typowner FROM pg_catalog.pg_type t, s WHERE t.typnamespace OPERATOR(pg_catalog.=) s.oid)
     SELECT o.what, r.rolname AS owner FROM owned o JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) o.owner WHERE NOT r.rolsuper LIMIT 1`,
    [CAPTURE_SCHEMA],
  );
  const bad = res.rows[0];
  if (bad) {
    throw new CaptureError(
      `database ${db}: ${bad.what} is owned by ${bad.owner}, not a superuser, so the capture helper's schema cannot be trusted; ` +
        `look at it, then drop it (DROP SCHEMA ${CAPTURE_SCHEMA} CASCADE) and install again`,
    );
  }
}

/** The key a database holds already, if it holds one. */
async function storedKey(client: Client): Promise<string | undefined> {
  const has = await client.query<{ t: string | null }>(`SELECT pg_catalog.to_regclass('${CAPTURE_SCHEMA}.key')::pg_catalog.text AS t`);
  if (!has.rows[0].t) return undefined;
  const res = await client.query<{ key: string }>(`SELECT key FROM ${CAPTURE_SCHEMA}.key WHERE key OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$' LIMIT 1`);
  return res.rows[0]?.key;
}

/** Runs `fn` in one transaction of a session that logs none of its statements. */
async function inTransaction(client: Client, fn: () => Promise<void>): Promise<void> {
  for (const sql of QUIET) await client.query(sql);
  await client.query('BEGIN');
  try {
    await fn();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
