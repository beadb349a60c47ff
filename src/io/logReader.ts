/**
 * Reads csvlog records from where each file was read to, in bounded chunks: memory is the chunk size
 * plus the largest record, whatever the log's size.
 */
import * as fs from 'node:fs';
import { COUNT_SLOT, RawRecord, RecordSpan, ScanStop, scanRecords, scanStop } from '../core/csvRecord';
import { ChunkScanner } from '../core/csvScan';
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
  /**
   * Looks at each record as scanned, before anything of it is decoded: false passes it over (it is
   * counted in `passedOver`, never built nor handed to onRecord). Most records of a busy log matter
   * to no one: building each would cost more than reading it.
   */
  prefilter?: (raw: RawRecord, file: number) => boolean;
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
  /** Records the prefilter passed over. */
  passedOver: number;
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
  const wasm = wasmScan();
  sources.push(new FileSequence(files, inOrder, starts, limitOf, ends, wasm));
  for (const i of files.map((_, i) => i).filter((i) => opts.returned?.[i])) sources.push(new FileSequence(files, [i], starts, limitOf, ends, wasm));
  // One source needs no merging, and no ordering times.
  if (sources.length > 1) for (const s of sources) s.merged = true;
  let passedOver = 0;
  const result = (extra: Partial<ReadResult> = {}): ReadResult => {
    for (const s of sources) s.close();
    return { ends, bytesRead: sources.reduce((n, s) => n + s.bytesRead, 0), passedOver, ...extra };
  };
  const { prefilter } = opts;
  try {
    for (;;) {
      let next: Source | null = null;
      for (const s of sources) {
        const head = s.head(opts.onSkip);
        if (head && !(head instanceof LogCursor)) return result({ damage: head.damage });
        if (head && (!next || writtenBefore(s, next))) next = s;
      }
      if (!next) return result();
      const cursor = next.take();
      const file = next.fileIndex;
      if (prefilter) {
        // Alone, a source's records need no ordering: what the prefilter passes over goes by in the
        // cursor's own loop, not one record a turn of this one. Merged, one record a turn.
        passedOver += cursor.passOver(prefilter, file, sources.length === 1 ? Infinity : 1);
        if (!cursor.holds()) continue;
      }
      if (onRecord(cursor.record(), file, cursor.bytes()) === 'stop') {
        cursor.advance();
        return result({ stopped: true });
      }
      cursor.advance();
    }
  } finally {
    for (const s of sources) s.close();
  }
}

/**
 * Whether records are scanned with the WebAssembly scan (csvScan.wat), or with scanInto alone where
 * PG_DDL_SYNC_NO_WASM=1: the two find the same records, and the tests read both ways.
 */
function wasmScan(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.PG_DDL_SYNC_NO_WASM !== '1';
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
    /**
     * The chunk and its scanner, handed from one file's cursor to the next: a new chunk for each file
     * would cost its pages' first faults again, file after file (0.16 s of 14 files' read here, where
     * faults are dear).
     */
    private readonly wasm: boolean,
  ) {}

  private scanner: ChunkScanner | null = null;

  get fileIndex(): number {
    return this.order[Math.min(this.at, this.order.length - 1)];
  }

  /** The cursor at the next record, null at the end, or the damage that ends the read. */
  head(onSkip: ReadOptions['onSkip']): LogCursor | { damage: Damage } | null {
    for (;;) {
      if (this.at >= this.order.length) return null;
      const i = this.order[this.at];
      if (!this.cursor && this.limitOf(i) <= this.starts[i]) {
        this.at++; // nothing to read in it: not even opened
        continue;
      }
      this.cursor ??= new LogCursor(this.files[i], i, this.starts[i], this.limitOf(i), this.scanner, this.wasm);
      const c = this.cursor;
      const has = c.head();
      if (!has && c.damage) {
        const damage = { file: i, offset: c.damage.offset, problem: c.damage.problem };
        if (!onSkip || c.damage.fatal) return { damage };
        // Past damage, no line of the file can be proven to start a record: any line may lie inside
        // a quoted field, where a statement's text can hold what looks like whole records (an ERROR,
        // a disconnection, a statement of another role). The next file starts with a record (the
        // server rotates between records), so the rest of this one is passed over; in the file the
        // server still writes there is no next file yet, and the read stops.
        if (i === this.files.length - 1) return { damage: { ...damage, problem: `${damage.problem}; --skip-malformed passes over the rest of a file only once the server has gone on to the next` } };
        const end = this.limitOf(i);
        onSkip({ ...damage, end });
        c.end = end;
        c.tail = 0;
        this.nextFile();
        continue;
      }
      if (has) return c;
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
    const own = this.cursor!.key();
    return this.latest.slice(23) === own.slice(23) && this.latest > own ? this.latest : own;
  }

  /** The cursor at the record to hand out next; the caller advances it. */
  take(): LogCursor {
    if (this.merged) this.latest = this.key();
    return this.cursor!;
  }

  /** Notes where its file was read to in `ends`, and lets it go. */
  close(): void {
    if (this.cursor) {
      this.ends[this.cursor.index] = this.cursor.end;
      this.bytesRead += this.cursor.bytesRead;
      this.cursor.close();
      this.scanner = this.cursor.scanner;
      this.cursor = null;
    }
  }

  private nextFile(): void {
    this.close();
    this.at++;
  }
}

