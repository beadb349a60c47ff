/**
 * Sending journal entries to targets, and listing them for a dry run: shared by `run` and `replay`.
 */
import { databaseActedOn, databaseRemovedBy } from '../core/databaseStatements';
import { loadParser } from '../core/parser';
import { maskMessage, redact } from '../core/redact';
import { NeverGot, UNDEFINED_OBJECT, dropsOnlyNeverGot } from '../core/neverGot';
import { relationsNamed } from '../core/relationsNamed';
import { ApplyResult, Job, LockHolder, QUERY_CANCELED, TargetApplier } from '../io/applier';
import { Logger } from '../io/logger';
import { JournalEntry } from '../io/state';
import { ConnectOptions, connectionUser } from '../io/target';
import { UnitText, UnitTexts, shownOf } from '../io/unitText';
import { ApplyAs, Filters, TargetSettings } from '../io/settings';
import { whereIs } from './journal';

/** One statement as a dry run lists it. */
export interface ListedStatement {
  database: string;
  /** `file:offset` of its record in the primary's log. */
  at: string;
  /** Redacted. */
  sql: string;
  /** The role it runs as on the target (undefined: not known without a target). */
  role?: string;
  /** The primary session's settings it runs with, as `SET LOCAL` statements (redacted). */
  settings?: string[];
  /** A warning about it, shown with it. */
  note?: string;
}

export interface Listing {
  /** The target, or undefined for a listing without targets. */
  target?: string;
  statements: ListedStatement[];
}

export interface TargetOutcome {
  name: string;
  /** The journal entry this target applies next. */
  next: number;
  applied: number;
  /** Found in the target's ledger: applied before, by a run whose state was not saved. */
  alreadyApplied: number;
  /** Left out by the target's filters. */
  filtered: number;
  /** The last entry this run applied. */
  lastApplied?: { seq: number; at: string; logTime: string };
  failure?: TargetStop;
}

/** Where and why a target stopped. */
export interface TargetStop {
  seq: number;
  database: string;
  /** `file:offset` of the statement. */
  at: string;
  /** The statement, redacted ('' when its text could not be read). */
  shown: string;
  sqlState?: string;
  message: string;
  /** It gave way on a lock every time it was tried: the next run tries again. */
  lockWait?: boolean;
  /** The statement timeout cut it off, or the target did not answer in time: the next run tries again. */
  timedOut?: boolean;
  /** No connection could be made (down, login or password refused): nothing was tried. */
  unreachable?: boolean;
}

/** Why a target stopped, when it is not a statement that failed there. */
type StopHow = 'lockWait' | 'timedOut' | 'unreachable';

/** How a failed result stopped the target. */
function howOf(res: { timedOut?: boolean; unreachable?: boolean }): StopHow | undefined {
  return res.unreachable ? 'unreachable' : res.timedOut ? 'timedOut' : undefined;
}

/** The entries a dry run shows for a target (its filters applied), or for every target. */
export function listEntries(entries: JournalEntry[], texts: UnitTexts, target?: TargetSettings, applyAs: ApplyAs = 'original'): Listing {
  const statements: ListedStatement[] = [];
  for (const e of entries) {
    const text = texts.get(e);
    const at = whereIs(e);
    if (text.kind === 'unprovable') {
      statements.push({ database: e.database, at, sql: `-- (not sent: the log cannot prove what the primary ran: ${text.problem})\n-- ${text.shown.replace(/\n/g, '\n-- ')}` });
      continue;
    }
    if (text.kind !== 'ok') {
      statements.push({ database: e.database, at, sql: `-- (not readable: ${text.problem})` });
      continue;
    }
    const sent = target ? selectFor(target.filters, e, text.text) : undefined;
    if (sent?.kind === 'skip') continue;
    if (sent?.kind === 'refuse') statements.push({ database: e.database, at, sql: `-- (refused: ${sent.reason})\n-- ${text.text.shown}` });
    else {
      statements.push({
        database: sent?.kind === 'send' ? sent.database : e.database,
        at,
        sql: sent?.kind === 'send' ? sent.shown : text.text.shown,
        role: runsAs(e, applyAs, target),
        settings: text.text.settings.map(redact),
      });
    }
  }
  return { target: target?.name, statements };
}

