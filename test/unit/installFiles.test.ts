import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { InstallFilesOptions, installFiles } from '../../src/commands/installFiles';
import { HostValues } from '../../src/core/hostFiles';
import { readConfigFile, resolveSettings } from '../../src/io/settings';

/** A data directory good enough for the settings step (PG_VERSION, a csvlog directory setting). */
function fakeDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-datadir-'));
  fs.writeFileSync(path.join(dir, 'PG_VERSION'), '15\n');
  fs.writeFileSync(path.join(dir, 'postgresql.conf'), "log_directory = 'pg_log'\n");
  return dir;
}

const RUN_USER = { uid: 4242, gid: 4343 };

function values(over: Partial<HostValues> = {}): HostValues {
  return {
    name: 'myinst',
    dataDir: fakeDataDir(),
    targets: ['myinst1=postgresql://ddl_syncer@localhost:5433/postgres'],
    configDir: '/etc/pg-ddl-sync',
    stateDir: '/var/lib/pg-ddl-sync',
    logDir: '/var/log/pg-ddl-sync',
    logPrefix: 'myinst',
    intervalMinutes: 1,
    user: 'pgds-test',
    bin: '/usr/local/bin/pg-ddl-sync',
    ...over,
  };
}

/** As root, giving the files to a made-up run user (chown takes any number). */
function asRoot(root: string, force = false): InstallFilesOptions {
  return { root, force, self: { uid: 0, gid: 0 }, lookUp: () => RUN_USER };
}

function statOf(root: string, p: string): { mode: string; owner: string } {
  const st = fs.statSync(path.join(root, p));
  return { mode: (st.mode & 0o7777).toString(8), owner: `${st.uid}:${st.gid}` };
}

const root = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-root-'));
const asRootUser = process.getuid?.() === 0;

describe('install-files', () => {
  it('makes the directories and the config with the owners and modes the README gives', { skip: !asRootUser && 'needs root (chown)' }, () => {
    const r = root();
    const res = installFiles(values(), asRoot(r));
    assert.deepEqual(res.paths.map((p) => p.action), ['created', 'created', 'created', 'created']);
    assert.deepEqual(statOf(r, '/etc/pg-ddl-sync'), { mode: '755', owner: '0:0' });
    assert.deepEqual(statOf(r, '/etc/pg-ddl-sync/myinst.json'), { mode: '640', owner: '0:4343' });
    assert.deepEqual(statOf(r, '/var/lib/pg-ddl-sync'), { mode: '700', owner: '4242:4343' });
    assert.deepEqual(statOf(r, '/var/log/pg-ddl-sync'), { mode: '750', owner: '4242:4343' });
  });

  it('writes a config the settings step reads as a run will', { skip: !asRootUser && 'needs root (chown)' }, () => {
    const r = root();
    const v = values();
    installFiles(v, asRoot(r));
    const s = resolveSettings({}, readConfigFile(path.join(r, '/etc/pg-ddl-sync/myinst.json')));
    assert.equal(s.dataDir?.dir, v.dataDir);
    assert.deepEqual(s.targets.map((t) => t.name), ['myinst1']);
    assert.equal(s.stateFile, '/var/lib/pg-ddl-sync/myinst.state.json');
    assert.equal(s.logDir, '/var/log/pg-ddl-sync');
    assert.equal(s.logPrefix, 'myinst');
    assert.equal(s.sourceName, 'myinst');
  });

  it('refuses to replace a config file without --force, and changes nothing', { skip: !asRootUser && 'needs root (chown)' }, () => {
    const r = root();
    installFiles(values(), asRoot(r));
    const file = path.join(r, '/etc/pg-ddl-sync/myinst.json');
    fs.writeFileSync(file, '{"csvlogDir": "/mine"}\n');
    fs.rmSync(path.join(r, '/var/log/pg-ddl-sync'), { recursive: true });
    assert.throws(() => installFiles(values(), asRoot(r)), /myinst\.json exists; nothing was changed \(give --force to replace it\)/);
    assert.equal(fs.readFileSync(file, 'utf8'), '{"csvlogDir": "/mine"}\n');
    assert.equal(fs.existsSync(path.join(r, '/var/log/pg-ddl-sync')), false);
    const res = installFiles(values(), asRoot(r, true));
    assert.deepEqual(res.paths.map((p) => p.action), ['kept', 'changed', 'kept', 'created']);
    assert.match(fs.readFileSync(file, 'utf8'), /"stateFile": "\/var\/lib\/pg-ddl-sync\/myinst.state.json"/);
  });

  it('refuses a directory of another owner or mode without --force, and fixes it with it', { skip: !asRootUser && 'needs root (chown)' }, () => {
    const r = root();
    fs.mkdirSync(path.join(r, '/var/lib/pg-ddl-sync'), { recursive: true, mode: 0o777 });
    fs.chmodSync(path.join(r, '/var/lib/pg-ddl-sync'), 0o777);
    assert.throws(() => installFiles(values(), asRoot(r)), /pg-ddl-sync exists with owner 0:0 mode 0777, not 4242:4343 0700; nothing was changed/);
    assert.equal(fs.existsSync(path.join(r, '/etc/pg-ddl-sync')), false);
    installFiles(values(), asRoot(r, true));
    assert.deepEqual(statOf(r, '/var/lib/pg-ddl-sync'), { mode: '700', owner: '4242:4343' });
  });

  it('refuses a bad target or interval before it makes anything', () => {
    const r = root();
    assert.throws(() => installFiles(values({ targets: ['myinst1=mysql://x'] }), asRoot(r)), /target "myinst1=mysql:\/\/x": expected/);
    assert.throws(() => installFiles(values({ intervalMinutes: 0 }), asRoot(r)), /interval "0" must be a whole number of minutes from 1 to 60/);
    assert.deepEqual(fs.readdirSync(r), []);
  });

  it('as another user than the run user, refuses to give files away', () => {
    assert.throws(() => installFiles(values(), { root: root(), force: false, self: { uid: 1000, gid: 1000 }, lookUp: () => RUN_USER }), /only root can give files to pgds-test/);
  });

  it('prints the crontab line and the timer for the interval', () => {
    const every5 = installFiles(values({ intervalMinutes: 5 }), { ...asRoot(root()), self: RUN_USER }).plan;
    assert.equal(every5.crontabLine, '*/5 * * * * /usr/local/bin/pg-ddl-sync run -c /etc/pg-ddl-sync/myinst.json');
    assert.match(every5.timerUnit, /^OnCalendar=\*:0\/5$/m);
    assert.match(every5.serviceUnit, /^User=pgds-test$/m);
    assert.match(every5.serviceUnit, /^ExecStart=\/usr\/local\/bin\/pg-ddl-sync run -c \/etc\/pg-ddl-sync\/myinst.json$/m);
    const everyMinute = installFiles(values(), { ...asRoot(root()), self: RUN_USER }).plan;
    assert.equal(everyMinute.crontabLine, '* * * * * /usr/local/bin/pg-ddl-sync run -c /etc/pg-ddl-sync/myinst.json');
  });
});
