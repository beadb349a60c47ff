/**
 * Objects the primary made that the targets never got (a table a function made, the `_ccnew` index
 * a failed REINDEX … CONCURRENTLY left): a later logged DROP of only such objects does not stop a
 * target, which has nothing to drop; a DROP that also names anything else still stops it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';
import { OneTarget, nestedPlace, hasTable } from '../helpers/oneTarget';

for (const mode of ['ddl', 'all'] as const) {
  // Nested DDL is seen through the capture helper.
  const capture = mode === 'ddl';
  describe(`a DROP of what the targets never got (log_statement = '${mode}'${capture ? ', capture helper' : ''})`, () => {
    const sync = new OneTarget('pgds-never-got-', mode, capture);

    const where = (): string[] => sync.where();
    const run = (marker: string, code: number) => sync.run(marker, code);
    const placeOf = nestedPlace;
    /** The state of the target's ledger row for the statement whose text starts so. */
    const ledgerState = async (statement: string): Promise<string[]> =>
      (await a.query<{ state: string }>('postgres', 'SELECT state FROM ddl_sync.applied WHERE statement LIKE $1', [`${statement}%`])).map((r) => r.state);

    let primary: Cluster;
    let a: Cluster;
    before(async () => {
      await sync.start();
      ({ primary, a } = sync);
    });
    after(() => sync.stop());

    if (capture) {
    test('a table a function made, marked handled, then dropped by a logged DROP: the run exits 0, the target goes on', async () => {
      primary.psql('postgres', 'CREATE FUNCTION mk1() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE made1 (a int); END $$;\nSELECT mk1();\nCREATE TABLE after_mk1 (a int);\n');
      const first = await run('after_mk1', 1);
      const at = placeOf(first.stderr, 'table public\\.made1');
      const handled = await cli(['nested', ...where(), '--at', at, '--handled', '--yes']);
      assert.equal(handled.code, 0, handled.stderr);
      primary.psql('postgres', 'DROP TABLE made1;\nCREATE TABLE after_drop1 (a int);\n');
      const res = await run('after_drop1', 0);
      assert.doesNotMatch(res.stderr, /does not exist/);
      assert.ok(await hasTable(a, 'after_drop1'));
      assert.deepEqual(await ledgerState('DROP TABLE made1'), ['skipped']);
      assert.match(readDir(sync.toolLog), /not applied: it drops only objects the primary made that this target never got.*table public\.made1 \(made by nested DDL at /);
      const status = await cli(['status', ...where()]);
      assert.equal(status.code, 0, status.stdout);
    });

    test('not handled: the run still exits 1 for the nested DDL, but the target is not stopped at the DROP', async () => {
      primary.psql('postgres', 'CREATE FUNCTION mk2() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE made2 (a int); END $$;\nSELECT mk2();\nDROP TABLE made2;\nCREATE TABLE after_drop2 (a int);\n');
      const res = await run('after_drop2', 1);
      assert.match(res.stderr, /table public\.made2 created inside/);
      assert.doesNotMatch(res.stderr, /does not exist/);
      assert.ok(await hasTable(a, 'after_drop2'));
      const at = placeOf(res.stderr, 'table public\\.made2');
      const handled = await cli(['nested', ...where(), '--at', at, '--handled', '--yes']);
      assert.equal(handled.code, 0, handled.stderr);
      await run('after_drop2', 0);
    });

    test('a DROP that also names a table the target lacks for another reason still stops it', async () => {
      primary.psql('postgres', 'CREATE TABLE other3 (a int);\n');
      await run('other3', 0);
      await a.query('postgres', 'DROP TABLE other3');
      primary.psql('postgres', 'CREATE FUNCTION mk3() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE made3 (a int); END $$;\nSELECT mk3();\nDROP TABLE made3, other3;\nCREATE TABLE after_drop3 (a int);\n');
      const res = await run('after_drop3', 1);
      assert.match(res.stderr, /table "made3" does not exist/);
      assert.equal(await hasTable(a, 'after_drop3'), false);
      const skipped = await cli(['skip', ...where().slice(0, -2), '--stopped-target', 'a', '--yes']);
      assert.equal(skipped.code, 0, skipped.stderr);
      const at = placeOf(res.stderr, 'table public\\.made3');
      assert.equal((await cli(['nested', ...where(), '--at', at, '--handled', '--yes'])).code, 0);
      await run('after_drop3', 0);
    });
    }

    {
      // Under 'ddl' only the REINDEX's ERROR is logged: its leftover is known by name, in any schema.
      test('the _ccnew index a failed REINDEX INDEX CONCURRENTLY left: DROP INDEX of it does not stop the target', async () => {
        // The index's expression fails when the session says so: in the build, after the first
        // transaction (which entered t4_idx_ccnew) committed.
        primary.psql(
          'postgres',
          "CREATE FUNCTION f4(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN IF current_setting('x.fail', true) = 'on' THEN RAISE EXCEPTION 'boom'; END IF; RETURN $1; END $$;\nCREATE TABLE t4 (a int);\nINSERT INTO t4 VALUES (1);\nCREATE INDEX t4_idx ON t4 (f4(a));\n",
        );
        await run('t4_idx', 0);
        primary.psql('postgres', "SET x.fail = 'on';\nREINDEX INDEX CONCURRENTLY t4_idx;\n");
        const left = await primary.query<{ r: string }>('postgres', "SELECT relname AS r FROM pg_class WHERE relname LIKE 't4_idx%' ORDER BY 1");
        assert.deepEqual(left.map((r) => r.r), ['t4_idx', 't4_idx_ccnew']);
        // Without the helper no log shows the path a DROP ran with: only a name it qualifies is known.
        const drop = capture ? 'DROP INDEX t4_idx_ccnew' : 'DROP INDEX public.t4_idx_ccnew';
        primary.psql('postgres', `${drop};\nCREATE TABLE after_drop4 (a int);\n`);
        const res = await run('after_drop4', 0);
        assert.doesNotMatch(res.stderr, /does not exist/);
        assert.ok(await hasTable(a, 'after_drop4'));
        assert.deepEqual(await ledgerState(drop), ['skipped']);
      });
    }
  });
}
