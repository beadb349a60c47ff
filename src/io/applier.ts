/**
 * Applies statements to one target, exactly once each: a connection per database, the ledger checked
 * before and written with every statement.
 */
import { createHash } from 'node:crypto';
import type { Client, QueryResult } from 'pg';
import type { LeftBehind } from '../core/partialWork';
import type { RelationName } from '../core/relationsNamed';
import { rolesTaken } from '../core/rolesTaken';
import { WATCH_CLIENT, disconnect, isNoAnswer, openSession, queryOf } from './connect';
import { ConnectOptions, TargetSpec } from './target';
import { createLeftInvalid, invalidIndexNamed } from './leftInvalid';
import {
  Ledger,
  LedgerKey,
  claimEntry,
  LEDGER_OWNERS,
  claimStatement,
  ensureLedger,
  entryKey,
  isClaimedAlready,
  loadLedger,
  markDone,
  readEntry,
  recordSkip,
  removeEntry,
  settledBy,
  withPositionLock,
} from './ledger';

export interface Job {
  database: string;
  /** `SET LOCAL …` statements for the primary session's settings, run first. */
  settings: string[];
  statements: string[];
  /** Must run outside a transaction block (`CREATE DATABASE`, `… CONCURRENTLY`, …). */
  runsAlone: boolean;
  /** Creates, drops or alters a whole database: no other connection of the tool may stay open. */
  actsOnDatabase: boolean;
  key: LedgerKey;
  logFile: string;
  /** The statement as the ledger may show it: redacted. */
  shown: string;
  /**
   * The role it runs as (the role that ran it on the primary), taken with SET ROLE; undefined: as the
   * sync user.
   */
  role?: string;
  /**
   * Under `--apply-as sync`, the role that ran it on the primary: it runs as the sync user only where
   * that gives the role nothing (see syncRefusal).
   */
  syncFor?: string;
  /** It changes roles or memberships (CREATE/ALTER/DROP ROLE, GRANT/REVOKE ROLE, …): what the checks of
   *  later jobs read (see refusal) is read again after it. */
  changesRoles?: boolean;
  /**
   * By statement: a DDL statement run, in a transaction, inside a SECURITY DEFINER function of the
   * role it runs as (see guardedStatements). Not SELECT INTO, nor what executes a prepared statement:
   * PL/pgSQL cannot run those.
   */
  guarded?: boolean[];
  /** What its statement left on the primary when it failed there (core/partialWork). */
  leftBehind?: LeftBehind;
}

/** A session of a target that holds a lock on a relation. */
export interface LockHolder {
  relation: string;
  mode: string;
  pid: number;
  user: string;
  application: string;
  state: string;
  /** How long its transaction has been open. */
  seconds: number | null;
}

export type ApplyResult =
  | { kind: 'applied'; ms: number; recovered?: boolean }
  /** Found in the ledger: applied, skipped there by a person, or before the point it was adopted at. */
  | { kind: 'already'; how?: 'skipped' | 'adopted' }
  /**
   * timedOut: cut off by the statement timeout, or no answer from the server in time. unreachable: no
   * connection could be made (the server is down, refused the login or the password): nothing ran.
   */
  | { kind: 'failed'; sqlState?: string; message: string; connection: boolean; timedOut?: boolean; unreachable?: boolean };

type Failed = Extract<ApplyResult, { kind: 'failed' }>;

// What a statement that refuses a transaction block answers when it had in fact already run (a
// crash came between it and its ledger entry): "already exists" for CREATE, "does not exist" for DROP.
const ALREADY_DONE: Record<string, ReadonlySet<string>> = {
  create: new Set(['42P04', '42710', '42P07', '42P06']),
  alter: new Set(['42710']),
  drop: new Set(['3D000', '42704', '42P01']),
};

interface DatabaseLink {
  client: Client;
  ledger: Ledger;
  /** The database's server_encoding. */
  encoding: string;
  /** Who the tool connected as. */
  sessionUser: string;
  /** Roles this connection has taken once already (see roleStatements). */
  rolesTaken: Set<string>;
  /** Roles this connection has a guard function of, and whether it has the dispatcher (see guardedStatements). */
  guards: Set<string>;
  guarding?: boolean;
  /** The last job changed roles: its guards may be gone or another's (see guardedStatements). */
  guardsChanged?: boolean;
}

/** A setting of the tool's own (a placeholder, which any role may set) that batches count commits in. */
const BATCH_SETTING = 'pg_ddl_sync.committed';

/** Another: when the lock waits of the transaction under way must be over (epoch milliseconds). */
const LOCK_DEADLINE_SETTING = 'pg_ddl_sync.lock_deadline';

export class TargetApplier {
  private readonly links = new Map<string, Promise<DatabaseLink>>();
  /** Databases whose connection was kept from an earlier pass: their ledger is read again first. */
  private readonly kept = new Set<string>();
  private batches = 0;

  /**
   * @param spec the target
   * @param from for each log file of the jobs to come (by its identity), the lowest ledger key among
   *   them: what the ledger holds from there on is read (see loadLedger)
   */
  constructor(
    readonly spec: TargetSpec,
    private readonly opts: ConnectOptions,
    private from: ReadonlyMap<string, number>,
  ) {}

