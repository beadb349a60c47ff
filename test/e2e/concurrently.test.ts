/**
 * Statements that fail after part of their work is done: a failed CREATE INDEX CONCURRENTLY leaves
 * its index on the primary, INVALID, and the targets are left the same, so that what the DBA does
 * with it next (DROP INDEX, REINDEX) works on them too.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';

/** The indexes of schema public, with whether each is valid. */
async function indexes(c: Cluster): Promise<string[]> {
  const rows = await c.query<{ r: string }>(
    'postgres',
    `SELECT c.relname || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END AS r FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1`,
  );
  return rows.map((r) => r.r);
}

for (const mode of ['ddl', 'all'] as const) {
  describe(`statements that fail after part of their work is done (log_statement = '${mode}')`, () => {
    let primary: Cluster;
    let a: Cluster;
    let work: string;
    let toolLog: string;

    const args = (): string[] => [
      'run', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--state-file', path.join(work, 'state.json'), '--log-dir', toolLog,
    ];
    /** Runs after the DDL reached the log; fails with what the run said when it exits otherwise than `code`. */
    const run = async (marker: string, code = 0) => {
      await primary.waitForLog(marker);
      const res = await cli(args());
      assert.equal(res.code, code, `${res.stdout}\n${res.stderr}\n${readDir(toolLog)}`);
      return res;
    };

    before(async () => {
      work = makeTempDir('pgds-concurrently-');
      toolLog = path.join(work, 'log');
      [primary, a] = await startPrimaryAndTargets(['a'], mode);
      primary.psql('postgres', 'CREATE TABLE t (a int);\nINSERT INTO t VALUES (1), (1);\n');
      await run('TABLE t');
    });

    after(async () => {
      await Promise.all([primary, a].map((c) => c?.destroy()));
      fs.rmSync(work, { recursive: true, force: true });
    });

    test('a CREATE INDEX CONCURRENTLY that fails on a duplicate: the target has the index INVALID too, and DROP INDEX works', async () => {
      primary.psql('postgres', 'CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a);\n');
      await run('t_a_key');
      assert.deepEqual(await indexes(primary), ['t_a_key INVALID']);
      assert.deepEqual(await indexes(a), ['t_a_key INVALID']);
      assert.equal(a.schemaDump('postgres'), primary.schemaDump('postgres'));
      primary.psql('postgres', 'DROP INDEX t_a_key;\n');
      await run('DROP INDEX t_a_key');
      assert.deepEqual(await indexes(a), []);
    });

    test('one without a name, that fails the same way: the index the target made is left INVALID', async () => {
      primary.psql('postgres', 'CREATE UNIQUE INDEX CONCURRENTLY ON t (a);\n');
      await run('CONCURRENTLY ON t');
      assert.deepEqual(await indexes(primary), ['t_a_idx INVALID']);
      assert.deepEqual(await indexes(a), ['t_a_idx INVALID']);
      primary.psql('postgres', 'DROP INDEX t_a_idx;\n');
      await run('DROP INDEX t_a_idx');
      assert.deepEqual(await indexes(a), []);
    });

    test('one that fails before it enters its index (no such column): nothing is sent', async () => {
      primary.psql('postgres', 'CREATE INDEX CONCURRENTLY t_nope ON t (nope);\nCREATE TABLE after_nope (a int);\n');
      await run('after_nope');
      assert.deepEqual(await indexes(a), []);
    });

    if (mode === 'ddl') {
      test("CREATE TABLE … AS EXECUTE, whose PREPARE 'ddl' does not log: one clear stop, then skip goes on", async () => {
        primary.psql('postgres', 'PREPARE q AS SELECT 1 AS x;\nCREATE TABLE ctas AS EXECUTE q;\nCREATE TABLE after_ctas (a int);\n');
        const res = await run('after_ctas', 1);
        assert.match(res.stderr, /executes prepared statement "q", whose PREPARE the log does not show.*run it here by hand, then skip it/);
        assert.doesNotMatch(res.stderr, /does not exist/);
        a.psql('postgres', 'CREATE TABLE ctas AS SELECT 1 AS x;\n');
        const skip = await cli(['skip', '--stopped-target', 'a', '--yes', '--state-file', path.join(work, 'state.json'), '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`]);
        assert.equal(skip.code, 0, skip.stderr);
        await run('after_ctas');
        const rels = await a.query<{ r: string }>('postgres', "SELECT relname AS r FROM pg_class WHERE relname IN ('ctas', 'after_ctas') ORDER BY 1");
        assert.deepEqual(rels.map((r) => r.r), ['after_ctas', 'ctas']);
      });
    }

    // Last: the target stops at it.
    test('one whose name a valid index of the target holds already: the target stops, its index left valid', async () => {
      a.psql('postgres', 'CREATE INDEX t_dba_idx ON t (a);\n');
      primary.psql('postgres', 'CREATE UNIQUE INDEX CONCURRENTLY t_dba_idx ON t (a);\n');
      await run('t_dba_idx', 1);
      assert.deepEqual(await indexes(a), ['t_dba_idx']);
    });
  });
}
