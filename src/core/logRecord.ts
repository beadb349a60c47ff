/**
 * Typed csvlog records. Only the records that can change what a target receives (statements and
 * errors) are decoded in full; for the rest the columns that settle a transaction are enough.
 */
import { isAscii } from 'node:buffer';
import { RecordSpan, bytesStartWith, fieldBytes, fieldStartsWith, fieldText } from './csvRecord';
import { CAPTURE_PREFIX } from './capture';
import { Decoder, judgeForm } from './encoding';
import { stripLeadingComments, trimAscii } from './sqlSplit';
import { mayHoldMoreThanQueries } from './statements';

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
  context: 18,
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
  /**
   * Why the log cannot prove which statement the primary ran (see executeDoubt): such a record is
   * never sent; a target stops at it.
   */
  unprovable?: string;
}

/** An ERROR, FATAL or PANIC: the transaction it names did not commit. */
export interface FailureRecord extends RecordBase {
  kind: 'failure';
  severity: Severity;
  sqlState: string;
  message: string;
  /** The statement text the error was raised in (the `query` column), '' when none; in judgeForm, as `text`. */
  query: string;
  /** The session's database, where the record names one. */
  databaseName?: string;
}

/** Anything else: it still proves its session had moved on to another transaction. */
export interface OtherRecord extends RecordBase {
  kind: 'other';
  /**
   * The few that end sessions: their session's `disconnection:`; the server's stop after a clean
   * shutdown (`server-stop`), or a crash, an immediate shutdown or a start (`server-restart`).
   */
  event?: 'disconnection' | 'server-restart' | 'server-stop';
}

/**
 * A LOG record whose message starts with CAPTURE_PREFIX (see core/capture): the capture helper's, or a
 * forgery of it, which the judge tells apart by its MAC. Its columns say where it ran.
 */
export interface CaptureRecord extends RecordBase {
  kind: 'capture';
  userName: string;
  databaseName: string;
  processId: number;
  /** The running top-level command's tag: differs from the payload's tag for DDL run inside a function. */
  commandTag: string;
  applicationName: string;
  /** The whole message (prefix, MAC, payload). */
  message: string;
  /** The top-level statement the record was raised in (the `query` column), in judgeForm. */
  query: string;
}

export type LogRecord = StatementRecord | FailureRecord | OtherRecord | CaptureRecord;

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
  // What every record has: where it is, when, and whose session and transaction.
  const at = { offset: base + span.start, end: base + span.end, logTime: fields.text(COL.logTime), sessionId: fields.text(COL.sessionId), vxid: fields.text(COL.vxid) };
  const query = (): string => (span.fields.length / 2 > COL.query ? fields.judged(COL.query) : '');
  if (fieldStartsWith(buf, span, COL.severity, 'LOG')) {
    if (fieldStartsWith(buf, span, COL.message, CAPTURE_PREFIX)) {
      return {
        kind: 'capture',
        ...at,
        ...clientFields(fields),
        message: fields.judged(COL.message),
        query: query(),
      };
    }
    if (
      loggedByServer(buf, span.fields, span.fields.length / 2) &&
      (fieldStartsWith(buf, span, COL.message, STATEMENT_PREFIX) ||
        fieldStartsWith(buf, span, COL.message, EXECUTE_PREFIX))
    ) {
      const message = messageText(fields.judged(COL.message));
      const unprovable = message ? executeDoubt(message) : undefined;
      // A repeat of a statement already logged (`execute fetch from`) is no statement of its own.
      // The scanner has checked every field's quoting: a field is read without parsing the record again.
      if (message && !(message.fetch && unprovable === undefined)) {
        return {
          kind: 'statement',
          ...at,
          ...clientFields(fields),
          text: message.text,
          ...(unprovable === undefined ? {} : { unprovable }),
        };
      }
    }
    return { kind: 'other', ...at, event: eventOf(buf, span) };
  }
  for (const severity of ['ERROR', 'FATAL', 'PANIC'] as const) {
    if (fieldStartsWith(buf, span, COL.severity, severity)) {
      return {
        kind: 'failure',
        ...at,
        severity,
        sqlState: fields.text(COL.sqlState),
        message: fields.text(COL.message),
        query: query(),
        databaseName: fields.text(COL.databaseName),
      };
    }
  }
  return { kind: 'other', ...at };
}

