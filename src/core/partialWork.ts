/**
 * Statements that commit transactions of their own (`CREATE INDEX CONCURRENTLY`) and fail after the
 * first of them committed: their ERROR does not mean that nothing happened on the primary.
 *
 * `CREATE INDEX CONCURRENTLY` enters the index in the catalog, INVALID, and commits; it then builds
 * and validates it in further transactions. An error raised there (a duplicate key, a cancel, a
 * deadlock, a terminated session) leaves the index on the primary, INVALID: it is kept up by writes,
 * not used by queries, left out by pg_dump, and a later `REINDEX`, `DROP INDEX` or `ALTER INDEX` acts
 * on it. Each transaction has its own virtual xid, so the log proves which case it is: an error
 * logged with the statement's own virtual xid was raised in the first transaction, which rolled back
 * with nothing left; one logged with another was raised after the first committed.
 */
import { parseStatements } from './parser';
import { analyze } from './statements';

/** What a failed statement left on the primary: `invalid-index`, the index it made, INVALID. */
export type LeftBehind = 'invalid-index';

/**
 * What a statement that commits transactions of its own left on the primary when it failed.
 * @param statementVxid the virtual xid of the statement's own record
 * @param errorVxid the virtual xid of its ERROR (or FATAL) record
 * @param query the statement text the error names (its `query` column)
 * @returns undefined when it left nothing (it failed in its first transaction) or is not one of these
 */
export function leftBehind(statementVxid: string, errorVxid: string, query: string): LeftBehind | undefined {
  if (errorVxid === '' || statementVxid === '' || errorVxid === statementVxid) return undefined;
  const parts = analyze(query).parts.filter((p) => p.kind !== 'other');
  if (parts.length !== 1) return undefined;
  const [part] = parts;
  // A CREATE INDEX that runs alone is CONCURRENTLY (statementKind.runsAlone).
  if (part.kind === 'ddl' && part.tag === 'CREATE INDEX' && part.runsAlone) return 'invalid-index';
  return undefined;
}

/** The table a `CREATE INDEX` is on, as written, and the index's name when it gives one. */
export interface IndexTarget {
  schema?: string;
  table: string;
  name?: string;
}

/** The table and index name of a `CREATE INDEX` statement; null when it is not one or does not parse. */
export function indexTarget(sql: string): IndexTarget | null {
  const stmts = parseStatements(sql);
  if (stmts?.length !== 1 || stmts[0].type !== 'IndexStmt') return null;
  const node = stmts[0].node as { idxname?: string; relation?: { schemaname?: string; relname?: string } };
  if (!node.relation?.relname) return null;
  return {
    ...(node.relation.schemaname && { schema: node.relation.schemaname }),
    table: node.relation.relname,
    ...(node.idxname && { name: node.idxname }),
  };
}