export interface ApplyContext {
  texts: UnitTexts;
  /** The encoding of each database of the primary, when --source tells it. */
  primaryEncodings?: ReadonlyMap<string, string>;
  source: string;
  connect: ConnectOptions;
  log: Logger;
  applyAs: ApplyAs;
  /** How many more times a statement that gave way on a lock is tried in this run. */
  lockRetries: number;
  /** Objects the primary made that the targets never got: a failed DROP of only these is passed. */
  neverGot?: readonly NeverGot[];
  /** Connections kept from pass to pass (a resident run); without, each pass opens and closes its own. */
  kept?: KeptAppliers;
  /** True once the process is asked to stop: a target stops after the statement under way. */
  stopping?: () => boolean;
}

/** A resident run's appliers, one per target, whose connections outlive a pass. */
export interface KeptAppliers {
  /**
   * The target's applier, readied for a pass whose jobs start at these ledger keys (see
   * TargetApplier.renew).
   */
  applierFor(target: TargetSettings, connect: ConnectOptions, from: ReadonlyMap<string, number>): TargetApplier;
}

/** What a target runs of an entry, after its filters: or why it takes none of it. */
type Selection =
  | { kind: 'send'; database: string; settings: string[]; statements: UnitText['statements']; shown: string }
  | { kind: 'skip'; reason: string }
  | { kind: 'refuse'; reason: string };

/**
 * An entry as a target takes it: the database it runs in (mapped), and the statements its filters
 * keep. A statement on a whole database that the target maps to another name is refused: the tool
 * does not rewrite database names inside statements.
 */
export function selectFor(filters: Filters, entry: JournalEntry, text: UnitText): Selection {
  const included = (db: string): boolean => databaseIncluded(filters, db);
  if (!included(entry.database)) return { kind: 'skip', reason: `database ${entry.database} is filtered out` };
  const kept: UnitText['statements'] = [];
  for (const st of text.statements) {
    if (st.tag === undefined) {
      kept.push(st);
      continue;
    }
    const named = entry.actsOnDatabase ? databaseActedOn(st.sql) : null;
    if (named !== null && !included(named)) continue;
    if (filters.includeCommands.length > 0 && !filters.includeCommands.includes(st.tag)) continue;
    if (filters.excludeCommands.includes(st.tag) || filters.excludeMatching.some((re) => re.test(st.sql))) continue;
    if (named !== null && filters.databaseMap[named] !== undefined) {
      return { kind: 'refuse', reason: `it acts on database ${named}, which this target maps to ${filters.databaseMap[named]}; run it there by hand, then skip it` };
    }
    kept.push(st);
  }
  if (!kept.some((st) => st.tag !== undefined)) return { kind: 'skip', reason: 'its statements are filtered out' };
  return {
    kind: 'send',
    database: filters.databaseMap[entry.database] ?? entry.database,
    settings: text.settings,
    statements: kept,
    // Redacted once for every target where none is left out (redacting is a run's dearest work per
    // statement and target after sending it).
    shown: kept.length === text.statements.length ? text.shown : shownOf(kept),
  };
}

/** Whether a target takes the DDL of this primary database (its include and exclude filters). */
export function databaseIncluded(filters: Filters, db: string): boolean {
  return (filters.includeDatabases.length === 0 || filters.includeDatabases.includes(db)) && !filters.excludeDatabases.includes(db);
}

