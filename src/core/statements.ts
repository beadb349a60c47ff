/**
 * Statement extraction: what one logged text (a `statement:` or `execute …:` message) holds, statement
 * by statement, in the classes the judge needs: DDL (what `log_statement = 'ddl'` logs, as PostgreSQL's
 * GetCommandLogLevel() decides), session settings, transaction control, and the rest.
 *
 * Most logged texts under `log_statement = 'all'` are queries and DML: a lexical pass (sqlSplit) tells
 * them apart by their leading words without parsing. The others go through PostgreSQL's own parser;
 * a text it does not accept (a grammar newer than its own) is read lexically instead.
 */
import { commandTag } from './commandTag';
import { mentionsLedgerSchema, namesLedgerSchema } from './ledgerSchema';
import { actsOnDatabase } from './databaseStatements';
import { ParsedStatement, parseStatements, parserLoaded } from './parser';
import { SettingChange, StringSyntax, toSetLocal } from './sessionSettings';
import { PlainKind, plainKind } from './plainText';
import { SqlStatement, readsTheSameUnderBothStringSyntaxes, splitSql, stripLeadingComments, trimAscii } from './sqlSplit';
import { TransactionVerb, classify, runsAlone } from './statementKind';
import { TempEffect, tempEffect } from './tempObjects';

export type Part =
  | {
      kind: 'ddl';
      text: string;
      runsAlone: boolean;
      actsOnDatabase: boolean;
      temp: TempEffect;
      /** Prepared statements it runs (`CREATE TABLE … AS EXECUTE name`). */
      executes: string[];
      /** A CREATE FUNCTION or PROCEDURE, whose body the server checks as it creates it. */
      routine: boolean;
      /** Its command tag: `CREATE TABLE`, `GRANT`, … */
      tag: string;
      /**
       * Why the log cannot prove what the primary ran (the whole record is this one part): it is never
       * sent, a target stops at it.
       */
      unprovable?: string;
      /** It names the schema of the tool's ledger (see ledgerSchema): never sent. */
      namesLedger: boolean;
    }
  /** `PREPARE name AS …` and `DEALLOCATE [name | ALL]` (name undefined): session-scoped statements. */
  | { kind: 'prepare'; name: string; text: string }
  | { kind: 'deallocate'; name?: string }
  | { kind: 'set'; text: string; change: SettingChange }
  | { kind: 'transaction'; verb: TransactionVerb; name?: string; chain: boolean }
  /** DISCARD ALL drops temporary objects and resets settings; DISCARD TEMP only the former. */
  | { kind: 'discard'; all: boolean }
  | { kind: 'other' };

export interface Analysis {
  parts: Part[];
  /** False when the parser did not read the text (it holds no candidate, or the parser refused it). */
  parsed: boolean;
}

const NO_TEMP: TempEffect = { creates: [], drops: [], refs: [] };

/** Leading words of statements that are not DDL but change what later DDL of the session does. */
const SESSION_WORDS = new Set(['explain', 'discard', 'prepare', 'deallocate']);

/** Statements PostgreSQL does not log as DDL (GetCommandLogLevel() below LOGSTMT_DDL). */
const NOT_DDL = new Set([
  'InsertStmt', 'DeleteStmt', 'UpdateStmt', 'MergeStmt', 'SelectStmt', 'PLAssignStmt', 'ReturnStmt',
  'TransactionStmt', 'DeclareCursorStmt', 'ClosePortalStmt', 'FetchStmt', 'TruncateStmt', 'CopyStmt',
  'PrepareStmt', 'ExecuteStmt', 'DeallocateStmt', 'DoStmt', 'NotifyStmt', 'ListenStmt', 'UnlistenStmt',
  'LoadStmt', 'CallStmt', 'VacuumStmt', 'ExplainStmt', 'VariableSetStmt', 'VariableShowStmt', 'DiscardStmt',
  'LockStmt', 'ConstraintsSetStmt', 'CheckPointStmt', 'ReindexStmt',
]);

