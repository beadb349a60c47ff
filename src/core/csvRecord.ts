/**
 * Finds csvlog record boundaries and field boundaries in a byte buffer, without decoding text.
 *
 * csvlog quotes every text field with `"` and doubles quotes inside; a newline inside quotes belongs to
 * the field, a newline outside quotes ends the record. The collector writes line by line, so the end of
 * the buffer may cut a record anywhere: such a tail is reported as incomplete, never as a record.
 */
const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

/** Column counts PostgreSQL has written: 9.x-12 (23), 13 (24), 14+ (26). */
export const NEWEST_COLUMN_COUNT = 26;

/** One complete record: [start, end) in the buffer, end just past its newline. */
export interface RecordSpan {
  start: number;
  end: number;
  /** Field i is buf[fields[2i], fields[2i+1]), quotes included. */
  fields: Int32Array;
}

/**
 * A record as scanned, nothing decoded: its bytes are buf[start, end), its fields' bounds and count
 * are in `fields` as scanInto leaves them, and its class (recordClass) after them. Valid only until
 * the reader moves on.
 */
export interface RawRecord {
  buf: Buffer;
  fields: Int32Array;
  start: number;
  end: number;
  /** The file offset of buf[0]. */
  base: number;
}

export type ScanStop =
  /** Every byte up to `at` was consumed; the rest (if any) is a record still being written. */
  | { kind: 'incomplete'; at: number }
  /**
   * The bytes at `at` are not a csvlog record. Fatal: a well-formed record of more columns than any
   * csvlog this reader knows, a newer format, not damage to pass over.
   */
  | { kind: 'damaged'; at: number; problem: string; fatal?: boolean };

export interface ScanResult {
  records: RecordSpan[];
  stop: ScanStop;
}

/**
 * Scans complete records in buf[from, buf.length).
 * @param buf bytes read from a csvlog file
 * @param from where the first record starts
 */
export function scanRecords(buf: Buffer, from: number): ScanResult {
  const records: RecordSpan[] = [];
  let pos = from;
  for (;;) {
    const next = scanRecord(buf, pos);
    if ('kind' in next) return { records, stop: next };
    records.push(next);
    pos = next.end;
  }
}

/**
 * Scans the one record at `pos`: its span, or why there is none (the buffer ends inside it, or the
 * bytes are not a record). A reader takes records one at a time, so that only the record in hand is
 * held, never a whole chunk's spans.
 */
export function scanRecord(buf: Buffer, pos: number, scratch?: Int32Array): RecordSpan | ScanStop {
  const fields = scratch ?? new Int32Array(FIELD_ROOM);
  const end = scanInto(buf, pos, fields);
  if (end < 0) return scanStop(end, pos, fields);
  const n = 2 * fields[COUNT_SLOT];
  return { start: pos, end, fields: scratch ? fields.subarray(0, n) : fields.slice(0, n) };
}

/** Most fields a record may have and still be scanned to its end (to tell a newer format by its count). */
const MAX_FIELDS = 64;

/**
 * Room for scanInto's output: the bounds of MAX_FIELDS fields, then the field count, then what the
 * fast scan of a read also writes (see recordClass). Field i is [out[2i], out[2i+1]), quotes included.
 */
export const FIELD_ROOM = 2 * MAX_FIELDS + 9;
/** Where scanInto writes the field count. */
export const COUNT_SLOT = 2 * MAX_FIELDS;
/** Where a read's scan writes the record's class (recordClass). */
export const CLASS_SLOT = COUNT_SLOT + 1;
export const TEXT_SLOT = COUNT_SLOT + 2;
export const PLAIN_SLOT = COUNT_SLOT + 3;
export const PID_SLOT = COUNT_SLOT + 4;
export const TIME_LO_SLOT = COUNT_SLOT + 5;
export const TIME_HI_SLOT = COUNT_SLOT + 6;
export const VXID_BACKEND_SLOT = COUNT_SLOT + 7;
export const VXID_LOCAL_SLOT = COUNT_SLOT + 8;

/** scanInto's answers other than a record's end. */
const INCOMPLETE = -1;
const NOT_A_RECORD = -2;
const QUOTE_INSIDE = -3;
const TEXT_AFTER_QUOTE = -4;
const TOO_MANY_FIELDS = -5;
const UNKNOWN_COUNT = -6;
const NEWER_FORMAT = -7;

/**
 * Scans the record at `start` of buf's first `len` bytes, writing its field bounds and count into
 * `out` (FIELD_ROOM long). Returns the offset just past the record's newline, or a negative code: INCOMPLETE where the buffer
 * ends inside it, or why the bytes are no csvlog record (see scanStop). This is the loop every byte of
 * the log goes through: one pass, no allocation, each byte looked at once.
 */
