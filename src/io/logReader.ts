/**
 * Reads csvlog records from where each file was read to, in bounded chunks: memory is the chunk size
 * plus the largest record, whatever the log's size.
 */
import * as fs from 'node:fs';
import { RecordSpan, nextRecordStart, scanRecords } from '../core/csvRecord';
import { Decoder } from '../core/encoding';
import { LogRecord, StatementRecord, decodedStatementText, toLogRecord } from '../core/logRecord';
import { LogFile, openLog } from './logFiles';

const CHUNK = 4 * 1024 * 1024;

export interface Damage {
  file: number;
  offset: number;
  problem: string;
}

/** Bytes passed over by `--skip-malformed`: [offset, end) of a file, and what was wrong at offset. */
export interface Skipped extends Damage {
  end: number;
}

export interface ReadOptions {
  /** Damage is passed over to the next record start, and reported here, instead of ending the read. */
  onSkip?: (skipped: Skipped) => void;
}

/** Receives a record, its file's index and its raw bytes; `'stop'` ends the read just after it. */
export type OnRecord = (record: LogRecord, file: number, raw: Buffer) => void | 'stop';

export interface ReadResult {
  /** Where reading stopped in each file: just past its last complete record, or at the damage. */
  ends: number[];
  /** True when onRecord stopped the read. */
  stopped?: boolean;
  /** A record that is not csvlog, or a record cut off at the end of a file the server left. */
  damage?: Damage;
  bytesRead: number;
}

/**
 * Calls onRecord for every complete record after `starts`, in the order the server wrote them. When
 * several files have new records (a rotation since the last read; a name that came round and was
 * appended to), their records are merged by log_time, so a file written to in two stretches with
 * another file's records between them is read in that order; within a file, file order is kept.
 * @param files the run's files, oldest write first
 * @param starts where to start in each file
 * @param onRecord receives each record and the index of its file
 */
export function readRecords(files: LogFile[], starts: readonly number[], onRecord: OnRecord, opts: ReadOptions = {}): ReadResult {
  const ends = [...starts];
  // The newest file is always read: it may have grown since the listing.
  const cursors = files
    .map((f, index) => ({ f, index }))
    .filter(({ f, index }) => f.size > starts[index] || index === files.length - 1)
    .map(({ f, index }) => new LogCursor(f, index, starts[index]));
  const result = (extra: Partial<ReadResult> = {}): ReadResult => {
    for (const c of cursors) ends[c.index] = c.end;
    return { ends, bytesRead: cursors.reduce((n, c) => n + c.bytesRead, 0), ...extra };
  };
  try {
    for (;;) {
      let next: LogCursor | null = null;
      for (const c of cursors) {
        let head = c.head();
        // Damage, or a record cut off in a file the server has left (it writes one file at a time):
        // nothing written after it is read, unless it is to be skipped.
        while (!head && c.damage) {
          if (!opts.onSkip) return result({ damage: { file: c.index, ...c.damage } });
          opts.onSkip({ file: c.index, ...c.damage, end: c.resync() });
          head = c.head();
        }
        if (!head && c.tail > 0 && c.index < files.length - 1) {
          const damage = { file: c.index, offset: c.end, problem: 'a record cut off at the end of a rotated file' };
          if (!opts.onSkip) return result({ damage });
          c.end += c.tail;
          c.tail = 0;
          opts.onSkip({ ...damage, end: c.end });
        }
        if (head && (!next || writtenBefore(head, c, next.head()!, next))) next = c;
      }
      if (!next) return result();
      const { record, raw } = next.head()!;
      next.advance();
      if (onRecord(record, next.index, raw) === 'stop') return result({ stopped: true });
    }
  } finally {
    for (const c of cursors) c.close();
  }
}

/**
 * Whether one file's next record was written before another's. By log_time while both carry the same
 * zone; across a change of zone (the hour that repeats when summer time ends, a new log_timezone) the
 * times do not compare, and the file the server wrote to first comes first.
 */
function writtenBefore(a: Head, aCursor: LogCursor, b: Head, bCursor: LogCursor): boolean {
  if (a.key.slice(23) !== b.key.slice(23)) return aCursor.index < bCursor.index;
  return a.key < b.key;
}

interface Head {
  record: LogRecord;
  raw: Buffer;
  /** The record's log_time as written (`YYYY-MM-DD HH:MM:SS.mmm ZONE`): it orders records across files. */
  key: string;
}

/**
 * The complete records of one file from an offset on, one at a time, read in bounded chunks: memory is
 * the chunk plus the largest record. It stops at damage, and leaves a record still being written.
 */
