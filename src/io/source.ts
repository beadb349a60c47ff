/**
 * The primary itself, asked (through `--source`) which transactions are still running, for those whose
 * end its log does not show yet (a session idle after its last DDL, a block under
 * `log_statement = 'ddl'`).
 *
 * The answer is only as good as its place in the log. So the question is bracketed by two markers
 * written into the primary's log (`RAISE LOG`) through the same connection: what the log holds before
 * the first was written before the answer was taken, and every error of a transaction that had ended
 * when the answer was taken is in the log before the second (a backend logs its error before it lets
 * go of its transaction).
 *
 * Asked between the same markers: what `txid_status` says of the transactions capture records named
 * (core/capture). Its answer needs no place in the log: committed and aborted are final, and a
 * transaction in progress is asked about again next run.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import type { TxidStatus } from '../core/captureUse';
import { withClient } from './connect';
import { ConnectOptions, TargetSpec } from './target';

export interface SourceAnswer {
  /** Unique texts, one in each marker record. */
  before: string;
  after: string;
  /** Running transactions as `pid/virtual_xid`, the csvlog's own notation for the latter. */
  running: Set<string>;
  /** The pids running a transaction. */
  busy: Set<number>;
  /** txid_status of each xid asked about (with its epoch, in decimal); 'unknown' for its NULL. */
  statuses: Map<string, TxidStatus>;
}

// Every transaction holds a lock on its own virtual xid; pg_locks shows every backend's to any user.
const RUNNING = `SELECT pid, virtualxid FROM pg_catalog.pg_locks WHERE locktype OPERATOR(pg_catalog.=) 'virtualxid'::pg_catalog.text AND granted`;

// txid_status (PostgreSQL 10 on) of xids the capture records named: their MACs were checked, so each is
// one the primary gave out (an xid "in the future" would be an error).
const STATUSES = `SELECT x, pg_catalog.txid_status(x::pg_catalog.int8) AS status FROM pg_catalog.unnest($1::pg_catalog.text[]) AS x`;

/**
 * Marks the primary's log, takes the running transactions (and the status of `xids`), and marks it again.
 * @param xids transactions named by capture records, with their epochs
 */
export async function askSource(spec: TargetSpec, opts: ConnectOptions, xids: readonly string[] = []): Promise<SourceAnswer> {
  return withClient(spec, undefined, opts, async (client) => {
    const before = await mark(client);
    const rows = await client.query<{ pid: number; virtualxid: string }>(RUNNING);
    const statuses = xids.length === 0 ? [] : (await client.query<{ x: string; status: string | null }>(STATUSES, [xids])).rows;
    const after = await mark(client);
    return {
      before,
      after,
      running: new Set(rows.rows.map((r) => `${r.pid}/${r.virtualxid}`)),
      busy: new Set(rows.rows.map((r) => r.pid)),
      statuses: new Map(statuses.map((r) => [r.x, (r.status ?? 'unknown') as TxidStatus])),
    };
  });
}

async function mark(client: Client): Promise<string> {
  const text = `pg-ddl-sync marker ${randomUUID()}`;
  // A literal, not a parameter: DO takes none. The text is ours and holds no quote.
  await client.query(`DO $pgds$ BEGIN RAISE LOG '${text}'; END $pgds$`);
  return text;
}

/** SQLSTATEs of a missing schema or table: the capture helper is not installed there. */
const NOT_INSTALLED = new Set(['3F000', '42P01']);

/**
 * The primary's capture key (core/capture), read in the database the source connects to; null where
 * the capture helper is not installed there. Only a superuser (or a role granted it) can read it.
 */
export async function readCaptureKey(spec: TargetSpec, opts: ConnectOptions): Promise<string | null> {
  return withClient(spec, undefined, opts, async (client) => {
    try {
      const rows = await client.query<{ key: string }>('SELECT key FROM ddl_sync_capture.key');
      return rows.rows[0]?.key ?? null;
    } catch (err) {
      if (NOT_INSTALLED.has((err as { code?: string }).code ?? '')) return null;
      throw err;
    }
  });
}

/** The encoding of each database of the primary: the encoding its statements are logged in. */
export async function databaseEncodings(spec: TargetSpec, opts: ConnectOptions): Promise<Map<string, string>> {
  return withClient(spec, undefined, opts, async (client) => {
    const rows = await client.query<{ datname: string; encoding: string }>(
      'SELECT datname, pg_catalog.pg_encoding_to_char(encoding) AS encoding FROM pg_catalog.pg_database',
    );
    return new Map(rows.rows.map((r) => [r.datname, r.encoding]));
  });
}