/**
 * The statements of a logged text.
 * @param text the statement text of one log record, as the client sent it
 * @param syntax the string syntax the session is known to have set (undefined: not known)
 */
export function analyze(text: string, syntax?: StringSyntax): Analysis {
  return plainAnalysis(text) ?? frozen(fullAnalysis(text, syntax));
}

/**
 * The last texts that took the long way, with what they hold, for whoever makes one: a unit's
 * statement is read again, to be listed or sent, moments after the judge read it, and parsing it is
 * what costs. The judge has one, which a run hands to what reads its units again (io/unitText).
 */
export class Analyses {
  private readonly byText = new Map<string, Analysis>();

  /** analyze, kept for the next ask of the same text. */
  of(text: string, syntax?: StringSyntax): Analysis {
    // Kept only once the parser is there: without it, the same text reads otherwise.
    if (!parserLoaded() || text.length > ANALYSED_TEXT_MAX) return analyze(text, syntax);
    // The syntax always leads, up to the first ':' (none of its values holds one): a text of its own
    // that starts `on:` must not be taken for another text read with the setting on.
    const key = `${syntax ?? ''}:${text}`;
    let analysis = this.byText.get(key);
    if (!analysis) {
      analysis = analyze(text, syntax);
      if (this.byText.size >= ANALYSED_MAX) this.byText.delete(this.byText.keys().next().value!);
      this.byText.set(key, analysis);
    }
    return analysis;
  }
}
const ANALYSED_MAX = 2048;
const ANALYSED_TEXT_MAX = 64 * 1024;

/**
 * The longest text (in characters of judgeForm, a byte each or more) the parser is given. It takes
 * about ten times a text's size in memory (530 MB for a statement of 50 MB): beyond this, a text
 * that holds DDL or a session setting stops the read rather than the machine. Texts without any
 * (a large INSERT) are never parsed, whatever their size.
 */
export const PARSED_TEXT_MAX = 16 * 1024 * 1024;

/** A text that would have to be parsed and is longer than PARSED_TEXT_MAX. */
export class StatementTooLarge extends Error {
  constructor(readonly length: number) {
    super(`a statement of ${Math.ceil(length / (1024 * 1024))} MB holds DDL or a session setting, and pg-ddl-sync reads such statements up to ${PARSED_TEXT_MAX / (1024 * 1024)} MB`);
  }
}

/**
 * The statements of a logged record: analyze, unless the record itself cannot prove which text the
 * primary ran (logRecord's executeDoubt).
 * @param syntax the string syntax the record's session is known to have set
 * @param analyses where the analysis is kept, to be had again without parsing
 */
export function analyzeRecord(record: { text: string; unprovable?: string }, syntax?: StringSyntax, analyses?: Analyses): Analysis {
  if (record.unprovable !== undefined) return unprovable(record.text, record.unprovable);
  return analyses ? analyses.of(record.text, syntax) : analyze(record.text, syntax);
}

/** analyze without its shortcut for the plainest texts (exported for the test that they agree). */
export function fullAnalysis(text: string, syntax?: StringSyntax): Analysis {
  const same = readsTheSameUnderBothStringSyntaxes(text);
  let lexical = splitSql(text);
  if (!same) {
    const off = splitSql(text, true);
    // A last `;` that one reading takes into an open string ends nothing: the same statements.
    const bare = (t: string): string => trimAscii(t.replace(/;\s*$/, ''));
    const splitsAlike = lexical.length === off.length && lexical.every((s, i) => bare(s.text) === bare(off[i].text));
    if ((!splitsAlike || syntax === undefined) && (lexical.some(isCandidate) || off.some(isCandidate))) {
      return unprovable(text, splitsAlike ? UNKNOWN_SYNTAX : SPLITS_DIFFER);
    }
    // The same statements either way, the session's own SET says which: read as it says.
    if (syntax === 'off') lexical = off;
  }
  const candidates = lexical.some(isCandidate);
  if (!candidates) return { parts: lexical.map(() => ({ kind: 'other' })), parsed: false };
  if (text.length > PARSED_TEXT_MAX) throw new StatementTooLarge(text.length);
  // The parser reads strings as with the setting on: a text that reads otherwise with it off, in a
  // session that set it off, is read lexically.
  const parsed = same || syntax === 'on' ? parseStatements(text) : null;
  // Where the server's parser ends statements elsewhere than the lexer that decided the string
  // syntax does not matter, that decision is void: the text is not read at all.
  if (parsed && parsed.length !== lexical.filter((st) => stripLeadingComments(st.text) !== '').length) {
    return unprovable(text, 'the server\'s parser and the tool\'s lexer end its statements in other places');
  }
  const parts = parsed ? parsed.map(fromParse) : lexical.map(fromWords);
  // A lone DDL statement is sent as it was logged, byte for byte, white space and `;` included.
  if (parts.length === 1 && parts[0].kind === 'ddl') parts[0] = { ...parts[0], text };
  return { parts, parsed: parsed !== null };
}

