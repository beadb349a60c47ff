/**
 * The state file's format, version 2: what the judge and the journal write to disk, declared here
 * apart from the judge's own types. The judge converts to and from it (core/judgeSnapshot.ts), so a
 * change inside the judge changes the file only where a converter says so, and a change of the file
 * is a new version with a migration (io/stateMigration.ts). io/stateShape.ts checks a file against it.
 */
import type { UnitSpec } from './judge';

/** The version a state file is written in. */
export const STATE_FORMAT_VERSION = 2;

/** A log file: its identity (fingerprint of its first line), name and inode. */
export interface SavedFileRef {
  key: string;
  name: string;
  ino: number;
}

/** One statement of a logged record: the record's place, and the statement's index in it. */
export interface SavedPlace {
  file: SavedFileRef;
  offset: number;
  end: number;
  part: number;
}

/** A committed unit's DDL, by place: its text stays in the log. */
export interface SavedUnit {
  file: SavedFileRef;
  offset: number;
  end: number;
  key: number;
  parts: number[];
  settings: string[];
  database: string;
  user: string;
  sessionId: string;
  logTime: string;
  runsAlone: boolean;
  actsOnDatabase: boolean;
  prepares?: SavedPlace[];
  rewrites?: Record<number, string>;
  resets?: Record<number, { statements: string[]; restoresRole: boolean }>;
  /** What its failed statement left on the primary (core/partialWork). */
  leftBehind?: 'invalid-index';
}

/** Session settings (name → `SET` statement) and temporary objects in force. */
export interface SavedView {
  settings: Record<string, string>;
  temp: string[];
}

export interface SavedSession {
  id: string;
  pid: number;
  /** The session logs transaction control (`log_statement = 'all'`). */
  exact: boolean;
  /** Undecided transactions (ids), oldest first. */
  txs: number[];
  view: SavedView;
  /** Its prepared statements, by name. */
  prepared: Record<string, SavedPlace>;
  /** Its last statement record, and the hash of its text once taken. */
  last?: { tx: number; textHash?: string; record: string; units?: number[] };
}

/**
 * Where a transaction stands. running: may still do anything; aborted: an error hit it inside a
 * block (`by`: the hash of the statement the error was raised in); committing: ended, or its COMMIT
 * was logged, with no error yet; preparing: its PREPARE TRANSACTION was logged; prepared: waits for
 * COMMIT or ROLLBACK PREPARED; unknown: was ending when the server crashed, at `crashedAt`.
 */
export type SavedTxState =
  | { is: 'running' }
  | { is: 'aborted'; by?: string }
  | { is: 'committing' }
  | { is: 'preparing' }
  | { is: 'prepared' }
  | { is: 'committed' }
  | { is: 'failed' }
  | { is: 'unknown'; crashedAt: string };

/**
 * How the log shows a transaction's block: none (a statement on its own, as far as the log tells),
 * logged (its BEGIN was logged), unlogged (a block whose BEGIN the log does not show).
 */
export type SavedBlock = 'none' | 'logged' | 'unlogged';

export interface SavedSavepoint {
  name: string;
  /** Units of the transaction before it, and parts of the last of them. */
  units: number;
  parts: number;
  view: SavedView;
  local: Record<string, string>;
}

export interface SavedTx {
  id: number;
  session: string;
  pid: number;
  vxid: string;
  state: SavedTxState;
  block: SavedBlock;
  /** Its statements came by the extended protocol, whose records do not tell a block. */
  extendedProtocol: boolean;
  /** Runs a statement that commits transactions of its own (CREATE INDEX CONCURRENTLY, …). */
  ownCommits: boolean;
  /** A transaction a multi-statement string went on in after its own end: the string's record, and which of its transactions this is (1, 2, …). */
  continues?: { record: string; segment: number };
  /** The name its PREPARE TRANSACTION gave it. */
  gid?: string;
  /** For a prepared transaction: the transaction of its COMMIT PREPARED, or of its ROLLBACK PREPARED. */
  commitPreparedIn?: number;
  rollbackPreparedIn?: number;
  view: SavedView;
  before: SavedView;
  local: Record<string, string>;
  savepoints: SavedSavepoint[];
  /** Orders of its units still pending. */
  units: number[];
  /** Temporary tables made ON COMMIT DROP. */
  dropOnCommit: string[];
}

/** A unit waiting for its transaction's end. */
export interface SavedPending extends SavedUnit {
  order: number;
  tx: number;
  /** A savepoint rolled back, or an error, undid it. */
  dropped: boolean;
  textHash: string;
  /** Its capture records' transactions, and the primary's answer where it was final. */
  captures?: SavedCapture[];
}

/** A capture record's transactions (see core/capture): full xids in decimal. */
export interface SavedCapture {
  xid: string;
  sub: string;
  status?: 'committed' | 'aborted' | 'in progress' | 'unknown';
}

/** DDL the log shows no statement of (run inside a function or DO block), not handled yet. */
export interface SavedNested {
  at: string;
  fileKey: string;
  database: string;
  sessionId: string;
  logTime: string;
  tag: string;
  objects: { identity: string | null; type: string; action: 'created' | 'altered' | 'dropped' }[];
  statement: string;
}

/** Everything the judge knows between runs, as the state file holds it. */
export interface JudgeSnapshot {
  nextOrder: number;
  nextTx: number;
  sessions: SavedSession[];
  txs: SavedTx[];
  pending: SavedPending[];
  /** Prepared transactions: gid → transaction id. */
  prepared: Record<string, number>;
  nested?: SavedNested[];
  /** Objects the primary made that the targets never got (core/neverGot). */
  neverGot?: SavedNeverGot[];
}

/** An object the primary made that the targets never got: a schema, or the search_path its name had. */
export interface SavedNeverGot {
  database: string;
  kind: string;
  schema?: string;
  name: string;
  path?: string;
  /** Its schema is not known (a REINDEX the log did not show): a DROP of the name in any schema matches. */
  anySchema?: boolean;
  why: string;
}

/**
 * Fails to compile when an object has keys left: what a converter took apart must be all there is,
 * so a field added to a type is given a place in the file (or said to have none) before it builds.
 */
export function nothingLeft(_rest: Record<string, never>): void {}

/** A unit as the file holds it. */
export function unitToSaved(u: UnitSpec): SavedUnit {
  const { file, offset, end, key, parts, settings, database, user, sessionId, logTime, runsAlone, actsOnDatabase, prepares, rewrites, resets, stop, leftBehind, ...rest } = u;
  nothingLeft(rest);
  return {
    file: fileRefOf(file),
    offset,
    end,
    key,
    parts: [...parts],
    settings: [...settings],
    database,
    user,
    sessionId,
    logTime,
    runsAlone,
    actsOnDatabase,
    ...(prepares && { prepares: prepares.map(placeOf) }),
    ...(rewrites && { rewrites: { ...rewrites } }),
    ...(resets && { resets: { ...resets } }),
    ...(stop !== undefined && { stop }),
    ...(leftBehind !== undefined && { leftBehind }),
  };
}

/** A unit read from the file (the judge's UnitSpec has the same fields, today). */
export function unitFromSaved(u: SavedUnit): UnitSpec {
  return unitToSaved(u);
}

/** Copies only the fields of a file reference. */
export function fileRefOf(f: SavedFileRef): SavedFileRef {
  return { key: f.key, name: f.name, ino: f.ino };
}

/** Copies only the fields of a place. */
export function placeOf(p: SavedPlace): SavedPlace {
  return { file: fileRefOf(p.file), offset: p.offset, end: p.end, part: p.part };
}
