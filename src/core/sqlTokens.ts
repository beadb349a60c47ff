/**
 * The tokens of a statement as the server's lexer cuts them, for redaction: words, quoted names,
 * literals and the rest. A logged statement does not say whether its session had
 * standard_conforming_strings on or off, so a '…' literal is read both ways: with backslash escapes
 * and without. Where the two end in different places, nothing after its start can be read, and the
 * lexer says so and stops.
 */
import { lineCommentEnd, skipBlockComment } from './sqlSplit';

export interface WordToken {
  kind: 'word';
  start: number;
  end: number;
  /** Lower case for a bare word; a quoted name as written. */
  name: string;
  /** A U&"…" name: its escapes are not read. */
  escaped?: boolean;
}

export interface LiteralToken {
  kind: 'literal';
  /** [start, end) of each piece's body: `'a'\n'b'` is one literal of two pieces. */
  bodies: [number, number][];
  /** What the literal says, each way it may be read. */
  values: string[];
  /** Its text is its value (no escapes, no doubled quotes), so a part of it can be masked. */
  plain: boolean;
  /** Its value cannot be worked out: hidden whole. */
  opaque?: boolean;
}

export type Token =
  | WordToken
  | LiteralToken
  | { kind: 'other'; text: string }
  /** A literal that ends elsewhere when backslashes escape: nothing after its start can be read. */
  | { kind: 'ambiguous'; start: number };

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && IDENT_CHAR.test(c);
}

/** The tokens of a statement as the server's lexer cuts them, up to the first ambiguous literal. */
export function* lex(sql: string): Generator<Token> {
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) i++;
    else if (c === '-' && sql[i + 1] === '-') i = lineCommentEnd(sql, i);
    else if (c === '/' && sql[i + 1] === '*') i = skipBlockComment(sql, i);
    else {
      const lit = literalAt(sql, i);
      if (lit && 'ambiguous' in lit) {
        yield { kind: 'ambiguous', start: lit.ambiguous };
        return;
      }
      if (lit) {
        yield lit.token;
        i = lit.end;
      } else if (c === '"' || (/[Uu]/.test(c) && sql[i + 1] === '&' && sql[i + 2] === '"')) {
        const q = c === '"' ? i : i + 2;
        const end = quotedEnd(sql, q + 1, '"', false);
        yield { kind: 'word', start: i, end, name: sql.slice(q + 1, end - 1).replace(/""/g, '"'), escaped: q !== i };
        i = end;
      } else if (IDENT_START.test(c) || /[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
        let j = i + 1;
        while (j < n && (isIdentChar(sql[j]) || (/[0-9.]/.test(c) && sql[j] === '.'))) j++;
        const name = sql.slice(i, j).toLowerCase();
        yield { kind: 'word', start: i, end: j, name };
        i = j;
      } else {
        yield { kind: 'other', text: c };
        i++;
      }
    }
  }
}

/** How a quoted literal's body is read. */
type Form = 'plain' | 'escape' | 'unicode' | 'bits';

