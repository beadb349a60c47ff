/**
 * How far each csvlog file was read. A file is known by its inode and the fingerprint of its first
 * line, so a renamed file is still found and a name reused for another file is not taken for it.
 *
 * Each file keeps its own mark because a file can grow again after a newer one was written: with a
 * `log_filename` that comes round (`postgresql-%a.log`) and `log_truncate_on_rotation = off`, the
 * server appends to last week's file. Reading every file from its own mark, oldest write first, reads
 * each record once and in the order the server wrote them.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { LogFile, openLog, readHead } from './logFiles';

export interface FileMark {
  name: string;
  ino: number;
  fingerprint: string | null;
  /** The log_time of its first record, as written (see LogFile). */
  firstLogTime: string | null;
  /**
   * While the file has no whole first line (no fingerprint): a hash of the bytes it had, so that the
   * file is known again only while it starts with them.
   */
  partial?: { length: number; hash: string };
  /** When the files were listed for the run that took this mark (a kept mark is older than the rest). */
  markedAt?: string;
  /** Just past the last complete record read. */
  offset: number;
  /** The file's size when it was last seen. */
  size: number;
}

/** Records that were in the log and were never read: a file gone or emptied before its end was read. */
export interface Gap {
  file: string;
  /** Read up to here. */
  offset: number;
  /** Its size when last seen; equal to offset when the loss is possible, not known. */
  size: number;
  /** What happened to it. */
  problem: string;
}

export interface ReadStart {
  /** Where to start reading each file, aligned with the run's files. */
  starts: number[];
  /**
   * Files the server came back to: grown since the last run though another file was newer then (a
   * name that came round, appended to). They may hold records written before and after another
   * file's, so the reader merges them by log_time.
   */
  returned: boolean[];
  /**
   * Marks to keep as they are, for files whose name came round since but hold no whole record yet:
   * whether the name came round more than once is told by the first record to come (see
   * cameRoundTwice), at a later run.
   */
  kept: (FileMark | undefined)[];
  gaps: Gap[];
}

/** When the marks were taken, and now: both by this machine's clock. */
export interface MarkTimes {
  markedAt?: Date;
  now: Date;
}

/**
 * Where to read each file from, given the marks of the last run; and what was lost since.
 * @param files this run's files, oldest write first
 * @param marks the last run's marks (none: read every file from its start)
 * @param times when the marks were taken, and now (see cameRoundTwice)
 */
export function readStarts(files: LogFile[], marks: FileMark[] | undefined, times?: MarkTimes): ReadStart {
  const starts = files.map(() => 0);
  const returned = files.map(() => false);
  const kept: (FileMark | undefined)[] = files.map(() => undefined);
  const gaps: Gap[] = [];
  const all = marks ?? [];
  const newest = all[all.length - 1];
  const matchOf = (mark: FileMark): LogFile | undefined => files.find((f) => f.ino === mark.ino && isSameFile(f, mark));
  // A file begun since the last run: it has a first record, and no mark knows it.
  const begunSince = (f: LogFile): boolean => f.fingerprint !== null && !all.some((m) => m.ino === f.ino && m.fingerprint === f.fingerprint);
  // The server came back to `file` after it began the file that was newest at the last run again.
  // Names come round in a fixed order: after the newest's, a name comes before the newest's own comes
  // again, so a second use of one comes after it.
  const afterNewestAgain = (file: LogFile): boolean => {
    if (!newest || matchOf(newest)) return false;
    const again = files.find((f) => f.name === newest.name);
    return !again || firstBefore(again, file);
  };
  for (const mark of all) {
    const file = matchOf(mark);
    const index = file ? files.indexOf(file) : -1;
    if (file && file.size >= mark.offset) {
      starts[index] = mark.offset;
      // Grown though another file was newer at the last run; or the newest then, newest again, with a
      // file begun in between: the server came back to it.
      returned[index] =
        file.size > mark.offset && (mark !== newest || (index === files.length - 1 && files.some((g) => g !== file && begunSince(g))));
      // A file that had no whole first record at the last run, and has one now: the same use of its
      // name grown, or a later one, emptied first. A later one began after another file did.
      const later =
        mark.fingerprint === null &&
        file.fingerprint !== null &&
        (mark === newest ? files.some((g) => g !== file && begunSince(g) && firstBefore(g, file)) : afterNewestAgain(file));
      if (later) {
        gaps.push({
          file: mark.name,
          offset: mark.offset,
          size: mark.size,
          problem: 'had no whole record at the last run, and its name came round since: what it held in between may be lost',
        });
      }
      continue;
    }
    if (file) {
      // The same file, cut shorter than what was read (not something a server does): its start is not
      // read again (the judge would see it twice), and what it may have gained is reported.
      starts[index] = file.size;
      gaps.push({ file: mark.name, offset: mark.offset, size: mark.size, problem: `is ${file.size} bytes now, shorter than the ${mark.offset} read; what it holds now was not read` });
      continue;
    }
    // Gone, or its name now holds another file: emptied and written again (log_truncate_on_rotation).
    // Bytes it had and were not read are lost. So is what it gained after the last run if it was the
    // file being written then, or if its name came round more than once since: a file the server
    // had left gains nothing until a rotation comes round to its name, and that rotation empties it
    // first. (An inode a new file got after a deletion is no reuse: only names come round.)
    const reuse = files.find((f) => f.name === mark.name);
    const problem = reuse ? 'was emptied and written again' : 'is gone';
    if (mark.offset < mark.size) gaps.push({ file: mark.name, offset: mark.offset, size: mark.size, problem });
    else if (mark === newest) {
      gaps.push({ file: mark.name, offset: mark.offset, size: mark.size, problem: `${problem}; what it gained after the last run, if anything, is lost` });
    } else if (reuse && reuse.fingerprint === null && !afterNewestAgain(reuse)) {
      kept[files.indexOf(reuse)] = mark;
    } else if (reuse && (afterNewestAgain(reuse) || cameRoundTwice(mark, reuse, times))) {
      gaps.push({
        file: mark.name,
        offset: mark.offset,
        size: mark.size,
        problem: `${problem}, and its name may have come round more than once since the last run: what it held in between is lost`,
      });
    }
  }
  return { starts, returned, kept, gaps };
}

