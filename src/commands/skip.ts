/**
 * `skip --target NAME`: moves a stopped target past the one statement it fails on. The statement and
 * the reason are kept in a file next to the state (`STATE.skipped.jsonl`) and in the log, so that
 * nothing vanishes silently.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { StateError, UsageError } from '../errors';
import { Logger } from '../io/logger';
import { TargetFailure, loadState, saveState } from '../io/state';
import { Settings } from '../settings';
import { Locked, withRunLock } from './runLock';

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

/** The file skipped statements are kept in. */
export function skippedFile(stateFile: string): string {
  return `${stateFile}.skipped.jsonl`;
}

export async function skip(settings: Settings, target: string, opts: SkipOptions): Promise<SkipResult> {
  const res = await withRunLock(settings.stateFile, opts.log, async () => {
    const state = loadState(settings.stateFile);
    const failure = state.targets[target]?.failure;
    if (!failure) {
      const known = Object.keys(state.targets);
      throw new UsageError(
        known.includes(target)
          ? `target ${target} is not stopped at a statement: there is nothing to skip`
          : `target ${target} is not in the state file ${settings.stateFile} (known: ${known.join(', ') || 'none'})`,
      );
    }
    if (!opts.yes) {
      if (!opts.confirm) throw new UsageError('skip asks before it skips: run it at a terminal, or give --yes');
      if (!(await opts.confirm(failure))) return { kind: 'declined' as const, target, failure };
    }
    const now = (opts.now ?? (() => new Date()))();
    const record = {
      skippedAt: now.toISOString(),
      target,
      seq: failure.seq,
      at: failure.at,
      database: failure.database,
      statement: failure.statement,
      sqlState: failure.sqlState ?? null,
      error: failure.message,
      failingSince: failure.since,
      reason: opts.reason ?? null,
      by: os.userInfo().username,
    };
    const file = skippedFile(settings.stateFile);
    try {
      fs.appendFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    } catch (err) {
      throw new StateError(settings.stateFile, `cannot record the skipped statement in ${file}: ${(err as Error).message}`);
    }
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
