/**
 * The ledger: in each target database the tool writes to, a table of the source positions applied
 * there, written in the same transaction as the statement. Whatever the state file says, a statement
 * whose position is in the ledger is never applied again.
 */
import type { Client } from 'pg';
import { LEDGER_SCHEMA } from '../core/ledgerSchema';

export { LEDGER_SCHEMA };

/**
 * The tool's SQL runs as the sync user, usually a superuser, in sessions whose search_path is the
 * target's (the applier's connection also runs the primary's DDL, which must see the search_path it
 * saw there). Every function, operator and type a statement here names is therefore qualified with
 * pg_catalog and every parameter typed: a role that can create in a schema on that search_path could
 * otherwise put there a function or operator (`public.pg_try_advisory_lock(text, integer)`) that wins
 * the lookup, and runs as the sync user. Relations are qualified with the ledger's schema.
 */
const EQ = 'OPERATOR(pg_catalog.=)';

/**
 * What a row says of its position: `in_flight` (a statement that runs alone is under way), `done`
 * (applied), `skipped` (a person skipped it: never applied here), `adopted` (see ADOPTED_BELOW).
 */
const STATES = "'in_flight', 'done', 'skipped', 'adopted'";

/**
 * The ledger, made with search_path pinned for the transaction: its column types, DEFAULT and CHECK
 * are bound to what their names mean as it is created, for good.
 */
const CREATE_LEDGER = `
BEGIN;
SET LOCAL search_path = pg_catalog, pg_temp;
CREATE SCHEMA IF NOT EXISTS ${LEDGER_SCHEMA};
CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.applied (
  source        text        NOT NULL,
  file_key      text        NOT NULL,
  record_offset bigint      NOT NULL,
  log_file      text        NOT NULL,
  state         text        NOT NULL CONSTRAINT applied_state_check CHECK (state IN (${STATES})),
  statement     text        NOT NULL,
  applied_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (file_key, record_offset)
);
COMMENT ON SCHEMA ${LEDGER_SCHEMA} IS 'pg-ddl-sync: statements applied here from a primary''s log (see its README)';
COMMIT;
`;

/** A statement's place in the source log, as the ledger keys it. */
export interface LedgerKey {
  source: string;
  /** The log file's identity: the fingerprint of its first record. */
  fileKey: string;
  offset: number;
}

export type LedgerEntry = 'done' | 'in_flight' | 'skipped';

/**
 * An `adopted` row stands for every position of its log file below a bound: the target was given a
 * schema that has all of them (pg_dump, a base backup) and was adopted at that point. Its
 * record_offset is -1 - bound: no statement's position is negative, so the row never takes the key a
 * statement's claim needs.
 */
export function adoptedOffset(bound: number): number {
  return -1 - bound;
}

/** What the ledger of one database holds for the positions asked about. */
export interface Ledger {
  /** Rows of single positions, keyed `fileKey@offset`. */
  entries: Map<string, LedgerEntry>;
  /** By log file: every position below this counts as applied (the highest adoption). */
  adoptedBelow: Map<string, number>;
}

/** How the ledger settles a position: applied, skipped, adopted with everything before it, or not. */
export function settledBy(ledger: Ledger, fileKey: string, offset: number): 'done' | 'skipped' | 'adopted' | null {
  const entry = ledger.entries.get(entryKey(fileKey, offset));
  if (entry === 'done' || entry === 'skipped') return entry;
  return offset < (ledger.adoptedBelow.get(fileKey) ?? 0) ? 'adopted' : null;
}

/** Who owns the ledger's schema and table in the connected database; null where one is missing. */
export interface LedgerOwners {
  schema: string | null;
  table: string | null;
}

/**
 * Columns `schema_owner` and `table_owner` (see LedgerOwners), for a SELECT of one row: the table is
 * whatever relation has its name, a view or a foreign table included.
 */
