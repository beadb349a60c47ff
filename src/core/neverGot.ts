/**
 * Objects the primary made that the targets never got: relations made by DDL inside a function or DO
 * block (nested DDL, reported, not sent), and the `<index>_ccnew` / `<index>_ccold` index a failed
 * `REINDEX INDEX … CONCURRENTLY` leaves behind. A later logged `DROP` of one of them fails on a target
 * with "does not exist": the target has nothing to drop, and stands as the primary does after it.
 * Such a DROP is passed as done, with nothing to do, instead of stopping the target for ever; only when
 * every object it names is provably one of these.
 */
import { NestedDdl, quotedNameAt } from './captureUse';
import { ParsedStatement, parseStatements } from './parser';

/** The kinds of relation a DROP can name and nested DDL can make, by the names event triggers use. */
const DROP_KINDS: Record<string, string> = {
  OBJECT_TABLE: 'table',
  OBJECT_INDEX: 'index',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_FOREIGN_TABLE: 'foreign table',
};
const KINDS = new Set(Object.values(DROP_KINDS));

/**
 * One object the targets never got. Its schema when known; else the search_path its name was resolved
 * with on the primary (an unqualified REINDEX under no known search_path), which a DROP must share.
 */
export interface NeverGot {
  database: string;
  /** `table`, `index`, … (pg_event_trigger_ddl_commands' object_type). */
  kind: string;
  schema?: string;
  name: string;
  /** With no schema: the search_path as the `SET LOCAL` statement that set it, or '' for none. */
  path?: string;
  /**
   * Its schema is not known (a REINDEX whose search_path no log shows): a DROP of the name matches in
   * any schema it names or resolves with a known search_path. That DROP succeeded on the primary, so
   * the primary ends without it, as the target that has no such index there.
   */
  anySchema?: boolean;
  /** Where it was made and how, for the log line: `nested DDL at FILE:OFFSET`, … */
  why: string;
}

/** SQLSTATEs of "does not exist": undefined_table (42P01) and undefined_object (42704). */
export const UNDEFINED_OBJECT = new Set(['42P01', '42704']);

/** The relations nested DDL made (NestedDdl objects with action 'created'). */
export function madeByNested(n: NestedDdl): NeverGot[] {
  return n.objects.flatMap((o) => {
    if (o.action !== 'created' || o.identity === null || !KINDS.has(o.type)) return [];
    const parts = identityParts(o.identity);
    if (parts?.length !== 2) return [];
    return [{ database: n.database, kind: o.type, schema: parts[0], name: parts[1], why: `made by nested DDL at ${n.at}` }];
  });
}

/** The objects nested DDL dropped: once dropped on the primary, none of them is left to be passed. */
export function droppedByNested(n: NestedDdl): { database: string; schema: string; name: string }[] {
  return n.objects.flatMap((o) => {
    const parts = o.action === 'dropped' && o.identity !== null ? identityParts(o.identity) : null;
    return parts?.length === 2 ? [{ database: n.database, schema: parts[0], name: parts[1] }] : [];
  });
}

/**
 * The index names a failed `REINDEX INDEX … CONCURRENTLY` leaves, one of the two, INVALID: `_ccnew`
 * when it failed before the swap, `_ccold` after. PostgreSQL names them with ChooseRelationName: a
 * name that would pass 63 bytes is cut, and a name taken gets a number; neither is guessed here.
 * @param sql the statement (its ERROR's `query` column)
 * @param settings the `SET LOCAL` statements it ran with
 * @param at where it is in the log, for the log line
 */
export function reindexLeftovers(sql: string, settings: string[], database: string, at: string): NeverGot[] {
  const stmts = parseStatements(sql);
  if (stmts?.length !== 1 || stmts[0].type !== 'ReindexStmt') return [];
  const node = stmts[0].node as { kind?: string; concurrent?: boolean; params?: { DefElem?: { defname?: string; arg?: unknown } }[]; relation?: { schemaname?: string; relname?: string } };
  const concurrently = node.concurrent === true || (node.params ?? []).some((p) => p.DefElem?.defname === 'concurrently' && isTrue(p.DefElem.arg));
  const index = node.relation?.relname;
  if (node.kind !== 'REINDEX_OBJECT_INDEX' || !concurrently || !index) return [];
  const where = placeOf(node.relation?.schemaname, settings);
  if (where === null) return [];
  return ['_ccnew', '_ccold']
    .map((suffix) => index + suffix)
    .filter((name) => Buffer.byteLength(name) <= 63)
    .map((name) => ({ database, kind: 'index', ...where, name, why: `left by the failed REINDEX … CONCURRENTLY at ${at}` }));
}

/**
 * Leftovers whose schema the log does not give (an unqualified REINDEX run with a search_path no log
 * shows, or with none logged) are taken in any schema: a DROP of the name ran without error on the
 * primary, so the primary ends without it, as does the target that never had it.
 */