/** Whether a's first record came before b's; not knowing (no first record, two zones): yes. */
function firstBefore(a: LogFile, b: LogFile): boolean {
  if (!a.firstLogTime || !b.firstLogTime || a.firstLogTime.slice(23) !== b.firstLogTime.slice(23)) return true;
  return a.firstLogTime < b.firstLogTime;
}

/**
 * Whether a name may have been used more than once since the marks were taken, told by time: for
 * names whose cycle is not strict (`%d`: months of 28 to 31 days), where afterNewestAgain can miss it.
 * A name comes round once a cycle C, at a rotation; a file's first record comes within one rotation
 * period P <= C of it. The mark saw the file's use that began before it and not the next, so it was
 * taken less than C after that use began. With k >= 2 uses since, the first records at the mark and
 * now are less than kC + P apart, and more than (k - 1)C has passed since the mark: more than a third
 * of the time between the first records, as (kC + P) / 3 <= (k - 1)C. Less than a third: one use,
 * which emptied what the mark had read to its end, and nothing was lost (a tool stopped a third of a
 * cycle is told of a loss that may not be). Not told (no first record yet, times of two zones, no
 * time of the mark): no.
 */
function cameRoundTwice(mark: FileMark, now: LogFile, times: MarkTimes | undefined): boolean {
  const markedAt = mark.markedAt ? new Date(mark.markedAt) : times?.markedAt;
  if (!times || !markedAt || !mark.firstLogTime || !now.firstLogTime) return false;
  if (mark.firstLogTime.slice(23) !== now.firstLogTime.slice(23)) return false;
  const between = logTimeMs(now.firstLogTime) - logTimeMs(mark.firstLogTime);
  return times.now.getTime() - markedAt.getTime() >= between / 3;
}

/** A log_time, its zone left out, as milliseconds: only differences of two of one zone are used. */
function logTimeMs(time: string): number {
  return Date.parse(`${time.slice(0, 23).replace(' ', 'T')}Z`);
}

function isSameFile(file: LogFile, mark: FileMark): boolean {
  if (mark.fingerprint !== null) return file.fingerprint === mark.fingerprint;
  return !mark.partial || prefixHash(file.path, mark.partial.length) === mark.partial.hash;
}

/**
 * The marks after a run read each file up to `ends`; a kept mark (see ReadStart) stays while its file
 * has no whole record.
 * @param files this run's files, oldest write first
 * @param ends where the read stopped in each
 */
export function marksAfter(files: LogFile[], ends: number[], kept: readonly (FileMark | undefined)[] = [], listedAt?: Date): FileMark[] {
  return files.map((f, i) => {
    const keep = kept[i];
    if (keep && ends[i] === 0 && readHead(f.path) === null) return keep;
    // A file listed before its first line was complete has one now, if the run read past it.
    const head = f.fingerprint === null && ends[i] > 0 ? readHead(f.path) : null;
    const fingerprint = f.fingerprint ?? head?.fingerprint ?? null;
    const mark: FileMark = {
      name: f.name,
      ino: f.ino,
      fingerprint,
      firstLogTime: f.firstLogTime ?? head?.firstLogTime ?? null,
      offset: ends[i],
      size: Math.max(f.size, ends[i]),
    };
    if (listedAt) mark.markedAt = listedAt.toISOString();
    if (fingerprint === null && f.size > 0) {
      const length = Math.min(f.size, 4096);
      const hash = prefixHash(f.path, length);
      if (hash !== null) mark.partial = { length, hash };
    }
    return mark;
  });
}

/** Bytes of the log not read yet. */
export function unreadBytes(files: LogFile[], starts: readonly number[]): number {
  return files.reduce((n, f, i) => n + Math.max(f.size - starts[i], 0), 0);
}

/** Hash of a file's first `length` bytes; null when it has fewer (it was emptied). */
function prefixHash(file: string, length: number): string | null {
  let fd: number;
  try {
    fd = openLog(file);
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(length);
    const n = fs.readSync(fd, buf, 0, length, 0);
    return n < length ? null : createHash('sha256').update(buf).digest('hex').slice(0, 16);
  } finally {
    fs.closeSync(fd);
  }
}
