/**
 * The applier on a real server: a batch that stops at a failure settles exactly the transactions that
 * committed (counted by the setting each claim sets as it inserts its ledger row), and a ledger read
 * only from the first position a run applies still never lets a statement run twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import { Job, TargetApplier } from '../../src/io/applier';
import { claimStatement } from '../../src/io/ledger';
import { Cluster } from '../helpers/cluster';

const FILE = 'fp-applier-test';

function job(offset: number, sql: string): Job {
  return {
    database: 'postgres',
    settings: [],
    statements: [sql],
    runsAlone: false,
    actsOnDatabase: false,
    key: { source: 'test', fileKey: FILE, offset },
    logFile: 'postgresql-test.csv',
    shown: sql,
  };
}

describe('applier', () => {
  let target: Cluster;
  const spec = () => ({ name: 't', url: target.syncUrl });
  const opts = { connectTimeoutMs: 10_000, lockTimeoutMs: 5_000 };
  const ledger = async (): Promise<number[]> =>
    (await target.query<{ o: string }>('postgres', 'SELECT record_offset AS o FROM ddl_sync.applied WHERE file_key = $1 ORDER BY 1', [FILE])).map((r) => Number(r.o));
  const tables = async (): Promise<string[]> =>
    (await target.query<{ t: string }>('postgres', "SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'ap\\_%' ORDER BY 1")).map((r) => r.t);

  before(async () => {
    target = await Cluster.start({ name: 'applier' });
    await target.query('postgres', 'CREATE TABLE ap_3 (x int)');
  });
  after(async () => {
    await target?.destroy();
  });

  test('a batch that fails at its third transaction settles the two before it, and says why it stopped', async () => {
    const applier = new TargetApplier(spec(), opts, new Map([[FILE, 100]]));
    try {
      const jobs = [1, 2, 3, 4, 5].map((i) => job(100 * i, `CREATE TABLE ap_${i} (a int)`));
      const { settled, stoppedBy } = await applier.applyBatch(jobs);
      assert.deepEqual(settled.map((r) => r.kind), ['applied', 'applied']);
      assert.equal(stoppedBy?.sqlState, '42P07');
      assert.deepEqual(await ledger(), [100, 200]);
      assert.deepEqual(await tables(), ['ap_1', 'ap_2', 'ap_3']);
      // The count of one batch is not taken for another's: a batch failing at its first transaction
      // settles none.
      const again = await applier.applyBatch([job(300, 'CREATE TABLE ap_3 (a int)'), job(400, 'CREATE TABLE ap_4 (a int)')]);
      assert.deepEqual(again.settled, []);
      assert.equal(again.stoppedBy?.sqlState, '42P07');
    } finally {
      await applier.close();
    }
  });

  test('a position before the first one the run asked for is not read from the ledger, and still never runs twice', async () => {
    // Read from offset 400 on: the rows of 100 and 200 stay on the server.
    const applier = new TargetApplier(spec(), opts, new Map([[FILE, 400]]));
    try {
      assert.equal(await applier.isDone({ database: 'postgres', key: job(100, '').key }), false);
      const res = await applier.apply(job(100, 'CREATE TABLE ap_1 (a int)'));
      assert.equal(res.kind, 'already', JSON.stringify(res));
      const batch = await applier.applyBatch([job(200, 'CREATE TABLE ap_2 (a int)'), job(400, 'CREATE TABLE ap_4 (a int)')]);
      // The batch stops at the claim of 200, which another run committed: settled as none, and the
      // one-by-one retry the caller makes finds it done.
      assert.deepEqual(batch.settled, []);
      assert.equal((await applier.apply(job(200, 'CREATE TABLE ap_2 (a int)'))).kind, 'already');
      assert.equal((await applier.apply(job(400, 'CREATE TABLE ap_4 (a int)'))).kind, 'applied');
      assert.deepEqual(await ledger(), [100, 200, 400]);
      assert.deepEqual(await tables(), ['ap_1', 'ap_2', 'ap_3', 'ap_4']);
    } finally {
      await applier.close();
    }
  });

  test('a ledger row keeps the statement as shown, quotes and backslashes included', async () => {
    const shown = "COMMENT ON TABLE ap_1 IS 'it''s a \\ back\\slash'";
    const applier = new TargetApplier(spec(), opts, new Map([[FILE, 500]]));
    try {
      assert.equal((await applier.apply({ ...job(500, shown), shown })).kind, 'applied');
    } finally {
      await applier.close();
    }
    const rows = await target.query<{ statement: string }>('postgres', 'SELECT statement FROM ddl_sync.applied WHERE file_key = $1 AND record_offset = 500', [FILE]);
    assert.deepEqual(rows, [{ statement: shown }]);
    // The literal reads the same whatever standard_conforming_strings says.
    const client = new Client({ connectionString: target.url });
    await client.connect();
    try {
      for (const scs of ['on', 'off']) {
        await client.query(`SET standard_conforming_strings = ${scs}`);
        const res = await client.query<{ v: string }>(`SELECT ${client.escapeLiteral(shown)}::text AS v`);
        assert.equal(res.rows[0].v, shown, `standard_conforming_strings = ${scs}`);
      }
      assert.match(claimStatement(client, { source: 's', fileKey: 'f', offset: 1 }, 'l', "a'b", { name: 'x.y', value: '1:2' }), /SELECT 's', 'f', 1::pg_catalog\.int8, 'l', 'done', 'a''b' WHERE pg_catalog\.set_config\('x\.y'::pg_catalog\.text, '1:2'::pg_catalog\.text, false\) IS NOT NULL$/);
    } finally {
      await client.end();
    }
  });
});