class LogCursor {
  /** Just past the last record taken. */
  end: number;
  /** Bytes after `end` that do not (yet) form a complete record, once the file is read to its end. */
  tail = 0;
  damage?: { offset: number; problem: string };
  bytesRead = 0;
  private readonly fd: number;
  private buf = Buffer.alloc(CHUNK);
  private filled = 0;
  /** File offset of buf[0]. */
  private base: number;
  private spans: RecordSpan[] = [];
  private current: Head | null = null;
  private done = false;

  constructor(
    file: LogFile,
    readonly index: number,
    start: number,
  ) {
    this.fd = openLog(file.path);
    this.end = start;
    this.base = start;
  }

  head(): Head | null {
    if (this.current) return this.current;
    if (this.spans.length === 0 && !this.fill()) return null;
    const span = this.spans.shift()!;
    const view = this.buf.subarray(0, this.filled);
    this.current = {
      record: toLogRecord(view, span, this.base),
      raw: view.subarray(span.start, span.end),
      key: view.toString('latin1', span.start, span.fields[1]),
    };
    return this.current;
  }

  advance(): void {
    if (this.current) this.end = this.current.record.end;
    this.current = null;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /**
   * Passes over the damage to the next line that starts a well-formed record (or to the end of the
   * file), and reads on from there; returns where that is. A line inside a quoted field that happens
   * to start with a timestamp is passed over too, as it does not scan as a whole record.
   */
  resync(): number {
    let pos = this.damage!.offset;
    let window = CHUNK;
    let at: number;
    for (;;) {
      const buf = Buffer.alloc(window);
      const n = fs.readSync(this.fd, buf, 0, window, pos);
      this.bytesRead += n;
      const found = nextRecordStart(buf.subarray(0, n), 0);
      if (found.kind === 'found') {
        at = pos + found.at;
        break;
      }
      if (n < window) {
        // The end of the file: a record start still being written, or nothing more.
        at = pos + (found.from < n ? found.from + 1 : n);
        break;
      }
      // A candidate as large as the window is decided in a larger one.
      if (found.from === 0) window *= 2;
      else pos += found.from;
    }
    this.end = at;
    this.base = at;
    this.filled = 0;
    this.spans = [];
    this.current = null;
    this.damage = undefined;
    this.done = false;
    return at;
  }

  /** Reads on until there are records to hand out; false at the end of the file, or at damage. */
  private fill(): boolean {
    while (!this.done) {
      // Keep the bytes not taken yet at the front of the buffer.
      const keep = this.end - this.base;
      this.buf.copy(this.buf, 0, keep, this.filled);
      this.filled -= keep;
      this.base = this.end;
      if (this.filled === this.buf.length) {
        // One record larger than the buffer: grow to hold it.
        const bigger = Buffer.alloc(this.buf.length * 2);
        this.buf.copy(bigger, 0, 0, this.filled);
        this.buf = bigger;
      }
      const n = fs.readSync(this.fd, this.buf, this.filled, this.buf.length - this.filled, this.base + this.filled);
      this.bytesRead += n;
      this.filled += n;
      const { records, stop } = scanRecords(this.buf.subarray(0, this.filled), 0);
      this.spans = records;
      if (stop.kind === 'damaged') {
        this.damage = { offset: this.base + stop.at, problem: stop.problem };
        this.done = true;
      } else if (n === 0) {
        this.tail = this.filled - stop.at;
        this.done = true;
      }
      if (this.spans.length > 0) return true;
    }
    return false;
  }
}

/**
 * The statement record at `offset` of a file, read again to apply or list its unit; null when the
 * bytes there are no longer that statement (the file changed under the same identity). With a
 * decoder, the statement's text is its bytes decoded with it (an EncodingError where they are not
 * valid); without, read as UTF-8.
 */
export function readStatementAt(file: LogFile, offset: number, end: number, decode?: Decoder): StatementRecord | null {
  const fd = openLog(file.path);
  try {
    const buf = Buffer.alloc(end - offset);
    const n = fs.readSync(fd, buf, 0, buf.length, offset);
    const { records } = scanRecords(buf.subarray(0, n), 0);
    if (records.length !== 1 || records[0].end !== buf.length) return null;
    const record = toLogRecord(buf, records[0], offset);
    if (record.kind !== 'statement') return null;
    if (!decode) return record;
    const text = decodedStatementText(buf, records[0], decode);
    return text === null ? null : { ...record, text };
  } finally {
    fs.closeSync(fd);
  }
}