/**
 * Whether a text may hold more than plain queries (DDL, settings, transaction control, …) under either
 * string syntax: where it does not, nothing of it is sent or changes what is.
 */
export function mayHoldMoreThanQueries(text: string): boolean {
  return splitSql(text).some(isCandidate) || (!readsTheSameUnderBothStringSyntaxes(text) && splitSql(text, true).some(isCandidate));
}

const UNKNOWN_SYNTAX =
  'its quotes end in other places with standard_conforming_strings on and off, and the log does not show which was in force';
/** A logged SET does not settle it: set_config() or a function can change the setting unseen. */
const SPLITS_DIFFER =
  'it splits into other statements with standard_conforming_strings on and off, and a session can change the setting where the log does not show it (set_config, a function): it may hold other statements on the primary than on a target';

function isCandidate(s: SqlStatement): boolean {
  return classify(s).kind !== 'other' || SESSION_WORDS.has(s.words[0] ?? '');
}

/** A text the log cannot prove: one part, which a target stops at. */
function unprovable(text: string, reason: string): Analysis {
  const part: Part = { kind: 'ddl', text, runsAlone: false, actsOnDatabase: false, temp: NO_TEMP, executes: [], routine: false, tag: 'UNPROVABLE', namesLedger: false, unprovable: reason };
  return { parts: [part], parsed: true };
}

/** analyze's shortcut for the plainest texts (see plainText), nearly every text under 'all'. */
function plainAnalysis(text: string): Analysis | null {
  const bytes = Buffer.from(text);
  const kind = plainKind(bytes, 0, bytes.length);
  return kind === null ? null : kind === 'dml' ? PLAIN_OTHER : BARE_ANALYSES[kind];
}

// Shared by every text they stand for: frozen, so that no caller can change one for all.
const frozen = (a: Analysis): Analysis => Object.freeze({ ...a, parts: Object.freeze(a.parts.map((p) => Object.freeze(p))) as Part[] });
const PLAIN_OTHER = frozen({ parts: [{ kind: 'other' }], parsed: false });
const BARE_ANALYSES = Object.fromEntries(
  (['begin', 'commit', 'rollback'] as const).map((verb) => [verb, frozen({ parts: [{ kind: 'transaction', verb, name: undefined, chain: false }], parsed: true })]),
) as Record<Exclude<PlainKind, 'dml'>, Analysis>;