/** The role a target runs an entry as: the primary's, or the one the tool connects as (sync). */
function runsAs(entry: JournalEntry, applyAs: ApplyAs, target?: TargetSettings): string | undefined {
  if (applyAs === 'original') return entry.user;
  return target ? connectionUser(target) : undefined;
}

/** Command tags of statements that change roles or memberships (see Job.changesRoles). */
const ROLE_TAGS = new Set(['CREATE ROLE', 'ALTER ROLE', 'DROP ROLE', 'GRANT ROLE', 'REVOKE ROLE', 'REASSIGN OWNED', 'DROP OWNED']);

/** What the applier needs to run an entry on a target. */
function jobFor(ctx: ApplyContext, entry: JournalEntry, sent: Extract<Selection, { kind: 'send' }>): Job {
  const original = ctx.applyAs === 'original';
  return {
    database: sent.database,
    settings: sent.settings,
    // A reset of the role between statements goes back to the role the unit runs as (see roleStatements).
    statements: sent.statements.map((st) => (st.unitRole && original ? `SET LOCAL ROLE "${entry.user.replace(/"/g, '""')}"` : st.sql)),
    guarded: sent.statements.map((st) => st.tag !== undefined && st.tag !== 'SELECT INTO' && !/execute/i.test(st.sql)),
    runsAlone: entry.runsAlone,
    actsOnDatabase: entry.actsOnDatabase,
    key: keyOf(ctx, entry),
    logFile: entry.file.name,
    shown: sent.shown,
    role: original ? entry.user : undefined,
    ...(original ? {} : { syncFor: entry.user }),
    changesRoles: sent.statements.some((st) => st.tag !== undefined && ROLE_TAGS.has(st.tag)),
    ...(entry.leftBehind && { leftBehind: entry.leftBehind }),
  };
}

/** What a target does with an entry, decided before anything of it runs. */
type Decision =
  | { kind: 'done'; how: string }
  | { kind: 'filtered'; reason: string; sql: string }
  | { kind: 'stop'; message: string; shown: string; sqlState?: string; how?: StopHow }
  | { kind: 'job'; job: Job };

/** Entries applied in one round trip at most (see TargetApplier.applyBatch). */
const BATCH_MAX = 100;

/**
 * Applies a target's entries in order; stops at the first that fails there. Entries in a row that
 * each run in a transaction in the same database go in batches, one round trip each.
 * @param entries the journal entries from the target's next one on
 * @param next the sequence number the target stands at
 */
export async function applyToTarget(ctx: ApplyContext, target: TargetSettings, entries: JournalEntry[], next: number): Promise<TargetOutcome> {
  const kept = ctx.kept?.applierFor(target, ctx.connect, firstKeys(entries));
  const applier = kept ?? new TargetApplier(target, ctx.connect, firstKeys(entries));
  try {
    return await new TargetPass(ctx, target, applier, entries, next).run();
  } finally {
    // A kept connection lets go of its guard functions between passes: each is owned by a role, which
    // could not be dropped on the target while it owns one.
    if (!kept) await applier.close();
    else await applier.dropGuards();
  }
}

/** An entry and the job that runs it on the target. */
interface Queued {
  entry: JournalEntry;
  job: Job;
}

/** One target's pass over its entries: what each is there, then applied in order, in batches where it can. */
class TargetPass {
  private readonly outcome: TargetOutcome;
  /** For each entry, the later entry that drops or renames its database (see laterRemovals). */
  private readonly removals: Map<number, number>;
  private readonly removalDone = new Map<number, Promise<boolean>>();
  /** Entries waiting to go in one round trip: in a row, each in a transaction, the same database. */
  private readonly batch: Queued[] = [];

  constructor(
    private readonly ctx: ApplyContext,
    private readonly target: TargetSettings,
    private readonly applier: TargetApplier,
    private readonly entries: JournalEntry[],
    next: number,
  ) {
    this.outcome = { name: target.name, next, applied: 0, alreadyApplied: 0, filtered: 0 };
    this.removals = laterRemovals(ctx, entries);
  }

