/**
 * Saving a pass: the state after the read, each target's place as it finishes, and the metrics file.
 */
import { StateError } from '../errors';
import { marksAfter } from '../io/fileMarks';
import { Logger } from '../io/logger';
import { writeMetrics } from '../io/metrics';
import { primaryToSave } from '../io/primaryId';
import { Settings } from '../io/settings';
import { State, TargetState, saveState } from '../io/state';
import type { TargetOutcome } from './apply';
import type { JournalView } from './journal';
import type { RunSummary } from './pass';
import type { NewRecords } from './read';
import { statusReport } from './statusReport';

/**
 * The state once the read is done: the log's new marks and the judge, the journal, the gaps found.
 * It is saved before any target is tried: a run killed meanwhile loses nothing the next run cannot
 * find again (the ledgers keep what was applied).
 */
export function stateAfterRead(state: State, read: NewRecords, journal: JournalView, now: () => Date, log: Logger): State {
  const { files, plan, kept, listedAt, gaps } = read;
  let current: State = {
    ...state,
    primary: primaryToSave(state.primary, read.primary),
    log: { files: marksAfter(files, plan.ends, kept, listedAt), listedAt: listedAt.toISOString(), judge: plan.judge.snapshot() },
    journal: { nextSeq: state.journal.nextSeq + plan.units.length, entries: journal.entries },
    lastRun: now().toISOString(),
  };
  if (gaps.length > 0) {
    for (const g of gaps) log.error('a csvlog file went, or was emptied, with records the runs may not have read: they may never reach the targets', { ...g });
    const foundAt = now().toISOString();
    current = { ...current, gaps: [...(state.gaps ?? []), ...gaps.map((g) => ({ ...g, foundAt }))] };
  }
  return current;
}

/** A target's place after a pass. */
export function withOutcome(state: State, o: TargetOutcome, now: Date): State {
  const before = state.targets[o.name];
  const totals = before?.totals ?? { applied: 0, filtered: 0, failedRuns: 0, skipped: 0 };
  const common = {
    next: o.next,
    lastApplied: o.lastApplied ?? before?.lastApplied,
    totals: { ...totals, applied: totals.applied + o.applied, filtered: totals.filtered + o.filtered, failedRuns: totals.failedRuns + (o.failure ? 1 : 0) },
  };
  let target: TargetState;
  if (o.failure) {
    // Out of reach since the first run that could not connect, whichever statement it stood at.
    const same = before?.failure?.seq === o.failure.seq || (before?.failure?.unreachable === true && o.failure.unreachable === true);
    target = {
      ...common,
      lastSuccess: before?.lastSuccess,
      failure: {
        seq: o.failure.seq,
        statement: o.failure.shown,
        at: o.failure.at,
        database: o.failure.database,
        sqlState: o.failure.sqlState,
        message: o.failure.message,
        since: same && before?.failure ? before.failure.since : now.toISOString(),
        ...(o.failure.lockWait ? { lockWait: true } : {}),
        ...(o.failure.timedOut ? { timedOut: true } : {}),
        ...(o.failure.unreachable ? { unreachable: true } : {}),
      },
    };
  } else {
    target = { ...common, lastSuccess: now.toISOString() };
  }
  return { ...state, targets: { ...state.targets, [o.name]: target } };
}

/** Writes the metrics file from the state just saved; a failure to write it is only logged. */
export async function saveMetrics(settings: Settings, file: string, state: State, summary: RunSummary, log: Logger): Promise<void> {
  try {
    const s = await statusReport(settings, new Date(), false);
    writeMetrics(file, {
      finishedAt: new Date(),
      durationMs: summary.ms,
      waiting: s.waiting.length,
      outcomeUnknown: s.unknown.length,
      oldestHeldBackSeconds: s.oldestHeldBack?.ageSeconds ?? 0,
      unreadBytes: s.log.unreadBytes,
      nestedDdl: s.nested.length,
      targets: s.targets
        .filter((t) => t.configured)
        .map((t) => {
          const totals = state.targets[t.name]?.totals;
          return {
            name: t.name,
            pending: t.pending,
            behindBytes: t.behindBytes,
            lagSeconds: t.lagSeconds,
            // A lock wait or a timeout is a stop too: an alert on stuck must not miss either.
            stuck: t.state === 'stuck' || t.state === 'waiting-for-lock' || t.state === 'timed-out' || t.state === 'unreachable',
            lockWait: t.state === 'waiting-for-lock',
            timedOut: t.state === 'timed-out',
            unreachable: t.state === 'unreachable',
            lastSuccess: t.lastSuccess,
            applied: totals?.applied ?? 0,
            filtered: totals?.filtered ?? 0,
            failedRuns: totals?.failedRuns ?? 0,
            skipped: totals?.skipped ?? 0,
          };
        }),
    });
  } catch (err) {
    log.warn('cannot write the metrics file', { file, error: (err as Error).message });
  }
}

/** How long after a target finishes its place is saved, with those of any finishing meanwhile. */
export const SAVE_DELAY_MS = 500;

/**
 * A save asked for several times within a moment, made once. A failed save throws from rethrow(),
 * which the run calls (after stop()) before its own last save.
 */
export class CoalescedSave {
  private timer: NodeJS.Timeout | undefined;
  private error: unknown;

  constructor(
    private readonly saveNow: () => void,
    private readonly delayMs: number,
  ) {}

  soon(): void {
    if (this.timer || this.error) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.saveNow();
      } catch (err) {
        this.error = err;
      }
    }, this.delayMs);
  }

  /** Drops a save not made yet: the caller makes a later one, or the run ends without it. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Throws the error of a save that failed. */
  rethrow(): void {
    if (this.error) throw this.error;
  }
}

export function save(file: string, state: State): void {
  try {
    saveState(file, state);
  } catch (err) {
    // What the targets applied is in their ledgers: the next run skips it, whatever this file says.
    throw new StateError(file, `cannot write it: ${(err as Error).message}; the targets' ledgers hold what this run applied`);
  }
}
