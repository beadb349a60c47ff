/**
 * The capture helper (core/capture, core/captureSql) as the primary has it: which databases have it,
 * at which version, and sessions on each of them. `capture install` and `remove` change it
 * (commands/capture); `capture status`, `check` and `status` read it here.
 */
import type { Client } from 'pg';
import { CAPTURE_COMMENT_PREFIX, CAPTURE_HELPER_VERSION, CAPTURE_SCHEMA } from '../core/captureSql';
import { UsageError } from '../errors';
import { withClient } from './connect';
import { Settings } from './settings';
import { TargetSpec } from './target';

/** The helper in one database of the primary. */
export interface CaptureDatabase {
  database: string;
  /** The helper's version there; null where it is not installed (or its event trigger is missing or disabled). */
  version: number | null;
}

/** The helper in each connectable database of the primary (any role may ask). */
export async function captureStatus(settings: Settings): Promise<CaptureDatabase[]> {
  const source = primaryOf(settings);
  const databases = await inDatabase(source, undefined, settings, connectableDatabases);
  const out: CaptureDatabase[] = [];
  for (const database of databases) out.push({ database, version: await inDatabase(source, database, settings, installedVersion) });
  return out;
}

/** 0 when every database has the helper at this version, else 1. */
export function captureStatusExitCode(dbs: CaptureDatabase[]): 0 | 1 {
  return dbs.every((d) => d.version === CAPTURE_HELPER_VERSION) ? 0 : 1;
}

/** One line per database, for `capture status`, `check` and `status`. */
export function captureLine(d: CaptureDatabase): string {
  if (d.version === null) return 'not installed (pg-ddl-sync capture install)';
  if (d.version !== CAPTURE_HELPER_VERSION) return `version ${d.version}, not ${CAPTURE_HELPER_VERSION}: install it again (pg-ddl-sync capture install)`;
  return `installed (version ${d.version})`;
}

/**
 * The helper's version in the database a client is connected to: from its schema's comment, when
 * its event trigger is there and enabled.
 */
export async function installedVersion(client: Client): Promise<number | null> {
  const res = await client.query<{ comment: string | null }>(
    `SELECT pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment
       FROM pg_catalog.pg_namespace n, pg_catalog.pg_event_trigger e
      WHERE n.nspname OPERATOR(pg_catalog.=) $1 AND e.evtname OPERATOR(pg_catalog.=) $1
        AND e.evtenabled OPERATOR(pg_catalog.<>) 'D'`,
    [CAPTURE_SCHEMA],
  );
  const comment = res.rows[0]?.comment ?? '';
  if (!comment.startsWith(CAPTURE_COMMENT_PREFIX)) return null;
  const version = Number(comment.slice(CAPTURE_COMMENT_PREFIX.length));
  return Number.isInteger(version) ? version : null;
}

export function primaryOf(settings: Settings): TargetSpec {
  if (!settings.source) throw new UsageError('capture needs the primary: give --source URL, or --data-dir DIR of a running primary');
  return settings.source;
}

export async function connectableDatabases(client: Client): Promise<string[]> {
  const res = await client.query<{ datname: string }>('SELECT datname FROM pg_catalog.pg_database WHERE datallowconn ORDER BY datname');
  return res.rows.map((r) => r.datname);
}

/** Runs `fn` in a session on one database of the primary (undefined: the URI's own). */
export function inDatabase<T>(source: TargetSpec, db: string | undefined, settings: Settings, fn: (client: Client) => Promise<T>): Promise<T> {
  return withClient(source, db, { connectTimeoutMs: settings.connectTimeoutMs }, fn);
}
