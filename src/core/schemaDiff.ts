/**
 * The comparison behind `verify`: two lists of catalog objects (a primary's database and a target's),
 * matched by kind and name, their definitions normalised so that what is only a PostgreSQL major's
 * way of printing the same thing does not count, and the difference as missing, extra and different
 * objects with a short line diff. Pure: catalog rows in, a value out.
 */
import { lineParts, squeezeBlanks } from './definitionParts';
import { crossMajorForm } from './printedSql';

export type ObjectKind =
  | 'schema'
  | 'table'
  | 'foreign table'
  | 'view'
  | 'materialized view'
  | 'sequence'
  | 'index'
  | 'constraint'
  | 'trigger'
  | 'rule'
  | 'policy'
  | 'statistics'
  | 'function'
  | 'procedure'
  | 'aggregate'
  | 'type'
  | 'domain'
  | 'extension'
  | 'foreign-data wrapper'
  | 'server'
  | 'user mapping'
  | 'event trigger'
  | 'comment'
  | 'role'
  | 'membership';

/** The order objects are listed in: containers before what they contain. */
const KIND_ORDER: readonly ObjectKind[] = [
  'role', 'membership', 'schema', 'extension', 'foreign-data wrapper', 'server', 'user mapping', 'type', 'domain', 'function',
  'procedure', 'aggregate', 'sequence', 'table', 'foreign table', 'view', 'materialized view', 'index', 'constraint', 'trigger',
  'rule', 'policy', 'statistics', 'event trigger', 'comment',
];

export interface CatalogObject {
  kind: ObjectKind;
  /** Schema-qualified and quoted as SQL would; a table's part after ` on ` (`pk on public.t`). */
  name: string;
  definition: string;
  /** The key (`kind name`) of the object it belongs to: missing with it, not as well. */
  parent?: string;
  /** A digest of the passwords its definition shows masked: compared with it, never shown. */
  secret?: string;
  /** Why its definition could not be read (the connecting role may not see it): not compared. */
  hidden?: string;
}

export interface ObjectRef {
  kind: ObjectKind;
  name: string;
  definition: string;
  /** Objects that belong to it and are missing (or extra) with it, not listed on their own. */
  dependents: number;
}

export interface ObjectChange {
  kind: ObjectKind;
  name: string;
  primary: string;
  target: string;
  /** Lines of the primary's definition (`- `) and the target's (`+ `) that differ, at most DIFF_LINES. */
  diff: string[];
}

/** An object on both sides whose definition one side could not read. */
export interface ObjectHidden {
  kind: ObjectKind;
  name: string;
  /** Which side could not read it, and why. */
  reason: string;
}

export interface SchemaDiff {
  /** Objects compared: those on the primary. */
  objects: number;
  missing: ObjectRef[];
  extra: ObjectRef[];
  different: ObjectChange[];
  /** On both sides, but compared by name only: see ObjectHidden. */
  notCompared: ObjectHidden[];
}

export const DIFF_LINES = 12;

export interface DiffOptions {
  crossMajor?: boolean;
  mask?: (text: string, kind: ObjectKind) => string;
}

export function keyOf(o: { kind: ObjectKind; name: string }): string {
  return `${o.kind} ${o.name}`;
}

/** Kinds whose definition is code as written, compared as written (trailing blanks aside). */
const VERBATIM: ReadonlySet<ObjectKind> = new Set(['function', 'procedure', 'aggregate', 'comment']);

/** Kinds whose definition is one query printed over several lines. */
const QUERY: ReadonlySet<ObjectKind> = new Set(['view', 'materialized view', 'rule']);

/**
 * A definition as compared. Expressions (see definitionParts) are compared with their blanks and line
 * breaks outside quotes read as SQL reads them and, between different majors, in their common form
 * (see printedSql), where what is only a major's way of printing the same thing does not count. The
 * rest (names, types, option values, which the catalog reader prints itself; function bodies and
 * comments) is compared as printed, trailing blanks aside: the lossy common form would hide a change.
 * @param crossMajor the two definitions come from servers of different majors
 */
