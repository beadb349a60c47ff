/**
 * `run`: one pass. New csvlog records → judged → committed DDL to every target → state saved.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { redact } from '../core/redact';
import { StateError, UsageError } from '../errors';
import { acquireLock } from '../io/lock';
import { LogFile, listLogFiles } from '../io/logFiles';
import { Logger } from '../io/logger';
import { RunPosition, comparePositions, locate, toSaved } from '../io/position';
import { State, TargetState, loadState, saveState } from '../io/state';
import { Settings } from '../settings';
import { Plan, makePlan, throwIfDamaged } from './plan';
import { Listing, TargetOutcome, applyToTarget, listUnits, unitsFor, whereIs } from './sync';

export interface RunSummary {
  recordsRead: number;
  bytesRead: number;
  droppedFailed: number;
  waiting: number;
  notDdl: number;
  inExplicitBlock: number;
  ms: number;
}

export type RunResult =
  | { kind: 'locked'; lockFile: string }
  | { kind: 'dry-run'; listings: Listing[]; summary: RunSummary }
  | { kind: 'applied'; targets: TargetOutcome[]; summary: RunSummary };

export interface RunDeps {
  log: Logger;
  now?: () => Date;
}

/** Runs one pass (or, with dryRun, lists what it would send). */
export async function run(settings: Settings, dryRun: boolean, deps: RunDeps): Promise<RunResult> {
  const started = Date.now();
  const now = deps.now ?? (() => new Date());
  const { log } = deps;
  if (!settings.csvlogDir) throw new UsageError('no csvlog directory: give --csvlog-dir DIR (or "csvlogDir" in the config file)');
  if (!dryRun && settings.targets.length === 0) {
    throw new UsageError('no target: give --target [NAME=]URL (or "targets" in the config file), or use --dry-run');
  }
  const lockFile = `${settings.stateFile}.lock`;
  let lock = null;
  if (!dryRun) {
    try {
      fs.mkdirSync(path.dirname(settings.stateFile), { recursive: true, mode: 0o700 });
      lock = acquireLock(lockFile, (pid) => log.warn('took over the lock of a run that is gone', { lock: lockFile, pid }));
    } catch (err) {
      throw new StateError(settings.stateFile, `cannot take its lock ${lockFile}: ${(err as Error).message}`);
    }
    if (!lock) return { kind: 'locked', lockFile };
  }
  try {
    const state = loadState(settings.stateFile);
    const files = listLogFiles(settings.csvlogDir);
    const starts = new Map<string, RunPosition>();
    for (const t of settings.targets) {
      const saved = state.targets[t.name];
      starts.set(t.name, saved ? locate(files, saved.position, t.name) : { file: 0, offset: 0 });
    }
    if (files.length === 0) {
      return emptyResult(dryRun, settings, started);
    }
    const from = [...starts.values()].reduce<RunPosition>(
      (min, p) => (comparePositions(p, min) < 0 ? p : min),
      dryRun && starts.size === 0 ? { file: 0, offset: 0 } : { file: files.length - 1, offset: files[files.length - 1].size },
    );
    const plan = makePlan(files, from);
    // Damaged input stops the run before anything is sent: a person looks first.
    throwIfDamaged(plan);
    const summary = summarize(plan, started);
    reportWaiting(plan, log);
    if (plan.inExplicitBlock > 0) {
      log.warn('DDL logged inside explicit transaction blocks: under log_statement = ddl their ROLLBACK is not logged', {
        count: plan.inExplicitBlock,
      });
    }
    if (dryRun) {
      const listings =
        settings.targets.length === 0
          ? [listUnits(plan, unitsFor(plan, from))]
          : settings.targets.map((t) => listUnits(plan, unitsFor(plan, starts.get(t.name) as RunPosition), t.name));
      return { kind: 'dry-run', listings, summary };
    }
    const ctx = { plan, source: settings.sourceName, connect: { connectTimeoutMs: settings.connectTimeoutMs }, log };
    const outcomes = await Promise.all(
      settings.targets.map((t) => applyToTarget(ctx, t, starts.get(t.name) as RunPosition, plan.frontier)),
    );
    try {
      saveState(settings.stateFile, nextState(state, outcomes, files, now()));
    } catch (err) {
      // What the targets applied is in their ledgers: the next run skips it, whatever this file says.
      throw new StateError(settings.stateFile, `cannot write it: ${(err as Error).message}; the targets' ledgers hold what this run applied`);
    }
    summary.ms = Date.now() - started;
    log.info('run finished', {
      records: summary.recordsRead,
      bytes: summary.bytesRead,
      dropped_failed: summary.droppedFailed,
      waiting: summary.waiting,
      ...Object.fromEntries(outcomes.map((o) => [`applied[${o.name}]`, o.applied])),
      ms: summary.ms,
    });
    return { kind: 'applied', targets: outcomes, summary };
  } finally {
    lock?.release();
  }
}

function emptyResult(dryRun: boolean, settings: Settings, started: number): RunResult {
  const summary: RunSummary = { recordsRead: 0, bytesRead: 0, droppedFailed: 0, waiting: 0, notDdl: 0, inExplicitBlock: 0, ms: Date.now() - started };
  if (dryRun) return { kind: 'dry-run', listings: [], summary };
  return {
    kind: 'applied',
    targets: settings.targets.map((t) => ({ name: t.name, position: { file: 0, offset: 0 }, applied: 0, alreadyApplied: 0 })),
    summary,
  };
}

function summarize(plan: Plan, started: number): RunSummary {
  return {
    recordsRead: plan.recordsRead,
    bytesRead: plan.bytesRead,
    droppedFailed: plan.droppedFailed,
    waiting: plan.waiting.length,
    notDdl: plan.notDdl,
    inExplicitBlock: plan.inExplicitBlock,
    ms: Date.now() - started,
  };
}

function reportWaiting(plan: Plan, log: Logger): void {
  const first = plan.waiting[0];
  if (!first) return;
  log.info('waiting for transactions still open on the primary (or whose end is not logged yet)', {
    count: plan.waiting.length,
    first: whereIs(plan, first),
    session: first.group.sessionId,
    sql: redact(first.ddl.statements[0]).slice(0, 120),
  });
}


function nextState(state: State, outcomes: TargetOutcome[], files: LogFile[], now: Date): State {
  const targets: Record<string, TargetState> = { ...state.targets };
  for (const o of outcomes) {
    const before = state.targets[o.name];
    const position = toSaved(files, o.position);
    if (o.failure) {
      const at = toSaved(files, { file: o.failure.unit.file, offset: o.failure.unit.offset });
      const same = before?.failure && before.failure.at.offset === at.offset && before.failure.at.ino === at.ino;
      targets[o.name] = {
        position,
        lastSuccess: before?.lastSuccess,
        failure: {
          statement: o.failure.unit.ddl.statements.map(redact).join(';\n'),
          at,
          database: o.failure.unit.record.databaseName,
          sqlState: o.failure.sqlState,
          message: o.failure.message,
          since: same && before?.failure ? before.failure.since : now.toISOString(),
        },
      };
    } else {
      targets[o.name] = { position, lastSuccess: now.toISOString() };
    }
  }
  return { ...state, targets };
}
