/**
 * How far each csvlog file was read. A file is known by its inode and the fingerprint of its first
 * line, so a renamed file is still found and a name reused for another file is not taken for it.
 *
 * Each file keeps its own mark because a file can grow again after a newer one was written: with a
 * `log_filename` that comes round (`postgresql-%a.log`) and `log_truncate_on_rotation = off`, the
 * server appends to last week's file. Reading every file from its own mark, oldest write first, reads
 * each record once and in the order the server wrote them.
 */
import { LogFile, readHead } from './logFiles';

export interface FileMark {
  name: string;
  ino: number;
  fingerprint: string | null;
  /** The log_time of its first record, zone left out (see LogFile). */
  firstLogTime: string | null;
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
 * @param times when the marks were taken (unknown: every reused name is taken to have lost records)
 */
export function readStarts(files: LogFile[], marks: FileMark[] | undefined, times?: MarkTimes): ReadStart {
  const starts = files.map(() => 0);
  const gaps: Gap[] = [];
  const newest = marks?.[marks.length - 1];
  for (const mark of marks ?? []) {
    const index = files.findIndex((f) => f.ino === mark.ino && (mark.fingerprint === null || f.fingerprint === mark.fingerprint));
    const file = files[index];
    if (file && file.size >= mark.offset) {
      starts[index] = mark.offset;
      continue;
    }
    // Gone, or its name or inode now hold another file: emptied and written again
    // (log_truncate_on_rotation). Bytes it had and were not read are lost. So is what it gained after
    // the last run if it was the file being written then, or if its name came round more than once
    // since (see cameRoundTwice): a file the server had left gains nothing until a rotation comes
    // round to its name, and that rotation empties it first.
    const reuse = files.find((f) => f.name === mark.name) ?? files.find((f) => f.ino === mark.ino);
    const problem = file ? `is ${file.size} bytes now, shorter than the ${mark.offset} read` : reuse ? 'was emptied and written again' : 'is gone';
    if (mark.offset < mark.size) gaps.push({ file: mark.name, offset: mark.offset, size: mark.size, problem });
    else if (mark === newest) {
      gaps.push({ file: mark.name, offset: mark.offset, size: mark.size, problem: `${problem}; what it gained after the last run, if anything, is lost` });
    } else if (reuse && cameRoundTwice(mark, reuse, times)) {
      gaps.push({
        file: mark.name,
        offset: mark.offset,
        size: mark.size,
        problem: `${problem}, and its name may have come round more than once since the last run: what it held in between is lost`,
      });
    }
  }
  return { starts, gaps };
}

/**
 * Whether a name may have been used more than once since the marks were taken. A name comes round
 * once a cycle C (an hour for `%M`, a week for `%a`), at a rotation; a file's first record comes
 * within one rotation period P <= C of it. The mark saw the file's use that began before it and not
 * the next, so it was taken less than C after that use began. With k >= 2 uses since, the first
 * records at the mark and now are less than kC + P apart, and more than (k - 1)C has passed since the
 * mark: more than a third of the time between the first records, as (kC + P) / 3 <= (k - 1)C. Less
 * than a third: one use, which emptied what the mark had read to its end, and nothing was lost (a
 * tool stopped a third of a cycle is told of a loss that may not be). Unknown times: assume the worst.
 */
function cameRoundTwice(mark: FileMark, now: LogFile, times: MarkTimes | undefined): boolean {
  if (!times?.markedAt || !mark.firstLogTime || !now.firstLogTime) return true;
  const between = logTimeMs(now.firstLogTime) - logTimeMs(mark.firstLogTime);
  return times.now.getTime() - times.markedAt.getTime() >= between / 3;
}

/** A log_time without its zone, as milliseconds: only differences of two are used. */
function logTimeMs(time: string): number {
  return Date.parse(`${time.replace(' ', 'T')}Z`);
}

/**
 * The marks after a run read each file up to `ends`.
 * @param files this run's files, oldest write first
 * @param ends where the read stopped in each
 */
export function marksAfter(files: LogFile[], ends: number[]): FileMark[] {
  return files.map((f, i) => {
    // A file listed before its first line was complete has one now, if the run read past it.
    const head = f.fingerprint === null && ends[i] > 0 ? readHead(f.path) : null;
    return {
      name: f.name,
      ino: f.ino,
      fingerprint: f.fingerprint ?? head?.fingerprint ?? null,
      firstLogTime: f.firstLogTime ?? head?.firstLogTime ?? null,
      offset: ends[i],
      size: Math.max(f.size, ends[i]),
    };
  });
}

/** Bytes of the log not read yet. */
export function unreadBytes(files: LogFile[], starts: readonly number[]): number {
  return files.reduce((n, f, i) => n + Math.max(f.size - starts[i], 0), 0);
}
