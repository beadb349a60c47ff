/**
 * Secrets in DDL (server and user mapping options, a role's password) never show in what the tool
 * prints, logs or stores, whichever string syntax the primary's session read them with.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, makeTempDir, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';

/** Each secret, by the option or clause that holds it. */
const SECRETS = {
  passwd: 'Zq1passwd',
  ssl_key_password: 'Zq2sslkeypw',
  password: 'Zq3mappingpw',
  sslpassword: 'Zq4sslpw',
  // Read with standard_conforming_strings off, the role's password is `ab' 73915824`; read with it
  // on (as a target does), the literal ends after the backslash and the server quotes the number.
  role: '73915824',
};

const DDL = String.raw`
CREATE FOREIGN DATA WRAPPER sec_any;
CREATE SERVER sec_any_srv FOREIGN DATA WRAPPER sec_any OPTIONS (host 'h', passwd '${SECRETS.passwd}', ssl_key_password '${SECRETS.ssl_key_password}');
CREATE EXTENSION postgres_fdw;
CREATE SERVER sec_pg FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', dbname 'd');
CREATE USER MAPPING FOR postgres SERVER sec_pg OPTIONS (user 'u', password '${SECRETS.password}', sslpassword '${SECRETS.sslpassword}');
CREATE ROLE sec_role LOGIN PASSWORD 'ab\' ${SECRETS.role}';
`;

describe('secrets in DDL', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;
  let toolLog: string;

  const args = () => [
    'run', '--csvlog-dir', primary.logDir, '--target', `t=${target.syncUrl}`,
    '--state-file', path.join(work, 'state.json'), '--log-dir', toolLog,
  ];

  before(async () => {
    work = makeTempDir('pgds-secrets-');
    toolLog = path.join(work, 'log');
    [primary, target] = await startPrimaryAndTargets(['target']);
    const res = spawnSync('psql', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-d', 'postgres', '-X', '-q', '-v', 'ON_ERROR_STOP=1'], {
      input: DDL,
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: '', PGOPTIONS: '-c standard_conforming_strings=off' },
    });
    assert.equal(res.status, 0, res.stderr);
    await primary.waitForLog('sec_role');
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('none shows in the dry-run listing, the log, stderr, the state, status or the target ledger', async () => {
    const dry = await cli([...args(), '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /sec_role/);
    const run = await cli(args());
    // The role's statement reads otherwise with standard_conforming_strings on: the target stops there.
    assert.equal(run.code, 1, run.stderr);
    const status = await cli(['status', '--json', '--csvlog-dir', primary.logDir, '--target', `t=${target.syncUrl}`, '--state-file', path.join(work, 'state.json')]);
    const ledger = await target.query<{ statement: string }>('postgres', 'SELECT statement FROM ddl_sync.applied ORDER BY record_offset');
    assert.ok(ledger.some((r) => /sec_any_srv/.test(r.statement)) && ledger.some((r) => /USER MAPPING/.test(r.statement)), JSON.stringify(ledger));
    const seen: Record<string, string> = {
      'dry-run stdout': dry.stdout, 'dry-run stderr': dry.stderr, 'run stdout': run.stdout, 'run stderr': run.stderr,
      'status': status.stdout + status.stderr, 'tool log': readDir(toolLog), 'state': fs.readFileSync(path.join(work, 'state.json'), 'utf8'),
      'ledger': ledger.map((r) => r.statement).join('\n'),
    };
    for (const [where, text] of Object.entries(seen)) {
      for (const [name, secret] of Object.entries(SECRETS)) assert.ok(!text.includes(secret), `${name} secret shown in ${where}: ${text}`);
    }
  });
});