/**
 * The complete records of one file from an offset on, up to a limit, one at a time, read in bounded
 * chunks: memory is the chunk plus the largest record. It stops at damage, and leaves a record still
 * being written. A record is only scanned until someone asks for more (record(), key(), bytes()).
 */
class LogCursor {
  /** Just past the last record taken. */
  end: number;
  /** Bytes after `end` that do not (yet) form a complete record, once the file is read to its end. */
  tail = 0;
  damage?: { offset: number; problem: string; fatal?: boolean };
  bytesRead = 0;
  /** The record in hand, as scanned (its bounds in `raw.fields`), while `held`. */
  readonly raw: RawRecord;
  private held = false;
  private built: LogRecord | null = null;
  private readonly fd: number;
  /** What holds the chunk (raw.buf is its first `filled` bytes) and scans it. */
  readonly scanner: ChunkScanner;
  private filled = 0;
  /** Where the next record starts in the buffer. */
  private next = 0;
  private done = false;

  constructor(
    file: LogFile,
    readonly index: number,
    start: number,
    /** Bytes past this offset are not read. */
    private readonly limit: number,
    /** A scanner (and its chunk) to read with, if there is one already. */
    scanner: ChunkScanner | null,
    /** Else, whether the one made scans with WebAssembly (see wasmScan). */
    wasm: boolean,
  ) {
    this.fd = openLog(file.path);
    this.end = start;
    // No bigger than what there is to read: a run over many small files stays small.
    const size = Math.min(fs.fstatSync(this.fd).size, limit);
    const want = Math.min(CHUNK, Math.max(MIN_BUFFER, size - start));
    this.scanner = scanner ?? new ChunkScanner(want, { wasm });
    if (this.scanner.capacity < want) this.scanner.grow(want);
    this.raw = { buf: this.scanner.chunk.subarray(0, 0), fields: this.scanner.fields, start: 0, end: 0, base: start };
  }

  /** True when a record is in hand (raw); false at the end of what can be read, or at damage. */
  head(): boolean {
    if (this.held) return true;
    if (!this.scan() && !(this.fill() && this.scan())) return false;
    this.held = true;
    return true;
  }

  /** The record in hand, decoded. */
  record(): LogRecord {
    const { buf, fields, start, end, base } = this.raw;
    this.built ??= toLogRecord(buf, { start, end, fields: fields.subarray(0, 2 * fields[COUNT_SLOT]) }, base);
    return this.built;
  }

  /** The record in hand's log_time as written (`YYYY-MM-DD HH:MM:SS.mmm ZONE`): it orders records across files. */
  key(): string {
    const { buf, fields } = this.raw;
    return buf.toString('latin1', fields[0], fields[1]);
  }

  /** The record in hand's bytes. */
  bytes(): Buffer {
    return this.raw.buf.subarray(this.raw.start, this.raw.end);
  }

  /** Whether a record is in hand. */
  holds(): boolean {
    return this.held;
  }

  /**
   * Passes over the records in hand and after it, in what the chunk holds, that `prefilter` turns
   * down, at most `most`; stops at one it wants (in hand), where the chunk needs reading on (none in
   * hand), or after `most` (none in hand).
   * @returns how many it passed over
   */
  passOver(prefilter: (raw: RawRecord, file: number) => boolean, file: number, most: number): number {
    const { raw } = this;
    let n = 0;
    while (this.held && !prefilter(raw, file)) {
      n++;
      this.advance();
      if (n >= most) break;
      this.held = this.scan();
    }
    return n;
  }

