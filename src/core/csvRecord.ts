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

/** Column counts PostgreSQL has written: 9.x-12, 13, 14+. */
export const KNOWN_COLUMN_COUNTS: ReadonlySet<number> = new Set([23, 24, 26]);
const NEWEST_COLUMN_COUNT = 26;

/** One complete record: [start, end) in the buffer, end just past its newline. */
export interface RecordSpan {
  start: number;
  end: number;
  /** Field i is buf[fields[2i], fields[2i+1]), quotes included. */
  fields: Int32Array;
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
  if (pos >= buf.length) return { kind: 'incomplete', at: pos };
  const head = checkRecordStart(buf, pos);
  if (head === 'short') return { kind: 'incomplete', at: pos };
  if (head === 'bad') return { kind: 'damaged', at: pos, problem: 'a record must start with a timestamp' };
  const span = scanOne(buf, pos, scratch);
  if (span === null) return { kind: 'incomplete', at: pos };
  if (typeof span === 'string') return { kind: 'damaged', at: pos, problem: span };
  const columns = span.fields.length / 2;
  if (!KNOWN_COLUMN_COUNTS.has(columns)) {
    if (columns > NEWEST_COLUMN_COUNT && columns < 64) {
      const problem = `a record of ${columns} columns: a csvlog format newer than this pg-ddl-sync reads (23, 24 or 26 columns); upgrade pg-ddl-sync`;
      return { kind: 'damaged', at: pos, problem, fatal: true };
    }
    return { kind: 'damaged', at: pos, problem: `a record of ${columns} columns (csvlog has 23, 24 or 26)` };
  }
  return span;
}

/**
 * The next place at or after `from` where a line starts a well-formed record: where reading resumes
 * past damage. `more` when the buffer ends before that is decided; `from` is where to look again
 * with more bytes (a newline whose line is undecided, or the buffer's end).
 */
export function nextRecordStart(buf: Buffer, from: number): { kind: 'found'; at: number } | { kind: 'more'; from: number } {
  let pos = from;
  for (;;) {
    const nl = buf.indexOf(NEWLINE, pos);
    if (nl < 0) return { kind: 'more', from: buf.length };
    const at = nl + 1;
    const head = checkRecordStart(buf, at);
    if (head === 'short') return { kind: 'more', from: nl };
    if (head === 'ok') {
      const span = scanOne(buf, at, undefined);
      if (span === null) return { kind: 'more', from: nl };
      if (typeof span !== 'string' && KNOWN_COLUMN_COUNTS.has(span.fields.length / 2)) return { kind: 'found', at };
    }
    pos = at;
  }
}

/** Room for the field bounds of the longest record that is still scanned to its end. */
const MAX_FIELDS = 64;

/**
 * Scans one record at pos: its span, null if the buffer ends inside it, or what is wrong with it.
 * @param scratch where to write the field bounds (a reader's own, reused record after record: the
 *   span is valid until its next scan); a new array when not given
 */
function scanOne(buf: Buffer, start: number, scratch: Int32Array | undefined): RecordSpan | null | string {
  const fields = scratch ?? new Int32Array(2 * MAX_FIELDS + 2);
  let n = 0;
  let pos = start;
  const len = buf.length;
  for (;;) {
    const fieldStart = pos;
    let fieldEnd: number;
    if (pos < len && buf[pos] === QUOTE) {
      pos++;
      for (;;) {
        const q = buf.indexOf(QUOTE, pos);
        if (q < 0) return null;
        if (q + 1 >= len) return null;
        if (buf[q + 1] === QUOTE) {
          pos = q + 2;
          continue;
        }
        pos = q + 1;
        break;
      }
      fieldEnd = pos;
      if (buf[pos] !== COMMA && buf[pos] !== NEWLINE) return 'a quoted field is followed by text';
    } else {
      while (pos < len) {
        const c = buf[pos];
        if (c === COMMA || c === NEWLINE) break;
        if (c === QUOTE) return 'a quote inside an unquoted field';
        pos++;
      }
      if (pos >= len) return null;
      fieldEnd = pos;
    }
    fields[n++] = fieldStart;
    fields[n++] = fieldEnd;
    if (buf[pos] === NEWLINE) return { start, end: pos + 1, fields: scratch ? fields.subarray(0, n) : fields.slice(0, n) };
    pos++; // the comma
    if (n > 2 * MAX_FIELDS) return 'more fields than any csvlog record has';
  }
}

/** A csvlog record starts with log_time: `YYYY-MM-DD HH:MM:SS`. */
function checkRecordStart(buf: Buffer, pos: number): 'ok' | 'short' | 'bad' {
  const pattern = 'dddd-dd-dd dd:dd:dd';
  for (let i = 0; i < pattern.length; i++) {
    if (pos + i >= buf.length) return 'short';
    const c = buf[pos + i];
    const want = pattern.charCodeAt(i);
    const ok = want === 0x64 /* d */ ? c >= 0x30 && c <= 0x39 : c === want;
    if (!ok) return 'bad';
  }
  return 'ok';
}

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
  if (e - s < prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) if (buf[s + k] !== prefix.charCodeAt(k)) return false;
  return true;
}
