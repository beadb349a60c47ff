/**
 * `skip --target NAME`: moves a stopped target past the one statement it fails on. The statement and
 * the reason are kept in a file next to the state (`STATE.skipped.jsonl`), in the log, and in the
 * target's ledger (so a state file lost or restored later does not stop there again): nothing
 * vanishes silently.
 */
import * as os from 'node:os';
import { loadParser } from '../core/parser';
import { UsageError } from '../errors';
import { recordDecisions } from '../io/decisionRecord';
import { recordSkip } from '../io/ledger';
import { withLedger } from '../io/ledgerWrite';
import { listLogFiles } from '../io/logFiles';
import { Logger } from '../io/logger';
import { JournalEntry, State, TargetFailure, loadState, saveState } from '../io/state';
import { withUnitTexts } from '../io/unitText';
import { Settings, TargetSettings, connectOptions } from '../io/settings';
import { Locked, withRunLock } from '../pipeline/runLock';
import { selectFor } from '../pipeline/apply';

export type SkipResult =
  | { kind: 'skipped'; target: string; failure: TargetFailure; record: string }
  | { kind: 'declined'; target: string; failure: TargetFailure }
  | Locked;

export interface SkipOptions {
  /** Skips without asking. */
  yes: boolean;
  reason?: string;
  /** Shows the statement and asks; resolves true to skip. Without it, --yes is required. */
  confirm?: (failure: TargetFailure) => Promise<boolean>;
  log: Logger;
  now?: () => Date;
}

export async function skip(settings: Settings, target: string, opts: SkipOptions): Promise<SkipResult> {
  const res = await withRunLock(settings.stateFile, opts.log, async () => {
    const state = loadState(settings.stateFile);
    const stopped = stoppedAt(settings, state, target);
    const failure = { ...stopped.failure, statement: await statementAt(settings, stopped.entry, stopped.spec, stopped.failure) };
    if (!opts.yes) {
      if (!opts.confirm) throw new UsageError('skip asks before it skips: run it at a terminal, or give --yes');
      if (!(await opts.confirm(failure))) return { kind: 'declined' as const, target, failure };
    }
    const { entry, spec } = stopped;
    // The ledger first: a state file lost or restored later must not bring the statement back.
    const database = spec.filters.databaseMap[entry.database] ?? entry.database;
    const key = { source: settings.sourceName, fileKey: entry.file.key, offset: entry.key };
    await withLedger(spec, database, connectOptions(settings), (client) => recordSkip(client, key, entry.file.name, failure.statement));
    const now = (opts.now ?? (() => new Date()))();
    const record = {
      skippedAt: now.toISOString(),
      target,
      seq: failure.seq,
      at: failure.at,
      file: entry.file.name,
      offset: entry.offset,
      database: failure.database,
      targetDatabase: database,
      statement: failure.statement,
      sqlState: failure.sqlState ?? null,
      error: failure.message,
      failingSince: failure.since,
      reason: opts.reason ?? null,
      by: os.userInfo().username,
    };
    const file = recordDecisions(settings.stateFile, 'the skipped statement', [record]);
    const t = state.targets[target];
    const totals = t.totals ?? { applied: 0, filtered: 0, failedRuns: 0, skipped: 0 };
    state.targets[target] = { ...t, next: failure.seq + 1, failure: undefined, totals: { ...totals, skipped: totals.skipped + 1 } };
    saveState(settings.stateFile, state);
    opts.log.warn('skipped the statement the target was stopped at; it was not applied there', {
      target,
      at: failure.at,
      database: failure.database,
      sqlstate: failure.sqlState,
      error: failure.message,
      reason: opts.reason,
      sql: failure.statement.split('\n', 1)[0].slice(0, 120),
    });
    return { kind: 'skipped' as const, target, failure, record: file };
  });
  return res;
}

/**
 * The statement a target is stopped at, its journal entry and the target's settings; a UsageError
 * when there is none to skip: the target is not stopped, is out of reach (it stands at no statement),
 * or stands at an entry the journal no longer has.
 */
function stoppedAt(settings: Settings, state: State, target: string): { failure: TargetFailure; entry: JournalEntry; spec: TargetSettings } {
  const failure = state.targets[target]?.failure;
  if (!failure) {
    const known = Object.keys(state.targets);
    throw new UsageError(
      known.includes(target)
        ? `target ${target} is not stopped at a statement: there is nothing to skip`
        : `target ${target} is not in the state file ${settings.stateFile} (known: ${known.join(', ') || 'none'})`,
    );
  }
  if (failure.unreachable) {
    throw new UsageError(
      `target ${target} is unreachable (since ${failure.since}: ${failure.message}), not stopped at a statement: there is nothing to skip; make it reachable and run again`,
    );
  }
  const entry = state.journal.entries.find((e) => e.seq === failure.seq);
  if (!entry) {
    throw new UsageError(`target ${target} is stopped at ${failure.at}, which the journal no longer holds: there is no statement to skip (${failure.message})`);
  }
  const spec = settings.targets.find((t) => t.name === target);
  if (!spec) {
    throw new UsageError(`skip records the skipped statement in the ledger of target ${target}: give its URL (--target ${target}=URL, or -c CONFIG that names it)`);
  }
  return { failure, entry, spec };
}

/**
 * The text of the statement a target is stopped at, masked, as the target would take it (its filters
 * applied), read again from the log; what the state kept when the log no longer has it.
 */
async function statementAt(settings: Settings, entry: JournalEntry, spec: TargetSettings, failure: TargetFailure): Promise<string> {
  const kept = failure.statement || '-- (its text is not in the state file)';
  if (!settings.csvlogDir) return kept;
  await loadParser();
  const text = withUnitTexts(listLogFiles(settings.csvlogDir), (texts) => texts.get(entry));
  if (text.kind === 'unprovable') return text.shown;
  if (text.kind !== 'ok') return failure.statement || `-- (its text cannot be read: ${text.problem})`;
  const sent = selectFor(spec.filters, entry, text.text);
  return sent.kind === 'send' ? sent.shown : text.text.shown;
}

export type AcknowledgeResult = { kind: 'acknowledged'; count: number; record: string } | Locked;

/**
 * `skip --gaps`: a person checked the targets after records went from the log before they were read;
 * the gaps leave the state (so status is clean again) for the skipped-statements file.
 */
export async function acknowledgeGaps(settings: Settings, opts: Omit<SkipOptions, 'confirm'>): Promise<AcknowledgeResult> {
  return withRunLock(settings.stateFile, opts.log, async () => {
    const state = loadState(settings.stateFile);
    const gaps = state.gaps ?? [];
    if (gaps.length === 0) throw new UsageError(`the state file ${settings.stateFile} records no gap: there is nothing to acknowledge`);
    if (!opts.yes) throw new UsageError('give --yes to acknowledge the gaps status lists');
    const now = (opts.now ?? (() => new Date()))().toISOString();
    const records = gaps.map((g) => ({ acknowledgedAt: now, gap: g, reason: opts.reason ?? null, by: os.userInfo().username }));
    const file = recordDecisions(settings.stateFile, 'the acknowledged gaps', records);
    saveState(settings.stateFile, { ...state, gaps: undefined });
    opts.log.warn('gaps in the log acknowledged', { count: gaps.length, reason: opts.reason });
    return { kind: 'acknowledged' as const, count: gaps.length, record: file };
  });
}
