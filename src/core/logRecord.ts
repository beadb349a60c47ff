/**
 * Typed csvlog records. Only the records that can change what a target receives (statements and
 * errors) are decoded in full; for the rest the columns that settle a transaction are enough.
 */
import { isAscii } from 'node:buffer';
import { RecordSpan, bytesStartWith, fieldBytes, fieldStartsWith, fieldText } from './csvRecord';
import { Decoder, judgeForm } from './encoding';

/** Column positions common to every csvlog format (13 and 14 only appended columns). */
export const COL = {
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
  const fields = new Fields(buf, span, ascii);
  const offset = base + span.start;
  const end = base + span.end;
  const logTime = fields.text(COL.logTime);
  const sessionId = fields.text(COL.sessionId);
  const vxid = fields.text(COL.vxid);
  if (fieldStartsWith(buf, span, COL.severity, 'LOG')) {
    if (
      fieldStartsWith(buf, span, COL.message, STATEMENT_PREFIX) ||
      fieldStartsWith(buf, span, COL.message, EXECUTE_PREFIX)
    ) {
      const text = statementText(fields.judged(COL.message));
      // The scanner has checked every field's quoting: a field is read without parsing the record again.
      if (text !== null) {
        return {
          kind: 'statement',
          offset,
          end,
          logTime,
          sessionId,
          vxid,
          userName: fields.text(COL.userName),
          databaseName: fields.text(COL.databaseName),
          processId: Number(fields.text(COL.processId)),
          commandTag: fields.text(COL.commandTag),
          applicationName: fields.text(COL.applicationName),
          text,
        };
      }
    }
    return { kind: 'other', offset, end, logTime, sessionId, vxid, event: eventOf(buf, span) };
  }
  for (const severity of ['ERROR', 'FATAL', 'PANIC'] as const) {
    if (fieldStartsWith(buf, span, COL.severity, severity)) {
      return {
        kind: 'failure',
        offset,
        end,
        logTime,
        sessionId,
        vxid,
        severity,
        sqlState: fields.text(COL.sqlState),
        message: fields.text(COL.message),
        query: span.fields.length / 2 > COL.query ? fields.judged(COL.query) : '',
      };
    }
  }
  return { kind: 'other', offset, end, logTime, sessionId, vxid };
}

/**
 * The fields of one record as text. Most records are ASCII: those are decoded once, whole, and their
 * fields cut from that text (which is also what judgeForm gives for ASCII).
 */
class Fields {
  /** The record decoded, when it is ASCII. */
  private readonly line: string | null;

  constructor(
    private readonly buf: Buffer,
    private readonly span: RecordSpan,
    ascii: boolean,
  ) {
    this.line = ascii || isAscii(buf.subarray(span.start, span.end)) ? buf.toString('latin1', span.start, span.end) : null;
  }

  /** Field i: quotes removed, doubled quotes undone, UTF-8. */
  text(i: number): string {
    if (this.line === null) return fieldText(this.buf, this.span, i);
    const s = this.span.fields[2 * i] - this.span.start;
    const e = this.span.fields[2 * i + 1] - this.span.start;
    if (e - s < 2 || this.line.charCodeAt(s) !== 0x22) return this.line.slice(s, e);
    const inner = this.line.slice(s + 1, e - 1);
    return inner.includes('"') ? inner.replace(/""/g, '"') : inner;
  }

  /** A text field in judgeForm. */
  judged(i: number): string {
    return this.line === null ? judgeForm(fieldBytes(this.buf, this.span, i)) : this.text(i);
  }
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

/** The event a record that is neither a statement nor a failure tells of, if any. */
export function eventOf(buf: Buffer, span: RecordSpan): OtherRecord['event'] {
  if (fieldStartsWith(buf, span, COL.message, 'disconnection: ')) return 'disconnection';
  return SERVER_RESTART.some((m) => fieldStartsWith(buf, span, COL.message, m)) ? 'server-restart' : undefined;
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
  if (name.startsWith(FETCH_PREFIX)) return null;
  return message.slice(colon + 2);
}

/**
 * Where the statement of a statement record starts in its message field (which ends, before its
 * closing quote, where the statement ends), or -1 for a message that is none: statementText on bytes,
 * for records not decoded at all.
 */
export function statementTextStart(buf: Uint8Array, span: Pick<RecordSpan, 'fields'>): number {
  const from = span.fields[2 * COL.message] + 1;
  const end = span.fields[2 * COL.message + 1] - 1;
  if (buf[from - 1] !== QUOTE) return -1;
  if (bytesStartWith(buf, from, end, STATEMENT_PREFIX)) return from + STATEMENT_PREFIX.length;
  if (!bytesStartWith(buf, from, end, EXECUTE_PREFIX)) return -1;
  const name = from + EXECUTE_PREFIX.length;
  for (let i = name; i + 1 < end; i++) {
    if (buf[i] !== 0x3a || buf[i + 1] !== 0x20) continue;
    return bytesStartWith(buf, name, i, FETCH_PREFIX) ? -1 : i + 2;
  }
  return -1;
}

const QUOTE = 0x22;
const FETCH_PREFIX = 'fetch from ';
