/**
 * A log_filename that comes round (`postgresql-%M.log`) with log_truncate_on_rotation = on: the server
 * empties a file of the same name and inode and writes it again. The reader notices (the first line
 * differs), reads it from its start, and reports no loss when there was none. Real rotations, so it
 * waits for the clock: up to two minutes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, sleep, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines } from '../helpers/cli';
import { assertInStep } from '../helpers/compare';

/** Sleeps until the clock's second within the minute is `second`, in this minute or the next. */
async function untilSecond(second: number): Promise<void> {
  const now = Date.now();
  const minute = Math.floor(now / 60_000) * 60_000;
  const at = minute + second * 1000 > now ? minute + second * 1000 : minute + 60_000 + second * 1000;
  await sleep(at - now);
}

describe('a file name that comes round and is emptied (log_truncate_on_rotation)', () => {
  let primary: Cluster;
  let a: Cluster;
  let work: string;

  const run = () => cli(['run', '--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--state-file', path.join(work, 'state.json')]);
  const setFilename = async (pattern: string): Promise<void> => {
    await primary.query('postgres', `ALTER SYSTEM SET log_filename = '${pattern}'`);
    await primary.query('postgres', 'SELECT pg_reload_conf()');
  };
  const waitForFile = async (name: string): Promise<string> => {
    const file = path.join(primary.logDir, name);
    for (let i = 0; !fs.existsSync(file); i++) {
      if (i > 200) throw new Error(`${name} never appeared`);
      await sleep(50);
    }
    return file;
  };

  before(async () => {
    work = makeTempDir('pgds-reuse-');
    [primary, a] = await startPrimaryAndTargets(['a']);
    await primary.query('postgres', 'ALTER SYSTEM SET log_truncate_on_rotation = on');
    await primary.query('postgres', "ALTER SYSTEM SET log_rotation_age = '1min'");
  });

  after(async () => {
    await Promise.all([primary, a].map((c) => c?.destroy()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the emptied file is read from its start, nothing twice, no gap', async () => {
    // Early in a minute, the file the next minute's time-based rotation will empty is written under a
    // fixed name; the name pattern then becomes %M, as a server using it for an hour would be.
    await untilSecond(3);
    const next = String((new Date().getUTCMinutes() + 1) % 60).padStart(2, '0');
    await setFilename(`reuse-${next}.log`);
    const reused = await waitForFile(`reuse-${next}.csv`);
    primary.psql('postgres', 'CREATE TABLE reuse_old (a int);\n');
    await primary.waitForLog('reuse_old');
    assert.equal((await run()).code, 0);
    const inode = fs.statSync(reused).ino;
    await setFilename('reuse-%M.log');
    primary.psql('postgres', 'CREATE TABLE reuse_mid (a int);\n');
    await primary.waitForLog('reuse_mid');
    // The last run before the rotation, as cron runs it every minute.
    await untilSecond(56);
    const before = await run();
    assert.equal(before.code, 0, before.stderr);
    // The rotation at the minute empties reuse-<next>.csv and writes it again.
    for (let i = 0; fs.readFileSync(reused, 'utf8').includes('reuse_old'); i++) {
      if (i > 400) throw new Error(`${reused} was not emptied at the rotation`);
      await sleep(50);
    }
    primary.psql('postgres', 'CREATE TABLE reuse_new (a int);\n');
    await primary.waitForLog('reuse_new');
    assert.equal(fs.statSync(reused).ino, inode, 'the same inode, emptied');
    assert.match(fs.readFileSync(reused, 'utf8'), /reuse_new/);
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(lines(res.stderr).filter((l) => /lost|gap/.test(l)), []);
    const rels = (await a.query<{ relname: string }>('postgres', "SELECT relname FROM pg_class WHERE relname LIKE 'reuse%' ORDER BY 1")).map((r) => r.relname);
    assert.deepEqual(rels, ['reuse_mid', 'reuse_new', 'reuse_old']);
    const again = await run();
    assert.equal(again.code, 0, again.stderr);
    await assertInStep(primary, a);
  });
});