export const LEDGER_OWNERS = `(SELECT pg_catalog.pg_get_userbyid(n.nspowner) FROM pg_catalog.pg_namespace n
      WHERE n.nspname ${EQ} '${LEDGER_SCHEMA}'::pg_catalog.name) AS schema_owner,
    (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid ${EQ} c.relnamespace
      WHERE n.nspname ${EQ} '${LEDGER_SCHEMA}'::pg_catalog.name AND c.relname ${EQ} 'applied'::pg_catalog.name) AS table_owner`;

/**
 * Makes sure the connected database has a ledger the sync user owns: created when missing (one made
 * meanwhile by another process is fine), refused when someone else made the schema or the table. The
 * tool writes the ledger as the sync user: a trigger or rule that another role put on it, or on a
 * relation of that name, would run as the sync user.
 * @param owners as LEDGER_OWNERS read them
 * @param sessionUser the role the tool connected as
 * @returns an error message when the ledger is not the sync user's, else null
 */
export async function ensureLedger(client: Client, owners: LedgerOwners, sessionUser: string): Promise<string | null> {
  // Before anything is made: a table made in another role's schema would be at that role's mercy.
  const foreign = foreignLedger(owners, sessionUser);
  if (foreign || (owners.schema !== null && owners.table !== null)) return foreign;
  try {
    await client.query(CREATE_LEDGER);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    // Another process created it at the same moment (CREATE … IF NOT EXISTS can still collide).
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P06' && code !== '42P07') throw err;
  }
  // Again: what was made meanwhile by someone else was kept by IF NOT EXISTS.
  const res = await client.query<{ schema_owner: string | null; table_owner: string | null }>(`SELECT ${LEDGER_OWNERS}`);
  return foreignLedger({ schema: res.rows[0].schema_owner, table: res.rows[0].table_owner }, sessionUser);
}

/** Why a ledger some other role owns cannot be used, or null when what there is of it is the sync user's. */
function foreignLedger(owners: LedgerOwners, sessionUser: string): string | null {
  const other =
    owners.schema !== null && owners.schema !== sessionUser ? `schema ${LEDGER_SCHEMA} is owned by role ${owners.schema}`
    : owners.table !== null && owners.table !== sessionUser ? `table ${LEDGER_SCHEMA}.applied is owned by role ${owners.table}`
    : null;
  if (other === null) return null;
  return `${other}, not by ${sessionUser}, the role the tool connects as: pg-ddl-sync keeps its ledger there and will not write into objects another role controls; look at who made it, drop it, and run again`;
}

/**
 * The ledger rows of these log files, from a position on in each, and their adoptions (whatever their
 * bound). The source name only labels rows: a file's fingerprint alone identifies it, so a `replay` of
 * files copied elsewhere, or run under another source name, still finds what a `run` applied from them.
 * @param from for each log file (by its key), the lowest position that may be asked about: the
 *   entries before it, applied in earlier runs, are not read
 */
export async function loadLedger(client: Client, from: ReadonlyMap<string, number>): Promise<Ledger> {
  const res = await client.query<{ file_key: string; record_offset: string; state: LedgerEntry | 'adopted' }>(
    `SELECT a.file_key, a.record_offset, a.state
       FROM ${LEDGER_SCHEMA}.applied a
       JOIN ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.int8[])) AS f(file_key, first) ON a.file_key ${EQ} f.file_key
      WHERE a.record_offset OPERATOR(pg_catalog.>=) f.first OR a.state ${EQ} 'adopted'::pg_catalog.text`,
    [[...from.keys()], [...from.values()]],
  );
  const ledger: Ledger = { entries: new Map(), adoptedBelow: new Map() };
  for (const r of res.rows) {
    const offset = Number(r.record_offset);
    if (r.state !== 'adopted') {
      ledger.entries.set(entryKey(r.file_key, offset), r.state);
      continue;
    }
    const bound = -1 - offset;
    if (bound > (ledger.adoptedBelow.get(r.file_key) ?? 0)) ledger.adoptedBelow.set(r.file_key, bound);
  }
  return ledger;
}

export function entryKey(fileKey: string, offset: number): string {
  return `${fileKey}@${offset}`;
}

