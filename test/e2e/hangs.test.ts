/**
 * Hangs: a statement that never ends on a target, a target whose session stops answering, and a run
 * killed while a target statement runs. Each ends within its bound, holds back no other target, and
 * shows in `status` and the metrics file as a timeout.
 *
 * The hang is an event trigger on the target that sleeps before DDL, and only in the tool's own
 * sessions (application_name pg-ddl-sync), for as long as a table of the test's says.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Status } from '../../src/commands/status';
import { Cluster, makeTempDir, sleep, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';

const HANG = `
CREATE TABLE hang_seconds (seconds float8);
CREATE TABLE fired (tag text);
CREATE FUNCTION hang() RETURNS event_trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF current_setting('application_name') = 'pg-ddl-sync' THEN
    INSERT INTO public.fired VALUES (tg_tag);
    PERFORM pg_sleep(coalesce((SELECT max(seconds) FROM public.hang_seconds), 0));
  END IF;
END $f$;
CREATE EVENT TRIGGER hang ON ddl_command_start EXECUTE PROCEDURE hang();
`;

describe('hangs: every wait on a target has a bound', () => {
  let primary: Cluster;
  let a: Cluster;
  let b: Cluster;
  let work: string;
  let config: string;
  let stateFile: string;
  let metrics: string;
  let toolLog: string;

  const statusJson = async (): Promise<Status> => JSON.parse((await cli(['status', '-c', config, '--json'])).stdout) as Status;
  const target = (s: Status, name: string) => s.targets.find((t) => t.name === name)!;
  /** The tool's sessions on a target, and what each waits on. */
  const toolSessions = (c: Cluster) =>
    c.query<{ pid: number; wait_event: string | null }>('postgres', "SELECT pid, wait_event FROM pg_stat_activity WHERE application_name = 'pg-ddl-sync'");
  const hangFor = (c: Cluster, seconds: number) => c.query('postgres', `TRUNCATE hang_seconds, fired; INSERT INTO hang_seconds VALUES (${seconds})`);
  /** The pid of the tool's session that sleeps in the trigger, once it does. */
  const sleeper = async (c: Cluster, timeoutMs = 15_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = (await toolSessions(c)).find((r) => r.wait_event === 'PgSleep');
      if (s) return s.pid;
      if (Date.now() > deadline) throw new Error(`no session of the tool's sleeps on ${c.name}`);
      await sleep(50);
    }
  };
  const tables = async (c: Cluster, like: string) =>
    (await c.query<{ relname: string }>('postgres', `SELECT relname FROM pg_class WHERE relname LIKE '${like}' ORDER BY 1`)).map((r) => r.relname);

  before(async () => {
    work = makeTempDir('pgds-hangs-');
    stateFile = path.join(work, 'state.json');
    metrics = path.join(work, 'pg_ddl_sync.prom');
    toolLog = path.join(work, 'log');
    [primary, a, b] = await startPrimaryAndTargets(['a', 'b']);
    config = path.join(work, 'pg-ddl-sync.json');
    fs.writeFileSync(config, JSON.stringify({ csvlogDir: primary.logDir, stateFile, metricsFile: metrics, logDir: toolLog, targets: [`a=${a.syncUrl}`, `b=${b.syncUrl}`] }));
    // A first run makes the ledgers, before the trigger that would fire on their DDL too.
    primary.psql('postgres', 'CREATE TABLE warm ();\n');
    await primary.waitForLog('CREATE TABLE warm');
    assert.equal((await cli(['run', '-c', config])).code, 0);
    a.psql('postgres', HANG);
    b.psql('postgres', HANG);
  });

  after(async () => {
    await Promise.all([primary, a, b].map((x) => x?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a statement that sleeps for the tool only is cut off by the statement timeout; status shows it timed out', async () => {
    await hangFor(b, 600);
    primary.psql('postgres', 'CREATE TABLE t_slow ();\n');
    await primary.waitForLog('CREATE TABLE t_slow');
    const started = Date.now();
    const res = await cli(['run', '-c', config, '--statement-timeout', '2'], { killAfterMs: 60_000 });
    assert.equal(res.code, 1, res.stderr);
    assert.ok(Date.now() - started < 20_000, `the run took ${Date.now() - started} ms`);
    assert.match(res.stderr, /b stopped at \S+ in database postgres \(57014 timed out after 2 s \(the statement timeout\): canceling statement due to statement timeout\)/);
    // The other target took it, and its place was saved.
    assert.deepEqual(await tables(a, 't_slow'), ['t_slow']);
    assert.deepEqual(await tables(b, 't_slow'), []);
    const s = await statusJson();
    assert.equal(target(s, 'a').state, 'caught-up');
    assert.equal(target(s, 'b').state, 'timed-out');
    assert.match(target(s, 'b').failure!.error, /^timed out after 2 s/);
    const text = await cli(['status', '-c', config]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /b has timed out since .* in database postgres:\n {4}CREATE TABLE t_slow/);
    const prom = fs.readFileSync(metrics, 'utf8');
    assert.match(prom, /pg_ddl_sync_target_timed_out\{target="b"\} 1/);
    assert.match(prom, /pg_ddl_sync_target_timed_out\{target="a"\} 0/);
    assert.match(prom, /pg_ddl_sync_target_stuck\{target="b"\} 1/);
    assert.match(readDir(toolLog), /statement timed out on target; the target stays at it until the next run/);
    // Once the trigger lets it through, the next run applies it.
    await hangFor(b, 0);
    assert.equal((await cli(['run', '-c', config])).code, 0);
    assert.deepEqual(await tables(b, 't_slow'), ['t_slow']);
    assert.equal(target(await statusJson(), 'b').state, 'caught-up');
  });

  test('a target whose session stops answering ends the run within the client bound; the other target is applied and saved', async () => {
    await hangFor(b, 30);
    primary.psql('postgres', 'CREATE TABLE t_stopped ();\n');
    await primary.waitForLog('CREATE TABLE t_stopped');
    const started = Date.now();
    // The client waits the statement timeout (4 s) and 5 s more; the stopped session times nothing.
    const running = cli(['run', '-c', config, '--statement-timeout', '4'], { killAfterMs: 60_000 });
    let stopped: number | undefined;
    try {
      stopped = await sleeper(b);
      process.kill(stopped, 'SIGSTOP');
      const res = await running;
      const took = Date.now() - started;
      assert.equal(res.code, 1, res.stderr);
      assert.ok(took >= 8_000 && took < 25_000, `the run took ${took} ms`);
      assert.match(res.stderr, /1 of 2 target\(s\) failed .*: b stopped at \S+ in database postgres \(timed out after (9|10) s: no answer from the server/);
      assert.deepEqual(await tables(a, 't_stopped'), ['t_stopped']);
      const s = await statusJson();
      assert.equal(target(s, 'a').state, 'caught-up');
      assert.equal(target(s, 'b').state, 'timed-out');
      assert.match(target(s, 'b').failure!.error, /^timed out after (9|10) s: no answer from the server/);
    } finally {
      if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
      await running;
    }
    await hangFor(b, 0);
    const again = await cli(['run', '-c', config]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await tables(b, 't_stopped'), ['t_stopped']);
  });

  test('a run killed while a target statement sleeps: the session ends at once, and the next run applies it once', async () => {
    await hangFor(b, 600);
    primary.psql('postgres', 'CREATE TABLE t_killed ();\n');
    await primary.waitForLog('CREATE TABLE t_killed');
    // A statement timeout far off: the session must go because its client went.
    const running = cli(['run', '-c', config, '--statement-timeout', '60'], { killAfterMs: 60_000 });
    const pid = await sleeper(b);
    const runPid = (JSON.parse(fs.readFileSync(`${stateFile}.lock`, 'utf8')) as { pid: number }).pid;
    process.kill(runPid, 'SIGKILL');
    assert.equal((await running).signal, 'SIGKILL');
    const killed = Date.now();
    while ((await toolSessions(b)).some((s) => s.pid === pid)) {
      assert.ok(Date.now() - killed < 10_000, 'the killed run\'s session still runs on b');
      await sleep(100);
    }
    // It held the ledger row of the statement: gone with it, nothing of it committed.
    assert.deepEqual(await b.query('postgres', 'SELECT count(*)::int AS n FROM fired'), [{ n: 0 }]);
    await hangFor(b, 0);
    const res = await cli(['run', '-c', config]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await tables(b, 't_killed'), ['t_killed']);
    // The trigger fired once, in the transaction that committed it; the ledger has it once.
    // (The tool's guard functions, made once per connection, fire it too: only the table counts here.)
    assert.deepEqual(await b.query('postgres', "SELECT tag, count(*)::int AS n FROM fired WHERE tag = 'CREATE TABLE' GROUP BY tag"), [{ tag: 'CREATE TABLE', n: 1 }]);
    assert.deepEqual(await b.query('postgres', "SELECT count(*)::int AS n FROM ddl_sync.applied WHERE statement LIKE 'CREATE TABLE t_killed%'"), [{ n: 1 }]);
  });
});