export function inAnySchemaWhereUnknown(left: NeverGot[]): NeverGot[] {
  return left.map(({ path: _path, ...g }) => (g.schema !== undefined ? g : { ...g, anySchema: true }));
}

/** A `(concurrently)` option without a value, or with one that reads as true. */
function isTrue(arg: unknown): boolean {
  if (arg === undefined) return true;
  const a = arg as { Boolean?: { boolval?: boolean }; Integer?: { ival?: number }; String?: { sval?: string } };
  if (a.Boolean) return a.Boolean.boolval === true;
  if (a.Integer) return a.Integer.ival === 1;
  return ['on', 'true', 'yes', '1'].includes(a.String?.sval?.toLowerCase() ?? '');
}

/**
 * The never-got objects a statement drops, when it is one `DROP` (without IF EXISTS, which would not
 * fail) and every object it names is one of them; null otherwise: the target stops as for any failure.
 * @param sql the statement the target ran (one DROP)
 * @param settings the `SET LOCAL` statements it ran with (its search_path)
 */
export function dropsOnlyNeverGot(sql: string, settings: string[], database: string, neverGot: readonly NeverGot[]): NeverGot[] | null {
  const stmts = parseStatements(sql);
  if (stmts?.length !== 1 || stmts[0].type !== 'DropStmt') return null;
  const node = stmts[0].node as { removeType?: string; missing_ok?: boolean; objects?: { List?: { items?: { String?: { sval?: string } }[] } }[] };
  const kind = DROP_KINDS[node.removeType ?? ''];
  if (!kind || node.missing_ok === true) return null;
  const found: NeverGot[] = [];
  for (const obj of node.objects ?? []) {
    const names = (obj.List?.items ?? []).map((i) => i.String?.sval);
    if (names.length === 0 || names.length > 2 || names.some((n) => n === undefined)) return null;
    const [schema, name] = names.length === 2 ? names : [undefined, names[0]];
    const where = placeOf(schema, settings);
    const match = where && neverGot.find((g) => g.database === database && g.kind === kind && g.name === name && samePlace(g, where));
    if (!match) return null;
    found.push(match);
  }
  return found.length > 0 ? found : null;
}

/** Where a name as written is looked for: its schema, or the search_path it is resolved with. */
type Place = { schema: string } | { path: string };

/**
 * A name's schema as written, or as its search_path resolves it: the first schema of the path other
 * than `$user`, pg_catalog and pg_temp. The role's own schema is passed over, as most roles have none:
 * had the primary's DROP found the name there instead, the target (which failed to find it anywhere on
 * the path) still ends as the primary, without that object. Without a search_path among the settings,
 * the path's own text stands for it; null when the settings cannot be read.
 */
function placeOf(schema: string | undefined, settings: string[]): Place | null {
  if (schema !== undefined) return { schema };
  const set = settings.filter((s) => /^\s*set\s+local\s+search_path\b/i.test(s));
  if (set.length > 1) return null;
  if (set.length === 0) return { path: '' };
  const names = searchPathOf(set[0]);
  if (names === null) return { path: set[0] };
  const first = names.find((n) => n !== '$user' && n !== 'pg_catalog' && n !== 'pg_temp' && !n.startsWith('pg_temp_'));
  return first === undefined ? { path: set[0] } : { schema: first };
}

function samePlace(g: NeverGot, where: Place): boolean {
  // A name made in a schema the log does not give matches a DROP whose schema is known (written, or
  // the search_path the target runs it with): the target looks there, as the primary did. Under a path
  // the log does not show, the target may look elsewhere and keep the index the primary dropped.
  if (g.anySchema) return 'schema' in where;
  return 'schema' in where ? g.schema === where.schema : g.schema === undefined && g.path === where.path;
}

/** The names of a `SET LOCAL search_path TO 'a', 'b'` (each literal is one name); null for anything else. */
function searchPathOf(set: string): string[] | null {
  const stmts = parseStatements(set);
  const stmt: ParsedStatement | undefined = stmts?.length === 1 ? stmts[0] : undefined;
  const node = stmt?.type === 'VariableSetStmt' ? (stmt.node as { kind?: string; args?: { A_Const?: { sval?: { sval?: string } } }[] }) : undefined;
  if (node?.kind !== 'VAR_SET_VALUE') return null;
  const names = (node.args ?? []).map((a) => a.A_Const?.sval?.sval);
  return names.every((n): n is string => n !== undefined) ? names : null;
}

/** `schema.name` as pg_event_trigger_ddl_commands writes an identity (quote_identifier): its parts. */
export function identityParts(identity: string): string[] | null {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    let part = '';
    if (identity[i] === '"') {
      const quoted = quotedNameAt(identity, i);
      if (quoted === null) return null;
      ({ name: part, end: i } = quoted);
    } else {
      while (i < identity.length && identity[i] !== '.') part += identity[i++];
      if (part === '' || /[^a-z0-9_$]/.test(part)) return null;
    }
    parts.push(part);
    if (i === identity.length) return parts;
    if (identity[i] !== '.') return null;
    i++;
  }
}