/**
 * Claims a position inside the statement's own transaction: inserts its row, or, when the row is
 * there already, returns false. A concurrent applier of the same statement (a `replay` beside a
 * `run`, two runs with different state files) waits on the row's key until this transaction ends,
 * then finds it; so a statement commits on a target once, whatever the callers believed before.
 */
export async function claimEntry(client: Client, key: LedgerKey, logFile: string, state: LedgerEntry | 'adopted', statement: string): Promise<boolean> {
  const params = '$1::pg_catalog.text, $2::pg_catalog.text, $3::pg_catalog.int8, $4::pg_catalog.text, $5::pg_catalog.text, $6::pg_catalog.text';
  const res = await client.query(claimSql(`VALUES (${params})`), [key.source, key.fileKey, key.offset, logFile, state, statement]);
  return res.rowCount === 1;
}

/**
 * The claim of a position (see claimEntry) as a statement to run in a query of several: values as
 * escaped literals (pg's, read the same whatever standard_conforming_strings says), and on a position
 * claimed already it fails (see isClaimedAlready), so that the server skips the rest of the query, the
 * statement it stands for included.
 * @param mark a setting the claim also sets, for the session, as it inserts the row: like any
 *   setting made in a transaction it is undone if the transaction does not commit
 */
export function claimStatement(client: Client, key: LedgerKey, logFile: string, shown: string, mark?: { name: string; value: string }): string {
  // The offset as a number: in a SELECT a quoted literal is text, which no INSERT turns into bigint.
  const [source, fileKey, file, statement] = [key.source, key.fileKey, logFile, shown].map((v) => client.escapeLiteral(v));
  const values = [source, fileKey, `${key.offset}::pg_catalog.int8`, file, "'done'", statement].join(', ');
  if (!mark) return claimSql(`VALUES (${values})`, 'fail');
  return claimSql(`SELECT ${values} WHERE pg_catalog.set_config(${client.escapeLiteral(mark.name)}::pg_catalog.text, ${client.escapeLiteral(mark.value)}::pg_catalog.text, false) IS NOT NULL`, 'fail');
}

/** The error of a claimStatement on a position claimed already. */
export function isClaimedAlready(err: unknown): boolean {
  const e = err as { code?: string; schema?: string; table?: string };
  return e.code === '23505' && e.schema === LEDGER_SCHEMA && e.table === 'applied';
}

/**
 * The INSERT that claims a position, of a row of six values (source, file_key, record_offset,
 * log_file, state, statement): on a position claimed already it does nothing, or fails.
 * @param row `VALUES (…)`, or a SELECT of one row
 */
function claimSql(row: string, claimed: 'skip' | 'fail' = 'skip'): string {
  return `INSERT INTO ${LEDGER_SCHEMA}.applied (source, file_key, record_offset, log_file, state, statement)
     ${row}${claimed === 'skip' ? '\n     ON CONFLICT (file_key, record_offset) DO NOTHING\n     RETURNING 1' : ''}`;
}

/** The condition on a position's row, its key as parameters $1 and $2. */
const KEY_IS = `file_key ${EQ} $1::pg_catalog.text AND record_offset ${EQ} $2::pg_catalog.int8`;

/** The entry of a position as committed now, or null. */
export async function readEntry(client: Client, key: LedgerKey): Promise<LedgerEntry | null> {
  const res = await client.query<{ state: LedgerEntry }>(
    `SELECT state FROM ${LEDGER_SCHEMA}.applied WHERE ${KEY_IS}`,
    [key.fileKey, key.offset],
  );
  return res.rows[0]?.state ?? null;
}

/**
 * Lets a ledger made before rows for skips and adoptions existed take them: its CHECK on state named
 * only 'in_flight' and 'done'. Run as the sync user, who owns the table (see ensureLedger); the ALTER
 * is made only when the CHECK lacks them, as it takes a lock on the table.
 */