  /**
   * Readies the applier, its connections kept, for the jobs of another pass: what each ledger holds
   * from these keys on is read again before its next use, as a new applier's would be. The ledger is
   * read once per pass, and never kept longer: statements applied meanwhile by another applier (a
   * replay) are found, and a resident process does not hold every key it ever applied.
   * @param from as the constructor's
   */
  renew(from: ReadonlyMap<string, number>): void {
    this.from = from;
    for (const db of this.links.keys()) this.kept.add(db);
  }

  async apply(job: Job): Promise<ApplyResult> {
    const checks = newRoleChecks();
    if (job.actsOnDatabase) await this.closeAllBut(job.database);
    const asked = Date.now();
    let link: DatabaseLink;
    try {
      link = await this.link(job.database);
    } catch (err) {
      this.links.delete(job.database);
      return this.failed(err, true, asked);
    }
    const id = entryKey(job.key.fileKey, job.key.offset);
    const settled = settledBy(link.ledger, job.key.fileKey, job.key.offset);
    if (settled !== null) return settled === 'done' ? { kind: 'already' } : { kind: 'already', how: settled };
    const refused = await refusal(link, job, checks).catch((err: unknown) => (err as Error).message);
    if (refused !== null) return { kind: 'failed', sqlState: INSUFFICIENT_PRIVILEGE, message: refused, connection: false };
    const started = Date.now();
    try {
      const res = job.runsAlone ? await this.applyAlone(link, job) : await this.inTransactionOrAlone(link, job);
      link.ledger.entries.set(id, 'done');
      return res === 'already' ? { kind: 'already' } : { kind: 'applied', ms: Date.now() - started, recovered: res === 'recovered' };
    } catch (err) {
      const lost = isConnectionError(err);
      if (lost) {
        this.links.delete(job.database);
        await disconnect(link.client);
      }
      return this.failed(err, lost, started);
    }
  }

  /**
   * A failure as the target's status tells it: a statement the statement timeout cut off, and a
   * server that did not answer in time, are timeouts, told apart from a statement that failed.
   * @param since when the work that failed began
   */
  private failed(err: unknown, connection: boolean, since: number): Failed {
    const f = failure(err, connection);
    if (isUnreachable(err)) return { ...f, unreachable: true };
    const tookMs = Date.now() - since;
    if (isNoAnswer(err)) {
      const message = `timed out after ${Math.round(tookMs / 1000)} s: no answer from the server (its session stopped, or the host or the network went); the connection was dropped`;
      return { ...f, connection: true, timedOut: true, message };
    }
    // A statement cancelled sooner than the timeout was cancelled by someone.
    const limit = this.opts.statementTimeoutMs;
    if (f.sqlState === QUERY_CANCELED && limit && tookMs >= limit) {
      return { ...f, timedOut: true, message: `timed out after ${limit / 1000} s (the statement timeout): ${f.message}` };
    }
    return f;
  }

  /**
   * Jobs that each run in a transaction of their own (none alone, none on a whole database), in one
   * database, sent in one round trip: what a distant target costs is round trips. Each job's
   * transaction commits on its own, in order; at the first that fails, the server skips the rest.
   * Returns the results of the jobs settled, in order: all of them, or those before the first that
   * did not commit, which the caller tries again one by one (and so learns why); and the error the
   * batch stopped at, when it is known to be that of the first job not settled.
   */
  async applyBatch(jobs: Job[]): Promise<{ settled: ApplyResult[]; stoppedBy?: Failed }> {
    const database = jobs[0].database;
    let link: DatabaseLink;
    try {
      link = await this.link(database);
    } catch {
      this.links.delete(database);
      return { settled: [] };
    }
    // Each transaction sets this, for the session, as it commits: after a failure it tells how many
    // committed, which the ledger cannot (a concurrent applier of the same statements writes it too).
    const batchId = `${process.pid}.${++this.batches}`;
    const batch = await this.batchOf(link, jobs, batchId);
    const started = Date.now();
    const sent = await this.sendBatch(link, database, batch, batchId, started);
    if (sent.lost) return sent.lost;
    const ms = Math.round((Date.now() - started) / Math.max(1, batch.queries.length));
    return { settled: settledOf(link.ledger, batch.plan, sent.committed, ms), stoppedBy: sent.stoppedBy };
  }

  /**
   * The queries of a batch, one transaction per job, from the first job on: up to a job its ledger shows
   * done (not sent), or a job that must be tried on its own, or after one that changes roles.
   */
  private async batchOf(link: DatabaseLink, jobs: Job[], batchId: string): Promise<Batch> {
    const checks = newRoleChecks();
    const batch: Batch = { plan: [], queries: [], statementCount: 0 };
    for (const job of jobs) {
      const id = entryKey(job.key.fileKey, job.key.offset);
      if (settledBy(link.ledger, job.key.fileKey, job.key.offset) !== null) {
        batch.plan.push({ id, sent: false });
        continue;
      }
      // A statement that changes roles comes first in its batch: the guard functions are dropped before
      // it (see guardedStatements), which the jobs before it in a batch would still need.
      if (job.changesRoles && batch.queries.length > 0) break;
      const query = await this.batchQuery(link, job, checks, `${batchId}:${batch.queries.length + 1}`);
      if (query === null) break; // tried on its own, it says why
      batch.statementCount += job.statements.length;
      batch.queries.push(query);
      batch.plan.push({ id, sent: true });
      // What a later job's checks read may change with this one: they are made again, after it.
      if (job.changesRoles) break;
    }
    return batch;
  }

