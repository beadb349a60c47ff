/**
 * `replay FILE…`: the DDL of these csvlog files, from their start, without the state file. Targets
 * keep their ledgers, so a statement a run already applied from the same file is not applied again.
 */
import { UsageError } from '../errors';
import { describeFiles } from '../io/logFiles';
import { Logger } from '../io/logger';
import { RunPosition } from '../io/position';
import { Settings } from '../settings';
import { makePlan, throwIfDamaged } from './plan';
import { Listing, TargetOutcome, applyToTarget, listUnits, unitsFor } from './sync';

export type ReplayResult =
  | { kind: 'dry-run'; listings: Listing[]; waiting: number }
  | { kind: 'applied'; targets: TargetOutcome[]; waiting: number };

export async function replay(settings: Settings, paths: string[], dryRun: boolean, log: Logger): Promise<ReplayResult> {
  if (paths.length === 0) throw new UsageError('replay needs at least one csvlog file');
  if (!dryRun && settings.targets.length === 0) throw new UsageError('no target: give --target [NAME=]URL, or use --dry-run');
  const files = describeFiles(paths);
  const start: RunPosition = { file: 0, offset: 0 };
  const plan = makePlan(files, start);
  throwIfDamaged(plan);
  if (plan.waiting.length > 0) {
    log.warn('statements whose transaction end is not in these files were not replayed; add the next log file', {
      count: plan.waiting.length,
    });
  }
  if (dryRun) {
    const listings =
      settings.targets.length === 0
        ? [listUnits(plan, unitsFor(plan, start))]
        : settings.targets.map((t) => listUnits(plan, unitsFor(plan, start), t.name));
    return { kind: 'dry-run', listings, waiting: plan.waiting.length };
  }
  const ctx = { plan, source: settings.sourceName, connect: { connectTimeoutMs: settings.connectTimeoutMs }, log };
  const targets = await Promise.all(settings.targets.map((t) => applyToTarget(ctx, t, start, plan.frontier)));
  return { kind: 'applied', targets, waiting: plan.waiting.length };
}
