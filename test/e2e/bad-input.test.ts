/**
 * Bad input stops a run with exit 2 and one line saying what and where, and changes neither the state
 * file nor any target.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines } from '../helpers/cli';

describe('bad input', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;

  before(async () => {
    work = makeTempDir('pgds-bad-');
    [primary, target] = await startPrimaryAndTargets(['target']);
    primary.psql('postgres', 'CREATE TABLE bad_input_t (a int);\n');
    await primary.waitForLog('bad_input_t');
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Exit 2, exactly one line on stderr matching `pattern`, and the target untouched. */
  async function assertRefused(args: string[], pattern: RegExp): Promise<void> {
    const res = await cli(args);
    assert.equal(res.code, 2, `exit ${res.code}: ${res.stderr}`);
    const errLines = lines(res.stderr);
    assert.equal(errLines.length, 1, res.stderr);
    assert.match(errLines[0], pattern);
    assert.deepEqual(await target.query('postgres', "SELECT nspname FROM pg_namespace WHERE nspname = 'ddl_sync'"), []);
    assert.deepEqual(await target.query('postgres', "SELECT relname FROM pg_class WHERE relname = 'bad_input_t'"), []);
  }

  const states: [string, string, RegExp][] = [
    ['torn', '{"version":1,"targets":{"t":{"position":{"file":"postgresql-', /not valid JSON/],
    ['empty', '', /not valid JSON \(0 bytes\)/],
    ['garbage', '\u0000\u0001PK\u0003\u0004 binary junk', /not valid JSON/],
    ['future version', '{"version":7,"targets":{}}', /format version 7 is not one this pg-ddl-sync reads/],
    ['bad position', '{"version":1,"journal":{"nextSeq":0,"entries":[]},"targets":{"t":{"next":-3}}}', /key "targets\.t\.next" must be a journal sequence number/],
    ['an array', '[]', /not a pg-ddl-sync state/],
  ];
  for (const [kind, content, problem] of states) {
    test(`a ${kind} state file: exit 2 naming the file, nothing changed`, async () => {
      const stateFile = path.join(work, `${kind.replace(/ /g, '-')}.state.json`);
      fs.writeFileSync(stateFile, content, { mode: 0o600 });
      const args = ['run', '--csvlog-dir', primary.logDir, '--target', `t=${target.syncUrl}`, '--state-file', stateFile];
      await assertRefused(args, new RegExp(`^pg-ddl-sync: state file ${stateFile.replace(/[.]/g, '\\.')}: ${problem.source}`));
      assert.equal(fs.readFileSync(stateFile, 'utf8'), content);
      assert.ok(!fs.existsSync(`${stateFile}.lock`), 'lock left behind');
    });
  }

  test('a config file with an unknown key names the file and the key', async () => {
    const config = path.join(work, 'unknown-key.json');
    fs.writeFileSync(config, JSON.stringify({ csvlogDir: primary.logDir, targets: [target.syncUrl], csvlogdir: '/x' }));
    await assertRefused(['run', '-c', config], new RegExp(`^pg-ddl-sync: config file ${config}: unknown key "csvlogdir"`));
  });

  test('a config file that is not JSON names the file', async () => {
    const config = path.join(work, 'broken.json');
    fs.writeFileSync(config, '{ "csvlogDir": ');
    await assertRefused(['run', '-c', config], new RegExp(`^pg-ddl-sync: config file ${config}: `));
  });

  test('a target that is not a URI', async () => {
    await assertRefused(
      ['run', '--csvlog-dir', primary.logDir, '--target', 'somehost:5433', '--state-file', path.join(work, 'x.json')],
      /^pg-ddl-sync: .*somehost:5433/,
    );
  });

  test('no target and no --dry-run', async () => {
    await assertRefused(['run', '--csvlog-dir', primary.logDir, '--state-file', path.join(work, 'y.json')], /^pg-ddl-sync: no target/);
  });

  test('a csvlog directory that does not exist', async () => {
    const missing = path.join(work, 'no-such-dir');
    await assertRefused(
      ['run', '--csvlog-dir', missing, '--target', target.syncUrl, '--state-file', path.join(work, 'z.json')],
      new RegExp(`^pg-ddl-sync: .*${missing}`),
    );
    assert.ok(!fs.existsSync(path.join(work, 'z.json')));
  });

  test('an unknown option', async () => {
    const res = await cli(['run', '--csvlog-directory', primary.logDir]);
    assert.equal(res.code, 2);
    assert.deepEqual(lines(res.stderr), ["pg-ddl-sync: unknown option '--csvlog-directory' (see --help)"]);
  });
});