  /** A job's transaction in a batch, its claim setting the batch's count; null: it must go on its own. */
  private async batchQuery(link: DatabaseLink, job: Job, checks: RoleChecks, count: string): Promise<string | null> {
    let setup: string[];
    let guarded: string[];
    try {
      if ((await refusal(link, job, checks)) !== null) return null;
      setup = [...(await roleStatements(link, job.role)), ...job.settings];
      if (setup.some(changesLexing)) return null;
      guarded = await guardedStatements(link, job);
    } catch {
      return null;
    }
    // The count is set with the claim: a transaction that does not commit undoes it.
    const claim = claimStatement(link.client, job.key, job.logFile, job.shown, { name: BATCH_SETTING, value: count });
    const statements = withLockBudget(guarded, this.opts.lockTimeoutMs);
    return ['BEGIN', ...SESSION_RESET, claim, ...setup, ...statements, 'COMMIT'].join('\n;\n');
  }

  /**
   * Sends a batch in one round trip: how many of its transactions committed, and the error it stopped
   * at; or, when the connection went, what the caller returns.
   */
  private async sendBatch(
    link: DatabaseLink,
    database: string,
    batch: Batch,
    batchId: string,
    started: number,
  ): Promise<{ committed: number; stoppedBy?: Failed; lost?: { settled: ApplyResult[]; stoppedBy?: Failed } }> {
    const { client } = link;
    if (batch.queries.length === 0) return { committed: 0 };
    try {
      await client.query(queryOf(batch.queries.join('\n;\n'), this.opts, batch.statementCount));
      return { committed: batch.queries.length };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (isConnectionError(err)) {
        this.links.delete(database);
        await disconnect(client);
        // What committed before the connection went is in the ledger the next connection reads.
        // A server that did not answer is not asked again in this run: its session may still hold
        // the first entry's ledger row, and the next would only wait for that.
        const settled: ApplyResult[] = batch.plan.slice(0, batch.plan.findIndex((p) => p.sent)).map(() => ({ kind: 'already' }));
        return { committed: 0, lost: { settled, stoppedBy: isNoAnswer(err) ? this.failed(err, true, started) : undefined } };
      }
      try {
        const res = await client.query<{ v: string | null }>('SELECT pg_catalog.current_setting($1::pg_catalog.text, true) AS v', [BATCH_SETTING]);
        const [id, count] = (res.rows[0].v ?? '').split(':');
        // Another batch's count, or none: the first transaction did not commit.
        return { committed: id === batchId ? Number(count) : 0, stoppedBy: this.failed(err, false, started) };
      } catch {
        // Taken as none: those are tried again one by one and found in the ledger.
        return { committed: 0 };
      }
    }
  }

