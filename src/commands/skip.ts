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
    const file = skippedFile(settings.stateFile);
    const now = (opts.now ?? (() => new Date()))().toISOString();
    const lines = gaps.map((g) => JSON.stringify({ acknowledgedAt: now, gap: g, reason: opts.reason ?? null, by: os.userInfo().username }));
    try {
      fs.appendFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    } catch (err) {
      throw new StateError(settings.stateFile, `cannot record the acknowledged gaps in ${file}: ${(err as Error).message}`);
    }
    saveState(settings.stateFile, { ...state, gaps: undefined });
    opts.log.warn('gaps in the log acknowledged', { count: gaps.length, reason: opts.reason });
    return { kind: 'acknowledged' as const, count: gaps.length, record: file };
  });
}
