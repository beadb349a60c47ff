/**
 * SQL expressions as PostgreSQL prints them (view and rule bodies, defaults, index, constraint,
 * trigger and policy definitions), brought to one form whichever major printed them. Majors print the
 * same stored expression differently:
 *
 * - 14 prints the SQL-standard forms it keeps (`EXTRACT(year FROM d)`, `SUBSTRING(s FROM 2 FOR 3)`,
 *   `POSITION(a IN b)`, `TRIM(BOTH x FROM s)`, `OVERLAY(…)`, `x AT TIME ZONE z`), where 13 and older
 *   print the function they became (`date_part('year'::text, d)`, `"substring"(…)`, `btrim(s, x)`,
 *   `timezone(z, x)`), with the casts that those functions' arguments needed;
 * - 16 leaves out the table name before a column when the query has one table (`born`, not `emp.born`);
 * - 13 turned `similar_escape(p, NULL::text)` into `similar_to_escape(p)`;
 * - 12 prints `EXECUTE FUNCTION` in a trigger where 11 and older print `EXECUTE PROCEDURE`.
 *
 * The common form is lossy: casts, table and schema qualifiers and redundant parentheses are dropped,
 * the special forms become calls, bare words lower-cased. It is only used to compare definitions
 * printed by different majors; the same major's definitions are compared as printed.
 */

type Token = { type: 'word' | 'quoted' | 'string' | 'number' | 'op' | 'punct'; text: string };
type Item = Token | Group;
interface Group {
  type: 'group';
  items: Item[];
}

const isGroup = (i: Item | undefined): i is Group => i !== undefined && i.type === 'group';
const isWord = (i: Item | undefined, ...words: string[]): boolean =>
  i !== undefined && i.type === 'word' && (words.length === 0 || words.includes(i.text));

/** Splits SQL into tokens; a quoted identifier that needs no quotes loses them. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'")) {
      const start = i;
      const backslash = c !== "'";
      let j = (backslash ? i + 1 : i) + 1;
      while (j < n) {
        if (backslash && sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      out.push({ type: 'string', text: sql.slice(start, j + 1) });
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < n && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      const inner = sql.slice(i + 1, j).replace(/""/g, '"');
      out.push(/^[a-z_][a-z0-9_$]*$/.test(inner) ? { type: 'word', text: inner } : { type: 'quoted', text: sql.slice(i, j + 1) });
      i = j + 1;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j])) j++;
      out.push({ type: 'word', text: sql.slice(i, j).toLowerCase() });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?/.exec(sql.slice(i))!;
      out.push({ type: 'number', text: m[0] });
      i += m[0].length;
    } else if (c === ':' && sql[i + 1] === ':') {
      out.push({ type: 'punct', text: '::' });
      i += 2;
    } else if ('(),[].;'.includes(c)) {
      out.push({ type: 'punct', text: c });
      i++;
    } else if ('+-*/<>=~!@#%^&|`?:'.includes(c)) {
      let j = i + 1;
      while (j < n && '+-*/<>=~!@#%^&|`?'.includes(sql[j])) j++;
      out.push({ type: 'op', text: sql.slice(i, j) });
      i = j;
    } else {
      out.push({ type: 'punct', text: c });
      i++;
    }
  }
  return out;
}

/** Nests the tokens by parentheses. An unbalanced `)` stays a token. */
function nest(tokens: Token[]): Item[] {
  const root: Group = { type: 'group', items: [] };
  const stack: Group[] = [root];
  for (const t of tokens) {
    if (t.text === '(' && t.type === 'punct') {
      const g: Group = { type: 'group', items: [] };
      stack[stack.length - 1].items.push(g);
      stack.push(g);
    } else if (t.text === ')' && t.type === 'punct' && stack.length > 1) {
      stack.pop();
    } else {
      stack[stack.length - 1].items.push(t);
    }
  }
  return root.items;
}

// Words that go on a type name after its first word: `character varying`, `timestamp with time zone`.
const TYPE_WORDS = new Set(['varying', 'precision', 'with', 'without', 'time', 'zone']);

/** Drops `::type` casts: the type's words, qualifier, modifiers and array brackets. */
function dropCasts(items: Item[]): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.type === 'punct' && it.text === '::') {
      let j = i + 1;
      if (items[j]?.type === 'word' || items[j]?.type === 'quoted') j++;
      while (items[j]?.type === 'punct' && (items[j] as Token).text === '.' && items[j + 1] !== undefined) j += 2;
      while (isWord(items[j]) && TYPE_WORDS.has((items[j] as Token).text)) j++;
      if (isGroup(items[j])) j++;
      while ((items[j] as Token | undefined)?.text === '[' && (items[j + 1] as Token | undefined)?.text === ']') j += 2;
      i = j - 1;
      continue;
    }
    out.push(isGroup(it) ? { type: 'group', items: dropCasts(it.items) } : it);
  }
  return out;
}

/** `a.b.c` → `c`: a column without its table, a table or function without its schema. */
function dropQualifiers(items: Item[]): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const next = items[i + 1];
    if ((it.type === 'word' || it.type === 'quoted') && next?.type === 'punct' && next.text === '.' && (isWord(items[i + 2]) || items[i + 2]?.type === 'quoted')) {
      i++;
      continue;
    }
    out.push(isGroup(it) ? { type: 'group', items: dropQualifiers(it.items) } : it);
  }
  return out;
}