  /**
   * Records in the ledger that the job was passed with nothing to do (as a skip is), after it failed
   * here; false when that could not be written.
   */
  async recordNothingToDo(job: Job): Promise<boolean> {
    try {
      const link = await this.link(job.database);
      await recordSkip(link.client, job.key, job.logFile, job.shown);
      link.ledger.entries.set(entryKey(job.key.fileKey, job.key.offset), 'skipped');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * True when the target's ledger shows the job done, by this run or an earlier one. A database that
   * is not there (yet) has no ledger: false.
   */
  async isDone(job: Pick<Job, 'database' | 'key'>): Promise<boolean> {
    try {
      const link = await this.link(job.database);
      return settledBy(link.ledger, job.key.fileKey, job.key.offset) !== null;
    } catch {
      this.links.delete(job.database);
      return false;
    }
  }

  /**
   * The other sessions holding locks on these relations of a database, longest-open transaction first:
   * who a statement that gave way on a lock waited for. [] when that cannot be told.
   */
  async lockHolders(database: string, relations: RelationName[]): Promise<LockHolder[]> {
    if (relations.length === 0) return [];
    try {
      const { client } = await this.link(database);
      const res = await client.query<LockHolder>(
        `SELECT l.relation::pg_catalog.regclass::pg_catalog.text AS relation, l.mode, a.pid, coalesce(a.usename, '') AS user,
                coalesce(a.application_name, '') AS application, coalesce(a.state, '') AS state,
                pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) a.xact_start)::pg_catalog.int4 AS seconds
           FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid
          WHERE l.granted AND l.locktype OPERATOR(pg_catalog.=) 'relation'::pg_catalog.text AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
            AND l.database OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
            AND l.relation OPERATOR(pg_catalog.=) ANY (SELECT pg_catalog.to_regclass(CASE WHEN s OPERATOR(pg_catalog.=) '' THEN pg_catalog.quote_ident(r)
                                   ELSE pg_catalog.quote_ident(s) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(r) END)::pg_catalog.oid
                                 FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[])) AS u(s, r))
          ORDER BY a.xact_start NULLS LAST, a.pid`,
        [relations.map((r) => r.schema ?? ''), relations.map((r) => r.name)],
      );
      return res.rows;
    } catch {
      return [];
    }
  }

  /** The encoding of a database on the target, or why it cannot be reached. */
  async encodingOf(database: string): Promise<{ kind: 'ok'; encoding: string } | Failed> {
    const asked = Date.now();
    try {
      return { kind: 'ok', encoding: (await this.link(database)).encoding };
    } catch (err) {
      this.links.delete(database);
      return this.failed(err, true, asked);
    }
  }

  /** Drops the guard functions of every connection (see guardedStatements); errors are left to the next use. */
  async dropGuards(): Promise<void> {
    for (const link of this.links.values()) await link.then(dropGuards, () => undefined).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.closeAllBut(null);
  }

  /** Ends the tool's connections to every database but one, so a database can be dropped or renamed. */
  private async closeAllBut(keep: string | null): Promise<void> {
    const closing = [...this.links].filter(([db]) => db !== keep);
    for (const [db] of closing) this.links.delete(db);
    await Promise.all(closing.map(([, p]) => p.then((l) => disconnect(l.client)).catch(() => undefined)));
  }

  private link(database: string): Promise<DatabaseLink> {
    let link = this.links.get(database);
    if (link && this.kept.delete(database)) {
      link = this.reread(database, link);
      this.links.set(database, link);
    }
    if (!link) {
      link = this.open(database);
      this.links.set(database, link);
    }
    return link;
  }

  /**
   * A kept connection with its ledger read again; if that fails (the connection broke while idle, the
   * target restarted), a new connection.
   */
  private async reread(database: string, kept: Promise<DatabaseLink>): Promise<DatabaseLink> {
    let link: DatabaseLink;
    try {
      link = await kept;
    } catch {
      return this.open(database);
    }
    try {
      return { ...link, ledger: await loadLedger(link.client, this.from) };
    } catch {
      await disconnect(link.client);
      return this.open(database);
    }
  }

  /** A connection to a database with its ledger read; one that fails on the way is ended. */
  private async open(database: string): Promise<DatabaseLink> {
    // The target's own search_path: the primary's DDL runs on this connection too. What the tool
    // runs on it is qualified throughout instead (see ledger.ts).
    let connected = false;
    return openSession(this.spec, database, { ...this.opts, keepSearchPath: true }, (client) => {
      connected = true;
      return this.readyLink(client);
    }).catch((err: unknown) => {
      throw connected ? err : asUnreachable(err);
    });
  }

  private async readyLink(client: Client): Promise<DatabaseLink> {
    // One round trip for what the connection needs to know and the session's watch on the client,
    // then the ledger (made if missing). Two statements: pg answers with two results.
    const answers = (await client.query(
      `${WATCH_CLIENT};\nSELECT ${LEDGER_OWNERS}, pg_catalog.current_setting('server_encoding'::pg_catalog.text) AS encoding, session_user AS user`,
    )) as unknown as QueryResult<{ schema_owner: string | null; table_owner: string | null; encoding: string; user: string }>[];
    const { schema_owner, table_owner, encoding, user } = answers[1].rows[0];
    const foreign = await ensureLedger(client, { schema: schema_owner, table: table_owner }, user);
    if (foreign) throw new Error(foreign);
    return { client, ledger: await loadLedger(client, this.from), encoding, sessionUser: user, rolesTaken: new Set<string>(), guards: new Set<string>() };
  }

  /**
   * The statements and their ledger entry commit together, or not at all, in one round trip (see
   * claimStatement). The entry is claimed first: if it is there already, another applier committed the
   * statement and nothing runs.
   */
  private async applyInTransaction(link: DatabaseLink, job: Job): Promise<'applied' | 'already' | 'in_flight'> {
    const { client } = link;
    const setup = [...(await roleStatements(link, job.role)), ...job.settings];
    // After the claim: the role the statement runs as need not be able to write the ledger.
    const opening = ['BEGIN', ...SESSION_RESET, claimStatement(client, job.key, job.logFile, job.shown), ...setup];
    // The server reads the whole of a query before it runs any of it: a SET that changes how text is
    // read must come in a query before the text it applies to.
    const statements = withLockBudget(await guardedStatements(link, job), this.opts.lockTimeoutMs);
    const queries = setup.some(changesLexing) ? [opening, [...statements, 'COMMIT']] : [[...opening, ...statements, 'COMMIT']];
    try {
      for (const q of queries) await client.query(queryOf(q.join('\n;\n'), this.opts, q === opening ? 1 : job.statements.length));
      return 'applied';
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (!isClaimedAlready(err)) throw err;
      // Claimed already: committed by another applier, or left in flight by a crash of a run that had
      // fallen back to running it alone (see inTransactionOrAlone).
      return (await readEntry(client, job.key)) === 'in_flight' ? 'in_flight' : 'already';
    }
  }

  /**
   * A statement that cannot share a transaction with its ledger entry: an `in_flight` entry is
   * committed first, so that after a crash the retry knows the statement may have run, and only then
   * takes that statement's own "already exists" (or "does not exist") answer as done. The position's
   * advisory lock keeps a concurrent applier out meanwhile.
   */
  private applyAlone(link: DatabaseLink, job: Job): Promise<'applied' | 'already' | 'recovered'> {
    const { client } = link;
    return withPositionLock(client, job.key, this.opts.lockTimeoutMs, async () => {
      const entry = await readEntry(client, job.key);
      if (entry === 'done' || entry === 'skipped') return 'already';
      const wasInFlight = entry === 'in_flight';
      if (!wasInFlight) await claimEntry(client, job.key, job.logFile, 'in_flight', job.shown);
      let recovered = false;
      try {
        await withSessionSettings(link, job, async () => {
          // Each commits on its own, letting its locks go before the next waits for any: each may
          // wait the whole lock timeout (see withLockBudget).
          for (const sql of job.statements) {
            const alone = sql.replace(/^SET LOCAL /, 'SET ');
            // An index of that name that no earlier try of this entry can have made is not marked
            // INVALID: it is the target's own, and queries use it.
            const runOurs = async (s: string): Promise<AloneOutcome> => {
              const res = await runAlone(client, s);
              if (res.kind === 'there' && !wasInFlight) throw res.error;
              return res;
            };
            const ran = job.leftBehind === 'invalid-index' && /^\s*create\b/i.test(alone) ? await createLeftInvalid(client, alone, runOurs) : await runAlone(client, alone);
            if (ran.kind === 'there' && !wasInFlight) throw ran.error;
            if (ran.kind === 'there') recovered = true; // it had run before the crash
          }
        });
      } catch (err) {
        if (!isConnectionError(err)) await removeEntry(client, job.key).catch(() => undefined);
        throw err;
      }
      await markDone(client, job.key);
      return recovered ? 'recovered' : 'applied';
    });
  }

  /**
   * In a transaction; or alone, when the target refuses the statement in a transaction block (an
   * older server: ALTER TYPE … ADD VALUE before 12), as the primary did not.
   */
  private async inTransactionOrAlone(link: DatabaseLink, job: Job): Promise<'applied' | 'already' | 'recovered'> {
    try {
      const res = await this.applyInTransaction(link, job);
      return res === 'in_flight' ? await this.applyAlone(link, job) : res;
    } catch (err) {
      if ((err as { code?: string }).code !== ACTIVE_SQL_TRANSACTION) throw err;
      return this.applyAlone(link, job);
    }
  }
}

/** A batch's transactions, and for each job up to where it stopped, whether it was sent. */
interface Batch {
  plan: { id: string; sent: boolean }[];
  queries: string[];
  /** The statements of the jobs sent: how long the batch may take (see queryOf). */
  statementCount: number;
}

/** The results of a batch's jobs, in order, up to the first sent that did not commit. */
function settledOf(ledger: Ledger, plan: Batch['plan'], committed: number, ms: number): ApplyResult[] {
  const results: ApplyResult[] = [];
  let sent = 0;
  for (const p of plan) {
    if (!p.sent) {
      results.push({ kind: 'already' });
      continue;
    }
    if (++sent > committed) break;
    ledger.entries.set(p.id, 'done');
    results.push({ kind: 'applied', ms });
  }
  return results;
}

/** A statement run alone: it ran, or it answered that what it makes (or drops) is there (not). */
type AloneOutcome = { kind: 'ran' } | { kind: 'there'; error: unknown };

/**
 * Runs one statement outside a transaction block. Its own "already exists" / "does not exist" answer
 * comes back as `there`: the caller decides whether that is a statement that ran before a crash. An
 * index that `CREATE INDEX CONCURRENTLY` left INVALID when it was cut off (a crash, a cancel, a
 * deadlock) is not what the primary has: it is dropped and the statement run again.
 */
async function runAlone(client: Client, sql: string): Promise<AloneOutcome> {
  try {
    await client.query(sql);
    return { kind: 'ran' };
  } catch (err) {
    const code = (err as { code?: string }).code;
    const verb = sql.trimStart().split(/\s+/, 1)[0].toLowerCase();
    if (code === undefined || !ALREADY_DONE[verb]?.has(code)) throw err;
    const name = /"([^"]+)" already exists/.exec((err as Error).message)?.[1];
    if (verb === 'create' && /\bconcurrently\b/i.test(sql) && name && (await dropIfInvalid(client, sql, name))) {
      await client.query(sql);
      return { kind: 'ran' };
    }
    return { kind: 'there', error: err };
  }
}

