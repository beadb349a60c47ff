/**
 * The csvlog files of a directory, in the order the server wrote them, each with its identity.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogFilesError } from '../errors';

export interface LogFile {
  name: string;
  path: string;
  ino: number;
  size: number;
  /** Last write, in nanoseconds. */
  mtimeNs: bigint;
  /** Hash of the file's first line, or null while it has none: tells a reused inode or name apart. */
  fingerprint: string | null;
  /** The log_time of its first record as written (`YYYY-MM-DD HH:MM:SS.mmm ZONE`); null while it has none. */
  firstLogTime: string | null;
}

const FINGERPRINT_BYTES = 4096;

/**
 * Lists the `*.csv` files of dir, oldest first.
 *
 * A file's last write comes before the first write of the file that replaced it, so modification
 * time orders rotated files, whatever their names; a name reused with `log_truncate_on_rotation`
 * sorts as the newest, as it is.
 */
export function listLogFiles(dir: string): LogFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new LogFilesError(`cannot read the csvlog directory ${dir}: ${(err as Error).message}`);
  }
  const files: LogFile[] = [];
  for (const name of names) {
    if (!name.endsWith('.csv')) continue;
    const file = describe(path.join(dir, name));
    if (file) files.push(file); // else removed since readdir: no longer part of the log
  }
  return files.sort(writeOrder);
}

/**
 * The error for a log directory that holds no csvlog file: what it holds instead, by kind (a
 * `jsonlog` or `stderr` destination writes `.json` or `.log` files), so a run never reads nothing
 * and calls it caught up.
 */
export function noCsvlogError(dir: string): LogFilesError {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    // Said by listLogFiles, which read it a moment ago.
  }
  const byKind = new Map<string, number>();
  for (const n of names.sort()) {
    const ext = path.extname(n) || '(no extension)';
    byKind.set(ext, (byKind.get(ext) ?? 0) + 1);
  }
  const found = byKind.size === 0 ? 'nothing' : [...byKind].map(([ext, n]) => `${n} ${ext} file(s)`).join(', ');
  return new LogFilesError(
    `the csvlog directory ${dir} holds no .csv file (found ${found}): the primary's log_destination must include csvlog, with logging_collector on, and this must be its log_directory`,
  );
}

/**
 * Oldest last write first. Timestamps are coarse (a few milliseconds): a file's last record and the
 * next file's first can share one. Then the file begun first comes first (its first record's time,
 * in one zone), a file with no record yet last (it is the one being written), and only then the name.
 */
function writeOrder(a: LogFile, b: LogFile): number {
  if (a.mtimeNs !== b.mtimeNs) return a.mtimeNs < b.mtimeNs ? -1 : 1;
  const ta = a.firstLogTime;
  const tb = b.firstLogTime;
  if (ta && tb && ta.slice(23) === tb.slice(23) && ta !== tb) return ta < tb ? -1 : 1;
  if (!ta !== !tb) return ta ? -1 : 1;
  return a.name.localeCompare(b.name);
}

/**
 * Lists the files of dir as listLogFiles does, twice or more, until two listings agree: the same
 * files in the same order, each the same size but the newest (which the server is writing). A rotation
 * in the middle of a listing could list the old current file before it got its last records and the
 * new one after it got its first; a run would then read them in the wrong order.
 */
export function listLogFilesSettled(dir: string): LogFile[] {
  let last = listLogFiles(dir);
  for (let attempt = 0; attempt < 10; attempt++) {
    const again = listLogFiles(dir);
    const same =
      again.length === last.length &&
      again.every((f, i) => {
        const g = last[i];
        return f.path === g.path && f.ino === g.ino && f.fingerprint === g.fingerprint && (i === again.length - 1 || f.size === g.size);
      });
    if (same) return again;
    last = again;
  }
  return last;
}

/**
 * The given files, in the given order (`replay`).
 * @param paths csvlog files
 */
export function describeFiles(paths: string[]): LogFile[] {
  return paths.map((p) => {
    const file = describe(path.resolve(p));
    if (!file) throw new LogFilesError(`cannot read csvlog ${p}: no such file`);
    return file;
  });
}

function describe(file: string): LogFile | null {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(file, { bigint: true });
  } catch {
    return null;
  }
  if (!st.isFile()) return null;
  const head = readHead(file);
  return {
    name: path.basename(file),
    path: file,
    ino: Number(st.ino),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    fingerprint: head?.fingerprint ?? null,
    firstLogTime: head?.firstLogTime ?? null,
  };
}

/** Opens a csvlog file for reading; a file that cannot be read is the log's problem, named. */
export function openLog(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    throw new LogFilesError(`cannot read csvlog ${file}: ${(err as Error).message}`);
  }
}

/** Hash of the first line of a file (a csvlog record's first line holds its time and session). */
export function fingerprint(file: string): string | null {
  return readHead(file)?.fingerprint ?? null;
}

/** What a file's first line tells: its identity and when the file was begun; null before it is whole. */
export function readHead(file: string): { fingerprint: string; firstLogTime: string | null } | null {
  const fd = openLog(file);
  try {
    const buf = Buffer.alloc(FINGERPRINT_BYTES);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const nl = buf.subarray(0, n).indexOf(0x0a);
    const line = nl >= 0 ? buf.subarray(0, nl) : n === buf.length ? buf : null;
    if (line === null) return null;
    const comma = line.indexOf(0x2c);
    const time = line.toString('latin1', 0, comma < 0 ? 0 : Math.min(comma, 64));
    return {
      fingerprint: createHash('sha256').update(line).digest('hex').slice(0, 16),
      firstLogTime: /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}( \S+)?$/.test(time) ? time : null,
    };
  } finally {
    fs.closeSync(fd);
  }
}