  async run(): Promise<TargetOutcome> {
    for (const [i, entry] of this.entries.entries()) {
      // Asked to stop: what was applied is kept, the rest waits for the next run.
      if (this.ctx.stopping?.()) break;
      const halted = await this.take(entry, await this.decide(entry, i));
      if (halted) return halted;
    }
    return (await this.flush()) ?? this.outcome;
  }

  /** Queues a batchable job, or acts on the decision after what is queued; the outcome if the target stops. */
  private async take(entry: JournalEntry, d: Decision): Promise<TargetOutcome | null> {
    const batchable = d.kind === 'job' && !d.job.runsAlone && !d.job.actsOnDatabase;
    const batch = this.batch;
    if (batchable && batch.length > 0 && (batch.length >= BATCH_MAX || batch[0].job.database !== d.job.database)) {
      const halted = await this.flush();
      if (halted) return halted;
    }
    if (batchable) {
      batch.push({ entry, job: d.job });
      return null;
    }
    const halted = await this.flush();
    if (halted) return halted;
    switch (d.kind) {
      case 'done':
        this.done(entry, d.how);
        return null;
      case 'filtered':
        this.ctx.log.debug('left out by a filter', { ...this.fieldsOf(entry), reason: d.reason, sql: d.sql });
        this.outcome.filtered++;
        this.outcome.next = entry.seq + 1;
        return null;
      case 'stop':
        return this.stop(entry, d.message, d.shown, d.sqlState, d.how);
      case 'job':
        return this.applyOne(entry, d.job);
    }
  }

  private fieldsOf(entry: JournalEntry) {
    return { target: this.target.name, database: entry.database, at: whereIs(entry) };
  }

  /** Everything that decides what the entry is for this target, without running any of it. */
  private async decide(entry: JournalEntry, i: number): Promise<Decision> {
    if (await this.removedLater(i)) return { kind: 'done', how: 'its database was dropped or renamed later by a statement the target applied' };
    const { target, ctx } = this;
    if (!databaseIncluded(target.filters, entry.database)) return { kind: 'filtered', reason: `database ${entry.database} is filtered out`, sql: '' };
    // Filters first, on the text read as UTF-8: a statement left out needs no connection. Text that
    // is not UTF-8 is filtered once decoded.
    const shown = ctx.texts.get(entry);
    if (shown.kind === 'unprovable') return this.unprovableStop(entry, shown.problem, shown.shown);
    const readable = shown.kind === 'ok' && !shown.text.statements.some((st) => st.sql.includes('\uFFFD'));
    const first = readable ? selectFor(target.filters, entry, shown.text) : null;
    if (first?.kind === 'skip') return { kind: 'filtered', reason: first.reason, sql: shown.kind === 'ok' ? head(shown.text.shown) : '' };
    // The statement's bytes are in its database's encoding: the primary's when --source tells it,
    // else the target's (the same, when the database was made by a synced CREATE DATABASE).
    const database = target.filters.databaseMap[entry.database] ?? entry.database;
    const there = await this.applier.encodingOf(database);
    if (there.kind === 'failed') return { kind: 'stop', message: there.message, shown: '', sqlState: there.sqlState, how: howOf(there) };
    return this.decideDecoded(entry, database, ctx.primaryEncodings?.get(entry.database) ?? there.encoding);
  }

  /**
   * Whether the entry's database is dropped or renamed later by a statement this target has done: the
   * entry was done before it, in that database (a database of the same name now is another one).
   */
  private async removedLater(i: number): Promise<boolean> {
    const removal = this.removals.get(i);
    if (removal === undefined) return false;
    if (!this.removalDone.has(removal)) this.removalDone.set(removal, isDoneOn(this.ctx, this.target, this.applier, this.entries[removal]));
    return (await this.removalDone.get(removal)) === true;
  }