/** Drops the index of this name on the statement's table if it is INVALID; true when it did. */
async function dropIfInvalid(client: Client, sql: string, name: string): Promise<boolean> {
  const index = await invalidIndexNamed(client, sql, name);
  if (index === null) return false;
  await client.query(`DROP INDEX CONCURRENTLY ${index}`);
  return true;
}

/**
 * Run first in each transaction of a job: the session back to how it was opened. A statement replayed
 * for one role may set a setting for the whole session (`set_config(…, false)` in a CREATE TABLE AS),
 * which would then be in force for the next role's statements on the same connection (a search_path
 * that puts its functions first). RESET ALL puts back the connection's own settings (its options);
 * the watch on the client is a setting made after connecting, and is made again.
 */
const SESSION_RESET = ['RESET ALL', WATCH_CLIENT];

/** SQLSTATE 57014: a statement cut off by statement_timeout, or cancelled. */
export const QUERY_CANCELED = '57014';

/** SQLSTATE 25001: "… cannot run inside a transaction block". */
const ACTIVE_SQL_TRANSACTION = '25001';

/**
 * Runs statements that cannot run in a transaction block with the primary session's settings: set for
 * the session (SET LOCAL would need a block), then put back.
 */
async function withSessionSettings(link: DatabaseLink, job: Job, fn: () => Promise<void>): Promise<void> {
  const { client } = link;
  let role = false;
  try {
    // As a transaction's job does (SESSION_RESET): nothing an earlier statement left in the session.
    await client.query(SESSION_RESET.join(';\n'));
    role = await takeRole(link, job.role);
    for (const set of job.settings) await client.query(set.replace(/^SET LOCAL /, 'SET '));
    await fn();
  } finally {
    if (role || job.settings.length > 0 || job.statements.some((sql) => /^SET /i.test(sql))) {
      // RESET ALL leaves the role and the session authorization alone.
      await client.query('SET SESSION AUTHORIZATION DEFAULT').catch(() => undefined);
      await client.query('RESET ROLE').catch(() => undefined);
      await client.query('RESET ALL').catch(() => undefined);
    }
  }
}

