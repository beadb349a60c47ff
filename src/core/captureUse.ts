/**
 * What a verified capture record (core/capture) means for the statement it follows: whether the
 * primary committed it (asked of the primary by its subtransaction's xid), the role and settings it
 * ran with, and DDL that ran where the log shows no statement (inside a function, a procedure, a DO
 * block).
 */
import { CAPTURED_SETTINGS, CapturePayload } from './capture';
import type { CaptureRecord } from './logRecord';
import { redact } from './redact';

/** What `txid_status` said of a transaction; 'unknown' is its NULL (older than what the primary keeps). */
export type TxidStatus = 'committed' | 'aborted' | 'in progress' | 'unknown';

/** One capture record of a statement, as the judge keeps it: no role or setting, which the unit holds. */
export interface StatementCapture {
  /** The top-level transaction's xid and the subtransaction's, with their epochs. */
  xid: string;
  sub: string;
  /** The primary's answer; 'in progress' holds for one run only (see Judge's constructor). */
  status?: TxidStatus;
}

/** What a statement's captures decide, once the primary was asked about them. */
export type CaptureOutcome =
  | { kind: 'send' }
  | { kind: 'drop' }
  /** Still running on the primary: passed over, as a running transaction is. */
  | { kind: 'running' }
  /** Not asked yet: holds back what follows. */
  | { kind: 'ask' }
  /** Neither sent nor dropped on a guess: a target stops at it. */
  | { kind: 'stop'; why: string };

/** The outcome of a statement with these captures (at least one). */
export function captureOutcome(captures: readonly StatementCapture[]): CaptureOutcome {
  if (captures.some((c) => c.status === undefined)) return { kind: 'ask' };
  if (captures.some((c) => c.status === 'unknown')) {
    return { kind: 'stop', why: 'the primary no longer knows whether its transaction committed (txid_status is NULL: the transaction is older than the commit log the primary keeps)' };
  }
  if (captures.some((c) => c.status === 'in progress')) return { kind: 'running' };
  if (captures.every((c) => c.status === 'committed')) return { kind: 'send' };
  if (captures.every((c) => c.status === 'aborted')) return { kind: 'drop' };
  return { kind: 'stop', why: 'part of it was rolled back to a savepoint on the primary and part committed: which of its statements to send cannot be told' };
}

/**
 * One answer for a capture from the answers for its subtransaction and its top-level transaction: a
 * subtransaction commits only with its top-level one, so the less final answer of the two counts.
 */
export function combinedStatus(sub: TxidStatus | undefined, top: TxidStatus | undefined): TxidStatus | undefined {
  if (sub === undefined || top === undefined) return undefined;
  for (const s of ['unknown', 'in progress', 'aborted'] as const) if (sub === s || top === s) return s;
  return 'committed';
}

/** Lists of names: sent name by name, each quoted, as the server split the text it was given. */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces']);

/**
 * The `SET LOCAL` statements that give a target's transaction the role and settings the statement ran
 * with on the primary, or why they cannot be written. The role is taken as the session's carried SET
 * ROLE is (the applier checks that the login role may take it there); a session authorization other
 * than the login role's likewise.
 * @param loginUser the role the session logged in as (the record's user_name)
 */
export function captureSettings(payload: CapturePayload, loginUser: string): { statements: string[] } | { stop: string } {
  const out: string[] = [];
  if (payload.sessionUser !== loginUser) out.push(`SET LOCAL SESSION AUTHORIZATION ${quoteIdent(payload.sessionUser)}`);
  if (payload.role !== payload.sessionUser) out.push(`SET LOCAL ROLE ${quoteIdent(payload.role)}`);
  // Only the settings the helper reports are taken, whatever else a payload holds.
  for (const name of [...CAPTURED_SETTINGS].sort()) {
    const value = payload.settings[name];
    if (value === undefined) continue;
    if (!LIST_SETTINGS.has(name)) {
      out.push(`SET LOCAL ${name} TO ${quoteLiteral(value)}`);
      continue;
    }
    // The text is the session's own (set_config() keeps what it is given, and a name without quotes
    // may hold ';'): never sent as it is, only as the names the server read in it.
    const names = nameList(value);
    if (names === null) return { stop: `its capture record gives ${name} as a text that is no list of names: it cannot be set on a target as it was on the primary` };
    // SET quotes each literal of a list as a name; an empty list (search_path = '') is one empty literal.
    out.push(`SET LOCAL ${name} TO ${names.length === 0 ? "''" : names.map(quoteLiteral).join(', ')}`);
  }
  return { statements: out };
}