  /** The rest of decide, on the entry's text decoded from its database's encoding. */
  private async decideDecoded(entry: JournalEntry, database: string, encoding: string): Promise<Decision> {
    const text = this.ctx.texts.get(entry, encoding);
    if (text.kind === 'gone') {
      if (await this.applier.isDone({ database, key: keyOf(this.ctx, entry) })) return { kind: 'done', how: 'found in the target ledger; its log file is gone' };
      return { kind: 'stop', message: `its statement cannot be read: ${text.problem}`, shown: '' };
    }
    if (text.kind === 'undecodable') return { kind: 'stop', message: `not sent: ${text.problem}`, shown: '' };
    if (text.kind === 'unprovable') return this.unprovableStop(entry, text.problem, text.shown);
    const sent = selectFor(this.target.filters, entry, text.text);
    if (sent.kind === 'refuse') return { kind: 'stop', message: `not sent: ${sent.reason}`, shown: text.text.shown };
    if (sent.kind === 'skip') return { kind: 'filtered', reason: sent.reason, sql: head(text.text.shown) };
    return { kind: 'job', job: jobFor(this.ctx, entry, sent) };
  }

  /** A statement the log cannot prove: never sent, told as a security event. */
  private unprovableStop(entry: JournalEntry, problem: string, shown: string): Decision {
    this.ctx.log.error('security: not sent, the log cannot prove what the primary ran', { ...this.fieldsOf(entry), event: 'security', reason: problem, sql: head(shown) });
    const message = `not sent: the log cannot prove what the primary ran (${problem}); if the primary did run it, run it here by hand, then skip it`;
    return { kind: 'stop', message, shown };
  }

  /** The target stops at this entry: logged, and the outcome says why. */
  private stop(entry: JournalEntry, message: string, shown: string, sqlState?: string, how?: StopHow): TargetOutcome {
    const { log } = this.ctx;
    const fields = this.fieldsOf(entry);
    const line = { ...fields, sqlstate: sqlState, error: message, sql: head(shown) };
    if (how === 'lockWait') log.warn('statement gave way on a lock every time; the target stays at it until the next run', line);
    else if (how === 'timedOut') log.error('statement timed out on target; the target stays at it until the next run', line);
    else if (how === 'unreachable') log.error('cannot connect to the target; the next run tries again', { ...fields, sqlstate: sqlState, error: message });
    else log.error('statement failed on target; the target stays at it', line);
    this.outcome.failure = { seq: entry.seq, database: entry.database, at: fields.at, shown, sqlState, message, ...(how ? { [how]: true } : {}) };
    return this.outcome;
  }

  private done(entry: JournalEntry, how: string): void {
    this.ctx.log.info(`already applied (${how})`, this.fieldsOf(entry));
    this.outcome.alreadyApplied++;
    this.outcome.next = entry.seq + 1;
  }

  /** Takes an entry's result into the outcome; the outcome when the target stops there. */
  private async record(entry: JournalEntry, job: Job, res: ApplyResult): Promise<TargetOutcome | null> {
    if (res.kind === 'failed' && (await this.nothingToDrop(entry, job, res))) return null;
    // The server may quote what it could not read of the statement: a secret's piece.
    if (res.kind === 'failed') {
      const how = howOf(res);
      // Nothing was tried: the target stands at no statement, and shows none.
      return this.stop(entry, maskMessage(res.message, job.statements), how === 'unreachable' ? '' : job.shown, res.sqlState, how);
    }
    if (res.kind === 'already') {
      this.done(entry, res.how === 'skipped' ? 'skipped there before, its ledger says' : res.how === 'adopted' ? 'the target was adopted after it' : 'found in the target ledger');
      return null;
    }
    const { log } = this.ctx;
    this.outcome.applied++;
    this.outcome.lastApplied = { seq: entry.seq, at: whereIs(entry), logTime: entry.logTime };
    log.info(res.recovered ? 'applied (had run before a crash; ledger completed)' : 'applied', { ...this.fieldsOf(entry), ms: res.ms, sql: head(job.shown) });
    // What a reviewer needs to tell how it ran: the same statement differs by role and search_path.
    log.debug('applied with', { ...this.fieldsOf(entry), database: job.database, role: job.role ?? `${connectionUser(this.target)} (sync)`, settings: job.settings.map(redact).join('; ') || undefined });
    this.outcome.next = entry.seq + 1;
    return null;
  }

