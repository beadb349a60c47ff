/**
 * What `nested --copy` can do for each object of nested DDL (see captureUse NestedDdl), decided
 * before anything is read or run: a relation the DDL created is copied from the primary as pg_dump
 * prints it now; a relation it dropped is dropped on the targets where it is; anything else is left to
 * a person, who does it by hand and then marks the DDL handled.
 */
import type { NestedDdl, NestedObject } from './captureUse';

/** Object types (as pg_event_trigger_ddl_commands names them) that pg_dump's `-t` selects. */
const DUMPED_BY_T = new Set(['table', 'view', 'materialized view', 'sequence', 'foreign table']);

/** Types that come with a relation pg_dump selects: its indexes, the sequences it owns. */
const COMES_WITH_RELATION = new Set(['index', 'sequence']);

/** The DROP for each type the targets' copies of a dropped object are removed with. */
const DROP_KEYWORDS: Record<string, string> = {
  table: 'TABLE',
  view: 'VIEW',
  'materialized view': 'MATERIALIZED VIEW',
  sequence: 'SEQUENCE',
  'foreign table': 'FOREIGN TABLE',
  index: 'INDEX',
};

/** What copying does with one object, or why it cannot. */
export type CopyStep =
  /** Dumped from the primary with `-t`, by the identity the primary gives. */
  | { kind: 'dump'; identity: string; type: string }
  /** Comes with a relation another step dumps, if the primary says it belongs to one. */
  | { kind: 'withRelation'; identity: string; type: string }
  | { kind: 'drop'; identity: string; sql: string }
  | { kind: 'cannot'; why: string };

/**
 * An identity as PostgreSQL prints it (quote_ident'ed names joined by dots): nothing else is put
 * into SQL. What a capture record says was checked against the primary's key, but a name is still
 * only ever used in this form.
 */
const IDENTITY = /^(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)(?:\.(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*))*$/;

/** The copy steps of nested DDL, one per object, in its order. */
export function copySteps(n: NestedDdl): CopyStep[] {
  const created = new Set(n.objects.filter((o) => o.action === 'created' && o.identity !== null).map((o) => o.identity));
  return n.objects.map((o) => stepOf(o, created));
}

function stepOf(o: NestedObject, created: ReadonlySet<string | null>): CopyStep {
  const name = `${o.type} ${o.identity ?? '(not named)'} ${o.action}`;
  if (o.identity === null) return { kind: 'cannot', why: `${name}: the primary's record does not name it, so nothing can be copied` };
  if (o.action === 'dropped') {
    const keyword = DROP_KEYWORDS[o.type];
    if (!keyword) return { kind: 'cannot', why: `${name}: dropping a ${o.type} on the targets is not supported` };
    // The only text of the record that goes into SQL: refused unless it is plainly a quoted name.
    if (!IDENTITY.test(o.identity)) return { kind: 'cannot', why: `${name}: its name is not one the targets can be given` };
    return { kind: 'drop', identity: o.identity, sql: `DROP ${keyword} IF EXISTS ${o.identity}` };
  }
  if (o.action === 'altered') {
    // Altered in the same command that created it (the OWNED BY of a serial column's sequence): the
    // dump of the created object shows the change.
    if (created.has(o.identity)) return { kind: 'withRelation', identity: o.identity, type: o.type };
    return { kind: 'cannot', why: `${name}: a change cannot be copied without knowing what it was` };
  }
  if (DUMPED_BY_T.has(o.type)) return { kind: 'dump', identity: o.identity, type: o.type };
  if (COMES_WITH_RELATION.has(o.type)) return { kind: 'withRelation', identity: o.identity, type: o.type };
  return { kind: 'cannot', why: `${name}: copying a ${o.type} is not supported (only tables, views, sequences and foreign tables)` };
}

/** A name as pg_dump's `-t` takes it literally: each part double-quoted, so no character is a wildcard. */
export function dumpPattern(schema: string, name: string): string {
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  return `${q(schema)}.${q(name)}`;
}

/**
 * pg_dump's output as SQL a connection can run: the psql commands of newer pg_dumps that fence the
 * script (`\restrict KEY`, `\unrestrict KEY`) go, and so do its opening SETs that turn timeouts off;
 * any other psql command is refused, as a plain connection could not run it and its meaning would
 * be lost.
 * @returns the SQL, or why it cannot be used
 */
export function dumpSql(text: string): { sql: string } | { problem: string } {
  const kept: string[] = [];
  let header = true;
  for (const line of text.split('\n')) {
    // The script's opening SETs turn the statement and lock timeouts off; on a target the tool's own
    // bounds stay (a copy must not wait on a lock for ever). Only the opening lines are looked at:
    // further down a line may be inside a literal.
    header &&= line === '' || line.startsWith('--') || /^(SET |SELECT pg_catalog\.set_config\()/.test(line) || /^\\(un)?restrict /.test(line);
    if (header && /^SET (statement_timeout|lock_timeout|idle_in_transaction_session_timeout|transaction_timeout) = 0;$/.test(line)) continue;
    if (/^\\(un)?restrict [A-Za-z0-9]+$/.test(line)) continue;
    if (line.startsWith('\\')) return { problem: `pg_dump printed a psql command (${line.slice(0, 40)}) that cannot be run over a connection` };
    kept.push(line);
  }
  return { sql: kept.join('\n') };
}
