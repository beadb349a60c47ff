/**
 * Sending journal entries to targets, and listing them for a dry run: shared by `run` and `replay`.
 */
import { databaseRemovedBy } from '../core/databaseStatements';
import { Job, TargetApplier } from '../io/applier';
import { Logger } from '../io/logger';
import { JournalEntry } from '../io/state';
import { ConnectOptions, TargetSpec } from '../io/target';
import { UnitTexts } from '../io/unitText';

/** One statement as a dry run lists it. */
export interface ListedStatement {
  database: string;
  /** `file:offset` of its record in the primary's log. */
  at: string;
  /** Redacted. */
  sql: string;
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
}

export function whereIs(entry: JournalEntry): string {
  return `${entry.file.name}:${entry.offset}`;
}

/** The entries a target applies next, in order. */
export function entriesFrom(entries: JournalEntry[], next: number): JournalEntry[] {
  return entries.filter((e) => e.seq >= next);
}

export function listEntries(entries: JournalEntry[], texts: UnitTexts, target?: string): Listing {
  return {
    target,
    statements: entries.map((e) => {
      const text = texts.get(e);
      return {
        database: e.database,
        at: whereIs(e),
        sql: text.kind === 'ok' ? text.text.shown : `-- (not readable: ${text.problem})`,
      };
    }),
  };
}

export interface ApplyContext {
  texts: UnitTexts;
  source: string;
  connect: ConnectOptions;
  log: Logger;
}

/** What the applier needs to run an entry on a target. */
function jobFor(ctx: ApplyContext, entry: JournalEntry, statements: string[], shown: string): Job {
  return {
    database: entry.database,
    settings: entry.settings,
    statements,
    runsAlone: entry.runsAlone,
    actsOnDatabase: entry.actsOnDatabase,
    key: { source: ctx.source, fileKey: entry.file.key, offset: entry.key },
    logFile: entry.file.name,
    shown,
  };
}

/**
 * Applies a target's entries in order; stops at the first that fails there.
 * @param entries the journal entries from the target's next one on
 * @param next the sequence number the target stands at
 */
export async function applyToTarget(ctx: ApplyContext, spec: TargetSpec, entries: JournalEntry[], next: number): Promise<TargetOutcome> {
  const { log } = ctx;
  const outcome: TargetOutcome = { name: spec.name, next, applied: 0, alreadyApplied: 0 };
  const applier = new TargetApplier(spec, ctx.connect, [...new Set(entries.map((e) => e.file.key))]);
  try {
    for (const [i, entry] of entries.entries()) {
      const fields = { target: spec.name, database: entry.database, at: whereIs(entry) };
      const stop = (message: string, shown: string, sqlState?: string): TargetOutcome => {
        log.error('statement failed on target; the target stays at it', { ...fields, sqlstate: sqlState, error: message, sql: head(shown) });
        outcome.failure = { seq: entry.seq, database: entry.database, at: fields.at, shown, sqlState, message };
        return outcome;
      };
      const text = ctx.texts.get(entry);
      if (text.kind === 'gone') return stop(`its statement cannot be read: ${text.problem}`, '');
      const job = jobFor(ctx, entry, text.text.statements, text.text.shown);
      const res = await applier.apply(job);
      if (res.kind === 'failed' && res.sqlState === MISSING_DATABASE && (await removalDone(ctx, applier, entries, i))) {
        log.info('already applied (its database was dropped or renamed later by a statement the target applied)', fields);
        outcome.alreadyApplied++;
      } else if (res.kind === 'failed') {
        return stop(res.message, job.shown, res.sqlState);
      } else if (res.kind === 'already') {
        outcome.alreadyApplied++;
        log.info('already applied (found in the target ledger)', fields);
      } else {
        outcome.applied++;
        log.info(res.recovered ? 'applied (had run before a crash; ledger completed)' : 'applied', { ...fields, ms: res.ms, sql: head(job.shown) });
      }
      outcome.next = entry.seq + 1;
    }
    return outcome;
  } finally {
    await applier.close();
  }
}

/** SQLSTATE invalid_catalog_name: "database … does not exist". */
const MISSING_DATABASE = '3D000';

/**
 * For an entry whose database is not on the target: true when the statement that dropped or renamed
 * that database on the primary, later in the journal, is done on the target. A target applies in
 * journal order, so the entry was applied before it (the state file lagged behind the target).
 */
async function removalDone(ctx: ApplyContext, applier: TargetApplier, entries: JournalEntry[], index: number): Promise<boolean> {
  const database = entries[index].database;
  for (const later of entries.slice(index + 1)) {
    const text = ctx.texts.get(later);
    if (text.kind !== 'ok' || !text.text.statements.some((sql) => databaseRemovedBy(sql) === database)) continue;
    return applier.isDone(jobFor(ctx, later, text.text.statements, text.text.shown));
  }
  return false;
}

/** The first line of a statement, cut to 120 characters, for log lines. */
export function head(sql: string): string {
  const first = sql.split('\n', 1)[0];
  return first.length > 120 || sql.includes('\n') ? `${first.slice(0, 120)}…` : first;
}