/** The literal at i, its end; or where an ambiguous one starts; null when none starts there. */
function literalAt(sql: string, i: number): { token: LiteralToken; end: number } | { ambiguous: number } | null {
  const c = sql[i];
  if (c === '$') return dollarAt(sql, i);
  let q = i;
  let form: Form = 'plain';
  const prefixed = !isIdentChar(sql[i - 1]);
  if (/[Ee]/.test(c) && sql[i + 1] === "'" && prefixed) [q, form] = [i + 1, 'escape'];
  else if (/[Nn]/.test(c) && sql[i + 1] === "'" && prefixed) q = i + 1;
  else if (/[BbXx]/.test(c) && sql[i + 1] === "'" && prefixed) [q, form] = [i + 1, 'bits'];
  else if (/[Uu]/.test(c) && sql[i + 1] === '&' && sql[i + 2] === "'" && prefixed) [q, form] = [i + 2, 'unicode'];
  else if (c !== "'") return null;
  const bodies: [number, number][] = [];
  const values: string[][] = [[], []];
  let end = q;
  for (;;) {
    const start = end + 1;
    const read = pieceEnd(sql, start, form);
    if ('ambiguous' in read) return { ambiguous: start };
    bodies.push([start, read.close]);
    const body = sql.slice(start, read.close);
    values[0].push(read.values[0](body));
    values[1].push(read.values[1](body));
    end = Math.min(read.close + 1, sql.length);
    // `'a'` and `'b'` with a newline between are one literal.
    const next = continuation(sql, end);
    if (next < 0) break;
    end = next;
  }
  const body = sql.slice(bodies[0][0], bodies[0][1]);
  const plain = bodies.length === 1 && (form === 'plain' || form === 'escape') && !/[\\']/.test(body);
  const readings = [...new Set(values.map((v) => v.join('')))];
  // UESCAPE names another escape character: the value is not worked out, the literal is all hidden.
  const opaque = form === 'unicode' && /^\s*uescape\b/i.test(sql.slice(end));
  return { token: { kind: 'literal', bodies, values: readings, plain, opaque }, end };
}

/** Where a piece's body closes, read with backslash escapes and without; ambiguous if they differ. */
function pieceEnd(sql: string, start: number, form: Form): { close: number; values: [(b: string) => string, (b: string) => string] } | { ambiguous: true } {
  if (form === 'escape') return { close: quotedEnd(sql, start, "'", true) - 1, values: [unescape, unescape] };
  if (form === 'bits') {
    const close = sql.indexOf("'", start);
    return { close: close < 0 ? sql.length : close, values: [same, same] };
  }
  const standard = quotedEnd(sql, start, "'", false) - 1;
  if (form === 'unicode') return { close: standard, values: [decodeUnicode, decodeUnicode] };
  const escaped = quotedEnd(sql, start, "'", true) - 1;
  if (standard !== escaped) return { ambiguous: true };
  return { close: standard, values: [undouble, unescape] };
}

const same = (b: string): string => b;
const undouble = (b: string): string => b.replace(/''/g, "'");

/** What an E'…' body says: its backslash escapes read as the server reads them. */
function unescape(b: string): string {
  return b.replace(/''/g, "'").replace(/\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/gs, (_, e: string) => {
    if (/^x/.test(e)) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
    if (/^[uU]./.test(e)) return String.fromCodePoint(Math.min(parseInt(e.slice(1), 16), 0x10ffff));
    return ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e;
  });
}

/** What a U&'…' body says: `\\XXXX`, `\\+XXXXXX` and `\\\\` read as the server reads them. */
function decodeUnicode(b: string): string {
  return undouble(b).replace(/\\(\\|[0-9A-Fa-f]{4}|\+[0-9A-Fa-f]{6})/g, (_, e: string) =>
    e === '\\' ? '\\' : String.fromCodePoint(Math.min(parseInt(e.replace('+', ''), 16), 0x10ffff)),
  );
}

/** The end (after the closing quote) of a quoted text whose body starts at i; quotes double. */
function quotedEnd(sql: string, i: number, quote: string, backslash: boolean): number {
  let j = i;
  while (j < sql.length) {
    if (backslash && sql[j] === '\\') j += 2;
    else if (sql[j] === quote && sql[j + 1] === quote) j += 2;
    else if (sql[j] === quote) return j + 1;
    else j++;
  }
  return sql.length + 1;
}

// Sticky: matched where they are put, however long the white space or the tag.
// The server's quotecontinue: blanks, a newline (\n or \r), then blanks, newlines and `--` comments.
const CONTINUATION = /[ \t\f]*[\n\r](?:[ \t\n\r\f\v]|--[^\n\r]*[\n\r])*'/y;
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/y;

/** Where the next piece's opening quote is, when white space with a newline leads to one; else -1. */
function continuation(sql: string, i: number): number {
  CONTINUATION.lastIndex = i;
  const m = CONTINUATION.exec(sql);
  return m ? i + m[0].length - 1 : -1;
}

/** A $tag$…$tag$ literal at i (tags may hold non-ASCII letters), or null. */
function dollarAt(sql: string, i: number): { token: LiteralToken; end: number } | null {
  DOLLAR_TAG.lastIndex = i;
  const m = DOLLAR_TAG.exec(sql);
  if (!m || isIdentChar(sql[i - 1])) return null;
  const start = i + m[0].length;
  const close = sql.indexOf(m[0], start);
  const bodyEnd = close < 0 ? sql.length : close;
  const body = sql.slice(start, bodyEnd);
  return { token: { kind: 'literal', bodies: [[start, bodyEnd]], values: [body], plain: true }, end: close < 0 ? sql.length : close + m[0].length };
}
