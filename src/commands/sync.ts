/**
 * Sending a plan's committed DDL to targets, and listing it for a dry run: shared by `run` and
 * `replay`.
 */
import { redact } from '../core/redact';
import { Unit } from '../core/transactions';
import { TargetApplier } from '../io/applier';
import { Logger } from '../io/logger';
import { RunPosition, comparePositions } from '../io/position';
import { ConnectOptions, TargetSpec } from '../io/target';
import { Plan } from './plan';

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
  /** How far this target is now. */
  position: RunPosition;
  applied: number;
  /** Found in the target's ledger: applied before, by a run whose state was not saved. */
  alreadyApplied: number;
  failure?: {
    unit: Unit;
    /** `file:offset` of the statement. */
    at: string;
    sqlState?: string;
    message: string;
  };
}

export function whereIs(plan: Plan, unit: Unit): string {
  return `${plan.files[unit.file].name}:${unit.offset}`;
}

/** The committed units between a target's position and the plan's frontier, in log order. */
export function unitsFor(plan: Plan, start: RunPosition): Unit[] {
  return plan.units.filter(
    (u) =>
      u.group.outcome.kind === 'committed' &&
      comparePositions({ file: u.file, offset: u.offset }, start) >= 0 &&
      comparePositions({ file: u.file, offset: u.offset }, plan.frontier) < 0,
  );
}

export function listUnits(plan: Plan, units: Unit[], target?: string): Listing {
  return {
    target,
    statements: units.map((u) => ({
      database: u.record.databaseName,
      at: whereIs(plan, u),
      sql: u.ddl.statements.map(redact).join(';\n'),
    })),
  };
}

export interface ApplyContext {
  plan: Plan;
  source: string;
  connect: ConnectOptions;
  log: Logger;
}

/**
 * Applies a target's units in order; stops at the first that fails there.
 * @param start the target's position before the run
 * @param end where a target that applied everything stands afterwards
 */
export async function applyToTarget(ctx: ApplyContext, spec: TargetSpec, start: RunPosition, end: RunPosition): Promise<TargetOutcome> {
  const { plan, log } = ctx;
  const outcome: TargetOutcome = { name: spec.name, position: start, applied: 0, alreadyApplied: 0 };
  const applier = new TargetApplier(spec, ctx.connect, plan.fileKeys);
  try {
    for (const unit of unitsFor(plan, start)) {
      const shown = unit.ddl.statements.map(redact).join(';\n');
      const res = await applier.apply({
        database: unit.record.databaseName,
        statements: unit.ddl.statements,
        runsAlone: unit.ddl.runsAlone,
        setsSession: unit.ddl.setsSession,
        key: { source: ctx.source, fileKey: plan.fileKeys[unit.file], offset: unit.offset },
        logFile: plan.files[unit.file].name,
        shown,
      });
      const fields = { target: spec.name, database: unit.record.databaseName, at: whereIs(plan, unit) };
      if (res.kind === 'failed') {
        log.error('statement failed on target; the target stays at it', {
          ...fields,
          sqlstate: res.sqlState,
          error: res.message,
          sql: head(shown),
        });
        outcome.failure = { unit, at: fields.at, sqlState: res.sqlState, message: res.message };
        outcome.position = { file: unit.file, offset: unit.offset };
        return outcome;
      }
      if (res.kind === 'already') {
        outcome.alreadyApplied++;
        log.info('already applied (found in the target ledger)', fields);
      } else {
        outcome.applied++;
        log.info(res.recovered ? 'applied (had run before a crash; ledger completed)' : 'applied', {
          ...fields,
          ms: res.ms,
          sql: head(shown),
        });
      }
      outcome.position = { file: unit.file, offset: unit.end };
    }
    if (comparePositions(end, outcome.position) > 0) outcome.position = end;
    return outcome;
  } finally {
    await applier.close();
  }
}

/** The first line of a statement, cut to 120 characters, for log lines. */
export function head(sql: string): string {
  const first = sql.split('\n', 1)[0];
  return first.length > 120 || sql.includes('\n') ? `${first.slice(0, 120)}…` : first;
}
