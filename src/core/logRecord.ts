/**
 * Typed csvlog records. Only the records that can change what a target receives (statements and
 * errors) are decoded in full; for the rest the columns that settle a transaction are enough.
 */
import { isAscii } from 'node:buffer';
import { parse } from 'csv-parse/sync';
import { RecordSpan, fieldBytes, fieldStartsWith, fieldText } from './csvRecord';
import { Decoder, judgeForm } from './encoding';

// Column positions common to every csvlog format (13 and 14 only appended columns).
const COL = {
  logTime: 0,
  userName: 1,
  databaseName: 2,
  processId: 3,
  sessionId: 5,
  sessionLine: 6,
  commandTag: 7,
  vxid: 9,
  severity: 11,
  sqlState: 12,
  message: 13,
  query: 19,
  applicationName: 22,
} as const;

export type Severity = 'ERROR' | 'FATAL' | 'PANIC';

interface RecordBase {
  /** Byte offset of the record in its file. */
  offset: number;
  /** Byte offset just past the record. */
  end: number;
  /** As written: `YYYY-MM-DD HH:MM:SS.mmm ZONE` (it orders records across files). */
  logTime: string;
  sessionId: string;
  vxid: string;
}

/** A `statement: …` or `execute <name>: …` record: what a client sent. */
export interface StatementRecord extends RecordBase {
  kind: 'statement';
  userName: string;
  databaseName: string;
  processId: number;
  /** The session's status before the statement (`idle`, `idle in transaction`, …) or, for extended
   *  protocol, the statement's own tag. */
  commandTag: string;
  applicationName: string;
  /**
   * The statement in judgeForm: a record does not tell its database's encoding, so bytes that are not
   * UTF-8 are kept one character a byte. What is sent or shown is decoded (decodedStatementText).
   */
  text: string;
}

/** An ERROR, FATAL or PANIC: the transaction it names did not commit. */
export interface FailureRecord extends RecordBase {
  kind: 'failure';
  severity: Severity;
  sqlState: string;
  message: string;
  /** The statement text the error was raised in (the `query` column), '' when none; in judgeForm, as `text`. */
  query: string;
}

/** Anything else: it still proves its session had moved on to another transaction. */
export interface OtherRecord extends RecordBase {
  kind: 'other';
  /** The few that end sessions: their session's `disconnection:`, or the server's restart. */
  event?: 'disconnection' | 'server-restart';
}

export type LogRecord = StatementRecord | FailureRecord | OtherRecord;

const STATEMENT_PREFIX = 'statement: ';
const EXECUTE_PREFIX = 'execute ';

/**
 * Builds the typed record of a scanned span.
 * @param buf the bytes the span points into
 * @param span the record's boundaries
 * @param base the file offset of buf[0]
 * @param ascii buf is known to be ASCII
 */
export function toLogRecord(buf: Buffer, span: RecordSpan, base: number, ascii = false): LogRecord {
  const read = fieldReader(buf, span, ascii);
  const field = read.field;
  const head = {
    offset: base + span.start,
    end: base + span.end,
    logTime: field(COL.logTime),
    sessionId: field(COL.sessionId),
    vxid: field(COL.vxid),
  };
  if (fieldStartsWith(buf, span, COL.severity, 'LOG')) {
    if (
      fieldStartsWith(buf, span, COL.message, STATEMENT_PREFIX) ||
      fieldStartsWith(buf, span, COL.message, EXECUTE_PREFIX)
    ) {
      const statement = toStatement(read, head);
      if (statement) return statement;
    }
    return { kind: 'other', ...head, event: eventOf(buf, span) };
  }
  for (const severity of ['ERROR', 'FATAL', 'PANIC'] as const) {
    if (fieldStartsWith(buf, span, COL.severity, severity)) {
      const cols = fullParse(buf, span);
      return {
        kind: 'failure',
        ...head,
        severity,
        sqlState: cols[COL.sqlState],
        message: cols[COL.message],
        query: span.fields.length / 2 > COL.query ? read.judged(COL.query) : '',
      };
    }
  }
  return { kind: 'other', ...head };
}

