/**
 * A REINDEX … CONCURRENTLY's leftover names are kept for any schema when the log gives none. Any
 * role writes such an ERROR (a REINDEX of an index that is not there). Under log_statement = 'ddl'
 * without the capture helper the search_path of a later unqualified DROP is not known either: a
 * target that fails to find the name on its own path may still have the object the primary dropped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';
import { OneTarget } from '../helpers/oneTarget';

async function hasIndex(c: Cluster, schema: string, name: string): Promise<boolean> {
  return (await c.query('postgres', 'SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, name])).length > 0;
}

describe("any-schema leftovers under log_statement = 'ddl', no capture helper", () => {
  const sync = new OneTarget('pgds-never-got-any-', 'ddl', false);
  const where = (): string[] => sync.where();

  let primary: Cluster;
  let a: Cluster;
  before(async () => {
    await sync.start();
    ({ primary, a } = sync);
  });
  after(() => sync.stop());

  test('an unqualified DROP under an unknown search_path does not pass while the target keeps the index', async () => {
    primary.psql('postgres', 'CREATE SCHEMA s;\nCREATE TABLE s.t (a int);\nCREATE UNIQUE INDEX x_ccnew ON s.t (a);\n');
    // Fails at once (no index x): no leftover exists, but its ERROR names one.
    primary.psql('postgres', 'REINDEX INDEX CONCURRENTLY x;\n');
    primary.psql('postgres', 'SET search_path = s;\nDROP INDEX x_ccnew;\nRESET search_path;\nCREATE TABLE public.after_any (a int);\n');
    await primary.waitForLog('after_any');
    const res = await cli(['run', ...where()]);
    assert.equal(await hasIndex(primary, 's', 'x_ccnew'), false);
    if (await hasIndex(a, 's', 'x_ccnew')) {
      const ledger = await a.query<{ state: string }>('postgres', "SELECT state FROM ddl_sync.applied WHERE statement LIKE 'DROP INDEX x_ccnew%'");
      assert.notDeepEqual(ledger.map((r) => r.state), ['skipped'], `${res.stderr}\n${readDir(sync.toolLog)}`);
    }
  });
});
