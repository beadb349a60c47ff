/**
 * Statements on whole databases. PostgreSQL refuses to drop or rename a database that anyone is
 * connected to, or to copy one as a template while anyone is; the tool's own connections count. And
 * once a database is dropped or renamed, the statements logged in it before can no longer be checked
 * against the ledger that lived in it.
 */
import { stripLeadingComments } from './sqlSplit';

/** True for `CREATE DATABASE`, `DROP DATABASE` and `ALTER DATABASE`, from a statement's leading words. */
export function actsOnDatabase(words: readonly string[]): boolean {
  return (words[0] === 'create' || words[0] === 'drop' || words[0] === 'alter') && words[1] === 'database';
}

const IDENT = String.raw`("(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)`;
const DROP = new RegExp(String.raw`^drop\s+database\s+(?:if\s+exists\s+)?${IDENT}`, 'i');
const RENAME = new RegExp(String.raw`^alter\s+database\s+${IDENT}\s+rename\s+to\s`, 'i');
const ANY = new RegExp(String.raw`^(?:create|alter)\s+database\s+${IDENT}`, 'i');

/**
 * The name of the database a statement makes disappear (`DROP DATABASE x`, `ALTER DATABASE x RENAME
 * TO y`), or null.
 */
export function databaseRemovedBy(sql: string): string | null {
  const text = stripLeadingComments(sql);
  const m = DROP.exec(text) ?? RENAME.exec(text);
  return m ? identName(m[1]) : null;
}

/** The name of the database a CREATE, ALTER or DROP DATABASE acts on, or null. */
export function databaseActedOn(sql: string): string | null {
  const text = stripLeadingComments(sql);
  const m = DROP.exec(text) ?? ANY.exec(text);
  return m ? identName(m[1]) : null;
}

/** An unquoted name is folded to lower case, as the server does. */
function identName(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase();
}
