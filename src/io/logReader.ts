/**
 * Reads csvlog records from where each file was read to, in bounded chunks: memory is the chunk size
 * plus the largest record, whatever the log's size.
 */
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import { RecordSpan, ScanStop, nextRecordStart, scanRecord, scanRecords } from '../core/csvRecord';
import { Decoder } from '../core/encoding';
import { LogRecord, StatementRecord, decodedStatementText, toLogRecord } from '../core/logRecord';
import { LogFile, openLog } from './logFiles';

const CHUNK = 4 * 1024 * 1024;
const MIN_BUFFER = 64 * 1024;

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
  /**
   * Damage is passed over to the next record start, and reported here, instead of ending the read
   * (not records of a csvlog format newer than this reader's: it would pass over all of them).
   */
  onSkip?: (skipped: Skipped) => void;
  /** Files the server came back to after newer ones (see fileMarks): merged with the rest by log_time. */
  returned?: readonly boolean[];
  /** Where to stop in the newest file (default: its end, whenever that is reached). */
  newestLimit?: number;
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
 * Calls onRecord for every complete record after `starts`, in the order the server wrote them.
 *
 * The server writes one file at a time, so files are read one after another, oldest write first, and
 * only one is open at a time. A file the server came back to after newer ones (a name that came round
 * and was appended to: `returned`) may hold records written before and after another file's: its
 * records are merged with the rest by log_time. Each file but the newest is read up to its size at the
 * listing: one that grows after it, though the server had left it, is one it came back to, which the
 * next run merges.
 * @param files the run's files, oldest write first
 * @param starts where to start in each file
 * @param onRecord receives each record and the index of its file
 */
export function readRecords(files: LogFile[], starts: readonly number[], onRecord: OnRecord, opts: ReadOptions = {}): ReadResult {
  const ends = [...starts];
  const limitOf = (i: number): number => (i === files.length - 1 ? (opts.newestLimit ?? Infinity) : files[i].size);
  const sources: Source[] = [];
  const inOrder = files.map((_, i) => i).filter((i) => !opts.returned?.[i]);
  sources.push(new FileSequence(files, inOrder, starts, limitOf, ends));
  for (const i of files.map((_, i) => i).filter((i) => opts.returned?.[i])) sources.push(new FileSequence(files, [i], starts, limitOf, ends));
  // One source needs no merging, and no ordering times.
  if (sources.length > 1) for (const s of sources) s.merged = true;
  const result = (extra: Partial<ReadResult> = {}): ReadResult => {
    for (const s of sources) s.close();
    return { ends, bytesRead: sources.reduce((n, s) => n + s.bytesRead, 0), ...extra };
  };
  try {
    for (;;) {
      let next: Source | null = null;
      for (const s of sources) {
        const head = s.head(opts.onSkip);
        if (head && 'damage' in head) return result({ damage: head.damage });
        if (head && (!next || writtenBefore(s, next))) next = s;
      }
      if (!next) return result();
      const { record, raw } = next.take();
      if (onRecord(record, next.fileIndex, raw) === 'stop') return result({ stopped: true });
    }
  } finally {
    for (const s of sources) s.close();
  }
}

/**
 * Whether one source's next record was written before another's. By log_time while both carry the
 * same zone; across a change of zone (the hour that repeats when summer time ends, a new
 * log_timezone) the times do not compare, and the file the server wrote to first comes first.
 */
function writtenBefore(a: Source, b: Source): boolean {
  const ka = a.key();
  const kb = b.key();
  if (ka.slice(23) !== kb.slice(23) || ka === kb) return a.fileIndex < b.fileIndex;
  return ka < kb;
}

/** Records of one or more files, read one file after another. */
type Source = FileSequence;

class FileSequence {
  bytesRead = 0;
  private cursor: LogCursor | null = null;
  private at = 0;
  /**
   * The latest log_time taken so far. A record is written after every record before it in its file,
   * so it orders by the latest time up to it: a record stamped early and written late (a backend
   * descheduled between the two) keeps its place.
   */
  private latest = '';
  /** Merged with other sources: `latest` is kept. */
  merged = false;

  constructor(
    private readonly files: LogFile[],
    private readonly order: number[],
    private readonly starts: readonly number[],
    private readonly limitOf: (i: number) => number,
    private readonly ends: number[],
  ) {}

  get fileIndex(): number {
    return this.order[Math.min(this.at, this.order.length - 1)];
  }

  /** The next record, null at the end, or the damage that ends the read. */
  head(onSkip: ReadOptions['onSkip']): Head | { damage: Damage } | null {
    for (;;) {
      if (this.at >= this.order.length) return null;
      const i = this.order[this.at];
      if (!this.cursor && this.limitOf(i) <= this.starts[i]) {
        this.at++; // nothing to read in it: not even opened
        continue;
      }
      this.cursor ??= new LogCursor(this.files[i], i, this.starts[i], this.limitOf(i));
      const c = this.cursor;
      let head = c.head();
      while (!head && c.damage) {
        if (!onSkip || c.damage.fatal) return { damage: { file: i, offset: c.damage.offset, problem: c.damage.problem } };
        onSkip({ file: i, offset: c.damage.offset, problem: c.damage.problem, end: c.resync() });
        head = c.head();
      }
      if (head) return head;
      // The end of this file. A record cut off at the end of a file the server has left (it writes
      // one file at a time) was never finished.
      if (c.tail > 0 && i !== this.files.length - 1) {
        const damage = { file: i, offset: c.end, problem: 'a record cut off at the end of a rotated file' };
        if (!onSkip) return { damage };
        onSkip({ ...damage, end: c.end + c.tail });
        c.end += c.tail;
        c.tail = 0;
      }
      this.nextFile();
    }
  }