/**
 * A transaction's statements, each after the first given only what is left of the lock timeout: the
 * locks the earlier ones took are held while a later one waits, so the target's other sessions queue
 * behind them for as long as the waits last together. What is left is worked out on the server, as the
 * statement comes (`now()` will not do: in a batch, one query, it is when the query came, for every
 * transaction in it). Lock timeout 0 (none) or a single statement: as they are.
 * @param statements the job's statements, run in one transaction
 * @param lockTimeoutMs the session's lock_timeout
 */
export function withLockBudget(statements: string[], lockTimeoutMs: number | undefined): string[] {
  if (!lockTimeoutMs || statements.length < 2) return statements;
  // In whole milliseconds: the text of a bigint is the same whatever the session's settings. Qualified
  // throughout: these run as the statement's role, in the session's search_path (see ledger.ts).
  const nowMs = "(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000::pg_catalog.float8)::pg_catalog.int8";
  const deadline = `SELECT pg_catalog.set_config('${LOCK_DEADLINE_SETTING}'::pg_catalog.text, (${nowMs} OPERATOR(pg_catalog.+) ${Math.round(lockTimeoutMs)}::pg_catalog.int8)::pg_catalog.text, true)`;
  // At least 1 ms: 0 would be no limit.
  const left = `greatest(1::pg_catalog.int8, pg_catalog.current_setting('${LOCK_DEADLINE_SETTING}'::pg_catalog.text)::pg_catalog.int8 OPERATOR(pg_catalog.-) ${nowMs})`;
  const budget = `SELECT pg_catalog.set_config('lock_timeout'::pg_catalog.text, ${left}::pg_catalog.text OPERATOR(pg_catalog.||) 'ms'::pg_catalog.text, true)`;
  return [deadline, ...statements.flatMap((sql, i) => (i === 0 ? [sql] : [budget, sql]))];
}

/** `SET LOCAL standard_conforming_strings` and `backslash_quote` change how the server reads text. */
function changesLexing(set: string): boolean {
  return /^SET LOCAL (standard_conforming_strings|backslash_quote)\b/i.test(set);
}

/**
 * A job's statements, each DDL statement (Job.guarded) run inside a SECURITY DEFINER function owned by
 * the role it runs as. A replayed statement can run code its role wrote (a function a CREATE TABLE AS
 * calls); under SET ROLE that code could take the sync user's roles back (set_config('role', …) is
 * checked against the session user, the sync user), where inside a SECURITY DEFINER function
 * PostgreSQL refuses any change of role or session authorization. The function for each role the job
 * may run as (its own, and those its carried settings take) is made once per connection; a dispatcher
 * picks the one of current_user as the statement runs, or runs it as it is for the sync user itself.
 */