/** What a client's record tells of its session: who, in which database, which process, command and program. */
function clientFields(fields: Fields): Pick<StatementRecord, 'userName' | 'databaseName' | 'processId' | 'commandTag' | 'applicationName'> {
  return {
    userName: fields.text(COL.userName),
    databaseName: fields.text(COL.databaseName),
    processId: Number(fields.text(COL.processId)),
    commandTag: fields.text(COL.commandTag),
    applicationName: fields.text(COL.applicationName),
  };
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
  'database system is ready to accept connections',
];

/**
 * The postmaster's last words after a smart or fast shutdown: every session had ended, each backend a
 * fast shutdown terminated logged a FATAL first, and nothing was cut off mid-commit. (An immediate
 * shutdown says so before, and is a restart's kind.)
 */
const SERVER_STOP = 'database system is shut down';

/** The event a record that is neither a statement nor a failure tells of, if any. */
export function eventOf(buf: Buffer, span: RecordSpan): OtherRecord['event'] {
  const count = span.fields.length / 2;
  if (!loggedByServer(buf, span.fields, count)) return undefined;
  if (fieldStartsWith(buf, span, COL.message, 'disconnection: ')) return 'disconnection';
  // The postmaster's and the startup process's messages belong to no session, role or database.
  if (textLength(buf, span.fields, count, COL.userName) > 0 || textLength(buf, span.fields, count, COL.databaseName) > 0) return undefined;
  if (fieldStartsWith(buf, span, COL.message, SERVER_STOP)) return 'server-stop';
  return SERVER_RESTART.some((m) => fieldStartsWith(buf, span, COL.message, m)) ? 'server-restart' : undefined;
}

/**
 * Whether a LOG record is the server's own and no message a session raised. The server logs a
 * statement, a disconnection or a restart with no context and no query (errhidestmt): `RAISE LOG`,
 * which any role may run, writes its function's context and the statement it ran in. Without this a
 * role could write `statement: SET ROLE postgres; …`, or a restart's words, into the log.
 */
export function loggedByServer(buf: Uint8Array, fields: Int32Array, count: number): boolean {
  return textLength(buf, fields, count, COL.context) === 0 && textLength(buf, fields, count, COL.query) === 0;
}

/**
 * The length of text field i, its quotes left out; 0 for a field the record lacks.
 * @param fields the record's field bounds, `count` of them
 */
function textLength(buf: Uint8Array, fields: Int32Array, count: number, i: number): number {
  if (i >= count) return 0;
  const n = fields[2 * i + 1] - fields[2 * i];
  return n >= 2 && buf[fields[2 * i]] === 0x22 ? n - 2 : n;
}

/**
 * The statement of a statement record, its bytes decoded with its database's encoding (the record's
 * `text` holds them undecoded). Throws an EncodingError where they are not valid in it.
 */
export function decodedStatementText(buf: Buffer, span: RecordSpan, decode: Decoder): string | null {
  return messageText(decode(fieldBytes(buf, span, COL.message)))?.text ?? null;
}

/** What a `statement: …` or `execute <name>: …` message may hold. */
export interface MessageText {
  /** The text after the first ": " (for `statement:`, the only reading). */
  text: string;
  /**
   * The texts after each later ": " of an `execute` message: the name before the text is the
   * client's (`<statement>[/<portal>]`, any characters), so it may end at any of them.
   */
  others: string[];
  /** The message says it repeats a statement already logged: `execute fetch from <name>: …`. */
  fetch: boolean;
}

/** What a `statement:`/`execute <name>:` message holds, or null for a message that is neither. */
export function messageText(message: string): MessageText | null {
  if (message.startsWith(STATEMENT_PREFIX)) return { text: message.slice(STATEMENT_PREFIX.length), others: [], fetch: false };
  if (!message.startsWith(EXECUTE_PREFIX)) return null;
  const ends: number[] = [];
  for (let at = message.indexOf(': ', EXECUTE_PREFIX.length); at >= 0; at = message.indexOf(': ', at + 1)) ends.push(at + 2);
  if (ends.length === 0) return null;
  const [text, ...others] = ends.map((e) => message.slice(e));
  return { text, others, fetch: message.startsWith(FETCH_PREFIX, EXECUTE_PREFIX.length) };
}

