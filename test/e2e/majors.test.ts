/**
 * The workload on each PostgreSQL major at hand, through the CLI: the csvlog has that major's
 * columns, a dry run extracts exactly the statements that committed, and a run brings a target of the
 * same major to the primary's catalogs. Every test run has the default server and the dev
 * dependencies' `pg12` (26 and 23 columns); `npm run test:matrix` adds 10 to 18.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scanRecords } from '../../src/core/csvRecord';
import { Cluster, makeTempDir, serverBins, startPrimaryAndTargets } from '../helpers/cluster';
import { as, captureOf } from '../helpers/capture';
import { cli } from '../helpers/cli';
import { assertCatalogsInStep } from '../helpers/compare';
import { WORKLOAD_DB, assertListsCommitted, runWorkload } from '../helpers/workload';

/** csvlog columns by major: 13 added backend_type, 14 leader_pid and query_id. */
function columnsOf(major: number): number {
  return major <= 12 ? 23 : major === 13 ? 24 : 26;
}

for (const { major, bin } of serverBins()) {
  describe(`PostgreSQL ${major}: ${columnsOf(major)} csvlog columns`, () => {
    let primary: Cluster;
    let target: Cluster;
    let work: string;
    const args = (...extra: string[]) => [
      'run', '--csvlog-dir', primary.logDir, '--target', `t=${target.syncUrl}`, '--state-file', path.join(work, 'state.json'), ...extra,
    ];

    before(async () => {
      work = makeTempDir('pgds-major-');
      [primary, target] = await startPrimaryAndTargets(['target'], 'ddl', bin);
      await runWorkload(primary);
      await primary.waitForLog('ALTER TABLE emp ADD COLUMN dept text');
    });

    after(async () => {
      await Promise.all([primary, target].map((c) => c?.destroy()));
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test(`the server is ${major} and writes records of ${columnsOf(major)} columns`, async () => {
      const [{ v }] = await primary.query<{ v: string }>('postgres', "SELECT current_setting('server_version_num') AS v");
      assert.equal(Math.floor(Number(v) / 10000), major);
      const { records, stop } = scanRecords(fs.readFileSync(primary.csvFiles()[0]), 0);
      assert.equal(stop.kind, 'incomplete');
      assert.ok(records.length > 10);
      for (const r of records) assert.equal(r.fields.length / 2, columnsOf(major));
    });

    test('a dry run lists exactly the statements that committed, in order, in their databases', async () => {
      const res = await cli(args('--dry-run'));
      assert.equal(res.code, 0, res.stderr);
      assertListsCommitted(res.stdout);
    });

    test('a run brings a target of the same major to the primary\'s catalogs, once', async () => {
      const res = await cli(args());
      assert.equal(res.code, 0, res.stderr);
      const catalog = await assertCatalogsInStep(primary, target);
      // The comparison saw the workload's objects, not two empty lists.
      const relations = (catalog[`${WORKLOAD_DB}.relations`] as string[]).map((r) => (JSON.parse(r) as { relname: string }).relname);
      for (const name of ['emp', 'employee', 'Ünïcødé tàblé', 'emp_age', 'ext_named']) assert.ok(relations.includes(name), name);
      assert.ok((catalog.roles as { rolname: string }[]).some((r) => r.rolname === 'fx_role'));
      const again = await cli(args());
      assert.equal(again.code, 0, again.stderr);
      await assertCatalogsInStep(primary, target);
    });

    test('the capture helper installs and writes records that prove role and transaction', async () => {
      const res = await cli(['capture', 'install', '--source', primary.url]);
      assert.equal(res.code, 0, res.stderr);
      const [{ key }] = await primary.query<{ key: string }>('postgres', 'SELECT key FROM ddl_sync_capture.key');
      await as(primary, 'postgres', 'postgres', 'CREATE ROLE cap_role; GRANT CREATE ON SCHEMA public TO cap_role; GRANT cap_role TO postgres');
      await as(primary, 'postgres', 'postgres', 'SET ROLE cap_role; BEGIN; SAVEPOINT a; CREATE TABLE cap_gone (); ROLLBACK TO a; CREATE TABLE cap_kept (); COMMIT');
      await primary.waitForLog('public.cap_kept');
      const gone = captureOf(primary, key, 'public.cap_gone');
      const kept = captureOf(primary, key, 'public.cap_kept');
      assert.equal(kept.role, 'cap_role');
      assert.equal(kept.sessionUser, 'postgres');
      assert.equal(gone.xid, kept.xid);
      const outcome = async (xid: string): Promise<string> => (await primary.query<{ s: string }>('postgres', 'SELECT txid_status($1::bigint) AS s', [xid]))[0].s;
      assert.equal(await outcome(gone.sub), 'aborted');
      assert.equal(await outcome(kept.sub), 'committed');
      assert.ok('search_path' in kept.settings && 'TimeZone' in kept.settings);
    });
  });
}