/**
 * Reads field i of the record as text, and (judged) a text field in judgeForm. Most records are
 * ASCII: those are decoded once, whole, and their fields cut from that text, which is also what
 * judgeForm gives for ASCII.
 */
interface FieldReader {
  field: (i: number) => string;
  judged: (i: number) => string;
}

function fieldReader(buf: Buffer, span: RecordSpan, ascii: boolean): FieldReader {
  if (!ascii && !isAscii(buf.subarray(span.start, span.end))) {
    return { field: (i) => fieldText(buf, span, i), judged: (i) => judgeForm(fieldBytes(buf, span, i)) };
  }
  const line = buf.toString('latin1', span.start, span.end);
  const field = (i: number): string => {
    const s = span.fields[2 * i] - span.start;
    const e = span.fields[2 * i + 1] - span.start;
    if (e - s < 2 || line.charCodeAt(s) !== 0x22) return line.slice(s, e);
    const inner = line.slice(s + 1, e - 1);
    return inner.includes('"') ? inner.replace(/""/g, '"') : inner;
  };
  return { field, judged: field };
}


/**
 * Messages of the postmaster and startup process that mean every session of the server is gone: a
 * backend crashed and the others were killed, an immediate shutdown, a start after either, any start.
 */
const SERVER_RESTART = [
  'terminating any other active server processes',
  'all server processes terminated; reinitializing',
  'received immediate shutdown request',
  'database system was interrupted',
  'database system was not properly shut down',
  'database system is shut down',
  'database system is ready to accept connections',
];

function eventOf(buf: Buffer, span: RecordSpan): OtherRecord['event'] {
  if (fieldStartsWith(buf, span, COL.message, 'disconnection: ')) return 'disconnection';
  return SERVER_RESTART.some((m) => fieldStartsWith(buf, span, COL.message, m)) ? 'server-restart' : undefined;
}

function toStatement(
  { field, judged }: FieldReader,
  head: Pick<StatementRecord, 'offset' | 'end' | 'logTime' | 'sessionId' | 'vxid'>,
): StatementRecord | null {
  const text = statementText(judged(COL.message));
  if (text === null) return null;
  // The scanner has checked every field's quoting: a field is read without parsing the record again.
  return {
    kind: 'statement',
    ...head,
    userName: field(COL.userName),
    databaseName: field(COL.databaseName),
    processId: Number(field(COL.processId)),
    commandTag: field(COL.commandTag),
    applicationName: field(COL.applicationName),
    text,
  };
}

/**
 * The statement of a statement record, its bytes decoded with its database's encoding (the record's
 * `text` holds them undecoded). Throws an EncodingError where they are not valid in it.
 */
export function decodedStatementText(buf: Buffer, span: RecordSpan, decode: Decoder): string | null {
  return statementText(decode(fieldBytes(buf, span, COL.message)));
}

/**
 * The statement a `statement:`/`execute <name>:` message carries, or null for a message that only
 * looks like one (`execute fetch from <portal>:` repeats a statement already logged).
 */
export function statementText(message: string): string | null {
  if (message.startsWith(STATEMENT_PREFIX)) return message.slice(STATEMENT_PREFIX.length);
  if (!message.startsWith(EXECUTE_PREFIX)) return null;
  const colon = message.indexOf(': ', EXECUTE_PREFIX.length);
  if (colon < 0) return null;
  const name = message.slice(EXECUTE_PREFIX.length, colon);
  if (name.startsWith('fetch from ')) return null;
  return message.slice(colon + 2);
}

/** Every column of a record, decoded by csv-parse (used for the few records that matter). */
function fullParse(buf: Buffer, span: RecordSpan): string[] {
  const rows = parse(buf.subarray(span.start, span.end), { relax_column_count: false }) as string[][];
  return rows[0];
}