/**
 * Why an `execute` message cannot prove what the primary ran, or undefined when it can. Its name may
 * end at any ": " (a client that names a statement `x: SET ROLE postgres; …` makes one more reading of
 * the text), and `fetch from` may be the start of a name as well as the word for a repeat. Where every
 * reading is a plain query nothing of it is sent either way; otherwise which one ran is a guess.
 */
export function executeDoubt(message: MessageText): string | undefined {
  if (message.others.length === 0 && !message.fetch) return undefined;
  const readings = [message.text, ...message.others];
  if (!readings.slice(0, READINGS_READ).some(mayHoldMoreThanQueries) && !laterReadingsMayHoldMore(readings.slice(READINGS_READ))) return undefined;
  if (message.others.length > 0) {
    return `the client's statement name in "execute <name>: <text>" may end at any of its ${readings.length} ": ", and the texts so read differ in what they would send`;
  }
  return 'the record says it repeats a statement already logged ("execute fetch from"), but holds more than a query: the words may be the start of the client\'s statement name';
}

/**
 * How many readings of one message are read whole. A query's literals may hold thousands of ": "
 * (JSON): reading every suffix would cost the square of its length.
 */
const READINGS_READ = 64;

/**
 * Whether any of these readings (each a suffix of the one before) may hold more than a plain query,
 * told cheaply: a reading is one statement unless a `;` that is not the last character follows, and
 * one statement is a query unless its leading words say otherwise, and they start with a letter.
 */
function laterReadingsMayHoldMore(readings: string[]): boolean {
  if (readings.length === 0) return false;
  const semicolon = readings[0].indexOf(';');
  if (semicolon >= 0 && trimAscii(readings[0].slice(semicolon + 1)) !== '') return true;
  return readings.some((r) => /^[A-Za-z]/.test(stripLeadingComments(r.slice(0, LEADING_WORDS_SPAN))) && mayHoldMoreThanQueries(r.slice(0, LEADING_WORDS_SPAN)));
}

/** Enough of a text for its first statement's leading words, however commented. */
const LEADING_WORDS_SPAN = 4096;

/**
 * Where the statement of a statement record starts in its message field (which ends, before its
 * closing quote, where the statement ends), or -1 for a message that is none: the text after the
 * first ": " of messageText, on bytes, for records not decoded at all. A repeat (`execute fetch from`)
 * is found too: see fetchRepeat.
 */
export function statementTextStart(buf: Uint8Array, fields: Int32Array): number {
  const from = fields[2 * COL.message] + 1;
  const end = fields[2 * COL.message + 1] - 1;
  if (buf[from - 1] !== QUOTE) return -1;
  if (bytesStartWith(buf, from, end, STATEMENT_PREFIX)) return from + STATEMENT_PREFIX.length;
  if (!bytesStartWith(buf, from, end, EXECUTE_PREFIX)) return -1;
  const colon = colonSpaceAt(buf, from + EXECUTE_PREFIX.length, end);
  return colon < 0 ? -1 : colon + 2;
}

/** The message of a statement record is `execute fetch from …` (see messageText). */
export function fetchRepeat(buf: Uint8Array, fields: Int32Array): boolean {
  return bytesStartWith(buf, fields[2 * COL.message] + 1, fields[2 * COL.message + 1] - 1, EXECUTE_FETCH_PREFIX);
}

/** Where the first ": " in buf[from, end) is, or -1. */
export function colonSpaceAt(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) if (buf[i] === 0x3a && buf[i + 1] === 0x20) return i;
  return -1;
}

const QUOTE = 0x22;
const FETCH_PREFIX = 'fetch from ';
const EXECUTE_FETCH_PREFIX = EXECUTE_PREFIX + FETCH_PREFIX;