export function normalise(kind: ObjectKind, definition: string, crossMajor = false): string {
  const text = definition.replace(/\r\n/g, '\n');
  if (VERBATIM.has(kind)) {
    const body = text.split('\n').map((l) => l.trimEnd()).join('\n').trim();
    // The header of a procedure shows its arguments as its name does (see canonicalKey).
    return crossMajor && kind === 'procedure' ? body.replace(/^[^\n]*/, (head) => head.replace(/([(,] ?)IN /g, '$1')) : body;
  }
  const expression = (sql: string): string => (crossMajor ? crossMajorForm(sql) : squeezeBlanks(sql));
  if (QUERY.has(kind)) {
    // A view's options (`with (…)`, lower case: a query's WITH is printed upper case) are not the query.
    const options = /^with \(.*\n/.exec(text)?.[0] ?? '';
    const query = squeezeBlanks(text.slice(options.length)).replace(/ ?;$/, '');
    const compared = crossMajor ? crossMajorForm(query) : query;
    return options === '' ? compared : `${options.trimEnd()}\n${compared}`;
  }
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines
    .map((line) =>
      lineParts(kind, line)
        .map((p) => (p.expression ? expression(p.text) : crossMajor && kind === 'trigger' ? sameFunctionWord(p.text) : p.text))
        .join(''),
    )
    .join('\n');
}

/** 12 prints a trigger's `EXECUTE FUNCTION` where 11 and older print `EXECUTE PROCEDURE`. */
function sameFunctionWord(part: string): string {
  return part.replace(/^ EXECUTE PROCEDURE /, ' EXECUTE FUNCTION ');
}

/**
 * The key two majors agree on: 14 prints the `IN` of a procedure's arguments, which 11 to 13 leave out.
 */
export function canonicalKey(key: string): string {
  return /^(comment )?procedure /.test(key) ? key.replace(/([(,] ?)IN /g, '$1') : key;
}

/** The objects by key; definitions of a key given twice are kept together, sorted. */
function byKey(objects: CatalogObject[]): Map<string, CatalogObject> {
  const map = new Map<string, CatalogObject>();
  for (const o of objects) {
    const key = canonicalKey(keyOf(o));
    const seen = map.get(key);
    if (!seen) {
      map.set(key, o);
      continue;
    }
    const merged: CatalogObject = { ...seen, definition: [seen.definition, o.definition].sort().join('\n') };
    const secrets = [seen.secret, o.secret].filter((x): x is string => x !== undefined);
    if (secrets.length > 0) merged.secret = secrets.sort().join(' ');
    if (o.hidden !== undefined) merged.hidden ??= o.hidden;
    map.set(key, merged);
  }
  return map;
}

/** How many objects a list holds, as diffSchemas counts them. */
export function objectCount(objects: CatalogObject[]): number {
  return byKey(objects).size;
}

/**
 * Compares a target's objects with the primary's.
 * @param primary the primary database's objects
 * @param target the target database's objects
 * @param options.crossMajor the two servers run different majors (see normalise)
 * @param options.mask hides secrets in what is shown (definitions and diffs) of an object of a kind
 */
export function diffSchemas(primary: CatalogObject[], target: CatalogObject[], options: DiffOptions = {}): SchemaDiff {
  const mask = options.mask ?? ((t: string): string => t);
  const crossMajor = options.crossMajor ?? false;
  const want = byKey(primary);
  const have = byKey(target);
  const missing = absent(want, have, mask);
  const extra = absent(have, want, mask);
  const different: ObjectChange[] = [];
  const notCompared: ObjectHidden[] = [];
  for (const [key, p] of want) {
    const t = have.get(key);
    if (!t) continue;
    if (p.hidden !== undefined || t.hidden !== undefined) {
      const reason = p.hidden !== undefined ? `on the primary, ${p.hidden}` : `on the target, ${t.hidden}`;
      notCompared.push({ kind: p.kind, name: p.name, reason });
      continue;
    }
    if (normalise(p.kind, p.definition, crossMajor) === normalise(t.kind, t.definition, crossMajor) && p.secret === t.secret) continue;
    const shown = (o: CatalogObject): string => mask(normalise(o.kind, o.definition), o.kind);
    const diff = lineDiff(shown(p), shown(t));
    different.push({
      kind: p.kind,
      name: p.name,
      primary: mask(p.definition, p.kind),
      target: mask(t.definition, t.kind),
      diff: diff.length > 0 ? diff : ['(they differ in a secret, not shown)'],
    });
  }
  return { objects: want.size, missing, extra, different: sortObjects(different), notCompared: sortObjects(notCompared) };
}

/** What `from` has that `other` lacks, each listed once with the count of its own that are gone with it. */
function absent(
  from: Map<string, CatalogObject>,
  other: Map<string, CatalogObject>,
  mask: (text: string, kind: ObjectKind) => string,
): ObjectRef[] {
  const gone = [...from.keys()].filter((k) => !other.has(k));
  const goneSet = new Set(gone);
  const dependents = new Map<string, number>();
  const top: string[] = [];
  for (const key of gone) {
    const root = rootOf(key, from, goneSet);
    if (root === key) top.push(key);
    else dependents.set(root, (dependents.get(root) ?? 0) + 1);
  }
  return sortObjects(
    top.map((key) => {
      const o = from.get(key)!;
      return { kind: o.kind, name: o.name, definition: mask(o.definition, o.kind), dependents: dependents.get(key) ?? 0 };
    }),
  );
}

/** The outermost object above `key` that is gone too (a comment on an index on a missing table: the table). */
function rootOf(key: string, from: Map<string, CatalogObject>, gone: Set<string>): string {
  let at = key;
  for (let depth = 0; depth < 8; depth++) {
    const parent = from.get(at)?.parent;
    if (parent === undefined || !gone.has(canonicalKey(parent))) return at;
    at = canonicalKey(parent);
  }
  return at;
}

function sortObjects<T extends { kind: ObjectKind; name: string }>(list: T[]): T[] {
  const rank = (k: ObjectKind): number => KIND_ORDER.indexOf(k);
  return list.sort((a, b) => rank(a.kind) - rank(b.kind) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The lines of `a` not in `b` (`- `) and of `b` not in `a` (`+ `), in order, from a longest common
 * subsequence; at most `max` lines, then a count of the rest.
 */
export function lineDiff(a: string, b: string, max = DIFF_LINES): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  // Common head and tail first: most changes are a line or two in a long definition.
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const xs = x.slice(head, x.length - tail);
  const ys = y.slice(head, y.length - tail);
  const out: string[] = [];
  if (xs.length * ys.length > 250_000) {
    // Too long to align cheaply: the whole differing stretch of each.
    out.push(...xs.map((l) => `- ${l}`), ...ys.map((l) => `+ ${l}`));
  } else {
    const lcs: number[][] = Array.from({ length: xs.length + 1 }, () => new Array<number>(ys.length + 1).fill(0));
    for (let i = xs.length - 1; i >= 0; i--) {
      for (let j = ys.length - 1; j >= 0; j--) {
        lcs[i][j] = xs[i] === ys[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < xs.length || j < ys.length) {
      if (i < xs.length && j < ys.length && xs[i] === ys[j]) {
        i++;
        j++;
      } else if (j >= ys.length || (i < xs.length && lcs[i + 1][j] >= lcs[i][j + 1])) {
        out.push(`- ${xs[i++]}`);
      } else {
        out.push(`+ ${ys[j++]}`);
      }
    }
  }
  if (out.length <= max) return out;
  return [...out.slice(0, max - 1), `… ${out.length - (max - 1)} more line(s)`];
}
