/**
 * The tables (and views, sequences, …) a statement names: where it takes its locks. A statement that
 * gave way on a lock is reported with them, so a DBA sees which table is held and by whom.
 */
import { parseStatements } from './parser';
import { walk } from './tempObjects';

export interface RelationName {
  schema?: string;
  name: string;
}

/** The relations named in `sql`, each once, as written (unqualified where it is); [] if it does not parse. */
export function relationsNamed(sql: string): RelationName[] {
  const seen = new Map<string, RelationName>();
  for (const stmt of parseStatements(sql) ?? []) {
    walk(
      stmt.node,
      (rv) => {
        const key = `${rv.schemaname ?? ''}\u0000${rv.relname}`;
        if (!seen.has(key)) seen.set(key, rv.schemaname ? { schema: rv.schemaname, name: rv.relname } : { name: rv.relname });
      },
      () => undefined,
    );
  }
  return [...seen.values()];
}
