/**
 * The run lock, as every command that writes the state file takes it: next to the state file, taken
 * before the state is read, released after it is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StateError } from '../errors';
import { acquireLock } from '../io/lock';
import { Logger } from '../io/logger';
import { ResidentMark, readResidentMark } from '../io/residentMark';

/** Another live run holds the lock; it took it `heldForMs` ago. */
export interface Locked {
  kind: 'locked';
  lockFile: string;
  heldForMs: number;
  /** The holder is a resident run (its mark names its pid): who it is, since when. */
  resident?: ResidentMark;
}

function heldFor(lockFile: string): number {
  try {
    return Date.now() - fs.statSync(lockFile).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Runs fn holding the lock of `stateFile`; `{ kind: 'locked' }` when another live run holds it.
 * @param stateFile the state file whose lock is taken (`STATE_FILE.lock`)
 */
export async function withRunLock<T>(stateFile: string, log: Logger, fn: () => Promise<T>): Promise<T | Locked> {
  const lockFile = `${stateFile}.lock`;
  let lock;
  try {
    fs.mkdirSync(path.dirname(stateFile), { recursive: true, mode: 0o700 });
    lock = acquireLock(lockFile, (pid) => log.warn('took over the lock of a run that is gone', { lock: lockFile, pid }));
  } catch (err) {
    throw new StateError(stateFile, `cannot take its lock ${lockFile}: ${(err as Error).message}`);
  }
  if (!lock) {
    const mark = readResidentMark(stateFile);
    return { kind: 'locked', lockFile, heldForMs: heldFor(lockFile), ...(mark?.alive ? { resident: mark } : {}) };
  }
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
