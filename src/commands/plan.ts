/**
 * Reading and judging, shared by `run` and `replay`: the DDL units of the log from a position on,
 * each with its transaction's outcome, and how far the log is decided.
 */
import { TransactionJudge, Unit } from '../core/transactions';
import { LogDataError } from '../errors';
import { LogFile, fingerprint } from '../io/logFiles';
import { Damage, readRecords } from '../io/logReader';
import { RunPosition } from '../io/position';

export interface Plan {
  files: LogFile[];
  units: Unit[];
  /** Everything before this position is decided; the first open transaction, or the log's end. */
  frontier: RunPosition;
  /** Units whose transaction has not ended yet (at and after the frontier). */
  waiting: Unit[];
  recordsRead: number;
  bytesRead: number;
  droppedFailed: number;
  notDdl: number;
  inExplicitBlock: number;
  damage?: Damage;
  /** The ledger identity of each file (its fingerprint), by index. */
  fileKeys: string[];
}

/**
 * Reads the log from `from` and judges every DDL statement in it.
 * @param files the log files, oldest first
 * @param from where reading starts
 */
export function makePlan(files: LogFile[], from: RunPosition): Plan {
  const judge = new TransactionJudge();
  let recordsRead = 0;
  const read = readRecords(files, from, (record, file) => {
    recordsRead++;
    judge.add(record, file);
  });
  const firstOpen = judge.firstOpen();
  let frontier: RunPosition = read.end;
  if (firstOpen) frontier = { file: firstOpen.file, offset: firstOpen.offset };
  return {
    files,
    units: judge.units,
    frontier,
    waiting: judge.units.filter((u) => u.group.outcome.kind === 'open'),
    recordsRead,
    bytesRead: read.bytesRead,
    droppedFailed: judge.units.filter((u) => u.group.outcome.kind === 'failed').length,
    notDdl: judge.counts.notDdl,
    inExplicitBlock: judge.counts.inExplicitBlock,
    damage: read.damage,
    fileKeys: files.map((f) => f.fingerprint ?? fingerprint(f.path) ?? `ino-${f.ino}`),
  };
}

/** Called once the records before a damaged one were dealt with: the run stops for a person. */
export function throwIfDamaged(plan: Plan): void {
  if (!plan.damage) return;
  throw new LogDataError(plan.files[plan.damage.file].path, plan.damage.offset, plan.damage.problem);
}