  advance(): void {
    if (!this.held) return;
    this.end = this.raw.base + this.raw.end;
    this.held = false;
    this.built = null;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** Reads on until there are records to hand out; false at the end of the file, or at damage. */
  private fill(): boolean {
    const { scanner, raw } = this;
    while (!this.done) {
      // Keep the bytes not taken yet at the front of the chunk.
      const keep = this.end - raw.base;
      scanner.chunk.copy(scanner.chunk, 0, keep, this.filled);
      this.filled -= keep;
      raw.base = this.end;
      // One record larger than the chunk: grow it to hold the record.
      if (this.filled === scanner.capacity) scanner.grow(scanner.capacity * 2);
      const room = Math.min(scanner.capacity - this.filled, this.limit - (raw.base + this.filled));
      const n = room > 0 ? fs.readSync(this.fd, scanner.chunk, this.filled, room, raw.base + this.filled) : 0;
      this.bytesRead += n;
      this.filled += n;
      this.next = 0;
      raw.buf = scanner.chunk.subarray(0, this.filled);
      raw.fields = scanner.fields;
      const first = scanner.scan(0, this.filled);
      if (first >= 0) return true;
      this.stopAt(scanStop(first, 0, raw.fields), n === 0);
    }
    return false;
  }

  /** Scans the record at `next` in what the chunk holds; false where more must be read (or at the end). */
  private scan(): boolean {
    if (this.done && this.next >= this.filled) return false;
    const { raw } = this;
    const end = this.scanner.scan(this.next, this.filled);
    if (end < 0) {
      const stop = scanStop(end, this.next, raw.fields);
      // Damage is final; a record cut by the chunk's end is read on by fill().
      if (stop.kind === 'damaged') this.stopAt(stop, false);
      return false;
    }
    raw.start = this.next;
    raw.end = end;
    this.next = end;
    return true;
  }

  /** Notes what ends the read at a scan's stop: damage, or the end of the file (eof). */
  private stopAt(stop: ScanStop, eof: boolean): void {
    if (stop.kind === 'damaged') {
      this.damage = { offset: this.raw.base + stop.at, problem: stop.problem, fatal: stop.fatal };
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
 * Reads records again at places a read noted, each file opened once until close(): the gate and the
 * journal's units go back to hundreds of records, and an open per record cost more than its read.
 * Whoever makes one closes it (in a finally): a resident process reads pass after pass.
 */
export class RecordsAt {
  /** By path: the fd of each file read from so far. */
  private readonly fds = new Map<string, number>();

  /**
   * The record at `offset` of a file, as the read made it; null when the bytes there are no longer
   * one record (the file changed under the same identity).
   */
  record(file: LogFile, offset: number, end: number): LogRecord | null {
    return this.readAt(file, offset, end, (buf, span) => toLogRecord(buf, span, offset));
  }

  /**
   * The statement record at `offset` of a file, to apply or list its unit; null when the bytes there
   * are no longer that statement (the file changed under the same identity). The statement's text is
   * its bytes decoded with `decode` (an EncodingError where they are not valid).
   */
  statement(file: LogFile, offset: number, end: number, decode: Decoder): StatementRecord | null {
    return this.readAt(file, offset, end, (buf, span) => {
      const record = toLogRecord(buf, span, offset);
      if (record.kind !== 'statement') return null;
      const text = decodedStatementText(buf, span, decode);
      return text === null ? null : { ...record, text };
    });
  }

  /** Closes every file it opened; it can be used again after, opening them anew. */
  close(): void {
    const fds = [...this.fds.values()];
    this.fds.clear();
    for (const fd of fds) fs.closeSync(fd);
  }

  /** What `make` makes of the one record at [offset, end) of a file; null where there is no such record. */
  private readAt<T>(file: LogFile, offset: number, end: number, make: (buf: Buffer, span: RecordSpan) => T | null): T | null {
    let fd = this.fds.get(file.path);
    if (fd === undefined) {
      fd = openLog(file.path);
      this.fds.set(file.path, fd);
    }
    const buf = Buffer.alloc(end - offset);
    const n = fs.readSync(fd, buf, 0, buf.length, offset);
    const { records } = scanRecords(buf.subarray(0, n), 0);
    if (records.length !== 1 || records[0].end !== buf.length) return null;
    return make(buf, records[0]);
  }
}
