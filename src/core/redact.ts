/**
 * Redaction: statements as the tool shows them (dry-run listings, its log, the ledger, the state). The
 * statement sent to a target is never redacted; only what people and files see.
 *
 * Hidden: the literal after a `PASSWORD` keyword or a `"password"` option name (`CREATE ROLE …
 * PASSWORD '…'`, user mapping and server `OPTIONS (password '…')`), and, inside any literal, a
 * conninfo's `password=…` and a URI's `user:password@` (`CREATE SUBSCRIPTION … CONNECTION '…'`,
 * `OPTIONS (… 'postgresql://u:p@h/db')`). For `verify`: which catalog options are passwords, and
 * definitions as shown.
 */
import type { ObjectKind } from './schemaDiff';

export const MASK = '********';

/** What every literal starts with, or has (E'…', U&'…', $tag$…$tag$). */
const HAS_LITERAL = /['$]/;

/** The statement with every password it holds replaced by MASK. */
export function redact(sql: string): string {
  // Only literals are masked, and a literal needs a quote or a dollar: most DDL has neither.
  if (!HAS_LITERAL.test(sql)) return sql;
  let out = '';
  let copied = 0;
  let i = 0;
  let afterPassword = false;
  const n = sql.length;
  const emit = (from: number, to: number, replacement: string): void => {
    out += sql.slice(copied, from) + replacement;
    copied = to;
  };
  while (i < n) {
    const c = sql[i];
    const literal = literalAt(sql, i);
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (literal) {
      const [bodyStart, bodyEnd, end] = literal;
      if (afterPassword) {
        emit(bodyStart, bodyEnd, MASK);
      } else {
        const body = sql.slice(bodyStart, bodyEnd);
        const quoted = sql[i] !== '$';
        // A quoted literal doubles its quotes: mask what the string says, then quote it again.
        const value = quoted ? body.replace(/''/g, "'") : body;
        const masked = maskInString(value);
        if (masked !== value) emit(bodyStart, bodyEnd, quoted ? masked.replace(/'/g, "''") : masked);
      }
      afterPassword = false;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      while (j < n && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      // OPTIONS ("password" '…'): a quoted option name.
      afterPassword = sql.slice(i + 1, j).toLowerCase() === 'password';
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j])) j++;
      afterPassword = sql.slice(i, j).toLowerCase() === 'password';
      i = j;
    } else {
      if (!/\s/.test(c)) afterPassword = false;
      i++;
    }
  }
  return out + sql.slice(copied);
}

/** Passwords inside a string's value: a conninfo's `password=…`, a URI's `user:password@`. */
export function maskInString(value: string): string {
  return value
    .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)/gi, `$1${MASK}`)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s@:]*:)([^@\s/]*)@/gi, `$1${MASK}@`);
}

/**
 * [body start, body end, end] of the literal at i: '…', E'…', U&'…' (a prefix letter included) or
 * $tag$…$tag$; null when no literal starts there.
 */
function literalAt(sql: string, i: number): [number, number, number] | null {
  let q = i;
  let backslash = false;
  if (/[Ee]/.test(sql[i]) && sql[i + 1] === "'" && !isIdentChar(sql[i - 1])) {
    q = i + 1;
    backslash = true;
  } else if (/[Uu]/.test(sql[i]) && sql[i + 1] === '&' && sql[i + 2] === "'" && !isIdentChar(sql[i - 1])) {
    q = i + 2;
  } else if (sql[i] === '$') {
    const m = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i, i + 64));
    if (!m || isIdentChar(sql[i - 1])) return null;
    const close = sql.indexOf(m[0], i + m[0].length);
    return close < 0 ? [i + m[0].length, sql.length, sql.length] : [i + m[0].length, close, close + m[0].length];
  } else if (sql[i] !== "'") {
    return null;
  }
  let j = q + 1;
  while (j < sql.length) {
    if (backslash && sql[j] === '\\') j += 2;
    else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
    else if (sql[j] === "'") return [q + 1, j, j + 1];
    else j++;
  }
  return [q + 1, sql.length, sql.length];
}

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$]/.test(c);
}

/**
 * Option keys (of servers, user mappings, foreign-data wrappers, foreign tables and their columns)
 * whose value is a password: holding `password` or `passwd`, in any case (`password`,
 * `ssl_key_password`, `PASSWD`). A POSIX regular expression, for SQL's `~*` and JavaScript alike.
 */
export const PASSWORD_OPTION_KEY = 'passw(or)?d';

/** Whether an option element (`key=value`, as the catalogs keep options) holds a password. */
export function isPasswordOption(element: string): boolean {
  const eq = element.indexOf('=');
  return new RegExp(PASSWORD_OPTION_KEY, 'i').test(eq < 0 ? element : element.slice(0, eq));
}

/**
 * A catalog definition as `verify` shows it. Option lists come with their passwords masked already
 * (by the reader, element by element: their values are printed unquoted, so no pattern could find
 * where one ends); here only passwords written in SQL text (a view's or a function's literals) and
 * in a comment's text.
 * @param text the definition
 * @param kind the object's kind: a comment is text, not SQL, and any `password=…` in it is masked
 */
export function maskDefinition(text: string, kind: ObjectKind): string {
  return kind === 'comment' ? maskInString(text) : redact(text);
}
