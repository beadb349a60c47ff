/**
 * The resident run (`run --interval`): DDL applied within beats, its connections kept, a second start
 * that exits at once, a target restarted under it, SIGTERM mid-apply and SIGKILL at random moments
 * with nothing lost or applied twice.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Status } from '../../src/commands/status';
import { Cluster, makeTempDir, sleep, startPrimaryAndTargets } from '../helpers/cluster';
import { assertInStep } from '../helpers/compare';
import { Started, cli, readDir, start } from '../helpers/cli';

const KILL_ROUNDS = Number(process.env.CRASH_ROUNDS ?? 10);

describe('resident: run --interval', () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let work: string;
  let stateFile: string;
  let toolLog: string;
  let running: Started | undefined;

  const common = () => ['--csvlog-dir', primary.logDir, '--target', `a=${a.syncUrl}`, '--target', `b=${b.syncUrl}`, '--state-file', stateFile, '--log-dir', toolLog];
  const resident = (...extra: string[]) => {
    running = start(['run', ...common(), '--interval', '0.2', ...extra]);
    return running;
  };

  /** Waits until `sql` returns a row on the target, or fails after `ms`. */
  async function until(target: Cluster, db: string, sql: string, ms: number): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < ms) {
      if ((await target.query(db, sql)).length > 0) return Date.now() - started;
      await sleep(50);
    }
    throw new Error(`${target.name}: no row for ${sql} after ${ms} ms; tool log:\n${readDir(toolLog).slice(-3000)}`);
  }

  const hasTable = (name: string) => `SELECT 1 FROM pg_class WHERE relname = '${name}'`;

  /** The pg-ddl-sync sessions on a target, by pid and start. */
  const sessions = (target: Cluster) =>
    target.query<{ pid: number; started: string }>('postgres', "SELECT pid, backend_start::text AS started FROM pg_stat_activity WHERE application_name = 'pg-ddl-sync' ORDER BY pid");

  /** Waits until the resident run has written its mark: it has the lock and listens for signals. */
  async function untilResident(r: Started): Promise<void> {
    const mark = `${stateFile}.resident`;
    for (let i = 0; i < 200; i++) {
      if (fs.existsSync(mark) && fs.readFileSync(mark, 'utf8').includes(`"pid":${r.child.pid}`)) return;
      await sleep(50);
    }
    throw new Error('the resident run never started');
  }

  /** Stops the resident run with SIGTERM and waits for its clean end. */
  async function stopResident(): Promise<void> {
    if (!running) return;
    await untilResident(running);
    running.child.kill('SIGTERM');
    const res = await running.done;
    running = undefined;
    assert.equal(res.code, 0, res.stderr);
  }

  before(async () => {
    work = makeTempDir('pgds-resident-');
    stateFile = path.join(work, 'state.json');
    toolLog = path.join(work, 'log');
    [primary, a, b] = await startPrimaryAndTargets(['a', 'b']);
    primary.psql('postgres', 'CREATE DATABASE res;\n');
    await primary.waitForLog('CREATE DATABASE res');
    const first = await cli(['run', ...common()]);
    assert.equal(first.code, 0, first.stderr);
  });

  after(async () => {
    running?.child.kill('SIGKILL');
    await Promise.all([primary, a, b].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('applies DDL within a few beats, keeps its connections, and status shows it', async () => {
    const r = resident();
    primary.psql('res', 'CREATE TABLE beat_1 (a int);\n');
    const ms = await until(a, 'res', hasTable('beat_1'), 5000);
    await until(b, 'res', hasTable('beat_1'), 5000);
    const before = await sessions(a);
    assert.ok(before.length > 0, 'no pg-ddl-sync session on a between beats');
    primary.psql('res', 'CREATE TABLE beat_2 (a int);\n');
    await until(a, 'res', hasTable('beat_2'), 5000);
    // The same sessions: the connection was kept from one pass to the next.
    assert.deepEqual(await sessions(a), before);
    const status = await cli(['status', ...common(), '--json']);
    const s = JSON.parse(status.stdout) as Status;
    assert.equal(s.resident?.pid, r.child.pid);
    assert.equal(s.resident?.running, true);
    assert.ok(Date.now() - Date.parse(s.resident!.lastBeat) < 5000, `last beat ${s.resident!.lastBeat}`);
    const text = await cli(['status', ...common()]);
    assert.match(text.stdout, new RegExp(`resident run: pid ${r.child.pid}, since `));
    await stopResident();
    assert.equal(fs.existsSync(`${stateFile}.resident`), false, 'the mark is left after a clean stop');
    assert.equal(fs.existsSync(`${stateFile}.lock`), false, 'the lock is left after a clean stop');
    assert.ok(ms < 3000, `took ${ms} ms`);
  });

  test('a second start exits 0 at once while it runs, saying so at debug', async () => {
    resident();
    primary.psql('res', 'CREATE TABLE second_start (a int);\n');
    await until(a, 'res', hasTable('second_start'), 5000);
    const started = Date.now();
    const second = await cli(['run', ...common(), '--interval', '0.2', '--log-level', 'debug', '--log-dir', path.join(work, 'second')]);
    const took = Date.now() - started;
    assert.equal(second.code, 0, second.stderr);
    assert.ok(took < 3000, `the second start took ${took} ms`);
    assert.match(readDir(path.join(work, 'second')), new RegExp(`a resident run holds the lock; nothing done .*pid=${running!.child.pid}`));
    // A one-shot run (cron's old line) is turned away the same way.
    assert.equal((await cli(['run', ...common()])).code, 0);
    await stopResident();
  });

  test('a target restarted under it is reconnected', async () => {
    resident();
    primary.psql('res', 'CREATE TABLE before_restart (a int);\n');
    await until(a, 'res', hasTable('before_restart'), 5000);
    await a.stop();
    primary.psql('res', 'CREATE TABLE while_down (a int);\n');
    await until(b, 'res', hasTable('while_down'), 5000);
    await sleep(1000);
    await a.restart();
    await until(a, 'res', hasTable('while_down'), 20000);
    primary.psql('res', 'CREATE TABLE after_restart (a int);\n');
    await until(a, 'res', hasTable('after_restart'), 5000);
    await stopResident();
    await assertInStep(primary, a, b);
  });

  test('SIGTERM mid-apply ends it after the statement under way: nothing lost, nothing twice', async () => {
    const logged = readDir(toolLog).length;
    const sql: string[] = [];
    for (let i = 0; i < 300; i++) sql.push(`CREATE TABLE term_${i} (a int);`, `CREATE INDEX CONCURRENTLY term_i${i} ON term_${i} (a);`);
    primary.psql('res', `${sql.join('\n')}\n`);
    await primary.waitForLog('term_i299');
    const r = resident();
    await until(a, 'res', hasTable('term_i3'), 10000);
    r.child.kill('SIGTERM');
    const res = await r.done;
    running = undefined;
    assert.equal(res.code, 0, res.stderr);
    const log = readDir(toolLog).slice(logged);
    assert.match(log, /resident: stopped signal=SIGTERM/);
    // It stopped before the end: the rest waited for the next run.
    const missing = await a.query('res', "SELECT 1 FROM pg_class WHERE relname = 'term_i299'");
    assert.equal(missing.length, 0, 'the run was not stopped mid-apply');
    const clean = await cli(['run', ...common()]);
    assert.equal(clean.code, 0, clean.stderr);
    await assertInStep(primary, a, b);
    const all = readDir(toolLog).slice(logged);
    for (const t of ['a', 'b']) {
      const applied = all.split('\n').filter((l) => /applied (target|\(had)/.test(l) && l.includes(`target=${t} `) && /term_/.test(l));
      assert.equal(applied.length, sql.length, `${t}: ${applied.length} applications of ${sql.length} statements`);
    }
  });

  test(`${KILL_ROUNDS} resident runs killed with SIGKILL at random moments, restarted: every target in step`, async () => {
    const logged = readDir(toolLog).length;
    let statements = 0;
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const r = resident();
      const sql: string[] = [];
      for (let g = 0; g < 20; g++) sql.push(`CREATE TABLE k_${round}_${g} (a int);`, `ALTER TABLE k_${round}_${g} ADD COLUMN b int;`);
      sql.push(`CREATE INDEX CONCURRENTLY ki_${round} ON k_${round}_0 (a);`);
      statements += sql.length;
      primary.psql('res', `${sql.join('\n')}\n`);
      await sleep(200 + Math.floor(Math.random() * 1500));
      r.child.kill('SIGKILL');
      await r.done;
      running = undefined;
    }
    // The watchdog's start after the kills: it takes the dead run's lock over and finishes.
    resident();
    await until(a, 'res', hasTable(`ki_${KILL_ROUNDS - 1}`), 20000);
    await until(b, 'res', hasTable(`ki_${KILL_ROUNDS - 1}`), 20000);
    await stopResident();
    await assertInStep(primary, a, b);
    // A statement applied twice would have failed there (ALTER TABLE … ADD COLUMN b, CREATE INDEX).
    assert.doesNotMatch(readDir(toolLog).slice(logged), /statement failed on target/);
    for (const t of [a, b]) {
      const open = await t.query('res', "SELECT count(*)::int AS n FROM ddl_sync.applied WHERE state <> 'done'");
      assert.deepEqual(open, [{ n: 0 }], `in_flight rows left on ${t.name}`);
      const rows = await t.query('res', "SELECT count(*)::int AS n FROM ddl_sync.applied WHERE statement LIKE '%k\\_%' OR statement LIKE '%ki\\_%'");
      assert.deepEqual(rows, [{ n: statements }], `${t.name}: ledger rows of the ${statements} statements`);
    }
  });
});
