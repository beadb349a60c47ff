/**
 * Redaction: statements as the tool shows them (dry-run listings, its log, the ledger, the state, a
 * target's error about them). The statement sent to a target is never redacted; only what people and
 * files see.
 *
 * Hidden:
 * - the value after a secret's name (see isSecretKey): a role's `PASSWORD '…'`, `OPTIONS (passwd '…',
 *   sslpassword '…')` of servers, user mappings and wrappers, `ALTER ROLE … SET app.token = …`;
 * - inside any literal, a `key=value` whose key is a secret's name (a conninfo's `password=…`, a URI's
 *   `?sslpassword=…`, ODBC's `PWD=…`), a URI's `user:password@` and a JSON `"secret": "…"`
 *   (`CREATE SUBSCRIPTION … CONNECTION '…'`, `dblink_connect('…')`, `ALTER SYSTEM SET primary_conninfo`);
 * - everything after a literal whose end depends on `standard_conforming_strings` (`'ab\'…`): the log
 *   does not say which way the session read it, so no guess is made about where the secret ends.
 *
 * The statements are read with a lexer of their own rather than with the parser: the parser reads
 * strings as `standard_conforming_strings = on` does, and a statement logged by a session with it off
 * reads otherwise.
 */
import type { ObjectKind } from './schemaDiff';
import { LiteralToken, lex } from './sqlTokens';

export const MASK = '********';

/**
 * The words that make an option, setting or conninfo key a secret, as a POSIX regular expression for
 * SQL's `~*` and JavaScript alike (matched case-insensitively): `password` and `passwd` (libpq's
 * `password` and `sslpassword`, every FDW's `password`, `ssl_key_password`), `pwd` (ODBC's `PWD`,
 * mongo_fdw's `pem_pwd`), a word ending in `pw` (`bindpw`), `pass` as a word (`db_pass`, not
 * `use_scram_passthrough`), `passphrase`, `secret` (`aws_secret_access_key`, 18's
 * `oauth_client_secret`), `credential`, `token` as a word's end (`auth_token`, not `tokenizer`), and
 * key material by name (`api_key`, `access_key`, `private_key`, …). Not `key` alone nor `sslkey`,
 * `ssl_key`, `passfile`, `sslcert`: those name files (or columns, in redis_fdw and mongo_fdw), and
 * the secret stays in the file, which the tool never reads.
 */
export const SECRET_KEY_PATTERN =
  'passw(or)?d|pwd|pw([^a-z]|$)|(^|[^a-z])pass([^a-z]|$)|passphrase|secret|credential|tokens?([^a-z]|$)|(api|access|private|secret|session|client|master|signing|encryption)_?key';

/** Keys that match the pattern yet are ordinary: postgres_fdw's flag and the server setting. */
export const NOT_SECRET_KEYS: readonly string[] = ['password_required', 'password_encryption'];

const SECRET_KEY = new RegExp(SECRET_KEY_PATTERN, 'i');

/** Whether an option, setting or conninfo key names a secret (see SECRET_KEY_PATTERN). */
export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name) && !NOT_SECRET_KEYS.includes(name.toLowerCase());
}

/** Whether an option element (`key=value`, as the catalogs keep options and role settings) is a secret. */
export function isSecretOption(element: string): boolean {
  const eq = element.indexOf('=');
  return isSecretKey(eq < 0 ? element : element.slice(0, eq));
}

/** The statement with every secret it holds replaced by MASK. */
export function redact(sql: string): string {
  return redactSpans(sql).text;
}

/**
 * A target's error message about statements, with what redact hides in them hidden in it too: the
 * server quotes a token (`syntax error at or near "…"`) or a piece of a conninfo it could not read.
 * @param message the server's message
 * @param statements the statements as sent
 */
export function maskMessage(message: string, statements: string[]): string {
  let out = message;
  for (const hidden of statements.flatMap((s) => redactSpans(s).hidden)) {
    out = out.replace(/"([^"]*)"/g, (quoted, inner: string) => (inner !== '' && hidden.includes(inner) ? `"${MASK}"` : quoted));
    if (hidden.length >= 4) out = out.split(hidden).join(MASK);
  }
  return maskInString(out);
}

