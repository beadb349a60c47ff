/**
 * `replay FILE…`: the DDL of these csvlog files, from their start, without the state file. Targets
 * keep their ledgers, so a statement a run already applied from the same file is not applied again.
 */
import { echoFilter } from '../core/echo';
import { loadParser } from '../core/parser';
import { LogDataError, UsageError } from '../errors';
import { describeFiles } from '../io/logFiles';
import { Logger } from '../io/logger';
import { loadState } from '../io/state';
import { UnitTexts } from '../io/unitText';
import { Settings, connectOptions } from '../io/settings';
import { damageError, makePlan, primaryQuestions } from '../pipeline/read';
import { UnknownOutcome, reportPlan, reportStrays, unknownOutcomes } from '../pipeline/report';
import { sourceEncodings } from '../pipeline/primary';
import { Listing, TargetOutcome, applyToTarget, listEntries } from '../pipeline/apply';
import { numbered } from '../pipeline/journal';

export type ReplayResult =
  | { kind: 'dry-run'; listings: Listing[]; waiting: number; unknown: UnknownOutcome[]; damage?: LogDataError }
  | { kind: 'applied'; targets: TargetOutcome[]; waiting: number; unknown: UnknownOutcome[]; damage?: LogDataError };

export interface ReplayOptions {
  dryRun: boolean;
  /** Onto targets that run keeps in step. */
  force: boolean;
  skipMalformed: boolean;
}

export async function replay(settings: Settings, paths: string[], opts: ReplayOptions, log: Logger): Promise<ReplayResult> {
  const { dryRun, force } = opts;
  if (paths.length === 0) throw new UsageError('replay needs at least one csvlog file');
  if (!dryRun && settings.targets.length === 0) throw new UsageError('no target: give --target [NAME=]URL, or use --dry-run');
  if (!dryRun && !force) refuseSyncedTargets(settings);
  const files = describeFiles(paths);
  const echo = echoFilter(settings.ignoredRoles);
  const plan = await makePlan(files, files.map(() => 0), undefined, { log, skipMalformed: opts.skipMalformed, ignore: echo, sendInstanceCommands: settings.sendInstanceCommands, ...primaryQuestions(settings) });
  const damage = damageError(plan);
  await loadParser();
  const texts = new UnitTexts(files, plan.judge.analyses);
  try {
    reportPlan(plan, texts, log);
    reportStrays(echo.strays, settings, log);
    const waiting = plan.judge.waiting().length;
    // Not replayed, nor what follows them: the files cannot tell whether the primary has them.
    const unknown = unknownOutcomes(plan.judge, texts);
    if (waiting > 0) {
      log.warn('statements whose transaction end is not in these files were not replayed; add the next log file', { count: waiting });
    }
    const entries = numbered(plan, 0);
    if (dryRun) {
      const listings =
        settings.targets.length === 0
          ? [listEntries(entries, texts, undefined, settings.applyAs)]
          : settings.targets.map((t) => listEntries(entries, texts, t, settings.applyAs));
      return { kind: 'dry-run', listings, waiting, unknown, damage };
    }
    const primaryEncodings = settings.source ? await sourceEncodings(settings.source, settings, log) : undefined;
    const ctx = { texts, source: settings.sourceName, connect: connectOptions(settings), log, primaryEncodings, applyAs: settings.applyAs, lockRetries: settings.lockRetries };
    const targets = await Promise.all(settings.targets.map((t) => applyToTarget(ctx, t, entries, 0)));
    return { kind: 'applied', targets, waiting, unknown, damage };
  } finally {
    texts.close();
  }
}

/**
 * A target that `run` keeps in step takes the primary's DDL in journal order, from its place; a replay
 * of some files, from their start, would apply statements out of that order (and without the settings
 * of sessions begun before them), and the ledger would then keep `run` from correcting it.
 */
function refuseSyncedTargets(settings: Settings): void {
  const state = loadState(settings.stateFile);
  const synced = settings.targets.filter((t) => state.targets[t.name] !== undefined).map((t) => t.name);
  if (synced.length > 0) {
    throw new UsageError(
      `target ${synced.join(', ')} is kept in step by run (state file ${settings.stateFile}): a replay onto it would apply statements out of order; replay onto another target, or give --force`,
    );
  }
}
