import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SETTINGS } from '../../src/core/settingsTable';
import { isTargetUrl, readConfigFile, resolveSettings, selectTargets } from '../../src/io/settings';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-settings-'));

function config(obj: unknown): string {
  const file = path.join(dir, `c${Math.random()}.json`);
  fs.writeFileSync(file, JSON.stringify(obj));
  return file;
}

describe('settings', () => {
  it('merges flags over the file, resolves paths against the file, and names targets', () => {
    const file = config({ csvlogDir: 'pg_log', targets: ['a=postgresql://u@h1:5433/x', 'postgresql://h2/y'], logLevel: 'warn' });
    const s = resolveSettings({ logLevel: 'debug' }, readConfigFile(file));
    assert.equal(s.csvlogDir, path.join(dir, 'pg_log'));
    assert.deepEqual(s.targets.map((t) => t.name), ['a', 'h2:5432']);
    assert.equal(s.logLevel, 'debug');
    assert.match(s.stateFile, /pg-ddl-sync\/.*pg_log\.state\.json$/);
    const flagged = resolveSettings({ targets: ['postgresql://h3:6000/z'] }, readConfigFile(file));
    assert.deepEqual(flagged.targets.map((t) => t.name), ['h3:6000']);
  });

  it('names the unknown key, the bad value and the file', () => {
    assert.throws(() => readConfigFile(config({ csvlogdir: 'x' })), /unknown key "csvlogdir"/);
    assert.throws(() => readConfigFile(config({ targets: 'postgresql://h' })), /key "targets" must be an array of "\[NAME=\]URL" strings or \{"url": …\} objects/);
    assert.throws(() => readConfigFile(config({ targets: [{ url: 'postgresql://h', excludeDatabase: ['x'] }] })), /unknown key "targets\[0\]\.excludeDatabase"/);
    assert.throws(() => readConfigFile(config({ databaseMap: { a: 1 } })), /key "databaseMap" must be an object of strings/);
    assert.throws(() => resolveSettings({ excludeMatching: ['(unclosed'] }), /exclude-matching "\(unclosed"/);
    assert.throws(() => resolveSettings({ targets: ['a=postgres://u:pw-secret@h:99999999/x'] }), (err: Error) => !err.message.includes('pw-secret'));
    assert.throws(() => resolveSettings({ logLevel: 'loud' }), /log level "loud"/);
    assert.throws(() => resolveSettings({ targets: ['mysql://h'] }), /target "mysql:\/\/h"/);
    assert.throws(() => resolveSettings({ targets: ['postgresql://h', 'postgresql://h:5432/x'] }), /given twice/);
    const missing = path.join(dir, 'nope.json');
    assert.throws(() => readConfigFile(missing), new RegExp(missing));
  });

  it('reads the shipped example config as the README describes it', () => {
    const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'pg-ddl-sync.json');
    const s = resolveSettings({}, readConfigFile(example));
    assert.equal(s.csvlogDir, '/opt/sequoiasql/postgresql/database/5432/pg_log');
    assert.deepEqual(s.targets.map((t) => ({ name: t.name, url: t.url })), [{ name: 'myinst1', url: 'postgresql://ddl_syncer@localhost:5433/postgres' }]);
    assert.equal(s.stateFile, '/var/lib/pg-ddl-sync/myinst.state.json');
    assert.equal(s.logDir, '/var/log/pg-ddl-sync');
    assert.equal(s.logPrefix, 'myinst');
    assert.equal(s.sourceName, 'myinst');
    assert.equal(s.connectTimeoutMs, 10_000);
  });

  it("merges filters: everyone's, a target's own on top; a map names the database on the target", () => {
    const file = config({
      excludeCommands: ['create role'],
      databaseMap: { company: 'company_a' },
      targets: ['a=postgresql://h1/x', { name: 'b', url: 'postgresql://h2/x', excludeDatabases: ['scratch'], includeCommands: ['CREATE  TABLE'], databaseMap: { company: 'company_b' } }],
    });
    const s = resolveSettings({ excludeMatching: ['^grant'] }, readConfigFile(file));
    const [a, b] = s.targets;
    assert.deepEqual(a.filters.excludeCommands, ['CREATE ROLE']);
    assert.deepEqual(a.filters.databaseMap, { company: 'company_a' });
    assert.deepEqual(b.filters.excludeDatabases, ['scratch']);
    assert.deepEqual(b.filters.includeCommands, ['CREATE TABLE']);
    assert.deepEqual(b.filters.excludeCommands, ['CREATE ROLE']);
    assert.deepEqual(b.filters.databaseMap, { company: 'company_b' });
    assert.ok(b.filters.excludeMatching[0].test('GRANT SELECT ON t TO r'));
  });

  it('applies as the original role and gives way on locks by default; both can be set, and bad values are named', () => {
    const d = resolveSettings({});
    assert.equal(d.applyAs, 'original');
    assert.equal(d.lockTimeoutMs, 5000);
    assert.equal(d.lockRetries, 3);
    const file = config({ applyAs: 'sync', lockRetries: 0, lockTimeout: 0.5 });
    const s = resolveSettings({}, readConfigFile(file));
    assert.deepEqual([s.applyAs, s.lockRetries, s.lockTimeoutMs], ['sync', 0, 500]);
    assert.equal(resolveSettings({ lockRetries: '7' }, readConfigFile(file)).lockRetries, 7);
    assert.throws(() => resolveSettings({ applyAs: 'owner' }), /apply as "owner" is not one of original, sync/);
    assert.throws(() => resolveSettings({ lockRetries: '-1' }), /lock retries "-1" must be a whole number/);
    assert.throws(() => resolveSettings({ lockRetries: '1.5' }), /lock retries "1.5" must be a whole number/);
    assert.throws(() => readConfigFile(config({ lockRetries: '2' })), /key "lockRetries" must be a number/);
  });

  it('takes durations and counts as plain decimals within a bound, and names the option of a bad one', () => {
    const ok = resolveSettings({ connectTimeout: '600', lockTimeout: '0.25', statementTimeout: '86400', lockRetries: '100' });
    assert.deepEqual([ok.connectTimeoutMs, ok.lockTimeoutMs, ok.statementTimeoutMs, ok.lockRetries], [600_000, 250, 86_400_000, 100]);
    const bad: [Parameters<typeof resolveSettings>[0], RegExp][] = [
      [{ lockTimeout: '1e7' }, /lock timeout "1e7" must be a number of seconds, written with digits and a decimal point only$/],
      [{ lockTimeout: '3601' }, /lock timeout "3601" must be a number of seconds of at most 3600$/],
      [{ lockTimeout: '0x10' }, /lock timeout "0x10" must be/],
      [{ lockTimeout: '' }, /lock timeout "" must be/],
      [{ lockTimeout: ' 5' }, /lock timeout " 5" must be/],
      [{ lockTimeout: '0.0001' }, /lock timeout "0.0001" must be a number of seconds of at least 0.001 \(0: no limit\)$/],
      [{ lockTimeout: 'Infinity' }, /lock timeout "Infinity" must be/],
      [{ connectTimeout: '601' }, /connect timeout "601" must be a number of seconds of at most 600$/],
      [{ connectTimeout: '0' }, /connect timeout "0" must be a number of seconds above 0$/],
      [{ statementTimeout: '86401' }, /statement timeout "86401" must be a number of seconds of at most 86400$/],
      [{ statementTimeout: '-1' }, /statement timeout "-1" must be/],
      [{ lockRetries: '101' }, /lock retries "101" must be a whole number of at most 100$/],
      [{ lockRetries: '1e2' }, /lock retries "1e2" must be a whole number, written with digits only$/],
    ];
    for (const [raw, message] of bad) assert.throws(() => resolveSettings(raw), message, JSON.stringify(raw));
    // A number in the config file is held to the same bounds.
    assert.throws(() => resolveSettings({}, readConfigFile(config({ lockTimeout: 1e7 }))), /lock timeout "10000000" must be a number of seconds of at most 3600$/);
    assert.throws(() => resolveSettings({}, readConfigFile(config({ statementTimeout: 1e-7 }))), /statement timeout "1e-7" must be/);
  });

  it('takes the resident interval from the config file or --interval: 0 (one pass) by default, up to an hour', () => {
    assert.equal(resolveSettings({}).intervalMs, 0);
    assert.equal(resolveSettings({}, readConfigFile(config({ interval: 1 }))).intervalMs, 1000);
    assert.equal(resolveSettings({ interval: '0.25' }, readConfigFile(config({ interval: 1 }))).intervalMs, 250);
    assert.throws(() => resolveSettings({ interval: '1s' }), /interval "1s" must be a number of seconds/);
    assert.throws(() => resolveSettings({ interval: '7200' }), /interval "7200" must be a number of seconds of at most 3600/);
    assert.throws(() => readConfigFile(config({ interval: '1' })), /key "interval" must be a number/);
  });

  it('leaves out the roles given, and the roles it connects to its targets as (found as libpq finds them) only when asked', () => {
    const saved = process.env.PGUSER;
    try {
      delete process.env.PGUSER;
      const file = config({
        targets: ['a=postgresql://ddl_syncer@h1/x', 'b=postgresql://ddl_syncer@h2/x', 'c=postgresql://h3/x', 'd=postgresql://h4/x?user=q_user'],
        ignoreUsers: ['other_tool'],
      });
      const s = resolveSettings({}, readConfigFile(file));
      // No user in the URI: the OS user, as libpq takes it (not $USER).
      assert.deepEqual(s.syncUsers, ['ddl_syncer', os.userInfo().username, 'q_user']);
      // By default the tool's own statements are told by their application_name alone: a DBA who
      // shares the role the tool connects as loses nothing.
      assert.equal(s.ignoreSyncUsers, false);
      assert.deepEqual(s.ignoredRoles, ['other_tool']);
      process.env.PGUSER = 'env_user';
      assert.deepEqual(resolveSettings({}, readConfigFile(file)).syncUsers, ['ddl_syncer', 'env_user', 'q_user']);
      // --ignore-user replaces the file's list; the sync roles stay (a mesh's set-up).
      assert.deepEqual(resolveSettings({ ignoreUsers: ['x'], ignoreSyncUsers: true }, readConfigFile(file)).ignoredRoles, ['ddl_syncer', 'env_user', 'q_user', 'x']);
      // From the file or a flag; a flag beats the file either way.
      const off = config({ targets: ['a=postgresql://ddl_syncer@h1/x'], ignoreUsers: ['other_tool'], ignoreSyncUsers: false });
      const o = resolveSettings({}, readConfigFile(off));
      assert.deepEqual([o.syncUsers, o.ignoreSyncUsers, o.ignoredRoles], [['ddl_syncer'], false, ['other_tool']]);
      assert.deepEqual(resolveSettings({ ignoreSyncUsers: true }, readConfigFile(off)).ignoredRoles, ['ddl_syncer', 'other_tool']);
      const on = config({ targets: ['a=postgresql://ddl_syncer@h1/x'], ignoreUsers: ['other_tool'], ignoreSyncUsers: true });
      assert.deepEqual(resolveSettings({ ignoreSyncUsers: false }, readConfigFile(on)).ignoredRoles, ['other_tool']);
      // No target, no sync role (a dry run, a replay onto nothing).
      assert.deepEqual(resolveSettings({}).ignoredRoles, []);
      assert.throws(() => readConfigFile(config({ ignoreSyncUsers: 'no' })), /key "ignoreSyncUsers" must be true or false/);
    } finally {
      if (saved === undefined) delete process.env.PGUSER;
      else process.env.PGUSER = saved;
    }
  });

  it('picks targets by name for verify, and tells a name from a URL', () => {
    const s = resolveSettings({}, readConfigFile(config({ targets: ['a=postgresql://h1/x', 'b=postgresql://h2/x'] })));
    assert.deepEqual(selectTargets(s.targets, ['b']).map((t) => t.name), ['b']);
    assert.deepEqual(selectTargets(s.targets, []).map((t) => t.name), ['a', 'b']);
    assert.throws(() => selectTargets(s.targets, ['c']), /no target named "c" \(known: a, b\)/);
    assert.ok(isTargetUrl('a=postgresql://h/x') && isTargetUrl('postgres://h') && !isTargetUrl('a') && !isTargetUrl('my-target'));
  });

  it('fills every setting of the table, and names every config key in the table order', () => {
    const s = resolveSettings({}) as unknown as Record<string, unknown>;
    for (const e of SETTINGS) if ('setting' in e) assert.notEqual(s[e.setting], undefined, e.setting);
    const known = SETTINGS.map((e) => e.key).join(', ');
    assert.throws(() => readConfigFile(config({ csvlogdir: 'x' })), (err: Error) => err.message.endsWith(`unknown key "csvlogdir" (known: ${known})`));
    assert.equal(known, 'csvlogDir, dataDir, targets, stateFile, logDir, logPrefix, logLevel, logFormat, metricsFile, sourceName, source, connectTimeout, lockTimeout, statementTimeout, lockRetries, applyAs, ignoreUsers, ignoreSyncUsers, maxHeldBack, sendInstanceCommands, logKeepDays, interval, includeDatabases, excludeDatabases, includeCommands, excludeCommands, excludeMatching, databaseMap');
  });
});
