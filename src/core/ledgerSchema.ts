/**
 * The schema the tool keeps its ledger in on every target. DDL of the primary that names it (makes it,
 * makes or changes an object in it, grants on it, renames a schema to it) would collide with the
 * ledger on a target, or hand it to another role: such a statement is never sent.
 *
 * Told from the parse tree, where a name is a schema's: a RangeVar's `schemaname`, the first parts of
 * a qualified name, and the bare names of statements whose objects are schemas.
 */
import type { ParsedStatement } from './parser';

export const LEDGER_SCHEMA = 'ddl_sync';

/** Keys whose string value is a schema's name (ALTER … SET SCHEMA, IMPORT FOREIGN SCHEMA … INTO). */
const SCHEMA_KEYS = ['schemaname', 'newschema', 'local_schema'] as const;

/** Options whose value names schemas: CREATE EXTENSION … SCHEMA, ALTER DEFAULT PRIVILEGES IN SCHEMA. */
const SCHEMA_OPTIONS = new Set(['schema', 'schemas']);

/** Whether a parsed statement names the ledger's schema anywhere. */
export function namesLedgerSchema(stmt: ParsedStatement): boolean {
  // Every way below of naming it is a string of the tree equal to the name, which the tree's JSON then
  // holds in quotes (the name has nothing JSON escapes). Most DDL holds none: its tree, walked node by
  // node, cost half as much again as parsing it.
  if (!JSON.stringify(stmt.node).includes(`"${LEDGER_SCHEMA}"`)) return false;
  // CREATE SCHEMA AUTHORIZATION role, without a name, names the schema after the role.
  const role = (stmt.node.authrole as { rolename?: string } | undefined)?.rolename;
  if (stmt.type === 'CreateSchemaStmt' && stmt.node.schemaname === undefined && role === LEDGER_SCHEMA) return true;
  return names(stmt.node, false);
}

/**
 * Whether the ledger's schema is named in a part of a parse tree.
 * @param schemas the bare names (String nodes) in this part are schemas' names
 */
function names(value: unknown, schemas: boolean): boolean {
  if (Array.isArray(value)) {
    // A qualified name (schema.object, or database.schema.object): every part but the last may be a schema.
    const parts = value.map(stringOf);
    if (parts.length >= 2 && parts.every((p) => p !== undefined) && parts.slice(0, -1).includes(LEDGER_SCHEMA)) return true;
    return value.some((v) => names(v, schemas));
  }
  if (value === null || typeof value !== 'object') return false;
  const node = value as Record<string, unknown>;
  if (schemas && stringOf(node) === LEDGER_SCHEMA) return true;
  if (SCHEMA_KEYS.some((k) => node[k] === LEDGER_SCHEMA)) return true;
  if (node.renameType === 'OBJECT_SCHEMA' && (node.subname === LEDGER_SCHEMA || node.newname === LEDGER_SCHEMA)) return true;
  if (node.pubobjtype === 'PUBLICATIONOBJ_TABLES_IN_SCHEMA' && node.name === LEDGER_SCHEMA) return true;
  const inner = schemas || ofSchemas(node);
  return Object.values(node).some((v) => names(v, inner));
}

/** A statement (or option) whose bare names are schemas': DROP SCHEMA, GRANT … ON SCHEMA, COMMENT ON SCHEMA, … */
function ofSchemas(node: Record<string, unknown>): boolean {
  return (
    node.objtype === 'OBJECT_SCHEMA' ||
    node.removeType === 'OBJECT_SCHEMA' ||
    node.objectType === 'OBJECT_SCHEMA' ||
    node.targtype === 'ACL_TARGET_ALL_IN_SCHEMA' ||
    (typeof node.defname === 'string' && SCHEMA_OPTIONS.has(node.defname))
  );
}

/** The name a String node holds. */
function stringOf(value: unknown): string | undefined {
  const s = (value as { String?: { sval?: unknown } } | null)?.String?.sval;
  return typeof s === 'string' ? s : undefined;
}

/**
 * The lexical reading's answer, for a text the parser refused: any mention of the name, as a word, in
 * any case. It cannot be told whether it names the schema, so it is taken to.
 */
export function mentionsLedgerSchema(text: string): boolean {
  return new RegExp(`\\b${LEDGER_SCHEMA}\\b`, 'i').test(text);
}
