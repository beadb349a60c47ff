/**
 * Operations a DBA can trust: instance-level DDL stays on the primary, a failed login ends the
 * process at once, status and check say what is wrong, each command's help is its own, a dry run
 * shows how each statement runs, and status tells lag in seconds and a run in progress.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Status } from '../../src/commands/status';
import { Cluster, makeTempDir, sleep, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';

/** A user outside the server's OS user, in the server's group (as README's sync user is). */
function groupMember(): { uid: number; gid: number } {
  const id = (args: string[]) => Number(execFileSync('id', args).toString().trim());
  return { uid: id(['-u', 'nobody']), gid: id(['-g', 'postgres']) };
}

describe('operations a DBA can trust', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;
  let toolLog: string;

  const args = (state: string, ...extra: string[]) => [
    '--csvlog-dir', primary.logDir, '--target', `t=${target.syncUrl}`, '--state-file', path.join(work, state), ...extra,
  ];
  const autoConf = () => fs.readFileSync(path.join(target.dataDir, 'postgresql.auto.conf'), 'utf8');

  before(async () => {
    work = makeTempDir('pgds-dba-');
    fs.chmodSync(work, 0o755);
    toolLog = path.join(work, 'log');
    [primary, target] = await startPrimaryAndTargets(['target']);
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('ALTER SYSTEM and tablespaces stay on the primary unless --send-instance-commands', async () => {
    fs.mkdirSync(path.join(work, 'ts'), { mode: 0o700 });
    execFileSync('chown', ['postgres', path.join(work, 'ts')]);
    primary.psql('postgres', `ALTER SYSTEM SET work_mem = '7MB';\nCREATE TABLESPACE dba_ts LOCATION '${path.join(work, 'ts')}';\nCREATE TABLE dba_kept (a int);\n`);
    await primary.waitForLog('dba_kept');
    const res = await cli(['run', ...args('instance.json', '--log-dir', toolLog)]);
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(autoConf(), /work_mem/);
    assert.deepEqual(await target.query('postgres', "SELECT spcname FROM pg_tablespace WHERE spcname = 'dba_ts'"), []);
    assert.deepEqual(await target.query('postgres', "SELECT relname FROM pg_class WHERE relname = 'dba_kept'"), [{ relname: 'dba_kept' }]);
    const log = readDir(toolLog);
    assert.match(log, /not sent: ALTER SYSTEM acts on the server instance/);
    assert.match(log, /not sent: CREATE TABLESPACE acts on the server instance/);
    assert.match(log, /run finished .*not_sent_instance=2/);

    primary.psql('postgres', "ALTER SYSTEM SET maintenance_work_mem = '77MB';\n");
    await primary.waitForLog('77MB');
    const through = await cli(['run', ...args('instance.json', '--send-instance-commands')]);
    assert.equal(through.code, 0, through.stderr);
    assert.match(autoConf(), /maintenance_work_mem = '77MB'/);
  });

  test('a target whose password is not found ends the process within a second or two', async () => {
    target.psql('postgres', "CREATE ROLE pw_user LOGIN SUPERUSER PASSWORD 'pw-5d1';\n");
    const hba = path.join(target.dataDir, 'pg_hba.conf');
    fs.writeFileSync(hba, `host all pw_user 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(hba, 'utf8')}`);
    await target.query('postgres', 'SELECT pg_reload_conf()');
    const url = `t=postgresql://pw_user@127.0.0.1:${target.port}/postgres`;
    const started = Date.now();
    const res = await cli(['run', '--csvlog-dir', primary.logDir, '--target', url, '--state-file', path.join(work, 'pw.json')], { killAfterMs: 30_000 });
    const ms = Date.now() - started;
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /password/);
    // The server's authentication_timeout is 60 s: a connection left open would hold the process that long.
    console.log(`failed password to exit: ${ms} ms`);
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  test('status without a state file is exit 2; check takes a URL without a database as run does', async () => {
    const home = path.join(work, 'home');
    fs.mkdirSync(home);
    const bare = await cli(['status'], { env: { HOME: home, XDG_STATE_HOME: '' } });
    assert.equal(bare.code, 2, bare.stdout);
    assert.match(bare.stderr, /state file .* does not exist/);

    const noDb = `t=postgresql://ddl_syncer@127.0.0.1:${target.port}`;
    const run = await cli(['run', '--csvlog-dir', primary.logDir, '--target', noDb, '--state-file', path.join(work, 'nodb.json')]);
    assert.equal(run.code, 0, run.stderr);
    const check = await cli(['check', '--csvlog-dir', primary.logDir, '--target', noDb, '--state-file', path.join(work, 'nodb.json')]);
    assert.doesNotMatch(check.stdout, /error +target/, check.stdout);
    assert.match(check.stdout, /ok +target t: connected as ddl_syncer/);
  });

  test('a user who may not read the log is told the real cause, and the modes that let it in work', async () => {
    const member = groupMember();
    const state = path.join(work, 'member', 'state.json');
    fs.mkdirSync(path.dirname(state));
    fs.chownSync(path.dirname(state), member.uid, member.gid);
    const opts = { ...member, env: { HOME: path.dirname(state) } };
    const denied = await cli(['status', '--data-dir', primary.dataDir, '--state-file', state], opts);
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /permission denied \(EACCES\)/);
    assert.doesNotMatch(denied.stderr, /PG_VERSION/);
    const check = await cli(['check', '--csvlog-dir', primary.logDir, '--state-file', state, '--target', `t=${target.syncUrl}`], opts);
    assert.match(check.stdout, /error +csvlog directory: .*mode 0700 of .* keeps this user .*initdb --allow-group-access.*log_file_mode = 0640/);
    // The directory modes and log_file_mode = 0640 (the primary has it): the log is readable.
    for (const dir of [path.dirname(primary.dataDir), primary.dataDir, primary.logDir]) fs.chmodSync(dir, 0o750);
    try {
      const ok = await cli(['check', '--csvlog-dir', primary.logDir, '--state-file', state, '--target', `t=${target.syncUrl}`], opts);
      assert.match(ok.stdout, /ok +csvlog directory: /, ok.stdout);
    } finally {
      for (const dir of [primary.dataDir, primary.logDir]) fs.chmodSync(dir, 0o700);
    }
  });

  test("each command's --help lists its own options and exit codes; skip has its own flag for the stopped target", async () => {
    for (const cmd of ['status', 'check', 'skip', 'verify']) {
      const help = (await cli([cmd, '--help'])).stdout;
      for (const runOnly of ['--lock-retries', '--apply-as', '--metrics-file', '--max-held-back']) assert.doesNotMatch(help, new RegExp(runOnly), `${cmd} ${runOnly}`);
      assert.doesNotMatch(help, /held back longer/, cmd);
      assert.match(help, /Exit codes:/, cmd);
    }
    assert.match((await cli(['status', '--help'])).stdout, /no state file to read/);
    const state = path.join(work, 'skip.json');
    await cli(['run', ...args('skip.json')]);
    const res = await cli(['skip', '--csvlog-dir', primary.logDir, '--target', `t=${target.syncUrl}`, '--stopped-target', 't', '--state-file', state, '--yes']);
    assert.doesNotMatch(res.stderr, /unknown option/);
    assert.match(res.stderr, /\bt\b/);
  });

  test('run --dry-run shows the database, role and settings each statement runs with', async () => {
    primary.psql('postgres', 'CREATE DATABASE shop;\nCREATE ROLE shop_owner;\n');
    // Logged whole, so that the log shows the session's settings.
    primary.psql('shop', "SET log_statement = 'all';\nCREATE SCHEMA sales AUTHORIZATION shop_owner;\nSET ROLE shop_owner;\nSET search_path = sales, public;\nCREATE TABLE orders (id int);\n");
    await primary.waitForLog('CREATE TABLE orders');
    const res = await cli(['run', '--dry-run', ...args('dry.json')]);
    assert.equal(res.code, 0, res.stderr);
    const block = res.stdout.split('\n');
    const at = block.findIndex((l) => l.startsWith('CREATE TABLE orders'));
    assert.ok(at > 1, res.stdout);
    // The session's role, and what the session set before it: its SET ROLE and search_path.
    assert.match(block.slice(at - 2, at).join('\n'), /^-- database shop, as role postgres, from .*\n-- with SET LOCAL ROLE shop_owner; SET LOCAL search_path = sales, public$/);
  });

  test('status: lag in seconds, in JSON and metrics, and the run holding the lock', async () => {
    const state = path.join(work, 'lag.json');
    const metrics = path.join(work, 'lag.prom');
    target.psql('postgres', 'CREATE TABLE lag_t (a int);\n');
    primary.psql('postgres', 'CREATE TABLE lag_t (a int);\n');
    await primary.waitForLog('lag_t');
    await sleep(2000);
    const res = await cli(['run', ...args('lag.json', '--metrics-file', metrics)]);
    assert.equal(res.code, 1, res.stderr);
    const json = JSON.parse((await cli(['status', '--json', ...args('lag.json')])).stdout) as Status & { targets: { lagSeconds: number }[] };
    assert.ok(json.targets[0].lagSeconds >= 2, JSON.stringify(json.targets[0]));
    assert.match(fs.readFileSync(metrics, 'utf8'), /pg_ddl_sync_target_lag_seconds\{target="t"\} [1-9]/);
    assert.equal((json as { running?: unknown }).running, null);
    // A process that runs as pg-ddl-sync does (by name) and holds the lock, as a run under way does.
    const holderScript = path.join(work, 'pg-ddl-sync-holder.js');
    const lockModule = path.resolve(__dirname, '..', '..', 'src', 'io', 'lock.js');
    fs.writeFileSync(holderScript, `require(${JSON.stringify(lockModule)}).acquireLock(${JSON.stringify(`${state}.lock`)}); process.stdout.write('held\\n'); setInterval(() => undefined, 1000);`);
    const holder = spawn(process.execPath, [holderScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => holder.stdout.once('data', resolve));
      const held = await cli(['status', ...args('lag.json')]);
      assert.match(held.stdout, new RegExp(`a run is in progress: pid ${holder.pid}, holding the lock since `));
      const heldJson = JSON.parse((await cli(['status', '--json', ...args('lag.json')])).stdout) as { running: { pid: number } };
      assert.equal(heldJson.running.pid, holder.pid);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test("the tool's own log files are kept --log-keep-days days", async () => {
    const dir = path.join(work, 'keep');
    fs.mkdirSync(dir, { mode: 0o700 });
    const old = path.join(dir, 'pg-ddl-sync-2001-01-01.log');
    const other = path.join(dir, 'notes-2001-01-01.log');
    for (const f of [old, other]) fs.writeFileSync(f, 'x\n');
    const kept = await cli(['run', ...args('keep.json', '--log-dir', dir, '--log-keep-days', '0')]);
    assert.ok(fs.existsSync(old), kept.stderr);
    await cli(['run', ...args('keep.json', '--log-dir', dir)]);
    assert.ok(!fs.existsSync(old));
    assert.ok(fs.existsSync(other));
  });
});
