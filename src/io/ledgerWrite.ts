/**
 * Writing to a target's ledger outside a run (`skip`, `adopt`): a connection with search_path
 * pinned, the ledger made (or made ready for skips and adoptions) as the sync user, who must own it.
 */
import type { Client, QueryResult } from 'pg';
import { TargetError } from '../errors';
import { LEDGER_OWNERS, ensureLedger, upgradeLedger } from './ledger';
import { Opener, openClient, withClient } from './connect';
import { ConnectOptions, TargetSpec } from './target';

/**
 * Runs `fn` on a connection to one database of a target whose ledger is ready, then closes it.
 * Throws a TargetError when the target cannot be reached or the ledger is another role's.
 */
export async function withLedger<T>(spec: TargetSpec, database: string, opts: ConnectOptions, fn: (client: Client) => Promise<T>): Promise<T> {
  return withClient(
    spec,
    database,
    opts,
    async (client) => {
      try {
        const res = (await client.query(`SELECT ${LEDGER_OWNERS}, session_user AS user`)) as QueryResult<{ schema_owner: string | null; table_owner: string | null; user: string }>;
        const { schema_owner, table_owner, user } = res.rows[0];
        const foreign = await ensureLedger(client, { schema: schema_owner, table: table_owner }, user);
        if (foreign) throw new TargetError(spec.name, `database ${database}: ${foreign}`);
        await upgradeLedger(client);
        return await fn(client);
      } catch (err) {
        if (err instanceof TargetError) throw err;
        throw new TargetError(spec.name, `database ${database}: cannot write the ledger: ${(err as Error).message}; nothing was recorded`);
      }
    },
    failingAs(`cannot connect to database ${database}`),
  );
}

/**
 * The databases of a target, by name, that an adoption marks: those that can be connected to, but
 * not templates (a ledger in template1 would be copied into every database made later).
 */
export async function targetDatabases(spec: TargetSpec, opts: ConnectOptions): Promise<string[]> {
  return withClient(
    spec,
    undefined,
    opts,
    async (client) => {
      const res = await client.query<{ datname: string }>(
        'SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname',
      );
      return res.rows.map((r) => r.datname);
    },
    failingAs('cannot connect'),
  );
}

/** openClient, its failure a TargetError that says `what` and that nothing was recorded. */
function failingAs(what: string): Opener {
  return (spec, database, opts) =>
    openClient(spec, database, opts).catch((err: unknown) => {
      throw new TargetError(spec.name, `${what}: ${(err as Error).message}; nothing was recorded`);
    });
}