  /**
   * A DROP that failed with "does not exist" where every object it names is one the primary made and
   * the targets never got (core/neverGot): there is nothing to drop, and the target stands as the
   * primary does after it. Recorded in the ledger as passed, like a skip; true when it was.
   */
  private async nothingToDrop(entry: JournalEntry, job: Job, res: Extract<ApplyResult, { kind: 'failed' }>): Promise<boolean> {
    const neverGot = this.ctx.neverGot ?? [];
    if (res.connection || res.sqlState === undefined || !UNDEFINED_OBJECT.has(res.sqlState) || neverGot.length === 0 || job.statements.length !== 1) return false;
    await loadParser();
    const objects = dropsOnlyNeverGot(job.statements[0], job.settings, entry.database, neverGot);
    if (objects === null || !(await this.applier.recordNothingToDo(job))) return false;
    const named = objects.map((g) => `${g.kind} ${g.schema === undefined ? '' : `${g.schema}.`}${g.name} (${g.why})`).join(', ');
    this.ctx.log.warn('not applied: it drops only objects the primary made that this target never got; nothing to drop here', { ...this.fieldsOf(entry), objects: named, sql: head(job.shown) });
    this.outcome.next = entry.seq + 1;
    return true;
  }

  /**
   * One entry on its own, tried again while it gives way on a lock.
   * @param tried what a batch got when it tried the entry, if that was giving way on a lock
   */
  private async applyOne(entry: JournalEntry, job: Job, tried?: ApplyResult): Promise<TargetOutcome | null> {
    const { ctx, applier } = this;
    let res = tried ?? (await applier.apply(job));
    // A lock the target's own sessions hold: give way (lock_timeout), wait, try again; a replayed
    // statement never queues the target's sessions behind it for longer than the lock timeout.
    for (let retry = 1; isLockWait(res) && retry <= ctx.lockRetries; retry++) {
      const ms = backoffMs(retry);
      ctx.log.warn('statement gave way on a lock; trying again', { ...this.fieldsOf(entry), try: retry + 1, in_ms: ms, sql: head(job.shown) });
      await new Promise((resolve) => setTimeout(resolve, ms));
      res = await applier.apply(job);
    }
    if (isLockWait(res)) {
      await loadParser();
      const holders = await applier.lockHolders(job.database, job.statements.flatMap(relationsNamed));
      const sqlState = res.kind === 'failed' ? res.sqlState : undefined;
      return this.stop(entry, lockWaitMessage(holders, ctx.lockRetries + 1, ctx.connect.lockTimeoutMs ?? 0), job.shown, sqlState, 'lockWait');
    }
    return this.record(entry, job, res);
  }

  /** Sends what is queued, in one round trip; the outcome if the target stops at one of them. */
  private async flush(): Promise<TargetOutcome | null> {
    const items = this.batch.splice(0);
    if (items.length === 0) return null;
    const { settled, stoppedBy } = items.length > 1 ? await this.applier.applyBatch(items.map((it) => it.job)) : { settled: [] };
    for (const [k, it] of items.entries()) {
      // Those the batch did not settle (it stopped at a failure) go one by one, which says why; the
      // one it stopped at, if that gave way on a lock, counts that as its first try, and if it ran
      // out of time (or the target did not answer) it is not run again for as long: the batch said why.
      const known = k === settled.length && stoppedBy && (isLockWait(stoppedBy) || stoppedBy.sqlState === QUERY_CANCELED || stoppedBy.timedOut === true);
      const tried = known ? stoppedBy : undefined;
      const halted = k < settled.length ? await this.record(it.entry, it.job, settled[k]) : await this.applyOne(it.entry, it.job, tried);
      if (halted) return halted;
    }
    return null;
  }
}