function fromParse(stmt: ParsedStatement): Part {
  const { type, node } = stmt;
  switch (type) {
    case 'TransactionStmt':
      return transactionPart(node);
    case 'VariableSetStmt':
      return setPart(stmt);
    case 'PrepareStmt':
      return { kind: 'prepare', name: node.name as string, text: stmt.text };
    case 'DeallocateStmt':
      return { kind: 'deallocate', name: node.isall ? undefined : (node.name as string) };
    case 'DiscardStmt':
      return node.target === 'DISCARD_ALL' || node.target === 'DISCARD_TEMP'
        ? { kind: 'discard', all: node.target === 'DISCARD_ALL' }
        : { kind: 'other' };
    case 'SelectStmt':
      // SELECT … INTO new_table is a CREATE TABLE AS in disguise.
      return node.intoClause ? ddlPart(stmt) : { kind: 'other' };
    case 'ExplainStmt':
      // EXPLAIN ANALYZE runs its statement: logged, and replayed, as that statement is.
      return isAnalyze(node) && !NOT_DDL.has(Object.keys((node.query as object) ?? {})[0] ?? '') ? ddlPart(stmt) : { kind: 'other' };
    default:
      return NOT_DDL.has(type) ? { kind: 'other' } : ddlPart(stmt);
  }
}

function ddlPart(stmt: ParsedStatement): Part {
  const words = splitSql(stmt.text)[0]?.words ?? [];
  return {
    kind: 'ddl',
    text: stmt.text,
    runsAlone: runsAlone(words) || detachesConcurrently(stmt),
    actsOnDatabase: actsOnDatabase(words),
    temp: tempEffect(stmt),
    // Only the word EXECUTE makes an ExecuteStmt: a text without it needs no walk of its tree.
    executes: /execute/i.test(stmt.text) ? executed(stmt.node) : [],
    routine: stmt.type === 'CreateFunctionStmt',
    tag: commandTag(stmt, words),
    namesLedger: namesLedgerSchema(stmt),
  };
}

/** ALTER TABLE … DETACH PARTITION … CONCURRENTLY refuses a transaction block too. */
function detachesConcurrently(stmt: ParsedStatement): boolean {
  if (stmt.type !== 'AlterTableStmt') return false;
  const cmds = (stmt.node.cmds ?? []) as { AlterTableCmd?: { subtype?: string; def?: { PartitionCmd?: { concurrent?: boolean } } } }[];
  return cmds.some((c) => c.AlterTableCmd?.subtype === 'AT_DetachPartition' && c.AlterTableCmd.def?.PartitionCmd?.concurrent === true);
}

/** The names of the prepared statements a parse tree executes. */
function executed(node: Record<string, unknown>): string[] {
  const names: string[] = [];
  JSON.stringify(node, (key, value: unknown) => {
    if (key === 'ExecuteStmt' && typeof (value as { name?: unknown }).name === 'string') names.push((value as { name: string }).name);
    return value;
  });
  return names;
}

function isAnalyze(node: Record<string, unknown>): boolean {
  const options = (node.options as { DefElem?: { defname?: string; arg?: unknown } }[] | undefined) ?? [];
  return options.some((o) => o.DefElem?.defname === 'analyze' && !/"(false|off|0)"/i.test(JSON.stringify(o.DefElem?.arg ?? '')));
}

const TRANSACTION_VERBS: Record<string, TransactionVerb> = {
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'begin',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint',
  TRANS_STMT_RELEASE: 'release',
  TRANS_STMT_ROLLBACK_TO: 'rollback to',
  TRANS_STMT_PREPARE: 'prepare transaction',
  TRANS_STMT_COMMIT_PREPARED: 'commit prepared',
  TRANS_STMT_ROLLBACK_PREPARED: 'rollback prepared',
};

function transactionPart(node: Record<string, unknown>): Part {
  const verb = TRANSACTION_VERBS[node.kind as string];
  if (!verb) return { kind: 'other' };
  const name = (node.savepoint_name ?? node.gid) as string | undefined;
  return { kind: 'transaction', verb, name, chain: node.chain === true };
}

