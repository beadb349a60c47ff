/**
 * The resident mark: a small file beside the state file (`STATE_FILE.resident`) that a resident run
 * writes as it starts and removes as it ends. It tells `status` and a second start who is running:
 * the pid, since when, at what interval; its modification time is the run's last beat, touched at each.
 * It is never read to decide anything about the lock, which lock.ts alone decides.
 */
import * as fs from 'node:fs';
import { writeFileAtomic } from './atomicFile';

/** The file's content: a format of its own, versioned. */
interface MarkFile {
  version: 1;
  pid: number;
  /** ISO time the resident run started. */
  since: string;
  intervalMs: number;
}

export interface ResidentMark {
  pid: number;
  since: string;
  intervalMs: number;
  /** ISO time of its last beat. */
  lastBeat: string;
  /** Whether a process of that pid is there (false: the run was killed, its mark left behind). */
  alive: boolean;
}

export function residentMarkFile(stateFile: string): string {
  return `${stateFile}.resident`;
}

/** Writes the mark of the running process. */
export function writeResidentMark(stateFile: string, since: Date, intervalMs: number): void {
  const mark: MarkFile = { version: 1, pid: process.pid, since: since.toISOString(), intervalMs };
  writeFileAtomic(residentMarkFile(stateFile), `${JSON.stringify(mark)}\n`);
}

/**
 * Records a beat: the mark's and the lock's modification times. The lock's tells a second start how
 * long ago its holder last showed life (a stuck run is one that has not beaten for long).
 */
export function touchResidentMark(stateFile: string, lockFile: string, at: Date): void {
  for (const file of [residentMarkFile(stateFile), lockFile]) {
    try {
      fs.utimesSync(file, at, at);
    } catch {
      // Removed by hand meanwhile: the beat goes on; the next start of status says less.
    }
  }
}

/** Removes the mark, if it is this process's. */
export function removeResidentMark(stateFile: string): void {
  if (readResidentMark(stateFile)?.pid === process.pid) fs.rmSync(residentMarkFile(stateFile), { force: true });
}

/** The mark, or undefined when there is none (or it cannot be read). */
export function readResidentMark(stateFile: string): ResidentMark | undefined {
  const file = residentMarkFile(stateFile);
  try {
    const mark = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<MarkFile>;
    if (mark.version !== 1 || !Number.isSafeInteger(mark.pid) || (mark.pid ?? 0) <= 0 || typeof mark.since !== 'string') return undefined;
    const lastBeat = fs.statSync(file).mtime.toISOString();
    return { pid: mark.pid!, since: mark.since, intervalMs: Number(mark.intervalMs) || 0, lastBeat, alive: isRunning(mark.pid!) };
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: there, but another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