export function scanInto(buf: Uint8Array, start: number, out: Int32Array, len = buf.length): number {
  const head = checkRecordStart(buf, start, len);
  if (head !== 0) return head;
  let n = 0;
  let i = start;
  for (;;) {
    out[n] = i;
    if (i < len && buf[i] === QUOTE) {
      i++;
      for (;;) {
        while (i < len && buf[i] !== QUOTE) i++;
        // The quote that closes the field is told from a doubled one by the byte after it.
        if (i + 1 >= len) return INCOMPLETE;
        if (buf[i + 1] !== QUOTE) break;
        i += 2;
      }
      i++;
      if (buf[i] !== COMMA && buf[i] !== NEWLINE) return TEXT_AFTER_QUOTE;
    } else {
      for (;;) {
        if (i >= len) return INCOMPLETE;
        const c = buf[i];
        if (c === COMMA || c === NEWLINE) break;
        if (c === QUOTE) return QUOTE_INSIDE;
        i++;
      }
    }
    out[n + 1] = i;
    n += 2;
    if (buf[i] === NEWLINE) break;
    i++; // the comma
    if (n >= COUNT_SLOT) return TOO_MANY_FIELDS;
  }
  const columns = n >> 1;
  out[COUNT_SLOT] = columns;
  if (!isColumnCount(columns)) return columns > NEWEST_COLUMN_COUNT && columns < MAX_FIELDS ? NEWER_FORMAT : UNKNOWN_COUNT;
  return i + 1;
}

/** Whether a record of `columns` fields is one PostgreSQL writes: 23 (9.x to 12), 24 (13) or 26 (14 on). */
export function isColumnCount(columns: number): boolean {
  return columns === 23 || columns === 24 || columns === NEWEST_COLUMN_COUNT;
}

/** What a negative answer of scanInto at `at` means. */
export function scanStop(code: number, at: number, out: Int32Array): ScanStop {
  switch (code) {
    case INCOMPLETE:
      return { kind: 'incomplete', at };
    case NOT_A_RECORD:
      return { kind: 'damaged', at, problem: 'a record must start with a timestamp' };
    case QUOTE_INSIDE:
      return { kind: 'damaged', at, problem: 'a quote inside an unquoted field' };
    case TEXT_AFTER_QUOTE:
      return { kind: 'damaged', at, problem: 'a quoted field is followed by text' };
    case TOO_MANY_FIELDS:
      return { kind: 'damaged', at, problem: 'more fields than any csvlog record has' };
    case NEWER_FORMAT: {
      const columns = out[COUNT_SLOT];
      const problem = `a record of ${columns} columns: a csvlog format newer than this pg-ddl-sync reads (23, 24 or 26 columns); upgrade pg-ddl-sync`;
      return { kind: 'damaged', at, problem, fatal: true };
    }
    default:
      return { kind: 'damaged', at, problem: `a record of ${out[COUNT_SLOT]} columns (csvlog has 23, 24 or 26)` };
  }
}

/** A csvlog record starts with log_time, `YYYY-MM-DD HH:MM:SS`: 0, INCOMPLETE or NOT_A_RECORD. */
function checkRecordStart(buf: Uint8Array, pos: number, len: number): number {
  const n = Math.min(TIMESTAMP.length, len - pos);
  for (let i = 0; i < n; i++) {
    const c = buf[pos + i];
    const want = TIMESTAMP[i];
    if (want === DIGIT ? c < 0x30 || c > 0x39 : c !== want) return NOT_A_RECORD;
  }
  // Too short to tell, unless what there is already differs.
  return n < TIMESTAMP.length ? INCOMPLETE : 0;
}

const DIGIT = -1;
/** `dddd-dd-dd dd:dd:dd`: DIGIT for a digit, else the byte itself. */
const TIMESTAMP = new Int32Array([...'dddd-dd-dd dd:dd:dd'].map((c) => (c === 'd' ? DIGIT : c.charCodeAt(0))));

/** Decodes field i of a scanned record: quotes removed, doubled quotes undone, UTF-8. */
export function fieldText(buf: Buffer, span: RecordSpan, i: number): string {
  const s = span.fields[2 * i];
  const e = span.fields[2 * i + 1];
  if (e > s && buf[s] === QUOTE) {
    const inner = buf.toString('utf8', s + 1, e - 1);
    return inner.includes('"') ? inner.replace(/""/g, '"') : inner;
  }
  return buf.toString('latin1', s, e);
}

/**
 * Field i of a scanned record as bytes: quotes removed, doubled quotes undone, not decoded. Safe in
 * every server encoding: all are ASCII-safe, so a `"` byte is always a quote.
 */
export function fieldBytes(buf: Buffer, span: RecordSpan, i: number): Buffer {
  const s = span.fields[2 * i];
  const e = span.fields[2 * i + 1];
  if (e <= s || buf[s] !== QUOTE) return buf.subarray(s, e);
  const inner = buf.subarray(s + 1, e - 1);
  if (!inner.includes(QUOTE)) return inner;
  const out = Buffer.alloc(inner.length);
  let n = 0;
  for (let k = 0; k < inner.length; k++) {
    out[n++] = inner[k];
    if (inner[k] === QUOTE) k++;
  }
  return out.subarray(0, n);
}

/** True when field i starts with the ASCII text `prefix` (after its opening quote). */
export function fieldStartsWith(buf: Buffer, span: RecordSpan, i: number, prefix: string): boolean {
  let s = span.fields[2 * i];
  const e = span.fields[2 * i + 1];
  if (e > s && buf[s] === QUOTE) s++;
  return bytesStartWith(buf, s, e, prefix);
}

/** True when buf[from, end) starts with the ASCII text `prefix`. */
export function bytesStartWith(buf: Uint8Array, from: number, end: number, prefix: string): boolean {
  if (end - from < prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) if (buf[from + k] !== prefix.charCodeAt(k)) return false;
  return true;
}