/** SQLSTATEs of a statement that gave way: lock_not_available (lock_timeout) and deadlock_detected. */
const LOCK_WAIT = new Set(['55P03', '40P01']);

function isLockWait(res: ApplyResult): boolean {
  return res.kind === 'failed' && !res.connection && res.sqlState !== undefined && LOCK_WAIT.has(res.sqlState);
}

/** Waits between tries: 1 s, 2 s, 4 s, then 8 s. */
function backoffMs(retry: number): number {
  return 1000 * 2 ** Math.min(retry - 1, 3);
}

/** What a target waits for, as `status` shows it: the relation, and who holds it. */
export function lockWaitMessage(holders: LockHolder[], tries: number, lockTimeoutMs: number): string {
  const on = [...new Set(holders.map((h) => h.relation))];
  const who = holders
    .slice(0, 3)
    .map((h) => `pid ${h.pid} (${[h.user && `user ${h.user}`, h.application && `application ${h.application}`, h.state, h.seconds !== null ? `transaction open ${h.seconds} s` : ''].filter(Boolean).join(', ')}; ${h.mode})`)
    .join(', ');
  const more = holders.length > 3 ? ` and ${holders.length - 3} more` : '';
  const what = on.length > 0 ? `waiting for a lock on ${on.join(', ')}, held by ${who}${more}` : 'waiting for a lock';
  // With no lock timeout, only a deadlock makes a statement give way.
  const after = lockTimeoutMs > 0 ? ` after ${lockTimeoutMs / 1000} s each` : '';
  return `${what}; gave way ${tries} time(s)${after}; the next run tries again`;
}

function keyOf(ctx: ApplyContext, entry: JournalEntry): Job['key'] {
  return { source: ctx.source, fileKey: entry.file.key, offset: entry.key };
}

/**
 * For each entry, the first later entry that drops or renames the database it runs in (by index).
 */
function laterRemovals(ctx: ApplyContext, entries: JournalEntry[]): Map<number, number> {
  const out = new Map<number, number>();
  const nearest = new Map<string, number>();
  for (let i = entries.length - 1; i >= 0; i--) {
    const later = nearest.get(entries[i].database);
    if (later !== undefined) out.set(i, later);
    if (!entries[i].actsOnDatabase) continue;
    const text = ctx.texts.get(entries[i]);
    if (text.kind !== 'ok') continue;
    for (const st of text.text.statements) {
      const removed = databaseRemovedBy(st.sql);
      if (removed !== null) nearest.set(removed, i);
    }
  }
  return out;
}

/** Whether the target's ledger shows this entry done, as the target would take it. */
async function isDoneOn(ctx: ApplyContext, target: TargetSettings, applier: TargetApplier, entry: JournalEntry): Promise<boolean> {
  const text = ctx.texts.get(entry);
  if (text.kind !== 'ok') return false;
  const sent = selectFor(target.filters, entry, text.text);
  return sent.kind === 'send' && applier.isDone(jobFor(ctx, entry, sent));
}

/** For each log file of these entries, the lowest ledger key among them. */
function firstKeys(entries: JournalEntry[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of entries) {
    const first = out.get(e.file.key);
    if (first === undefined || e.key < first) out.set(e.file.key, e.key);
  }
  return out;
}

/** The first line of a statement, cut to 120 characters, for log lines. */
export function head(sql: string): string {
  const first = sql.split('\n', 1)[0];
  return first.length > 120 || sql.includes('\n') ? `${first.slice(0, 120)}…` : first;
}
