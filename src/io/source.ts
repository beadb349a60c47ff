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
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
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
}

// Every transaction holds a lock on its own virtual xid; pg_locks shows every backend's to any user.
const RUNNING = `SELECT pid, virtualxid FROM pg_catalog.pg_locks WHERE locktype OPERATOR(pg_catalog.=) 'virtualxid'::pg_catalog.text AND granted`;

/** Marks the primary's log, takes the running transactions, and marks it again. */
export async function askSource(spec: TargetSpec, opts: ConnectOptions): Promise<SourceAnswer> {
  return withClient(spec, undefined, opts, async (client) => {
    const before = await mark(client);
    const rows = await client.query<{ pid: number; virtualxid: string }>(RUNNING);
    const after = await mark(client);
    return {
      before,
      after,
      running: new Set(rows.rows.map((r) => `${r.pid}/${r.virtualxid}`)),
      busy: new Set(rows.rows.map((r) => r.pid)),
    };
  });
}

async function mark(client: Client): Promise<string> {
  const text = `pg-ddl-sync marker ${randomUUID()}`;
  // A literal, not a parameter: DO takes none. The text is ours and holds no quote.
  await client.query(`DO $pgds$ BEGIN RAISE LOG '${text}'; END $pgds$`);
  return text;
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
