/**
 * Statement extraction: from the text one log record carries, the statements a target must run.
 *
 * A record holds what the client sent in one message: one statement, or (from most drivers) several
 * separated by `;`, run by the primary as one implicit transaction unless they contain their own
 * transaction control. Only DDL, and the `SET`s that shape it, reach a target; statements a `ROLLBACK`
 * inside the string undid do not.
 */
import { actsOnDatabase } from './databaseStatements';
import { classify } from './statementKind';
import { SqlStatement, splitSql } from './sqlSplit';

export interface Extracted {
  /** What to run, in order. Empty when the record holds no DDL that committed within it. */
  statements: string[];
  /** True when the (single) statement refuses to run inside a transaction block. */
  runsAlone: boolean;
  /** True when a `SET` is among the statements: the connection needs a reset after them. */
  setsSession: boolean;
  /** True when a statement creates, drops or alters a whole database (see databaseStatements). */
  actsOnDatabase: boolean;
  /** Statements of the record that are not DDL and were left out. */
  leftOut: number;
}

/** The statements of a logged text that a target must run. */
export function extractDdl(text: string): Extracted {
  const parts = splitSql(text);
  if (parts.length === 1) {
    const kind = classify(parts[0]);
    if (kind.kind === 'ddl') {
      return { statements: [text], runsAlone: kind.runsAlone, setsSession: false, actsOnDatabase: actsOnDatabase(parts[0].words), leftOut: 0 };
    }
    return { statements: [], runsAlone: false, setsSession: false, actsOnDatabase: false, leftOut: 1 };
  }
  return extractFromString(parts);
}

interface Savepoint {
  name: string;
  kept: number;
}

function extractFromString(parts: SqlStatement[]): Extracted {
  const kept: string[] = [];
  let block: string[] | null = null;
  let savepoints: Savepoint[] = [];
  let leftOut = 0;
  let runsAlone = false;
  let setsSession = false;
  let onDatabase = false;
  for (const part of parts) {
    const kind = classify(part);
    const into = block ?? kept;
    switch (kind.kind) {
      case 'ddl':
        into.push(part.text);
        runsAlone ||= kind.runsAlone;
        onDatabase ||= actsOnDatabase(part.words);
        break;
      case 'set':
        into.push(toSetLocal(part.text));
        setsSession = true;
        break;
      case 'other':
        leftOut++;
        break;
      case 'transaction':
        switch (kind.verb) {
          case 'begin':
            block ??= [];
            break;
          case 'commit':
            if (block) kept.push(...block);
            block = null;
            savepoints = [];
            break;
          case 'rollback':
          case 'prepare transaction':
            // A prepared transaction commits, if ever, in a later record: not from this string.
            leftOut += block?.length ?? 0;
            block = null;
            savepoints = [];
            break;
          case 'savepoint':
            savepoints.push({ name: part.words[1] ?? '', kept: into.length });
            break;
          case 'rollback to': {
            const name = part.words[part.words.length - 1];
            const at = savepoints.map((s) => s.name).lastIndexOf(name);
            if (at >= 0) {
              leftOut += into.length - savepoints[at].kept;
              into.length = savepoints[at].kept;
              savepoints = savepoints.slice(0, at + 1);
            }
            break;
          }
          case 'release':
          case 'commit prepared':
          case 'rollback prepared':
            break;
        }
        break;
    }
  }
  // A block the string left open goes on in the session; under log_statement = 'ddl' its end is not
  // logged, so it is taken as committed, like any statement logged inside a block.
  if (block) kept.push(...block);
  const hasDdl = kept.some((s) => !isSet(s));
  return {
    statements: hasDdl ? kept : [],
    runsAlone,
    setsSession: hasDdl && setsSession,
    actsOnDatabase: hasDdl && onDatabase,
    leftOut,
  };
}

function isSet(text: string): boolean {
  return /^(set|reset)\s/i.test(text);
}

/** `SET x = 1` → `SET LOCAL x = 1`, so a setting lasts only for the transaction that applies it. */
function toSetLocal(text: string): string {
  if (/^set\s+local\s/i.test(text)) return text;
  if (/^set\s+session\s+(authorization|characteristics)\b/i.test(text)) {
    return text.replace(/^set\s+session\s+/i, 'SET LOCAL SESSION ');
  }
  return text.replace(/^set\s+(session\s+)?/i, 'SET LOCAL ');
}
