/**
 * Sending a plan's committed DDL to targets, and listing it for a dry run: shared by `run` and
 * `replay`.
 */
import { redact } from '../core/redact';
import { Unit } from '../core/transactions';
import { databaseRemovedBy } from '../core/databaseStatements';
import { Job, TargetApplier } from '../io/applier';
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

/** What the applier needs to run a unit on a target. */
function jobFor(ctx: ApplyContext, unit: Unit): Job {
  const { plan } = ctx;
  return {
    database: unit.record.databaseName,
    statements: unit.ddl.statements,
    runsAlone: unit.ddl.runsAlone,
    setsSession: unit.ddl.setsSession,
    actsOnDatabase: unit.ddl.actsOnDatabase,
    key: { source: ctx.source, fileKey: plan.fileKeys[unit.file], offset: unit.offset },
    logFile: plan.files[unit.file].name,
    shown: unit.ddl.statements.map(redact).join(';\n'),
  };
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
    const units = unitsFor(plan, start);
    for (const [i, unit] of units.entries()) {
      const job = jobFor(ctx, unit);
      const fields = { target: spec.name, database: job.database, at: whereIs(plan, unit) };
      const res = await applier.apply(job);
      if (res.kind === 'failed' && res.sqlState === MISSING_DATABASE && (await removalDone(ctx, applier, units, i))) {
        log.info('already applied (its database was dropped or renamed later by a statement the target applied)', fields);
        outcome.alreadyApplied++;
        outcome.position = { file: unit.file, offset: unit.end };
        continue;
      }
      if (res.kind === 'failed') {
        log.error('statement failed on target; the target stays at it', {
          ...fields,
          sqlstate: res.sqlState,
          error: res.message,
          sql: head(job.shown),
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
          sql: head(job.shown),
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

/** SQLSTATE invalid_catalog_name: "database … does not exist". */
const MISSING_DATABASE = '3D000';

/**
 * For a unit whose database is not on the target: true when the statement that dropped or renamed
 * that database on the primary, later in the log, is done on the target. A target applies in log
 * order, so the unit was applied before it (this happens when the state file lags behind the target).
 */
async function removalDone(ctx: ApplyContext, applier: TargetApplier, units: Unit[], index: number): Promise<boolean> {
  const database = units[index].record.databaseName;
  const removal = units.slice(index + 1).find((u) => u.ddl.statements.some((sql) => databaseRemovedBy(sql) === database));
  return removal !== undefined && (await applier.isDone(jobFor(ctx, removal)));
}

/** The first line of a statement, cut to 120 characters, for log lines. */
export function head(sql: string): string {
  const first = sql.split('\n', 1)[0];
  return first.length > 120 || sql.includes('\n') ? `${first.slice(0, 120)}…` : first;
}
