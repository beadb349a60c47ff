/**
 * Passwords come from where libpq takes them: the URI, PGPASSWORD, or the password file. None of them
 * ever shows in the tool's output, log or state.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines, readDir } from '../helpers/cli';

const PASSWORD = 'sync-pw-8c1f';

describe('target passwords, as libpq finds them', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;
  let toolLog: string;

  const args = (url: string, stateName: string) => [
    'run', '--csvlog-dir', primary.logDir, '--target', `t=${url}`,
    '--state-file', path.join(work, stateName), '--log-dir', toolLog,
  ];

  before(async () => {
    work = makeTempDir('pgds-auth-');
    toolLog = path.join(work, 'log');
    [primary, target] = await startPrimaryAndTargets(['target']);
    target.psql('postgres', `CREATE ROLE sync_user LOGIN SUPERUSER PASSWORD '${PASSWORD}';\n`);
    const hba = path.join(target.dataDir, 'pg_hba.conf');
    fs.writeFileSync(hba, `host all sync_user 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(hba, 'utf8')}`);
    await target.query('postgres', 'SELECT pg_reload_conf()');
    primary.psql('postgres', 'CREATE TABLE auth_t (a int);\n');
    await primary.waitForLog('auth_t');
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  const url = () => `postgresql://sync_user@127.0.0.1:${target.port}/postgres`;

  test('without a password the target fails: exit 1, one line, nothing applied', async () => {
    const res = await cli(args(url(), 'none.json'));
    assert.equal(res.code, 1);
    assert.equal(lines(res.stderr).length, 1, res.stderr);
    assert.match(res.stderr, /t is unreachable \(.*password/);
    assert.deepEqual(await target.query('postgres', "SELECT 1 FROM pg_class WHERE relname = 'auth_t'"), []);
  });

  test('the password file (PGPASSFILE) is used', async () => {
    const passfile = path.join(work, 'pgpass');
    fs.writeFileSync(passfile, `# host:port:db:user:password\n127.0.0.1:${target.port}:*:sync_user:${PASSWORD}\n`, { mode: 0o600 });
    const res = await cli(args(url(), 'passfile.json'), { env: { PGPASSFILE: passfile } });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await target.query('postgres', "SELECT relname FROM pg_class WHERE relname = 'auth_t'"), [{ relname: 'auth_t' }]);
  });

  test('PGPASSWORD and a password in the URI work, and never show', async () => {
    primary.psql('postgres', 'CREATE TABLE auth_t2 (a int);\n');
    await primary.waitForLog('auth_t2');
    const env = await cli(args(url(), 'env.json'), { env: { PGPASSWORD: PASSWORD } });
    assert.equal(env.code, 0, env.stderr);
    const withPw = `postgresql://sync_user:${PASSWORD}@127.0.0.1:${target.port}/postgres`;
    const uri = await cli([...args(withPw, 'uri.json'), '--dry-run']);
    assert.equal(uri.code, 0, uri.stderr);
    const applied = await cli(args(withPw, 'uri.json'));
    assert.equal(applied.code, 0, applied.stderr);
    const seen = [env.stdout, env.stderr, uri.stdout, uri.stderr, applied.stdout, applied.stderr, readDir(toolLog)];
    for (const f of fs.readdirSync(work).filter((f) => f.endsWith('.json'))) seen.push(fs.readFileSync(path.join(work, f), 'utf8'));
    for (const text of seen) assert.ok(!text.includes(PASSWORD), `password shown in: ${text.slice(0, 200)}`);
    assert.deepEqual(await target.query('postgres', "SELECT relname FROM pg_class WHERE relname = 'auth_t2'"), [{ relname: 'auth_t2' }]);
  });
});
