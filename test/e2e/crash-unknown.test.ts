/**
 * A primary that crashes (`pg_ctl stop -m immediate`) while a session sits idle after its DDL: the log
 * shows the statement but not whether it committed. The run must not drop it silently, nor send it
 * unproven: it exits 1 naming it, status shows it, and it waits (with what came after it) until a
 * person says, with `resolve`, whether the primary has it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'pg';
import { Cluster, makeTempDir, startPrimaryAndTargets, waitForConnections } from '../helpers/cluster';
import { cli } from '../helpers/cli';

async function tables(c: Cluster): Promise<string[]> {
  const rows = await c.query<{ r: string }>('postgres', "SELECT relname AS r FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1");
  return rows.map((r) => r.r);
}

describe('a crash of the primary after DDL of a session left idle', () => {
  let primary: Cluster;
  let a: Cluster;
  let work: string;
  let idle: Client | undefined;

  const common = () => ['--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'state.json'), '--log-dir', path.join(work, 'log')];
  const run = () => cli(['run', ...common(), '--target', `a=${a.syncUrl}`]);

  before(async () => {
    work = makeTempDir('pgds-unknown-');
    [primary, a] = await startPrimaryAndTargets(['a'], 'all');
    const first = await run();
    assert.equal(first.code, 0, first.stderr);
  });

  after(async () => {
    await idle?.end().catch(() => undefined);
    await Promise.all([primary, a].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('the run exits 1 naming the statement, status shows it, resolve --send lets it go', async () => {
    idle = await primary.connect();
    idle.on('error', () => undefined);
    await idle.query('CREATE TABLE lost_one (a int)');
    await primary.waitForLog('lost_one');
    primary.stopNow();
    await primary.restart();
    await waitForConnections(primary);
    await idle.end().catch(() => undefined);
    idle = undefined;
    primary.psql('postgres', 'CREATE TABLE after_crash (a int);\n');
    await primary.waitForLog('after_crash');

    const res = await run();
    assert.equal(res.code, 1, res.stderr);
    const line = res.stderr.split('\n').find((l) => l.includes('outcome unknown'));
    assert.ok(line, res.stderr);
    assert.match(line, /postgresql-[^ ]+\.csv:\d+ database postgres role postgres: CREATE TABLE lost_one \(a int\): outcome unknown after the primary's crash at \d{4}-/);
    // Neither it nor what came after it was sent.
    assert.deepEqual(await tables(a), []);

    const st = await cli(['status', '--json', ...common(), '--target', `a=${a.syncUrl}`]);
    assert.equal(st.code, 1, st.stderr);
    const json = JSON.parse(st.stdout) as { unknown: { at: string; database: string; role: string; sql: string; crashedAt: string }[] };
    assert.equal(json.unknown.length, 1);
    assert.equal(json.unknown[0].sql, 'CREATE TABLE lost_one (a int)');
    const again = await run();
    assert.equal(again.code, 1, 'it stays until a person decides');

    const resolved = await cli(['resolve', ...common(), '--at', json.unknown[0].at, '--send', '--yes', '--reason', 'checked the primary']);
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.match(fs.readFileSync(path.join(work, 'state.json.skipped.jsonl'), 'utf8'), /"resolved":"send".*lost_one/);
    const done = await run();
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(await tables(a), ['after_crash', 'lost_one']);
  });
});
