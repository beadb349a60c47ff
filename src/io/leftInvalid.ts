/**
 * A target left as a failed `CREATE INDEX CONCURRENTLY` left the primary: with the index, INVALID
 * (core/partialWork). The statement runs as the primary ran it; where it builds the index whole, the
 * index is then marked INVALID in pg_index, as the primary has it. No SQL command makes an index
 * INVALID: the catalog is written directly, which needs a superuser. An INVALID index is kept up by
 * writes and never used by queries; pg_dump leaves it out, on the primary as on the target.
 */
import type { Client } from 'pg';
import { IndexTarget, indexTarget } from '../core/partialWork';

/** A statement run alone: it ran, or what it makes was there already (as the applier's runAlone says). */
export type RunOutcome = { kind: 'ran' } | { kind: 'there'; error: unknown };

/** SQLSTATE 42501: the sync user may not write pg_index. */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Runs the statement through `run` and leaves the index it makes INVALID.
 * @param client the target's connection, as the role that ran the statement on the primary
 * @param sql the `CREATE INDEX CONCURRENTLY` statement
 * @param run how a statement that runs alone is run (its own "already exists" comes back as `there`)
 */
export async function createLeftInvalid(client: Client, sql: string, run: (sql: string) => Promise<RunOutcome>): Promise<RunOutcome> {
  const target = indexTarget(sql);
  if (!target) throw new Error(`cannot tell which index ${JSON.stringify(sql.slice(0, 80))} makes: it failed on the primary after it had entered the index, which the primary keeps INVALID`);
  const before = await indexesOf(client, target);
  let outcome: RunOutcome;
  try {
    outcome = await run(sql);
  } catch (err) {
    // It failed on the target too, after entering the index (the same duplicate keys): as on the primary.
    const made = (await indexesOf(client, target)).filter((i) => !before.includes(i));
    if (made.length === 1 && !(await isValid(client, made[0]))) return { kind: 'ran' };
    throw err;
  }
  // Made now, or (after a crash) by an earlier try: the index of that name.
  const made = (await indexesOf(client, target)).filter((i) => !before.includes(i) || outcome.kind === 'there');
  const index = made.length === 1 ? made[0] : undefined;
  if (index === undefined) throw new Error(`cannot tell which index ${JSON.stringify(sql.slice(0, 80))} made on the target, to leave it INVALID as the primary has it`);
  await markInvalid(client, index);
  return outcome;
}

/**
 * The INVALID index called `name` on the table a `CREATE INDEX` statement names (an index lives in its
 * table's schema), as text for a statement; null when there is none: not one found through the
 * session's search_path, which may hold an index of that name in another schema.
 */
export async function invalidIndexNamed(client: Client, sql: string, name: string): Promise<string | null> {
  const target = indexTarget(sql);
  if (!target) return null;
  const [oid] = await indexesOf(client, { ...target, name });
  if (oid === undefined || (await isValid(client, oid))) return null;
  const rows = await client.query<{ n: string }>('SELECT $1::pg_catalog.oid::pg_catalog.regclass::pg_catalog.text AS n', [oid]);
  return rows.rows[0]?.n ?? null;
}

/** The indexes of the statement's table (by oid), only the one it names when it names one. */
async function indexesOf(client: Client, target: IndexTarget): Promise<string[]> {
  const table = target.schema === undefined ? client.escapeIdentifier(target.table) : `${client.escapeIdentifier(target.schema)}.${client.escapeIdentifier(target.table)}`;
  // Resolved with the session's search_path, which is the primary session's, as the statement is.
  const rows = await client.query<{ oid: string }>(
    `SELECT i.indexrelid::pg_catalog.text AS oid FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
      WHERE i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1::pg_catalog.text)::pg_catalog.oid
        AND ($2::pg_catalog.name IS NULL OR c.relname OPERATOR(pg_catalog.=) $2::pg_catalog.name)`,
    [table, target.name ?? null],
  );
  return rows.rows.map((r) => r.oid);
}

async function isValid(client: Client, oid: string): Promise<boolean> {
  const rows = await client.query<{ v: boolean }>('SELECT indisvalid AS v FROM pg_catalog.pg_index WHERE indexrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid', [oid]);
  return rows.rows[0]?.v === true;
}

/** As the sync user (the session's own role), in a transaction of its own. */
async function markInvalid(client: Client, oid: string): Promise<void> {
  try {
    await client.query('BEGIN; SET LOCAL ROLE NONE');
    await client.query('UPDATE pg_catalog.pg_index SET indisvalid = false WHERE indexrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid', [oid]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const e = err as { code?: string; message?: string };
    if (e.code !== INSUFFICIENT_PRIVILEGE) throw err;
    const name = (await client.query<{ n: string }>('SELECT $1::pg_catalog.oid::pg_catalog.regclass::pg_catalog.text AS n', [oid])).rows[0]?.n;
    throw Object.assign(
      new Error(
        `index ${name} is INVALID on the primary (its CREATE INDEX CONCURRENTLY failed there after entering it); the target built it whole, and only a superuser can mark it INVALID: make the sync user a superuser, or drop the index on the target and skip this statement`,
      ),
      { code: e.code },
    );
  }
}