async function guardedStatements(link: DatabaseLink, job: Job): Promise<string[]> {
  // A guard owns nothing but itself, yet its role cannot be dropped while it exists (DROP ROLE), and
  // DROP OWNED or REASSIGN OWNED would drop it or give it to another role: gone before such a job.
  // The same after it: it may have dropped or given away one it ran in (DROP OWNED BY its own role).
  if (job.changesRoles || link.guardsChanged) await dropGuards(link);
  link.guardsChanged = job.changesRoles === true;
  if (!job.guarded?.some(Boolean)) return job.statements;
  const taken = rolesTaken([...job.settings, ...job.statements]);
  const roles = [job.role ?? link.sessionUser, ...taken.roles, ...taken.authorizations].filter((r) => r !== link.sessionUser);
  // What runs as the sync user itself (the DBA's own DDL, when it connects as that role) runs as it is.
  if (roles.length === 0) return job.statements;
  if (!link.guarding) {
    await link.client.query(guardDispatcher(link));
    link.guarding = true;
  }
  for (const role of roles) {
    if (link.guards.has(role)) continue;
    const name = guardName(role);
    await link.client.query(
      `CREATE FUNCTION pg_temp.${name}(pg_catalog.text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $pgds$ BEGIN EXECUTE $1; END $pgds$;\n` +
        `ALTER FUNCTION pg_temp.${name}(pg_catalog.text) OWNER TO ${link.client.escapeIdentifier(role)}`,
    );
    link.guards.add(role);
  }
  return job.statements.map((sql, i) => (job.guarded?.[i] ? `SELECT pg_temp.pgds_ddl(${link.client.escapeLiteral(sql)})` : sql));
}

/** Drops a connection's guard functions, as the sync user, outside any transaction of a job. */
async function dropGuards(link: DatabaseLink): Promise<void> {
  link.guardsChanged = false;
  if (link.guards.size === 0) return;
  const drops = [...link.guards].map((role) => `DROP FUNCTION IF EXISTS pg_temp.${guardName(role)}(pg_catalog.text)`);
  link.guards.clear();
  await link.client.query(drops.join(';\n'));
}

/** The guard function of a role: pgds_as_ and the md5 of its name, as the dispatcher finds it. */
function guardName(role: string): string {
  return `pgds_as_${createHash('md5').update(role, 'utf8').digest('hex')}`;
}

/**
 * Runs a statement in the guard function of current_user (an error where it has none), or as it is
 * when current_user is the sync user: named, not session_user, which a carried SET SESSION
 * AUTHORIZATION changes. Qualified throughout: it runs in the statement's search_path.
 */
function guardDispatcher(link: DatabaseLink): string {
  return `CREATE FUNCTION pg_temp.pgds_ddl(pg_catalog.text) RETURNS void LANGUAGE plpgsql AS $pgds$
BEGIN
  IF current_user OPERATOR(pg_catalog.=) ${link.client.escapeLiteral(link.sessionUser)}::pg_catalog.name THEN
    EXECUTE $1;
  ELSE
    EXECUTE pg_catalog.format('SELECT pg_temp.%I($1)', 'pgds_as_' OPERATOR(pg_catalog.||) pg_catalog.md5(current_user::pg_catalog.text)) USING $1;
  END IF;
END $pgds$`;
}

/**
 * The `SET LOCAL ROLE` that makes a transaction run as the role that ran the statement on the
 * primary; none when the sync user is that role. A connection takes each role once on its own first,
 * so that a role it cannot take fails with a message that says so, not as the statement's error.
 */
async function roleStatements(link: DatabaseLink, role: string | undefined): Promise<string[]> {
  if (!role || role === link.sessionUser) return [];
  if (!link.rolesTaken.has(role)) {
    await takeRole(link, role, true);
    link.rolesTaken.add(role);
  }
  return [`SET LOCAL ROLE ${link.client.escapeIdentifier(role)}`];
}

/**
 * What the role checks of one batch (or one job) have read, by role. Never kept longer: a job applied
 * since may have changed roles or memberships (a batch ends after such a job, see Job.changesRoles).
 */
interface RoleChecks {
  /** Under `--apply-as sync`: why a role's statements may not run as the sync user, or null. */
  syncRefusals: Map<string, Promise<string | null>>;
  /** By login role and role taken: what the login role may take here (see roleRefusal). */
  roleRights: Map<string, Promise<RoleRight>>;
}

function newRoleChecks(): RoleChecks {
  return { syncRefusals: new Map(), roleRights: new Map() };
}

/** Why a job may not run on this target as the tool would run it, or null. */
async function refusal(link: DatabaseLink, job: Job, checks: RoleChecks): Promise<string | null> {
  if (job.syncFor !== undefined) {
    const refused = await syncRefusal(link, job.syncFor, checks);
    if (refused !== null) return refused;
  }
  return roleRefusal(link, job, checks);
}

/** What a login role may take on a target: a superuser anything, others the roles they belong to. */
interface RoleRight {
  superuser: boolean;
  member: boolean;
  /** The role taken exists here (a missing one fails as it is taken, and says so). */
  exists: boolean;
}

/**
 * Why the roles a job's carried settings take (a SET ROLE or SET SESSION AUTHORIZATION of its primary
 * session) are more than the role that ran it could take, or null. The sync user, a superuser or a
 * member of every role, would take them for it: checked here against what the login role may, as the
 * primary checked it, so that no record, however it reads, gives a role another's rights.
 */
