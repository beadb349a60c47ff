/**
 * Which parts of a definition, as the catalog reader (io/catalog) prints it, are SQL expressions:
 * view and rule queries, defaults, generated columns, partition keys and bounds, index definitions,
 * check and exclusion constraints, a trigger's WHEN, a policy's USING and WITH CHECK, a domain's
 * default and constraints. Only those are printed differently by different majors, so only those may
 * be compared in the lossy common form (printedSql); names, types and option values are compared as
 * printed, or a schema, a file name or a host that changed would not show.
 */
import type { ObjectKind } from './schemaDiff';

export interface Part {
  text: string;
  expression: boolean;
}

const name = (text: string): Part => ({ text, expression: false });
const expr = (text: string): Part => ({ text, expression: true });

/** The parts of one line of a definition (views and rules are one query: see normalise). */
export function lineParts(kind: ObjectKind, line: string): Part[] {
  switch (kind) {
    case 'table':
    case 'foreign table':
      return relationLine(line);
    case 'index':
      // Its `clustered` and `invalid` lines are flags.
      return [line.startsWith('CREATE ') ? expr(line) : name(line)];
    case 'constraint':
      // A key's and a foreign key's definitions are column and table names only.
      return [/^(CHECK|EXCLUDE) /.test(line) ? expr(line) : name(line)];
    case 'trigger':
      return triggerLine(line);
    case 'policy':
      return prefixed(line, ['using ', 'with check ']);
    case 'domain':
      if (line.startsWith('constraint ')) {
        const end = identEnd(line, 'constraint '.length);
        return [name(line.slice(0, end)), expr(line.slice(end))];
      }
      return prefixed(line, ['default ']);
    default:
      return [name(line)];
  }
}

/** A line whose rest, after one of these words, is an expression. */
function prefixed(line: string, words: string[]): Part[] {
  const word = words.find((w) => line.startsWith(w));
  return word === undefined ? [name(line)] : [name(word), expr(line.slice(word.length))];
}

/**
 * A table's lines: `partition by KEY`, `partition of NAMES BOUND`, and
 * `column NAME TYPE [collate C] [not null] [default EXPR | generated always as (EXPR) stored] [identity] [options (…)]`.
 */
function relationLine(line: string): Part[] {
  if (line.startsWith('partition by ')) return prefixed(line, ['partition by ']);
  if (line.startsWith('partition of ')) {
    // The parents are quoted as identifiers: a bare word in them is lower case.
    const bound = (i: number): boolean => line.startsWith(' FOR VALUES ', i) || (i === line.length - 8 && line.endsWith(' DEFAULT'));
    const at = scan(line, 'partition of '.length, bound);
    return at < 0 ? [name(line)] : [name(line.slice(0, at + 1)), expr(line.slice(at + 1))];
  }
  if (!line.startsWith('column ')) return [name(line)];
  // The type and collation before the expression hold no single quote, and `default` is quoted in
  // them: the first unquoted ` default ` is the keyword.
  const at = scan(line, 'column '.length, (i) => line.startsWith(' default ', i) || line.startsWith(' generated always as (', i));
  if (at < 0) return [name(line)];
  if (line.startsWith(' default ', at)) {
    const from = at + ' default '.length;
    // A printed expression never holds ` options (` outside quotes: that is the column's options.
    const end = scan(line, from, (i) => line.startsWith(' options (', i));
    const to = end < 0 ? line.length : end;
    return [name(line.slice(0, from)), expr(line.slice(from, to)), name(line.slice(to))];
  }
  const open = at + ' generated always as '.length;
  const close = groupEnd(line, open);
  return [name(line.slice(0, open)), expr(line.slice(open, close)), name(line.slice(close))];
}

/**
 * `CREATE TRIGGER … [WHEN (EXPR)] EXECUTE FUNCTION f(…)`: only the WHEN is an expression; the call
 * is a part of its own, from ` EXECUTE ` on (the word after it is a major's: see normalise).
 */
function triggerLine(line: string): Part[] {
  if (!line.startsWith('CREATE ')) return [name(line)];
  const parts: Part[] = [];
  let from = 0;
  const when = scan(line, 0, (i) => line.startsWith(' WHEN (', i));
  if (when >= 0) {
    const open = when + ' WHEN '.length;
    from = groupEnd(line, open);
    parts.push(name(line.slice(0, open)), expr(line.slice(open, from)));
  }
  const call = scan(line, from, (i) => line.startsWith(' EXECUTE ', i));
  if (call < 0) return [...parts, name(line.slice(from))];
  if (call > from) parts.push(name(line.slice(from, call)));
  return [...parts, name(line.slice(call))];
}

/**
 * The first index from `from` on, outside quotes and parentheses, where `at` holds; -1 if none.
 * Quotes: '…' (E'…' with backslash escapes) and "…", each doubling its quote inside.
 */
function scan(text: string, from: number, at: (i: number) => boolean): number {
  let depth = 0;
  let i = from;
  while (i < text.length) {
    if (depth === 0 && at(i)) return i;
    const c = text[i];
    if (c === "'" || c === '"') i = quoteEnd(text, i);
    else {
      if (c === '(') depth++;
      else if (c === ')' && depth > 0) depth--;
      i++;
    }
  }
  return -1;
}

/** The index after the `)` that closes the `(` at `open` (the text's end if none does). */
function groupEnd(text: string, open: number): number {
  const close = scan(text, open + 1, (i) => text[i] === ')');
  return close < 0 ? text.length : close + 1;
}

/** The index after the quoted text that starts at `i`. */
export function quoteEnd(text: string, i: number): number {
  const q = text[i];
  const backslash = q === "'" && /[Ee]/.test(text[i - 1] ?? '') && !/[A-Za-z0-9_$]/.test(text[i - 2] ?? '');
  let j = i + 1;
  while (j < text.length) {
    if (backslash && text[j] === '\\') j += 2;
    else if (text[j] === q && text[j + 1] === q) j += 2;
    else if (text[j] === q) return j + 1;
    else j++;
  }
  return text.length;
}

/** The index after the identifier (bare, or "quoted") at `i`. */
function identEnd(text: string, i: number): number {
  if (text[i] === '"') return quoteEnd(text, i);
  const m = /^[^\s]*/.exec(text.slice(i))!;
  return i + m[0].length;
}

/**
 * SQL with its blanks read as SQL reads them: each run of blanks outside quotes one space, or one
 * line break when it held one; none at the start or end. Blanks inside a literal or a quoted name are
 * its value, kept as they are.
 */
export function squeezeBlanks(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      let j = i;
      let lineBreak = false;
      for (; j < sql.length && /\s/.test(sql[j]); j++) if (sql[j] === '\n') lineBreak = true;
      if (out !== '' && j < sql.length) out += lineBreak ? '\n' : ' ';
      i = j;
    } else if (c === "'" || c === '"') {
      const end = quoteEnd(sql, i);
      out += sql.slice(i, end);
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