function setPart(stmt: ParsedStatement): Part {
  const node = stmt.node;
  const name = (node.name as string | undefined)?.toLowerCase() ?? '';
  const local = node.is_local === true;
  switch (node.kind) {
    case 'VAR_SET_VALUE': {
      const none = name === 'role' && JSON.stringify(node.args ?? []).includes('"sval":"none"');
      return {
        kind: 'set',
        text: stmt.text,
        change: none ? { kind: 'reset', name, local } : { kind: 'set', name, local, statement: toSetLocal(stmt.text) },
      };
    }
    case 'VAR_SET_DEFAULT':
    case 'VAR_RESET':
      return { kind: 'set', text: stmt.text, change: { kind: 'reset', name, local } };
    case 'VAR_RESET_ALL':
      return { kind: 'set', text: stmt.text, change: { kind: 'reset-all', local } };
    default:
      // SET … FROM CURRENT takes a value the log does not show; SET TRANSACTION and SESSION
      // CHARACTERISTICS shape transactions, not DDL.
      return { kind: 'other' };
  }
}

/** The lexical reading, for a text the parser refused. */
function fromWords(stmt: SqlStatement): Part {
  const kind = classify(stmt);
  switch (kind.kind) {
    case 'ddl':
      return {
        kind: 'ddl',
        text: stmt.text,
        runsAlone: kind.runsAlone,
        actsOnDatabase: actsOnDatabase(stmt.words),
        temp: lexicalTemp(stmt),
        executes: [],
        routine: stmt.words[0] === 'create' && (stmt.words.includes('function') || stmt.words.includes('procedure')),
        tag: stmt.words.slice(0, 2).join(' ').toUpperCase(),
        namesLedger: mentionsLedgerSchema(stmt.text),
      };
    case 'transaction': {
      const w = stmt.words;
      const name = kind.verb === 'savepoint' || kind.verb === 'release' || kind.verb === 'rollback to' ? w[w.length - 1] : undefined;
      return { kind: 'transaction', verb: kind.verb, name, chain: w.includes('chain') && !w.includes('no') };
    }
    case 'set':
      return { kind: 'set', text: stmt.text, change: lexicalSetting(stmt) };
    case 'other':
      if (stmt.words[0] === 'discard' && (stmt.words[1] === 'all' || stmt.words[1] === 'temp' || stmt.words[1] === 'temporary')) {
        return { kind: 'discard', all: stmt.words[1] === 'all' };
      }
      if (stmt.words[0] === 'prepare' && stmt.words[1]) return { kind: 'prepare', name: stmt.words[1], text: stmt.text };
      if (stmt.words[0] === 'deallocate') {
        const name = stmt.words[1] === 'prepare' ? stmt.words[2] : stmt.words[1];
        return { kind: 'deallocate', name: name === 'all' ? undefined : name };
      }
      return { kind: 'other' };
  }
}

function lexicalTemp(stmt: SqlStatement): TempEffect {
  const m = /^create\s+(?:(?:global|local)\s+)?(?:temp|temporary)\s+(?:recursive\s+)?(?:table|view|sequence)\s+(?:if\s+not\s+exists\s+)?([A-Za-z_][A-Za-z0-9_$]*)/i.exec(
    stmt.text,
  );
  return m ? { creates: [m[1].toLowerCase()], drops: [], refs: [] } : NO_TEMP;
}

function lexicalSetting(stmt: SqlStatement): SettingChange {
  const w = stmt.words;
  const local = w[1] === 'local';
  const rest = w.slice(local || w[1] === 'session' ? 2 : 1);
  if (w[0] === 'reset') return rest[0] === 'all' ? { kind: 'reset-all', local } : { kind: 'reset', name: settingName(rest), local };
  const name = settingName(rest);
  const value = rest[rest.length - 1];
  if (value === 'default' || (name === 'role' && value === 'none')) return { kind: 'reset', name, local };
  return { kind: 'set', name, local, statement: toSetLocal(stmt.text) };
}

function settingName(words: string[]): string {
  if (words[0] === 'time' && words[1] === 'zone') return 'timezone';
  if (words[0] === 'schema') return 'search_path';
  if (words[0] === 'names') return 'client_encoding';
  if (words[0] === 'xml' && words[1] === 'option') return 'xmloption';
  if (words[0] === 'authorization' || (words[0] === 'session' && words[1] === 'authorization')) return 'session_authorization';
  return words[0] ?? '';
}
