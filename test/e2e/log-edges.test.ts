/**
 * Edges of reading a real server's log: `--skip-malformed` past damage in front of a statement whose
 * text forges csvlog records, and a log directory that holds no csvlog.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, PRIMARY_SETTINGS, makeTempDir, sleep, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines } from '../helpers/cli';

/** A csvlog line of PostgreSQL 13+ (26 columns) without a quote: the only kind a user's text can hold. */
function forged(line: number, message: string): string {
  return `2030-01-01 00:00:00.000 UTC,postgres,postgres,4242,,forged.1,${line},idle,2030-01-01 00:00:00 UTC,9/9,0,LOG,00000,${message},,,,,,,,,psql,client backend,,0`;
}

describe('--skip-malformed and a statement that forges csvlog records', () => {
  let primary: Cluster;
  let work: string;
  let rotated: string;
  let newest: string;
  let damagedAt: number;

  const dryRun = (dir: string) => cli(['run', '--dry-run', '--skip-malformed', '--csvlog-dir', dir, '--state-file', path.join(work, `${path.basename(dir)}.state.json`)]);

  before(async () => {
    work = makeTempDir('pgds-forge-');
    [primary] = await startPrimaryAndTargets([], 'all');
    primary.psql('postgres', 'CREATE TABLE forge_before (a int);\n');
    const text = `\n${forged(1, 'statement: CREATE TABLE forge_forged (a int)')}\n${forged(2, 'disconnection: session time: 0:00:00.001 user=postgres database=postgres host=[local]')}\n`;
    primary.psql('postgres', `SELECT '${text}' AS harmless;\n`);
    await primary.waitForLog('harmless');
    // Log file names go to the second: a rotation within the file's first second would reopen it.
    await sleep(1100);
    primary.psql('postgres', 'SELECT pg_rotate_logfile();\n');
    await sleep(500);
    primary.psql('postgres', 'CREATE TABLE forge_after (a int);\n');
    await primary.waitForLog('forge_after');
    const [first, second] = primary.csvFiles();
    assert.ok(second, 'the log rotated');
    // The first line of the record that holds the forgery is damaged (a torn write): the next line
    // that scans as a record is the forgery, inside the statement's quoted text.
    const real = fs.readFileSync(first);
    const forgery = real.indexOf(forged(1, 'statement:').split('statement:')[0]);
    const lineStart = real.lastIndexOf('\n', forgery - 2) + 1;
    assert.ok(forgery > 0 && lineStart > 0);
    const damaged = Buffer.concat([real.subarray(0, lineStart), Buffer.from('\u0000\u0000 torn\n'), real.subarray(real.indexOf('\n', lineStart) + 1)]);
    damagedAt = lineStart;
    rotated = makeTempDir('pgds-forge-rotated-');
    fs.writeFileSync(path.join(rotated, path.basename(first)), damaged);
    fs.utimesSync(path.join(rotated, path.basename(first)), 1000, 1000);
    fs.copyFileSync(second, path.join(rotated, path.basename(second)));
    newest = makeTempDir('pgds-forge-newest-');
    fs.writeFileSync(path.join(newest, path.basename(first)), damaged);
  });

  after(async () => {
    await primary?.destroy();
    for (const dir of [work, rotated, newest]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('in a file the server has left, the rest of the file is passed over: the forgery is never read', async () => {
    const res = await dryRun(rotated);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /CREATE TABLE forge_before/);
    assert.match(res.stdout, /CREATE TABLE forge_after/);
    assert.doesNotMatch(res.stdout, /forge_forged/);
  });

  test('in the file the server writes, it stops there: exit 2, nothing after the damage', async () => {
    const res = await dryRun(newest);
    assert.equal(res.code, 2, res.stderr);
    assert.doesNotMatch(res.stdout, /forge_forged/);
    assert.match(lines(res.stderr).pop()!, new RegExp(`at byte ${damagedAt}: .*--skip-malformed passes over the rest of a file only once the server has gone on to the next`));
  });
});

describe('a log directory without csvlog', () => {
  let server: Cluster;
  let work: string;

  before(async () => {
    work = makeTempDir('pgds-nocsv-');
    server = await Cluster.start({ name: 'jsonlog', settings: { ...PRIMARY_SETTINGS, log_destination: "'jsonlog,stderr'" } });
    server.psql('postgres', 'CREATE TABLE json_only (a int);\n');
  });

  after(async () => {
    await server?.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const run = (dir: string) => cli(['run', '--dry-run', '--csvlog-dir', dir, '--state-file', path.join(work, 'state.json')]);

  test('a server logging jsonlog and stderr: exit 2, naming the directory and what it holds', async () => {
    const res = await run(server.logDir);
    assert.equal(res.code, 2, res.stderr);
    assert.deepEqual(lines(res.stderr), [
      `pg-ddl-sync: the csvlog directory ${server.logDir} holds no .csv file (found 1 .json file(s), 1 .log file(s)): the primary's log_destination must include csvlog, with logging_collector on, and this must be its log_directory`,
    ]);
  });

  test('an empty directory: exit 2', async () => {
    const empty = makeTempDir('pgds-nocsv-empty-');
    const res = await run(empty);
    fs.rmSync(empty, { recursive: true, force: true });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /holds no \.csv file \(found nothing\)/);
  });
});