/** Splits a group's items at top-level words (`FROM`, `FOR`, …) into the parts between them. */
function splitAt(items: Item[], words: string[]): { word: string | null; part: Item[] }[] {
  const parts: { word: string | null; part: Item[] }[] = [{ word: null, part: [] }];
  for (const it of items) {
    if (it.type === 'word' && words.includes(it.text)) parts.push({ word: it.text, part: [] });
    else parts[parts.length - 1].part.push(it);
  }
  return parts;
}

const comma: Token = { type: 'punct', text: ',' };
const call = (name: string, args: Item[][]): Item[] => [
  { type: 'word', text: name },
  { type: 'group', items: args.flatMap((a, i) => (i === 0 ? a : [comma, ...a])) },
];

/** A special form's arguments as the function it stands for, or null when it is not one. */
function specialForm(name: string, g: Group): Item[] | null {
  const has = (w: string): boolean => g.items.some((i) => isWord(i, w));
  switch (name) {
    case 'extract': {
      const [field, from] = splitAt(g.items, ['from']);
      if (!from || field.part.length !== 1 || field.part[0].type !== 'word') return null;
      return call('date_part', [[{ type: 'string', text: `'${(field.part[0] as Token).text}'` }], from.part]);
    }
    case 'substring': {
      if (!has('from') && !has('for')) return null;
      const parts = splitAt(g.items, ['from', 'for']);
      const from = parts.find((p) => p.word === 'from')?.part ?? [{ type: 'number', text: '1' } as Token];
      const len = parts.find((p) => p.word === 'for')?.part;
      return call('substring', len ? [parts[0].part, from, len] : [parts[0].part, from]);
    }
    case 'position': {
      const [needle, hay] = splitAt(g.items, ['in']);
      return hay ? call('position', [hay.part, needle.part]) : null;
    }
    case 'overlay': {
      if (!has('placing')) return null;
      const parts = splitAt(g.items, ['placing', 'from', 'for']);
      return call('overlay', parts.map((p) => p.part));
    }
    case 'trim': {
      const first = g.items[0];
      const fn = isWord(first, 'leading') ? 'ltrim' : isWord(first, 'trailing') ? 'rtrim' : 'btrim';
      const rest = isWord(first, 'both', 'leading', 'trailing') ? g.items.slice(1) : g.items;
      const [chars, from] = splitAt(rest, ['from']);
      if (!from) return null;
      return call(fn, chars.part.length > 0 ? [from.part, chars.part] : [from.part]);
    }
    default:
      return null;
  }
}

/** Rewrites the special forms, `AT TIME ZONE`, similar_escape and EXECUTE PROCEDURE, bottom up. */
function rewrite(items: Item[]): Item[] {
  let out: Item[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (isGroup(it)) {
      out.push({ type: 'group', items: rewrite(it.items) });
      continue;
    }
    const next = items[i + 1];
    if (it.type === 'word' && isGroup(next)) {
      const inner: Group = { type: 'group', items: rewrite(next.items) };
      const special = specialForm(it.text, inner);
      if (special) {
        out.push(...special);
        i++;
        continue;
      }
      if (it.text === 'similar_escape') {
        // similar_escape(p, NULL) is 13's similar_to_escape(p).
        const last = inner.items.slice(-2);
        const nullEscape = last.length === 2 && (last[0] as Token).text === ',' && isWord(last[1], 'null');
        out.push({ type: 'word', text: 'similar_to_escape' }, nullEscape ? { type: 'group', items: inner.items.slice(0, -2) } : inner);
        i++;
        continue;
      }
    }
    if (isWord(it, 'procedure') && isWord(out[out.length - 1], 'execute')) {
      out.push({ type: 'word', text: 'function' });
      continue;
    }
    out.push(it);
  }
  // `x AT TIME ZONE z` is `timezone(z, x)`.
  for (let i = 0; i + 2 < out.length; i++) {
    if (isWord(out[i], 'at') && isWord(out[i + 1], 'time') && isWord(out[i + 2], 'zone') && i > 0) {
      out = call('timezone', [out.slice(i + 3), out.slice(0, i)]);
      break;
    }
  }
  return out;
}

/** A group that holds one operand (a name, a literal, a call) needs no parentheses. */
function dropParens(items: Item[]): Item[] {
  const out: Item[] = [];
  for (const it of items) {
    if (!isGroup(it)) {
      out.push(it);
      continue;
    }
    const inner = dropParens(it.items);
    const single =
      inner.length === 1 ||
      (inner.length === 2 && (inner[0].type === 'word' || inner[0].type === 'quoted') && isGroup(inner[1])) ||
      (inner.length === 1 && isGroup(inner[0]));
    if (single) out.push(...inner);
    else out.push({ type: 'group', items: inner });
  }
  return out;
}

function print(items: Item[]): string {
  return items.map((i) => (isGroup(i) ? `(${print(i.items)})` : i.text)).join(' ');
}

/** The common form of printed SQL (see the module comment): for comparing two majors' output. */
export function crossMajorForm(sql: string): string {
  const items = nest(tokenize(sql));
  return print(dropParens(dropQualifiers(rewrite(dropCasts(items)))));
}
