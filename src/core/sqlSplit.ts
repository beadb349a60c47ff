/**
 * Splits a SQL string into statements the way psql does: at `;` outside quotes, dollar quotes,
 * comments, parentheses and `BEGIN ATOMIC … END` bodies. It also notes each statement's leading words,
 * which is all the classifier needs. It does not parse SQL.
 */

export interface SqlStatement {
  /** The statement's text, without the `;` that ended it and without surrounding white space. */
  text: string;
  /** Its first bare words, lower-cased, comments and quoted text skipped (at most 8). */
  words: string[];
  /** True when a bare `INTO` stands at parenthesis depth 0 (a `SELECT … INTO` creates a table). */
  topLevelInto: boolean;
}

const MAX_WORDS = 8;

/**
 * Splits sql into its statements; empty statements (`;;`) are left out.
 * @param backslashInPlain read `'…'` as under standard_conforming_strings off
 */
export function splitSql(sql: string, backslashInPlain = false): SqlStatement[] {
  const out: SqlStatement[] = [];
  let start = 0;
  let i = 0;
  let depth = 0;
  let atomicDepth = 0;
  let words: string[] = [];
  let into = false;
  const n = sql.length;

  const finish = (end: number): void => {
    const text = trimAscii(sql.slice(start, end));
    if (text.length > 0) out.push({ text, words, topLevelInto: into });
    words = [];
    into = false;
    depth = 0;
    atomicDepth = 0;
  };

  while (i < n) {
    const c = sql[i];
    const quoted = quotedEnd(sql, i, backslashInPlain);
    if (quoted >= 0) {
      i = quoted;
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      if (depth > 0) depth--;
      i++;
    } else if (c === ';' && depth === 0 && atomicDepth === 0) {
      finish(i);
      i++;
      start = i;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(sql[j])) j++;
      const word = sql.slice(i, j).toLowerCase();
      if (words.length < MAX_WORDS) words.push(word);
      if (depth === 0 && word === 'into') into = true;
      if (isRoutineDefinition(words)) {
        // psql's rule: inside CREATE FUNCTION/PROCEDURE, BEGIN and CASE open a block that END closes.
        if (word === 'begin' || word === 'case') atomicDepth++;
        else if (word === 'end' && atomicDepth > 0) atomicDepth--;
      }
      i = j;
    } else {
      i++;
    }
  }
  finish(n);
  return out;
}

/**
 * Whether sql reads the same under both string syntaxes: with `standard_conforming_strings` on (a
 * backslash in `'…'` is a character) and off (it escapes the next one, so `\'` does not end the
 * string). The setting can change with no trace in the log (PGOPTIONS, ALTER ROLE … SET, a SET under
 * 'ddl'), so a text whose quotes and comments end in other places under the two readings may hold
 * other statements on the primary than on a target: it cannot be proven what ran. Literal values that
 * differ only inside the same bounds (`'\d'`) are read as the server's default, on.
 */
export function readsTheSameUnderBothStringSyntaxes(sql: string): boolean {
  if (!sql.includes('\\')) return true;
  const on = quotedBounds(sql, false);
  const off = quotedBounds(sql, true);
  return on.length === off.length && on.every((b, i) => b === off[i]);
}

/** Where the quoted texts and comments of sql start and end, `'…'` read with or without escapes. */
function quotedBounds(sql: string, backslashInPlain: boolean): number[] {
  const bounds: number[] = [];
  for (let i = 0; i < sql.length; ) {
    const end = quotedEnd(sql, i, backslashInPlain);
    if (end < 0) {
      i++;
    } else {
      bounds.push(i, end);
      i = end;
    }
  }
  return bounds;
}

/**
 * Index just past the comment, quoted text or dollar-quoted text that starts at i; -1 when none does.
 * @param backslashInPlain read `'…'` as under standard_conforming_strings off
 */
