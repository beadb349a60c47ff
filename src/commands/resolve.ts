/**
 * `resolve --at FILE:OFFSET --send|--drop`: a person's word on a statement whose outcome a crash of
 * the primary left unknown (status lists them). --send: the primary has it, the next run sends it (and
 * what waited behind it); --drop: it did not commit, it is never sent. Its whole transaction goes with
 * it. The decision is kept, as a skip is, in `STATE.skipped.jsonl` and in the log.
 */
import * as os from 'node:os';
import { Judge } from '../core/judge';
import { loadParser } from '../core/parser';
import { UsageError } from '../errors';
import { recordDecisions } from '../io/decisionRecord';
import { listLogFiles } from '../io/logFiles';
import { Logger } from '../io/logger';
import { loadState, saveState } from '../io/state';
import { withUnitTexts } from '../io/unitText';
import { Settings } from '../io/settings';
import { UnknownOutcome, unknownOutcomes } from '../pipeline/report';
import { Locked, withRunLock } from '../pipeline/runLock';

export type ResolveResult =
  | { kind: 'resolved'; outcomes: UnknownOutcome[]; decision: 'send' | 'drop'; record: string }
  | { kind: 'declined'; outcomes: UnknownOutcome[] }
  | Locked;

export interface ResolveOptions {
  decision: 'send' | 'drop';
  yes: boolean;
  reason?: string;
  /** Shows the statements and asks; resolves true to go on. Without it, --yes is required. */
  confirm?: (outcomes: UnknownOutcome[], decision: 'send' | 'drop') => Promise<boolean>;
  log: Logger;
  now?: () => Date;
}

/**
 * Decides the transaction of the unknown statement at `at`.
 * @param at `file:offset`, as status and run show it
 */
export async function resolve(settings: Settings, at: string, opts: ResolveOptions): Promise<ResolveResult> {
  return withRunLock(settings.stateFile, opts.log, async () => {
    const state = loadState(settings.stateFile);
    const judge = new Judge(state.log?.judge);
    await loadParser();
    const all = withUnitTexts(settings.csvlogDir ? listLogFiles(settings.csvlogDir) : [], (texts) => unknownOutcomes(judge, texts));
    const units = judge.resolve(at, opts.decision === 'send' ? 'committed' : 'failed');
    if (!units) {
      throw new UsageError(
        all.length === 0
          ? `the state file ${settings.stateFile} holds no statement whose outcome is unknown: there is nothing to resolve`
          : `no statement of unknown outcome at ${at}; they are at: ${all.map((u) => u.at).join(', ')}`,
      );
    }
    const places = new Set(units.map((u) => `${u.file.name}:${u.offset}`));
    const outcomes = all.filter((u) => places.has(u.at));
    if (!opts.yes) {
      if (!opts.confirm) throw new UsageError('resolve asks before it decides: run it at a terminal, or give --yes');
      if (!(await opts.confirm(outcomes, opts.decision))) return { kind: 'declined' as const, outcomes };
    }
    const now = (opts.now ?? (() => new Date()))().toISOString();
    const by = os.userInfo().username;
    const records = outcomes.map((u) => ({ resolvedAt: now, resolved: opts.decision, ...u, reason: opts.reason ?? null, by }));
    const file = recordDecisions(settings.stateFile, 'the decision', records);
    if (state.log) saveState(settings.stateFile, { ...state, log: { ...state.log, judge: judge.snapshot() } });
    for (const u of outcomes) {
      opts.log.warn(`statement of unknown outcome resolved: ${opts.decision === 'send' ? 'the next run sends it' : 'never sent'}`, { at: u.at, database: u.database, role: u.role, reason: opts.reason, sql: u.sql });
    }
    return { kind: 'resolved' as const, outcomes, decision: opts.decision, record: file };
  });
}