async function roleRefusal(link: DatabaseLink, job: Job, checks: RoleChecks): Promise<string | null> {
  const user = job.role ?? job.syncFor;
  if (user === undefined) return null;
  const taken = rolesTaken([...job.settings, ...job.statements]);
  const right = (role: string): Promise<RoleRight> => {
    const id = `${user}\0${role}`;
    let got = checks.roleRights.get(id);
    if (!got) {
      got = link.client
        .query<RoleRight>(
          `SELECT u.rolsuper AS superuser, pg_catalog.pg_has_role(u.oid, r.oid, 'MEMBER'::pg_catalog.text) IS TRUE AS member, r.oid IS NOT NULL AS exists
             FROM pg_catalog.pg_roles u LEFT JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) $2::pg_catalog.name
            WHERE u.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name`,
          [user, role],
        )
        .then((res) => res.rows[0] ?? { superuser: false, member: false, exists: true });
      checks.roleRights.set(id, got);
    }
    return got;
  };
  const quoted = (name: string): string => link.client.escapeIdentifier(name);
  for (const a of taken.authorizations) {
    if (!(await right(a)).superuser) {
      return `not sent: it runs under SET SESSION AUTHORIZATION ${quoted(a)}, carried from the primary session, which only a superuser may run, and role ${quoted(user)} that ran it there is none here: the sync user would run it for a role that could not. Check the primary; skip it if it is not what ran there`;
    }
  }
  for (const r of taken.roles) {
    const { superuser, member, exists } = await right(r);
    if (exists && !superuser && !member) {
      return `not sent: it runs under SET ROLE ${quoted(r)}, carried from the primary session, and role ${quoted(user)} that ran it there is no member of ${quoted(r)} here: the sync user would take a role for it that it could not. Grant the role here as on the primary, or skip it`;
    }
  }
  return null;
}

/**
 * Why a role's statement may not run as the sync user on this target (`--apply-as sync`), or null.
 * Run as a superuser, what the role wrote (a SECURITY DEFINER function, a view, a column default, an
 * index expression, a function a CREATE TABLE AS calls) would run, or be owned, with a superuser's
 * rights: a role that is no superuser here would gain them. A sync user that is no superuser is the
 * DBA's choice of rights, which the README's set-up says to keep to the roles whose DDL it runs.
 */
function syncRefusal(link: DatabaseLink, role: string, checks: RoleChecks): Promise<string | null> {
  let refusal = checks.syncRefusals.get(role);
  if (!refusal) {
    refusal = (async () => {
      if (role === link.sessionUser) return null;
      const res = await link.client.query<{ sync_super: boolean | null; role_super: boolean | null }>(
        `SELECT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) SESSION_USER) AS sync_super,
                (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) $1::pg_catalog.name) AS role_super`,
        [role],
      );
      const { sync_super: syncSuper, role_super: roleSuper } = res.rows[0];
      if (!syncSuper || roleSuper) return null;
      return `not sent: --apply-as sync would run what role "${role}" ran on the primary as the sync user ${link.sessionUser}, a superuser here, which "${role}" ${roleSuper === null ? 'does not exist as' : 'is not'}: its functions, views, defaults and expressions would run or be owned with a superuser's rights. Use --apply-as original (create the role here), or run it here by hand and skip it`;
    })();
    checks.syncRefusals.set(role, refusal);
  }
  return refusal;
}

/** SQLSTATE 42501, as a missing privilege reports it. */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Becomes the role that ran the statement on the primary, for the session (or only tries, with
 * andBack: the session's role is put back at once); false when the sync user is that role already.
 * A role the sync user may not take, or that the target lacks, fails the statement: it never runs
 * as someone else instead.
 */
async function takeRole(link: DatabaseLink, role: string | undefined, andBack = false): Promise<boolean> {
  if (!role || role === link.sessionUser) return false;
  try {
    // And back, when asked, in the same round trip: a SET ROLE that fails stops the query there.
    await link.client.query(`SET ROLE ${link.client.escapeIdentifier(role)}${andBack ? '; RESET ROLE' : ''}`);
    return true;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (isConnectionError(err)) throw err;
    throw Object.assign(
      new Error(`cannot run it as role "${role}", which ran it on the primary: ${e.message ?? String(err)} (the sync user ${link.sessionUser} must be a superuser or a member of that role; or run with --apply-as sync)`),
      { code: e.code },
    );
  }
}

/** SQLSTATE 3D000: the database is not there; the server is, so a statement can be skipped past it. */
const INVALID_CATALOG_NAME = '3D000';

/** Marks a failure to connect as the target being out of reach, unless only the database is missing. */
function asUnreachable(err: unknown): unknown {
  if (err instanceof Error && (err as { code?: string }).code !== INVALID_CATALOG_NAME) Object.assign(err, { unreachable: true });
  return err;
}

function isUnreachable(err: unknown): boolean {
  return (err as { unreachable?: boolean } | null)?.unreachable === true;
}

function failure(err: unknown, connection: boolean): Failed {
  const e = err as { code?: string; message?: string };
  return { kind: 'failed', sqlState: e.code && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined, message: e.message ?? String(err), connection };
}

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  // A server that did not answer in time: the connection was dropped (see target.connect).
  if (isNoAnswer(err)) return true;
  // Class 08 (connection exception) and 57P01-57P03 (the server shut down or crashed under it).
  if (e.code && /^(08|57P0[123])/.test(e.code)) return true;
  if (e.code && /^(ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH)/.test(e.code)) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(e.message ?? '');
}