function quotedEnd(sql: string, i: number, backslashInPlain: boolean): number {
  const c = sql[i];
  if (c === '-' && sql[i + 1] === '-') return lineCommentEnd(sql, i);
  if (c === '/' && sql[i + 1] === '*') return skipBlockComment(sql, i);
  if (c === "'") return skipQuoted(sql, i, "'", backslashInPlain || isEscapeString(sql, i));
  if (c === '"') return skipQuoted(sql, i, '"', false);
  if (c !== '$' || isIdentChar(sql[i - 1])) return -1;
  const tag = dollarTag(sql, i);
  if (tag === null) return -1;
  const close = sql.indexOf(tag, i + tag.length);
  return close < 0 ? sql.length : close + tag.length;
}

/** The `'` at i opens an E'…' string, in which a backslash escapes whatever the setting. */
function isEscapeString(sql: string, i: number): boolean {
  return i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !isIdentChar(sql[i - 2]);
}

function isRoutineDefinition(words: string[]): boolean {
  if (words[0] !== 'create') return false;
  const kind = words[1] === 'or' && words[2] === 'replace' ? words[3] : words[1];
  return kind === 'function' || kind === 'procedure';
}

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c > '\x7f';
}

function isIdentChar(c: string | undefined): boolean {
  if (c === undefined) return false;
  return isIdentStart(c) || (c >= '0' && c <= '9') || c === '$';
}

/** Index just past the quoted text that starts at i. */
function skipQuoted(sql: string, i: number, quote: string, backslashEscapes: boolean): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (backslashEscapes && c === '\\') {
      j += 2;
    } else if (c === quote) {
      if (sql[j + 1] === quote) j += 2;
      else return j + 1;
    } else {
      j++;
    }
  }
  return sql.length;
}

/**
 * Index just past the `--` comment that starts at i, its line end included: the server's scanner
 * ends it at a carriage return as well as at a newline.
 */
export function lineCommentEnd(sql: string, i: number): number {
  for (let j = i + 2; j < sql.length; j++) if (sql[j] === '\n' || sql[j] === '\r') return j + 1;
  return sql.length;
}

/** Index just past a (nested) block comment that starts at i. */
export function skipBlockComment(sql: string, i: number): number {
  let nest = 0;
  let j = i;
  while (j < sql.length) {
    if (sql[j] === '/' && sql[j + 1] === '*') {
      nest++;
      j += 2;
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      nest--;
      j += 2;
      if (nest === 0) return j;
    } else {
      j++;
    }
  }
  return sql.length;
}

/** The `$tag$` opening a dollar quote at i, or null when the `$` is something else (`$1`). */
function dollarTag(sql: string, i: number): string | null {
  let j = i + 1;
  if (j < sql.length && sql[j] >= '0' && sql[j] <= '9') return null;
  while (j < sql.length && sql[j] !== '$') {
    const c = sql[j];
    if (!(isIdentStart(c) || (c >= '0' && c <= '9'))) return null;
    j++;
  }
  if (j >= sql.length) return null;
  return sql.slice(i, j + 1);
}

/** The text from its first token on: leading white space and comments removed. */
export function stripLeadingComments(sql: string): string {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i])) i++;
    if (sql.startsWith('--', i)) {
      i = lineCommentEnd(sql, i);
    } else if (sql.startsWith('/*', i)) {
      i = skipBlockComment(sql, i);
    } else {
      return sql.slice(i);
    }
  }
}

/**
 * Trims the whitespace the server's scanner skips (ASCII only): not String.trim(), which also takes a
 * no-break space, a letter of an identifier to the server.
 */
export function trimAscii(text: string): string {
  // By hand: a regular expression for the trailing run backtracks over every run inside the text.
  let from = 0;
  let to = text.length;
  while (from < to && isScannerSpace(text.charCodeAt(from))) from++;
  while (to > from && isScannerSpace(text.charCodeAt(to - 1))) to--;
  return from === 0 && to === text.length ? text : text.slice(from, to);
}

/** The white space PostgreSQL's scanner skips: space, \t, \n, \v, \f, \r. */
export function isScannerSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