  /** The log_time the next record orders by (see `latest`). */
  key(): string {
    const own = this.cursor!.head()!.key;
    return this.latest.slice(23) === own.slice(23) && this.latest > own ? this.latest : own;
  }

  take(): Head {
    const head = this.cursor!.head()!;
    if (this.merged) this.latest = this.key();
    this.cursor!.advance();
    return head;
  }

  /** Notes where its file was read to in `ends`, and lets it go. */
  close(): void {
    if (this.cursor) {
      this.ends[this.cursor.index] = this.cursor.end;
      this.bytesRead += this.cursor.bytesRead;
      this.cursor.close();
      this.cursor = null;
    }
  }

  private nextFile(): void {
    this.close();
    this.at++;
  }
}

interface Head {
  record: LogRecord;
  raw: Buffer;
  /** The record's log_time as written (`YYYY-MM-DD HH:MM:SS.mmm ZONE`): it orders records across files. */
  key: string;
}

/**
 * The complete records of one file from an offset on, up to a limit, one at a time, read in bounded
 * chunks: memory is the chunk plus the largest record. It stops at damage, and leaves a record still
 * being written.
 */
class LogCursor {
  /** Just past the last record taken. */
  end: number;
  /** Bytes after `end` that do not (yet) form a complete record, once the file is read to its end. */
  tail = 0;
  damage?: { offset: number; problem: string; fatal?: boolean };
  bytesRead = 0;
  private readonly fd: number;
  private buf: Buffer;
  private filled = 0;
  /** File offset of buf[0]. */
  private base: number;
  /** Where the next record starts in buf (records are scanned one at a time). */
  private next = 0;
  /** buf up to `filled`, and whether all of it is ASCII. */
  private view: Buffer = Buffer.alloc(0);
  private ascii = false;
  /** Field bounds of the record in hand, reused from one record to the next. */
  private readonly scratch = new Int32Array(130);
  private current: Head | null = null;
  private done = false;

  constructor(
    file: LogFile,
    readonly index: number,
    start: number,
    /** Bytes past this offset are not read. */
    private readonly limit: number,
  ) {
    this.fd = openLog(file.path);
    this.end = start;
    this.base = start;
    // No bigger than what there is to read: a run over many small files stays small.
    const size = Math.min(fs.fstatSync(this.fd).size, limit);
    this.buf = Buffer.alloc(Math.min(CHUNK, Math.max(MIN_BUFFER, size - start)));
  }

  head(): Head | null {
    if (this.current) return this.current;
    let span = this.scan();
    if (!span) {
      if (!this.fill()) return null;
      span = this.scan()!;
    }
    this.next = span.end;
    const record = toLogRecord(this.view, span, this.base, this.ascii);
    this.current = { record, raw: this.view.subarray(span.start, span.end), key: record.logTime };
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
      const want = Math.min(window, this.limit - pos);
      const buf = Buffer.alloc(want);
      const n = fs.readSync(this.fd, buf, 0, want, pos);
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
    this.view = this.buf.subarray(0, 0);
    this.next = 0;
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
      const room = Math.min(this.buf.length - this.filled, this.limit - (this.base + this.filled));
      const n = room > 0 ? fs.readSync(this.fd, this.buf, this.filled, room, this.base + this.filled) : 0;
      this.bytesRead += n;
      this.filled += n;
      this.next = 0;
      this.view = this.buf.subarray(0, this.filled);
      // Checked for the whole chunk at once (most logs are ASCII throughout): records decode faster.
      this.ascii = isAscii(this.view);
      const first = scanRecord(this.view, 0);
      if (!('kind' in first)) return true;
      this.stopAt(first, n === 0);
    }
    return false;
  }

  /** The record at `next` in what the buffer holds; null where more must be read (or at the end). */
  private scan(): RecordSpan | null {
    if (this.done && this.next >= this.filled) return null;
    const got = scanRecord(this.view, this.next, this.scratch);
    if (!('kind' in got)) return got;
    // Damage is final; a record cut by the buffer's end is read on by fill().
    if (got.kind === 'damaged') this.stopAt(got, false);
    return null;
  }

  /** Notes what ends the read at a scan's stop: damage, or the end of the file (eof). */
  private stopAt(stop: ScanStop, eof: boolean): void {
    if (stop.kind === 'damaged') {
      this.damage = { offset: this.base + stop.at, problem: stop.problem, fatal: stop.fatal };
      this.done = true;
    } else if (eof) {
      this.tail = this.filled - stop.at;
      this.done = true;
    }
  }
}

/** Reads bytes as UTF-8, what is not valid shown as U+FFFD: for people, never for sending. */
export const showAsUtf8: Decoder = (bytes) => bytes.toString('utf8');

/**
 * The statement record at `offset` of a file, read again to apply or list its unit; null when the
 * bytes there are no longer that statement (the file changed under the same identity). The
 * statement's text is its bytes decoded with `decode` (an EncodingError where they are not valid).
 */
export function readStatementAt(file: LogFile, offset: number, end: number, decode: Decoder): StatementRecord | null {
  const fd = openLog(file.path);
  try {
    const buf = Buffer.alloc(end - offset);
    const n = fs.readSync(fd, buf, 0, buf.length, offset);
    const { records } = scanRecords(buf.subarray(0, n), 0);
    if (records.length !== 1 || records[0].end !== buf.length) return null;
    const record = toLogRecord(buf, records[0], offset);
    if (record.kind !== 'statement') return null;
    const text = decodedStatementText(buf, records[0], decode);
    return text === null ? null : { ...record, text };
  } finally {
    fs.closeSync(fd);
  }
}