/** What every literal starts with or has ('…', $tag$…$tag$, U&"…" names), or a secret's name. */
const MAY_HIDE = /['$&]/;

/** The statement redacted, and the original texts it hides. */
export function redactSpans(sql: string): { text: string; hidden: string[] } {
  // Most DDL has no literal and no secret's name: nothing to mask.
  if (!MAY_HIDE.test(sql) && !SECRET_KEY.test(sql)) return { text: sql, hidden: [] };
  const masks: [number, number][] = [];
  const hide = (from: number, to: number): void => {
    if (to > from) masks.push([from, to]);
  };
  // What the last tokens were: a secret's name ('key'), that and `=` or `TO` ('value'), a value
  // of a setting that may take a list ('list').
  let state: 'none' | 'key' | 'value' | 'list' = 'none';
  let sawSet = false;
  for (const t of lex(sql)) {
    if (t.kind === 'ambiguous') {
      hide(t.start, sql.length);
      break;
    }
    if (t.kind === 'literal') {
      if (state === 'key' || state === 'value') for (const [from, to] of t.bodies) hide(from, to);
      else literalInside(sql, t, hide);
      state = state === 'value' ? 'list' : 'none';
    } else if (t.kind === 'word') {
      if (state === 'value') {
        hide(t.start, t.end);
        state = 'list';
      } else if (t.escaped || isSecretKey(t.name)) {
        // A U&"…" name may spell a secret's name in escapes: taken for one.
        state = 'key';
      }
      else if (state === 'key' && sawSet && t.name === 'to') state = 'value';
      else state = 'none';
      if (t.name === 'set') sawSet = true;
    } else if (t.text === '=' && state === 'key') state = 'value';
    else if (t.text === ',' && state === 'list') state = 'value';
    // `key := …`, `key => …` (named arguments), `= -1`.
    else if (!((t.text === ':' && state === 'key') || ('>-+'.includes(t.text) && state === 'value'))) state = 'none';
  }
  return { text: applyMasks(sql, masks), hidden: masks.map(([from, to]) => sql.slice(from, to)) };
}

/** A literal outside a secret's place: only the secrets its value holds (a conninfo's password). */
function literalInside(sql: string, t: LiteralToken, hide: (from: number, to: number) => void): void {
  if (!t.opaque && !t.values.some((v) => maskInString(v) !== v)) return;
  const [from, to] = t.bodies[0];
  const raw = sql.slice(from, to);
  if (!t.plain || t.bodies.length > 1) {
    // Escapes or pieces: what is shown could not be cut to the value's secret alone.
    for (const [f, e] of t.bodies) hide(f, e);
    return;
  }
  for (const [f, e] of secretRanges(raw)) hide(from + f, from + e);
}

function applyMasks(sql: string, masks: [number, number][]): string {
  let out = '';
  let copied = 0;
  for (const [from, to] of masks.sort((a, b) => a[0] - b[0])) {
    if (from < copied) continue;
    out += sql.slice(copied, from) + MASK;
    copied = to;
  }
  return out + sql.slice(copied);
}

/** Secrets inside a string's value: `key=value` of a secret's key, a URI's `user:password@`, JSON. */
export function maskInString(value: string): string {
  return applyMasks(value, secretRanges(value));
}

/** `key = value`: a conninfo's, a URI query's, ODBC's (its value may be quoted with ' or "). */
const KEY_VALUE = /([A-Za-z_][A-Za-z0-9_.-]*)(\s*=\s*)/g;
/** libpq reads a URI's user information up to the first `@` or `/`, the password after its first `:`. */
const URI_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^/@:]*:([^@/]*)@/gi;
const JSON_KEY = /"([^"\\]*)"\s*:\s*/g;

/** [start, end) of each secret in a string's value. */
function secretRanges(s: string): [number, number][] {
  const out: [number, number][] = [];
  for (const m of s.matchAll(KEY_VALUE)) {
    if (isSecretKey(m[1])) out.push([m.index + m[0].length, valueEnd(s, m.index + m[0].length, /[\s&;]/)]);
  }
  for (const m of s.matchAll(JSON_KEY)) {
    if (isSecretKey(m[1])) out.push([m.index + m[0].length, valueEnd(s, m.index + m[0].length, /[\s,}]/)]);
  }
  for (const m of s.matchAll(URI_PASSWORD)) out.push([m.index + m[0].length - 1 - m[1].length, m.index + m[0].length - 1]);
  return out;
}

/**
 * Where a value that starts at i ends: at its closing quote when quoted, else before `stop`. A value
 * with a backslash or a quote where none is expected, or that is never closed, runs to the end: no
 * guess is made about how its reader escapes.
 */
function valueEnd(s: string, i: number, stop: RegExp): number {
  const q = s[i];
  if (q === "'" || q === '"') {
    for (let j = i + 1; j < s.length; j++) {
      if (s[j] === '\\') j++;
      else if (s[j] === q) return j + 1;
    }
    return s.length;
  }
  let j = i;
  while (j < s.length && !stop.test(s[j])) {
    if (s[j] === '\\' || s[j] === "'" || s[j] === '"') return s.length;
    j++;
  }
  return j;
}

/**
 * A catalog definition as `verify` shows it. Option lists come with their secrets masked already
 * (by the reader, element by element: their values are printed unquoted, so no pattern could find
 * where one ends); here only secrets written in SQL text (a view's or a function's literals) and in
 * a comment's text.
 * @param text the definition
 * @param kind the object's kind: a comment is text, not SQL, and any `password=…` in it is masked
 */
export function maskDefinition(text: string, kind: ObjectKind): string {
  return kind === 'comment' ? maskInString(text) : redact(text);
}
