/**
 * The state file and the files beside it, as a run meets them: a state file of another primary, one
 * with a malformed field or positions that disagree, and places others can write. Each stops the run
 * with exit 2 and one line saying what and where, and changes nothing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines } from '../helpers/cli';

/** The parts of a state file these tests change. */
interface Saved {
  primary?: unknown;
  log: { judge: { sessions: unknown }; files: { name: string; offset: number; size: number }[] };
  targets: Record<string, { next: number }>;
}

describe('the state file and the files beside it', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;
  /** A state file as a first run left it. */
  let saved: Saved;

  const run = (stateFile: string, extra: string[] = [], logDir = primary.logDir) =>
    cli(['run', '--csvlog-dir', logDir, '--target', `t=${target.syncUrl}`, '--state-file', stateFile, ...extra]);

  /** Exit 2, one line on stderr matching `pattern`, the state file as it was. */
  async function assertRefused(stateFile: string, extra: string[], pattern: RegExp, logDir?: string): Promise<void> {
    const before = fs.existsSync(stateFile) ? fs.readFileSync(stateFile, 'utf8') : null;
    const res = await run(stateFile, extra, logDir);
    assert.equal(res.code, 2, `exit ${res.code}: ${res.stderr}`);
    assert.equal(lines(res.stderr).length, 1, res.stderr);
    assert.match(lines(res.stderr)[0], pattern);
    assert.equal(fs.existsSync(stateFile) ? fs.readFileSync(stateFile, 'utf8') : null, before);
    assert.ok(!fs.existsSync(`${stateFile}.lock`), 'lock left behind');
  }

  /** A copy of the first run's state file, changed by `change`, written to `name`. */
  function stateLike(name: string, change: (s: Saved) => void): string {
    const s = structuredClone(saved);
    change(s);
    const file = path.join(work, name);
    fs.writeFileSync(file, JSON.stringify(s), { mode: 0o600 });
    return file;
  }

  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  before(async () => {
    work = makeTempDir('pgds-statefile-');
    [primary, target] = await startPrimaryAndTargets(['target']);
    primary.psql('postgres', 'CREATE TABLE state_file_t (a int);\n');
    await primary.waitForLog('state_file_t');
    const first = path.join(work, 'first.json');
    const res = await run(first);
    assert.equal(res.code, 0, res.stderr);
    saved = JSON.parse(fs.readFileSync(first, 'utf8')) as Saved;
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('records the primary it belongs to: the real path of its log directory', () => {
    assert.deepEqual(saved.primary, { logDir: fs.realpathSync(primary.logDir) });
  });

  test('a state file reused for another log directory stops the run, naming both and what to do', async () => {
    const other = path.join(work, 'other-log');
    fs.cpSync(primary.logDir, other, { recursive: true });
    const file = stateLike('reused.json', () => undefined);
    await assertRefused(
      file,
      [],
      new RegExp(`^pg-ddl-sync: state file ${escape(file)}: it belongs to the primary logging to ${escape(fs.realpathSync(primary.logDir))}, not to ${escape(other)}; .*--state-file NEW_FILE`),
      other,
    );
  });

  test('a state file written before the primary was recorded adopts this log directory', async () => {
    const file = stateLike('old.json', (s) => delete s.primary);
    const res = await run(file);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')).primary, { logDir: fs.realpathSync(primary.logDir) });
  });

  test('a malformed field deep in the state names its key path', async () => {
    const file = stateLike('malformed.json', (s) => (s.log.judge.sessions = 5));
    await assertRefused(file, [], new RegExp(`^pg-ddl-sync: state file ${escape(file)}: key "log\\.judge\\.sessions" must be an array`));
  });

  test("a target's place past the end of the journal is refused, not a silent skip of all that comes", async () => {
    const file = stateLike('past.json', (s) => (s.targets.t.next = 1000));
    await assertRefused(file, [], /key "targets\.t\.next": 1000 is past the end of the journal/);
  });

  test("a file's mark past its size is refused, naming the file, the offset and the size", async () => {
    const file = stateLike('mark.json', (s) => (s.log.files[0].offset = s.log.files[0].size + 1000));
    const mark = saved.log.files[0];
    await assertRefused(file, [], new RegExp(`key "log\\.files\\[0\\]\\.offset": offset ${mark.size + 1000} is past the end of ${escape(mark.name)} \\(size ${mark.size}\\)`));
  });

  test('a state file in a directory every user can write (sticky or not) is refused before a lock is taken', async () => {
    for (const mode of [0o1777, 0o777]) {
      const open = path.join(work, `open-${mode.toString(8)}`);
      fs.mkdirSync(open);
      fs.chmodSync(open, mode);
      await assertRefused(path.join(open, 'state.json'), [], new RegExp(`directory ${escape(open)} can be written by every user`));
      assert.deepEqual(fs.readdirSync(open), []);
    }
  });

  test('a metrics file in a directory every user can write is a usage error before the run', async () => {
    const open = path.join(work, 'open-metrics');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o1777);
    const file = stateLike('metrics.json', () => undefined);
    await assertRefused(file, ['--metrics-file', path.join(open, 'm.prom')], new RegExp(`^pg-ddl-sync: --metrics-file ${escape(open)}/m\\.prom: directory`));
    assert.deepEqual(fs.readdirSync(open), []);
  });
});
