/**
 * `verify`: does each target hold what the primary holds? Database by database (those the target
 * takes, under its filters and database map), the objects DDL makes are read from both servers'
 * catalogs, one snapshot per database, and compared by name and definition. What the log cannot
 * show (DDL inside functions and `DO` blocks, a `BEGIN … ROLLBACK` under `log_statement = 'ddl'`, a
 * change made on a target by hand) shows here. Its JSON form (`--json`) is documented in the README.
 */
import type { Client } from 'pg';
import { maskDefinition, maskInString } from '../core/redact';
import { CatalogObject, SchemaDiff, diffSchemas, objectCount } from '../core/schemaDiff';
import { ConnectionError, SyncError, UsageError } from '../errors';
import { CatalogSnapshot, OLDEST_MAJOR, listDatabases, readCatalog, roleQueries } from '../io/catalog';
import { Opener, openClient, withClient } from '../io/connect';
import { ConnectOptions, TargetSpec } from '../io/target';
import { Settings, TargetSettings } from '../io/settings';
import { databaseIncluded } from '../pipeline/apply';

export const VERIFY_VERSION = 1;

export interface VerifyOptions {
  /** Primary databases to compare (empty: every database each target takes). */
  databases?: string[];
  /** Compare the cluster's roles and memberships too. */
  roles?: boolean;
}

export interface DatabaseVerdict extends SchemaDiff {
  /** Its name on the primary (null: only on the target). */
  primary: string | null;
  /** Its name on the target (the database map applied). */
  target: string;
  /** same; differs; missing: the whole database is not on the target; extra: it is only on the target. */
  state: 'same' | 'differs' | 'missing' | 'extra';
}

export interface RolesVerdict extends SchemaDiff {
  state: 'same' | 'differs';
}

export interface TargetVerdict {
  name: string;
  /** As the target reports it (`server_version`); null when it could not be reached. */
  serverVersion: string | null;
  /** same: everything compared matches; differs; error: it could not be compared (see error). */
  state: 'same' | 'differs' | 'error';
  error: string | null;
  databases: DatabaseVerdict[];
  /** With --roles. */
  roles: RolesVerdict | null;
}

export interface Verification {
  version: typeof VERIFY_VERSION;
  checkedAt: string;
  primary: { serverVersion: string; databases: string[] };
  targets: TargetVerdict[];
}

export interface VerifyDeps {
  connect?: Opener;
  now?: () => Date;
}

/** A server's facts read before its databases. */
interface ServerFacts {
  version: string;
  versionNum: number;
  databases: string[];
}

const major = (versionNum: number): number => Math.floor(versionNum / 10000);

/**
 * Compares every target with the primary.
 * @param settings the source (--source or --data-dir) and the targets to compare
 * @param options which databases, and whether roles too
 */
export async function verify(settings: Settings, options: VerifyOptions = {}, deps: VerifyDeps = {}): Promise<Verification> {
  const source = settings.source;
  if (!source) throw new UsageError('verify reads the primary: give --source URL, or --data-dir DIR of a running primary');
  if (settings.targets.length === 0) throw new UsageError('no target: give --target [NAME=]URL (or "targets" in the config file)');
  const open = deps.connect ?? openClient;
  const opts: ConnectOptions = { connectTimeoutMs: settings.connectTimeoutMs, statementTimeoutMs: settings.statementTimeoutMs };
  const reader = new CatalogReader(open, opts);
  const primary = await reader.facts(source, 'primary');
  const wanted = options.databases ?? [];
  for (const db of wanted) {
    if (!primary.databases.includes(db)) throw new UsageError(`database "${db}" is not on the primary (it has ${primary.databases.join(', ')})`);
  }
  const scope = wanted.length > 0 ? wanted : primary.databases;
  const snapshots = new Map<string, Promise<CatalogSnapshot>>();
  const primaryCatalog = (db: string | undefined): Promise<CatalogSnapshot> => {
    const key = db ?? '';
    if (!snapshots.has(key)) snapshots.set(key, reader.snapshot(source, 'primary', db, db === undefined));
    return snapshots.get(key)!;
  };
  const verdicts = await Promise.all(
    settings.targets.map(async (target) => {
      try {
        return await verifyTarget(target, { reader, primary, scope, wholeCluster: wanted.length === 0, roles: options.roles === true, primaryCatalog });
      } catch (err) {
        // The primary's trouble is everyone's: the command fails; a target's is that target's.
        if (err instanceof ConnectionError && err.server === 'primary') throw err;
        if (!(err instanceof SyncError)) throw err;
        const error = err instanceof ConnectionError ? err.problem : err.message;
        return { name: target.name, serverVersion: null, state: 'error', error, databases: [], roles: null } satisfies TargetVerdict;
      }
    }),
  );
  return {
    version: VERIFY_VERSION,
    checkedAt: (deps.now?.() ?? new Date()).toISOString(),
    primary: { serverVersion: primary.version, databases: scope },
    targets: verdicts,
  };
}

interface TargetScope {
  reader: CatalogReader;
  primary: ServerFacts;
  /** The primary databases to compare. */
  scope: string[];
  /** Every database of the primary is in scope: a database only the target has is extra. */
  wholeCluster: boolean;
  roles: boolean;
  primaryCatalog: (db: string | undefined) => Promise<CatalogSnapshot>;
}

