/**
 * Operations a DBA can trust: a target that is down is told from one stopped at a statement; skip
 * records exactly what it skips, in the target's ledger too; a target seeded from pg_dump is adopted
 * without replaying the old log; a lost state file rebuilds from the ledgers without stopping again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Status } from '../../src/commands/status';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli } from '../helpers/cli';

describe('operations a DBA can trust: unreachable, skip, adopt', () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let seeded: Cluster;
  let work: string;
  let stateFile: string;
  let metrics: string;
  let config: string;

  const writeConfig = (targets: string[]): void => {
    fs.writeFileSync(config, JSON.stringify({ csvlogDir: primary.logDir, stateFile, metricsFile: metrics, logDir: path.join(work, 'log'), targets }));
  };
  const run = () => cli(['run', '-c', config]);
  const statusJson = async (): Promise<Status> => JSON.parse((await cli(['status', '-c', config, '--json'])).stdout) as Status;
  const records = (): Record<string, unknown>[] =>
    fs.existsSync(`${stateFile}.skipped.jsonl`) ? fs.readFileSync(`${stateFile}.skipped.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];

  before(async () => {
    work = makeTempDir('pgds-adopt-');
    stateFile = path.join(work, 'state.json');
    metrics = path.join(work, 'pg_ddl_sync.prom');
    config = path.join(work, 'pg-ddl-sync.json');
    [primary, a, b] = await startPrimaryAndTargets(['a', 'b']);
    writeConfig([`a=${a.syncUrl}`, `b=${b.syncUrl}`]);
    primary.psql('postgres', 'CREATE DATABASE app;\n');
    primary.psql('app', 'CREATE TABLE first (a int);\n');
    await primary.waitForLog('CREATE TABLE first');
    const res = await run();
    assert.equal(res.code, 0, res.stderr);
  });

  after(async () => {
    await Promise.all([primary, a, b, seeded].map((x) => x?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a target that is down is unreachable, not stuck at a statement, and skip refuses it', async () => {
    await b.stop();
    a.psql('app', 'CREATE TABLE only_on_a (a int);\n');
    primary.psql('app', "CREATE TABLE while_down (a int);\nCOMMENT ON TABLE while_down IS 'x';\nCREATE TABLE only_on_a (a int);\nCREATE TABLE after_skip (a int);\n");
    await primary.waitForLog('after_skip');
    const res = await run();
    assert.equal(res.code, 1);
    assert.match(res.stderr, /b is unreachable \(/);
    const s = await statusJson();
    const byName = Object.fromEntries(s.targets.map((t) => [t.name, t]));
    assert.equal(byName.b.state, 'unreachable');
    assert.match(byName.b.failure?.error ?? '', /ECONNREFUSED|connect/i);
    assert.match(byName.b.failure?.since ?? '', /^\d{4}-/);
    assert.equal(byName.a.state, 'stuck');
    const human = await cli(['status', '-c', config]);
    fs.writeFileSync(path.join('/tmp/x', 'status.txt'), human.stdout);
    assert.match(human.stdout, /^b is unreachable since /m);
    assert.doesNotMatch(human.stdout, /skip --target b/);
    const prom = fs.readFileSync(metrics, 'utf8');
    assert.match(prom, /^pg_ddl_sync_target_unreachable\{target="b"\} 1$/m);
    assert.match(prom, /^pg_ddl_sync_target_unreachable\{target="a"\} 0$/m);

    const refused = await cli(['skip', '-c', config, '--target', 'b', '--yes']);
    assert.equal(refused.code, 2, refused.stdout);
    assert.match(refused.stderr, /target b is unreachable .* not stopped at a statement: there is nothing to skip/);
    assert.deepEqual(records(), []);
    await b.restart();
    const back = await run();
    assert.equal(back.code, 1, back.stderr);
    assert.deepEqual(await b.query('app', "SELECT obj_description('while_down'::regclass) AS d"), [{ d: 'x' }]);
  });

  test('skip records the exact statement, in the ledger too: an old ledger is upgraded, a lost state file does not stop there again', async () => {
    // A ledger made before skips were kept: its CHECK names only in_flight and done.
    await a.query('app', "ALTER TABLE ddl_sync.applied DROP CONSTRAINT applied_state_check, ADD CONSTRAINT applied_state_check CHECK (state IN ('in_flight', 'done'))");
    const res = await cli(['skip', '-c', config, '--target', 'a', '--yes', '--reason', 'made by hand']);
    assert.equal(res.code, 0, res.stderr);
    fs.writeFileSync(path.join('/tmp/x', 'skip.txt'), res.stdout + fs.readFileSync(`${stateFile}.skipped.jsonl`, 'utf8'));
    const [rec] = records();
    assert.equal(rec.statement, 'CREATE TABLE only_on_a (a int);');
    assert.equal(rec.database, 'app');
    assert.match(String(rec.file), /\.csv$/);
    assert.equal(typeof rec.offset, 'number');
    assert.deepEqual(await a.query('app', "SELECT state, statement FROM ddl_sync.applied WHERE state = 'skipped'"), [{ state: 'skipped', statement: 'CREATE TABLE only_on_a (a int);' }]);
    assert.ok(fs.existsSync(`${stateFile}.prev`), 'the state file keeps the generation before it');

    fs.renameSync(stateFile, path.join(work, 'lost.json'));
    const rebuilt = await run();
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.equal((await a.query('app', "SELECT 1 AS x FROM pg_class WHERE relname = 'after_skip'")).length, 1);
  });

  test('a target seeded from pg_dump is adopted, and the next run applies only newer DDL', async () => {
    seeded = await Cluster.start({ name: 'seeded' });
    seeded.psql('postgres', 'CREATE DATABASE app;\n');
    const dump = execFileSync(path.join(primary.bin, 'pg_dump'), ['-s', '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', 'app'], { encoding: 'utf8' });
    seeded.psql('app', dump);
    writeConfig([`a=${a.syncUrl}`, `b=${b.syncUrl}`, `seeded=${seeded.syncUrl}`]);
    const adopted = await cli(['adopt', '-c', config, '--target', 'seeded', '--from', 'now', '--reason', 'pg_dump -s']);
    assert.equal(adopted.code, 0, adopted.stderr);
    assert.match(adopted.stdout, /^Adopted seeded at .*\.csv:\d+/);
    primary.psql('app', 'ALTER TABLE after_skip ADD COLUMN newer int;\n');
    await primary.waitForLog('ADD COLUMN newer');
    const res = await run();
    fs.writeFileSync(path.join('/tmp/x', 'adopt.txt'), `${adopted.stdout}${res.stderr}${(await cli(['status', '-c', config])).stdout}`);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await seeded.query('app', "SELECT attname FROM pg_attribute WHERE attrelid = 'after_skip'::regclass AND attname = 'newer'"), [{ attname: 'newer' }]);
    const rows = await seeded.query('app', "SELECT state FROM ddl_sync.applied WHERE state = 'done'");
    assert.equal(rows.length, 1, 'only the newer statement was applied');
  });
});