/**
 * The names of a list setting's text as the server splits it (SplitIdentifierString): separated by
 * commas, each in double quotes ("" for a quote, "" alone an empty name) or bare up to a comma or
 * space and folded to lower case (ASCII only, as in a multibyte encoding); null where the server
 * would have refused the text.
 */
export function nameList(text: string): string[] | null {
  const space = /[ \t\n\r\f]/;
  const names: string[] = [];
  let i = 0;
  const skip = (): void => {
    while (i < text.length && space.test(text[i])) i++;
  };
  skip();
  if (i === text.length) return names;
  for (;;) {
    let name = '';
    if (text[i] === '"') {
      const quoted = quotedNameAt(text, i);
      if (quoted === null) return null;
      ({ name, end: i } = quoted);
    } else {
      const start = i;
      while (i < text.length && text[i] !== ',' && !space.test(text[i])) i++;
      if (i === start) return null;
      name = text.slice(start, i).replace(/[A-Z]+/g, (c) => c.toLowerCase());
    }
    names.push(name);
    skip();
    if (i === text.length) return names;
    if (text[i] !== ',') return null;
    i++;
    skip();
  }
}

/**
 * The double-quoted name that starts at text[start] (a quote), its doubled quotes undone, and where
 * it ends; null when its closing quote is missing.
 */
export function quotedNameAt(text: string, start: number): { name: string; end: number } | null {
  let name = '';
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] !== '"') name += text[i];
    else if (text[i + 1] === '"') name += text[++i];
    else return { name, end: i + 1 };
  }
  return null;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A literal read the same whatever standard_conforming_strings is. */
function quoteLiteral(value: string): string {
  return value.includes('\\') ? `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${value.replace(/'/g, "''")}'`;
}

/** One object a nested DDL command made, changed or dropped. */
export interface NestedObject {
  /** Its identity as pg_event_trigger_ddl_commands() gives it, or null where it gives none. */
  identity: string | null;
  type: string;
  action: 'created' | 'altered' | 'dropped';
}

/** DDL the log shows no statement of (see nestedReason): reported, and kept until a person handles it. */
export interface NestedDdl {
  /** Where the capture record is: `file:offset`, what `markNestedHandled` takes. */
  at: string;
  fileKey: string;
  database: string;
  sessionId: string;
  logTime: string;
  /** The DDL command's own tag. */
  tag: string;
  objects: NestedObject[];
  /** The top-level statement it ran inside, redacted and cut short. */
  statement: string;
}

/**
 * Whether a verified capture is of DDL the log shows no statement of: its tag is not the running
 * top-level command's (it ran inside a function called by a SELECT, or a DO block), or no statement
 * of its session and transaction was logged. Commands an extension's script ran belong to its
 * CREATE or ALTER EXTENSION, which is sent.
 * @param hasStatement the session's last statement record is of the capture's transaction
 */
export function isNested(payload: CapturePayload, record: Pick<CaptureRecord, 'commandTag'>, hasStatement: boolean): boolean {
  if (payload.commands.length > 0 && payload.commands.every((c) => c.inExtension)) return false;
  return payload.tag !== record.commandTag || !hasStatement;
}

/** The report of a nested capture. */
export function nestedDdl(payload: CapturePayload, record: CaptureRecord, file: { key: string; name: string }): NestedDdl {
  const action = actionOf(payload.tag);
  const objects = payload.commands.map((c) => ({ identity: c.identity, type: c.type, action: actionOf(c.tag) }));
  return {
    at: `${file.name}:${record.offset}`,
    fileKey: file.key,
    database: record.databaseName,
    sessionId: record.sessionId,
    logTime: record.logTime,
    tag: payload.tag,
    objects: objects.length > 0 ? objects : [{ identity: null, type: payload.tag.replace(/^\S+ /, '').toLowerCase(), action }],
    statement: shortText(redact(record.query)),
  };
}

function actionOf(tag: string): NestedObject['action'] {
  return tag.startsWith('CREATE') ? 'created' : tag.startsWith('DROP') ? 'dropped' : 'altered';
}

const STATEMENT_SHOWN = 200;

function shortText(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > STATEMENT_SHOWN ? `${one.slice(0, STATEMENT_SHOWN)}…` : one;
}

/** One line per object of nested DDL, as a run's stderr and `status` show it. */
export function nestedLines(n: NestedDdl): string[] {
  return n.objects.map(
    (o) =>
      `${o.type} ${o.identity ?? '(not named)'} ${o.action} inside "${n.statement}" (${n.at}, database ${n.database}): DDL the log shows no statement of, not sent to the targets`,
  );
}
