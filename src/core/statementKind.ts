/**
 * What a statement is, from its leading words: the classes PostgreSQL's `log_statement` uses (DDL or
 * not), transaction control, session settings, and the DDL that refuses to run in a transaction block.
 */
import { SqlStatement } from './sqlSplit';

export type TransactionVerb =
  | 'begin'
  | 'commit'
  | 'rollback'
  | 'savepoint'
  | 'release'
  | 'rollback to'
  | 'prepare transaction'
  | 'commit prepared'
  | 'rollback prepared';

export type StatementKind =
  | { kind: 'ddl'; runsAlone: boolean }
  | { kind: 'transaction'; verb: TransactionVerb }
  | { kind: 'set' }
  | { kind: 'other' };

// Leading words of the statements PostgreSQL's GetCommandLogLevel() puts at LOGSTMT_DDL.
const DDL_FIRST_WORDS = new Set([
  'create', 'alter', 'drop', 'grant', 'revoke', 'comment', 'security', 'import', 'refresh', 'reassign',
  'cluster',
]);

/** Classifies one statement of a split SQL string. */
export function classify(stmt: SqlStatement): StatementKind {
  const [w0, w1, w2] = stmt.words;
  switch (w0) {
    case 'begin':
    case 'start':
      return { kind: 'transaction', verb: 'begin' };
    case 'commit':
    case 'end':
      if (w1 === 'prepared') return { kind: 'transaction', verb: 'commit prepared' };
      return { kind: 'transaction', verb: 'commit' };
    case 'abort':
      return { kind: 'transaction', verb: 'rollback' };
    case 'rollback':
      if (w1 === 'prepared') return { kind: 'transaction', verb: 'rollback prepared' };
      if (w1 === 'to' || (w1 === 'work' && w2 === 'to') || (w1 === 'transaction' && w2 === 'to')) {
        return { kind: 'transaction', verb: 'rollback to' };
      }
      return { kind: 'transaction', verb: 'rollback' };
    case 'savepoint':
      return { kind: 'transaction', verb: 'savepoint' };
    case 'release':
      return { kind: 'transaction', verb: 'release' };
    case 'prepare':
      if (w1 === 'transaction') return { kind: 'transaction', verb: 'prepare transaction' };
      return { kind: 'other' };
    case 'set':
    case 'reset':
      return w1 === 'transaction' || w1 === 'constraints' ? { kind: 'other' } : { kind: 'set' };
    case 'select':
      // SELECT … INTO new_table is a CREATE TABLE AS in disguise.
      return stmt.topLevelInto ? { kind: 'ddl', runsAlone: false } : { kind: 'other' };
    default:
      if (w0 !== undefined && DDL_FIRST_WORDS.has(w0)) return { kind: 'ddl', runsAlone: runsAlone(stmt.words) };
      return { kind: 'other' };
  }
}

/** DDL that PostgreSQL refuses inside a transaction block (PreventInTransactionBlock callers). */
export function runsAlone(words: string[]): boolean {
  const [w0, w1] = words;
  if ((w0 === 'create' || w0 === 'drop') && (w1 === 'database' || w1 === 'tablespace')) return true;
  if ((w0 === 'create' || w0 === 'drop' || w0 === 'alter') && w1 === 'subscription') return true;
  if (w0 === 'alter' && w1 === 'system') return true;
  if (w0 === 'cluster' && words.length === 1) return true;
  if (w0 === 'alter' && w1 === 'database' && words.includes('tablespace')) return true;
  if ((w0 === 'create' || w0 === 'drop') && words.includes('concurrently')) {
    return words.includes('index') && words.indexOf('index') < words.indexOf('concurrently');
  }
  return false;
}
