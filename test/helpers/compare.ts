/** Schema comparison between a primary and the targets synced from it. */
import assert from 'node:assert/strict';
import { Cluster } from './cluster';

/**
 * Asserts that every standby has the primary's databases, each with the primary's schema as
 * `pg_dump --schema-only` prints it (the tool's own `ddl_sync` schema left out).
 */
export async function assertInStep(primary: Cluster, ...standbys: Cluster[]): Promise<void> {
  const dbs = await primary.databases();
  const dumps = new Map(dbs.map((db) => [db, primary.schemaDump(db)]));
  for (const s of standbys) {
    assert.deepEqual(await s.databases(), dbs, `databases of ${s.name}`);
    for (const db of dbs) assert.equal(s.schemaDump(db), dumps.get(db), `schema of ${db} on ${s.name}`);
  }
}
