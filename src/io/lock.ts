/**
 * One run at a time: a lock file next to the state file, holding the owner's pid, its process start
 * time and the boot id. A lock whose owner is gone (crash, SIGKILL, reboot, or a pid reused by some
 * other process, pg-ddl-sync or not) is taken over; a live owner's lock is respected.
 *
 * Only a lock file of this user's is believed: the directory is this user's (see privateDir), so one
 * of another user's was put there by someone else (root, or a run as another user by mistake). It is
 * refused with a message naming it and its owner, never waited on quietly for ever.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unsafeDirProblem } from './privateDir';

interface Owner {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/PID/stat field 22). */
  start: string;
  boot: string;
}

export interface Lock {
  release(): void;
}

/**
 * Takes the lock, or returns null when a live process holds it.
 * @param file the lock file's path
 * @param onTakeOver told the pid of a dead owner whose lock is being taken over
 */
export function acquireLock(file: string, onTakeOver?: (pid: number | undefined) => void): Lock | null {
  // Where others can write, another user could plant a lock that stops every run.
  const unsafe = unsafeDirProblem(path.dirname(file));
  if (unsafe) throw new Error(unsafe);
  const me = currentOwner(process.pid);
  // Races with another run starting or taking over at the same moment settle within a few tries; a
  // guard left by a killed run is stale after a second.
  for (const deadline = Date.now() + 3_000; Date.now() < deadline; ) {
    if (tryCreate(file, me)) return makeLock(file, me);
    refuseForeign(file);
    const holder = readOwner(file);
    if (holder === 'missing') continue; // released meanwhile: try again
    if (holder !== 'unreadable' && isAlive(holder)) return null;
    if (holder === 'unreadable' && ageMs(file) < 10_000) return null; // being written right now
    if (takeOver(file, holder)) onTakeOver?.(holder === 'unreadable' ? undefined : holder.pid);
    else sleepMs(20);
  }
  throw new Error(`could not take the lock ${file} nor find a live run holding it; remove ${file}.takeover if it is there`);
}

/**
 * The live run holding the lock, and since when (the lock file's time), or null: for `status`, which
 * reads and never takes it.
 * @param file the lock file's path
 */
export function lockHolder(file: string): { pid: number; since: Date } | null {
  const holder = readOwner(file);
  if (holder === 'missing' || holder === 'unreadable' || !isAlive(holder)) return null;
  try {
    return { pid: holder.pid, since: fs.statSync(file).mtime };
  } catch {
    return null; // released meanwhile
  }
}

function makeLock(file: string, me: Owner): Lock {
  return {
    release() {
      const holder = readOwner(file);
      if (holder !== 'missing' && holder !== 'unreadable' && holder.pid === me.pid && holder.start === me.start) {
        fs.rmSync(file, { force: true });
      }
    },
  };
}

function tryCreate(file: string, me: Owner): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    try {
      fs.writeSync(fd, JSON.stringify(me));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    // An empty lock left by a failed write (a full disk) would stop the next runs until it is old.
    fs.rmSync(file, { force: true });
    throw err;
  }
  return true;
}

/** Throws when the lock file belongs to another user (see the top of this file). */
function refuseForeign(file: string): void {
  let uid: number;
  try {
    uid = fs.lstatSync(file).uid;
  } catch {
    return; // gone meanwhile: the caller tries again
  }
  const mine = process.getuid?.();
  if (mine === undefined || uid === mine) return;
  throw new Error(
    `the lock file ${file} belongs to uid ${uid}, not to this user (uid ${mine}): ` +
      `if no pg-ddl-sync of uid ${uid} is running on this state file, remove the lock file`,
  );
}

/**
 * Removes a dead owner's lock. Two runs may both find it dead; a second, short-lived lock (the guard)
 * makes sure only one of them removes it, so neither removes the fresh lock the other just made.
 * @returns true when this run removed it
 */
function takeOver(file: string, dead: Owner | 'unreadable'): boolean {
  const guard = `${file}.takeover`;
  // The guard is held for the moment of one read and one remove: one older than a second was left by
  // a run killed right then.
  if (ageMs(guard) > 1_000) fs.rmSync(guard, { force: true });
  let fd: number;
  try {
    fd = fs.openSync(guard, 'wx', 0o600);
  } catch {
    return false; // another run is taking over; the caller tries again
  }
  fs.closeSync(fd);
  try {
    const ino = inodeOf(file);
    const now = readOwner(file);
    const same =
      now === dead ||
      (now !== 'missing' && now !== 'unreadable' && dead !== 'unreadable' && now.pid === dead.pid && now.start === dead.start);
    // Still the same file as read: a run stalled here past the guard's second must not remove the
    // fresh lock of a run that took over meanwhile.
    if (!same || inodeOf(file) !== ino) return false;
    fs.rmSync(file, { force: true });
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function inodeOf(file: string): number | null {
  try {
    return fs.statSync(file).ino;
  } catch {
    return null;
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readOwner(file: string): Owner | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const o = JSON.parse(text) as Owner;
    // kill(0) and kill(-1) ask about groups of processes: only a real pid is one.
    return Number.isSafeInteger(o.pid) && o.pid > 0 ? o : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function isAlive(owner: Owner): boolean {
  const now = currentOwner(owner.pid);
  if (now.boot !== owner.boot) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // The pid may have been reused by a process started later.
  if (now.start !== '' && now.start !== owner.start) return false;
  return owner.pid === process.pid || runsThisTool(owner.pid);
}

/**
 * Whether the process runs pg-ddl-sync: one of its arguments is the tool's program (its name, or
 * this process's own script). Any other process is not a run, whatever the lock file says. Without
 * /proc to tell: yes.
 */
function runsThisTool(pid: number): boolean {
  let args: string[];
  try {
    args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return true;
  }
  const own = process.argv[1] ? path.resolve(process.argv[1]) : undefined;
  return args.some((a) => path.basename(a).startsWith('pg-ddl-sync') || (own !== undefined && a !== '' && path.resolve(a) === own));
}

function currentOwner(pid: number): Owner {
  return { pid, start: processStart(pid), boot: bootId() };
}

function processStart(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
}