async function verifyTarget(target: TargetSettings, s: TargetScope): Promise<TargetVerdict> {
  const label = `target ${target.name}`;
  const facts = await s.reader.facts(target, label);
  const crossMajor = major(facts.versionNum) !== major(s.primary.versionNum);
  const { filters } = target;
  const databases: DatabaseVerdict[] = [];
  for (const db of s.scope.filter((d) => databaseIncluded(filters, d))) {
    const mapped = filters.databaseMap[db] ?? db;
    if (!facts.databases.includes(mapped)) {
      const want = await s.primaryCatalog(db);
      databases.push({ primary: db, target: mapped, state: 'missing', objects: objectCount(want.objects), missing: [], extra: [], different: [], notCompared: [] });
      continue;
    }
    // Both servers read at once: the time is theirs, and they are two.
    const [want, have] = await Promise.all([s.primaryCatalog(db), s.reader.snapshot(target, label, mapped)]);
    const diff = diffSchemas(want.objects, have.objects, { crossMajor, mask: maskDefinition });
    databases.push({ primary: db, target: mapped, state: drifted(diff) ? 'differs' : 'same', ...diff });
  }
  if (s.wholeCluster) {
    const image = new Set(s.primary.databases.map((db) => filters.databaseMap[db] ?? db));
    const mappedTo = new Set(Object.values(filters.databaseMap));
    for (const db of facts.databases) {
      if (image.has(db) || mappedTo.has(db) || !databaseIncluded(filters, db)) continue;
      databases.push({ primary: null, target: db, state: 'extra', objects: 0, missing: [], extra: [], different: [], notCompared: [] });
    }
  }
  let roles: RolesVerdict | null = null;
  if (s.roles) {
    const [want, have] = await Promise.all([s.primaryCatalog(undefined), s.reader.snapshot(target, label, undefined, true)]);
    const diff = diffSchemas(want.objects, withoutOwnRole(have.objects, have.user, want.objects), { crossMajor, mask: maskDefinition });
    roles = { state: drifted(diff) ? 'differs' : 'same', ...diff };
  }
  const differs = databases.some((d) => d.state !== 'same') || roles?.state === 'differs';
  return { name: target.name, serverVersion: facts.version, state: differs ? 'differs' : 'same', error: null, databases, roles };
}

/**
 * A target's roles without the one the tool connects to it as, when the primary lacks it: that role
 * is made on targets only (see examples/sync-user.sql), so it is no drift.
 */
function withoutOwnRole(objects: CatalogObject[], user: string, primary: CatalogObject[]): CatalogObject[] {
  if (primary.some((o) => o.kind === 'role' && o.name === user)) return objects;
  const own = `role ${user}`;
  return objects.filter((o) => `${o.kind} ${o.name}` !== own && o.parent !== own);
}

function drifted(d: SchemaDiff): boolean {
  return d.missing.length + d.extra.length + d.different.length > 0;
}

/** Connections and catalog reads, each failure a ConnectionError naming the server and database. */
class CatalogReader {
  constructor(
    private readonly open: Opener,
    private readonly opts: ConnectOptions,
  ) {}

  private with<T>(spec: TargetSpec, label: string, db: string | undefined, fn: (c: Client) => Promise<T>): Promise<T> {
    const where = db === undefined ? label : `${label} database ${db}`;
    const read = async (client: Client): Promise<T> => {
      try {
        return await fn(client);
      } catch (err) {
        throw new ConnectionError(label, `cannot read the catalogs of ${where}: ${maskInString((err as Error).message)}`);
      }
    };
    return withClient(spec, db, this.opts, read, (s, d, o) => this.connect(s, d, o, label));
  }

  /** A connection, or a ConnectionError that says why there is none. */
  private async connect(spec: TargetSpec, db: string | undefined, opts: ConnectOptions, label: string): Promise<Client> {
    const started = Date.now();
    try {
      return await this.open(spec, db, opts);
    } catch (err) {
      // pg ends a connection that timed out without saying so ("Connection terminated unexpectedly");
      // its timer may fire a little early by the wall clock.
      const timedOut = Date.now() - started >= opts.connectTimeoutMs * 0.9;
      const why = timedOut ? `timed out after ${opts.connectTimeoutMs / 1000} s (--connect-timeout)` : maskInString((err as Error).message);
      throw new ConnectionError(label, `cannot connect${db === undefined ? '' : ` to database ${db}`}: ${why}`);
    }
  }

  /** The server's version and databases, through its URI's own database. */
  async facts(spec: TargetSpec, label: string): Promise<ServerFacts> {
    const facts = await this.with(spec, label, undefined, async (c) => {
      const v = await c.query<{ version: string; num: string }>(
        "SELECT pg_catalog.current_setting('server_version') AS version, pg_catalog.current_setting('server_version_num') AS num",
      );
      return { version: v.rows[0].version.split(' ')[0], versionNum: Number(v.rows[0].num), databases: await listDatabases(c) };
    });
    if (major(facts.versionNum) < OLDEST_MAJOR) {
      throw new ConnectionError(label, `runs PostgreSQL ${facts.version}; verify reads ${OLDEST_MAJOR} and later`);
    }
    return facts;
  }

  /**
   * One database's objects, or (roles) the cluster's roles and memberships through the URI's database.
   */
  snapshot(spec: TargetSpec, label: string, db: string | undefined, roles = false): Promise<CatalogSnapshot> {
    return this.with(spec, label, db, (c) => readCatalog(c, roles ? () => roleQueries() : undefined));
  }
}

/** 0: every target matches; 1: some target differs; 2: some target could not be compared. */
export function verifyExitCode(v: Verification): 0 | 1 | 2 {
  if (v.targets.some((t) => t.state === 'error')) return 2;
  return v.targets.some((t) => t.state === 'differs') ? 1 : 0;
}
