/**
 * A csvlog damaged in the middle (a record cut in half by a full disk, garbage from a crashed writer):
 * the records before it are applied, the run exits 2 naming file and byte, and `--skip-malformed`
 * goes on at the next log file, once there is one. Through the CLI, against real servers.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines, readDir } from '../helpers/cli';

describe('a damaged csvlog', () => {
  let primary: Cluster;
  let b: Cluster;
  let work: string;
  let logCopy: string;
  let file: string;
  let cutAt: number;

  const args = (...extra: string[]) => [
    'run', '--csvlog-dir', logCopy, '--target', `b=${b.syncUrl}`, '--state-file', path.join(work, 'state.json'), '--log-dir', path.join(work, 'log'), ...extra,
  ];
  const tables = async (): Promise<string[]> =>
    (await b.query<{ relname: string }>('postgres', "SELECT relname FROM pg_class WHERE relname LIKE 'dmg%' ORDER BY 1")).map((r) => r.relname);
  const ledgerRows = async (): Promise<number> => (await b.query<{ n: number }>('postgres', 'SELECT count(*)::int AS n FROM ddl_sync.applied'))[0].n;

  before(async () => {
    work = makeTempDir('pgds-damage-');
    [primary, b] = await startPrimaryAndTargets(['b']);
    for (const t of ['dmg_before', 'dmg_cut', 'dmg_after_1', 'dmg_after_2']) primary.psql('postgres', `CREATE TABLE ${t} (a int);\n`);
    await primary.waitForLog('dmg_after_2');
    // The primary's log, damaged in a copy: the server goes on writing its own.
    const real = fs.readFileSync(primary.csvFiles()[0]);
    const lineAt = (text: string): [number, number] => {
      const at = real.indexOf(text);
      return [real.lastIndexOf('\n', at) + 1, real.indexOf('\n', at) + 1];
    };
    const [cutStart, cutEnd] = lineAt('CREATE TABLE dmg_cut');
    const [secondStart] = lineAt('CREATE TABLE dmg_after_2');
    const half = real.indexOf('CREATE TABLE dmg_cut') + 'CREATE TABLE dm'.length;
    const garbage = Buffer.from('\u0000\u0000\u0000\u0000 written by a writer that crashed\n');
    logCopy = makeTempDir('pgds-damaged-log-');
    file = path.join(logCopy, 'postgresql-damaged.csv');
    fs.writeFileSync(
      file,
      Buffer.concat([
        real.subarray(0, half),
        Buffer.from('\n'), // the disk filled up mid-record; the next record starts on a line of its own
        real.subarray(cutEnd, secondStart),
        garbage,
        real.subarray(secondStart),
      ]),
    );
    cutAt = cutStart;
  });

  after(async () => {
    await Promise.all([primary, b].map((c) => c?.destroy()));
    for (const dir of [work, logCopy]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a dry run lists what comes before the damage and exits 2', async () => {
    const res = await cli(args('--dry-run'));
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stdout, /CREATE TABLE dmg_before/);
    assert.doesNotMatch(res.stdout, /dmg_after/);
    assert.match(lines(res.stderr).pop()!, new RegExp(`^pg-ddl-sync: csvlog ${file} at byte ${cutAt}: `));
    assert.ok(!fs.existsSync(path.join(work, 'state.json')), 'a dry run wrote the state');
  });

  test('a run applies the records before the damage, then exits 2 naming file and byte; again and again, nothing twice', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await cli(args());
      assert.equal(res.code, 2, res.stderr);
      assert.deepEqual(lines(res.stderr), [
        `pg-ddl-sync: csvlog ${file} at byte ${cutAt}: a quoted field is followed by text; what came before it was read, nothing after it; once it is looked at, --skip-malformed goes on at the next log file`,
      ]);
      assert.deepEqual(await tables(), ['dmg_before']);
      assert.equal(await ledgerRows(), 1);
    }
    assert.match(readDir(path.join(work, 'log')), /the csvlog holds a malformed record; reading stops there/);
  });

  test('--skip-malformed stops in the file the server writes, and passes over the rest of it once the log rotated', async () => {
    const stopped = await cli(args('--skip-malformed'));
    assert.equal(stopped.code, 2, stopped.stderr);
    assert.match(stopped.stderr, /--skip-malformed passes over the rest of a file only once the server has gone on to the next/);
    assert.deepEqual(await tables(), ['dmg_before']);
    primary.psql('postgres', 'SELECT pg_rotate_logfile();\n');
    await new Promise((r) => setTimeout(r, 500));
    primary.psql('postgres', 'CREATE TABLE dmg_next (a int);\n');
    await primary.waitForLog('dmg_next');
    fs.utimesSync(file, 1000, 1000);
    const next = primary.csvFiles().pop()!;
    fs.copyFileSync(next, path.join(logCopy, path.basename(next)));
    const res = await cli(args('--skip-malformed'));
    assert.equal(res.code, 0, res.stderr);
    // What followed the damage in its file is lost, and said so: no line after it can be proven to
    // start a record rather than lie inside a statement's quoted text.
    assert.deepEqual(await tables(), ['dmg_before', 'dmg_next']);
    const skips = readDir(path.join(work, 'log'))
      .split('\n')
      .filter((l) => l.includes('skipped a malformed stretch'));
    assert.equal(skips.length, 1, skips.join('\n'));
    assert.match(skips[0], new RegExp(`offset=${cutAt} bytes=${fs.statSync(file).size - cutAt} `));
    // What the skipped bytes held is not echoed: only where they were.
    assert.doesNotMatch(skips.join('\n'), /writer that crashed|dmg_cut/);
    const again = await cli(args());
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await ledgerRows(), 2);
  });
});