export async function upgradeLedger(client: Client): Promise<void> {
  const res = await client.query<{ def: string | null }>(
    `SELECT pg_catalog.pg_get_constraintdef(c.oid) AS def
       FROM pg_catalog.pg_constraint c
      WHERE c.conrelid OPERATOR(pg_catalog.=) '${LEDGER_SCHEMA}.applied'::pg_catalog.regclass AND c.contype OPERATOR(pg_catalog.=) 'c'::pg_catalog.char
        AND c.conname OPERATOR(pg_catalog.=) 'applied_state_check'::pg_catalog.name`,
  );
  if (res.rows[0]?.def?.includes("'adopted'")) return;
  await client.query(`BEGIN;
SET LOCAL search_path = pg_catalog, pg_temp;
ALTER TABLE ${LEDGER_SCHEMA}.applied DROP CONSTRAINT IF EXISTS applied_state_check,
  ADD CONSTRAINT applied_state_check CHECK (state IN (${STATES}));
COMMIT;`);
}

/**
 * Records in the ledger that a person skipped the statement at this position: no run applies it
 * here, whatever a state file says.
 */
export async function recordSkip(client: Client, key: LedgerKey, logFile: string, shown: string): Promise<void> {
  await claimEntry(client, key, logFile, 'skipped', shown);
}

/**
 * Records in the ledger that the target was adopted: in each log file, every position below its
 * bound counts as applied here.
 * @param note what the row's statement column says (who adopted, from where)
 */
export async function recordAdoption(client: Client, source: string, bounds: { fileKey: string; logFile: string; bound: number }[], note: string): Promise<void> {
  for (const b of bounds) {
    await claimEntry(client, { source, fileKey: b.fileKey, offset: adoptedOffset(b.bound) }, b.logFile, 'adopted', note);
  }
}

/** Marks an `in_flight` position done, once the statement it stands for has run. */
export async function markDone(client: Client, key: LedgerKey): Promise<void> {
  await client.query(
    `UPDATE ${LEDGER_SCHEMA}.applied SET state = 'done', applied_at = pg_catalog.now() WHERE ${KEY_IS}`,
    [key.fileKey, key.offset],
  );
}

export async function removeEntry(client: Client, key: LedgerKey): Promise<void> {
  await client.query(
    `DELETE FROM ${LEDGER_SCHEMA}.applied WHERE ${KEY_IS}`,
    [key.fileKey, key.offset],
  );
}

/**
 * Holds a session-level advisory lock on a position while a statement that cannot run in a
 * transaction is applied: a second applier of it waits, then finds it done. A crashed applier's lock
 * goes with its connection. The two-key form, with a class of the tool's own, keeps clear of the
 * one-key locks applications take.
 *
 * The wait polls with pg_try_advisory_lock rather than blocking in pg_advisory_lock: a blocked query
 * holds a snapshot, and `CREATE INDEX CONCURRENTLY`, which the holder may be running, waits for every
 * older snapshot to go. Blocking would be a deadlock.
 */
export async function withPositionLock<T>(client: Client, key: LedgerKey, timeoutMs: number | undefined, fn: () => Promise<T>): Promise<T> {
  const args = [ADVISORY_CLASS, `${key.fileKey}@${key.offset}`];
  // Waited for as long as a lock is (the lock timeout); 0 or none: as long as it takes.
  const deadline = timeoutMs ? Date.now() + timeoutMs : Infinity;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    const res = await client.query<{ ok: boolean }>('SELECT pg_catalog.pg_try_advisory_lock($1::pg_catalog.int4, pg_catalog.hashtext($2::pg_catalog.text)) AS ok', args);
    if (res.rows[0].ok) break;
    if (Date.now() > deadline) {
      throw Object.assign(new Error('another applier of this statement (a replay, or a run with another state file) holds it; retried next run'), {
        code: LOCK_NOT_AVAILABLE,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  try {
    return await fn();
  } finally {
    await client.query('SELECT pg_catalog.pg_advisory_unlock($1::pg_catalog.int4, pg_catalog.hashtext($2::pg_catalog.text))', args).catch(() => undefined);
  }
}

/** SQLSTATE 55P03, as a lock timeout reports it. */
const LOCK_NOT_AVAILABLE = '55P03';

/** The advisory lock class of the tool's positions: "pgds" in ASCII. */
const ADVISORY_CLASS = 0x70676473;
