/**
 * `verify` against real servers: a target synced by `run` matches; each kind of drift made on a target
 * by hand is named and exits 1; DDL a `DO` block ran on the primary (which the log cannot show) is
 * missing on the target; a PostgreSQL 15 primary and a 12 target synced by `run` match too, and a
 * name or an option value changed on the 12 target shows. Passwords never show.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DatabaseVerdict, Verification } from '../../src/commands/verify';
import { HIDDEN_MAPPING } from '../../src/io/catalog';
import { Cluster, makeTempDir, serverBins, startPrimaryAndTargets } from '../helpers/cluster';
import { cli, lines } from '../helpers/cli';
import { WORKLOAD_DB, runWorkload } from '../helpers/workload';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'catalog');

/**
 * DDL beside the workload's: a view, and user mappings whose options hold a password, one with a
 * comma and a blank in it, one with a parenthesis, under keys `password` and `ssl_key_passwd`.
 */
const MORE_DDL = `
CREATE VIEW emp_v AS SELECT empno, ename FROM emp WHERE empno > 30;
CREATE FOREIGN DATA WRAPPER fx_dummy;
CREATE SERVER fx_dummy_srv FOREIGN DATA WRAPPER fx_dummy OPTIONS (host 'h1');
CREATE USER MAPPING FOR PUBLIC SERVER fx_dummy_srv OPTIONS (user 'u', password 'um-secret-1');
CREATE ROLE fx_readers;
CREATE ROLE fx_writers;
CREATE USER MAPPING FOR fx_readers SERVER fx_dummy_srv OPTIONS (user 'r', password 'lo, ng um-secret-3');
CREATE USER MAPPING FOR fx_writers SERVER fx_dummy_srv OPTIONS (user 'w', ssl_key_passwd 'p) um-secret-5');
`;

/** Every password MORE_DDL and the drift test set, or a part of one. */
const SECRETS = /um-secret|lo, ng|p\) um/;

/** The verdict of one target's database in a JSON verification. */
function database(v: Verification, target: string, db: string): DatabaseVerdict {
  const t = v.targets.find((x) => x.name === target);
  assert.ok(t, `no target ${target}`);
  const d = t.databases.find((x) => x.primary === db);
  assert.ok(d, `no database ${db} for ${target}`);
  return d;
}

const names = (list: { kind: string; name: string }[]): string[] => list.map((o) => `${o.kind} ${o.name}`).sort();

describe('verify', () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;

  const verify = (...extra: string[]) => cli(['verify', '--source', primary.url, '--target', `t=${target.syncUrl}`, ...extra]);
  const verifyJson = async (...extra: string[]): Promise<{ code: number | null; v: Verification; stderr: string }> => {
    const res = await verify('--json', ...extra);
    return { code: res.code, v: JSON.parse(res.stdout) as Verification, stderr: res.stderr };
  };

  before(async () => {
    work = makeTempDir('pgds-verify-');
    [primary, target] = await startPrimaryAndTargets(['target']);
    await runWorkload(primary);
    primary.psql(WORKLOAD_DB, MORE_DDL);
    await primary.waitForLog('um-secret-1');
    const res = await cli(['run', '--csvlog-dir', primary.logDir, '--target', `t=${target.syncUrl}`, '--state-file', path.join(work, 'state.json')]);
    assert.equal(res.code, 0, res.stderr);
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('a target synced by run matches the primary: exit 0', async () => {
    const res = await verify('--roles');
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.equal(res.stderr, '');
    assert.match(res.stdout, new RegExp(`^target t, database ${WORKLOAD_DB}: same \\(\\d+ objects\\)$`, 'm'));
    assert.match(res.stdout, /^target t, roles: same /m);
    assert.match(res.stdout, /^1 target\(s\) match the primary \(2 database\(s\) compared\)$/m);
    const { code, v } = await verifyJson();
    assert.equal(code, 0);
    assert.equal(v.version, 1);
    assert.equal(v.targets[0].state, 'same');
    // The comparison saw the objects, not two empty lists.
    assert.ok(database(v, 't', WORKLOAD_DB).objects >= 20, String(database(v, 't', WORKLOAD_DB).objects));
    assert.deepEqual(database(v, 't', WORKLOAD_DB).notCompared, []);
  });

  test("a role that may not read user mappings' options compares them by name only, and says so: exit 0", async () => {
    for (const c of [primary, target]) assert.equal(c.psql('postgres', 'CREATE ROLE fx_verifier LOGIN;\n').stderr, '');
    const as = (c: Cluster) => c.url.replace('postgres@', 'fx_verifier@');
    const res = await cli(['verify', '--source', as(primary), '--target', `t=${as(target)}`, '--database', WORKLOAD_DB]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const out = lines(res.stdout);
    assert.ok(out.some((l) => new RegExp(`^target t, database ${WORKLOAD_DB}: same \\(\\d+ objects; 3 not compared\\)$`).test(l)), res.stdout);
    assert.ok(out.includes(`  not compared  user mapping for fx_readers server fx_dummy_srv: on the primary, ${HIDDEN_MAPPING}`), res.stdout);
    assert.match(res.stdout, /^1 target\(s\) match the primary \(1 database\(s\) compared\); 3 object\(s\) not compared for lack of privilege$/m);
    const json = await cli(['verify', '--json', '--source', as(primary), '--target', `t=${as(target)}`, '--database', WORKLOAD_DB]);
    const d = database(JSON.parse(json.stdout) as Verification, 't', WORKLOAD_DB);
    assert.deepEqual(names(d.notCompared), [
      'user mapping for fx_readers server fx_dummy_srv',
      'user mapping for fx_writers server fx_dummy_srv',
      'user mapping for public server fx_dummy_srv',
    ]);
    assert.deepEqual(d.different, []);
  });

  test('the role verify connects to a target as, made there only, is not an extra role', async () => {
    assert.equal(target.psql('postgres', 'CREATE ROLE fx_syncer LOGIN SUPERUSER;\nGRANT fx_readers TO fx_syncer;\n').stderr, '');
    const res = await cli(['verify', '--roles', '--source', primary.url, '--target', `t=${target.url.replace('postgres@', 'fx_syncer@')}`, '--database', 'postgres']);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /^target t, roles: same /m);
    // Connected as another role, it is.
    const other = await verify('--roles', '--database', 'postgres');
    assert.equal(other.code, 1);
    assert.ok(lines(other.stdout).includes('  extra      role fx_syncer (and 1 object(s) on it)'), other.stdout);
  });

  test('each kind of drift made on the target by hand is named: exit 1', async () => {
    const byHand = target.psql(
      WORKLOAD_DB,
      `DROP TABLE m2;
CREATE INDEX emp_by_hand ON emp (ename);
ALTER TABLE emp ALTER COLUMN age TYPE bigint;
CREATE OR REPLACE VIEW emp_v AS SELECT empno, ename FROM emp WHERE empno > 40;
ALTER FOREIGN TABLE employee OPTIONS (DROP format);
CREATE OR REPLACE FUNCTION f_dollar() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'changed'; END $$;
COMMENT ON TABLE emp IS 'changed by hand';
ALTER USER MAPPING FOR PUBLIC SERVER fx_dummy_srv OPTIONS (SET password 'um-secret-2');
ALTER USER MAPPING FOR fx_readers SERVER fx_dummy_srv OPTIONS (SET password 'lo, ng um-secret-4');
ALTER USER MAPPING FOR fx_writers SERVER fx_dummy_srv OPTIONS (SET ssl_key_passwd 'p) um-secret-6');
`,
    );
    assert.equal(byHand.stderr, '');
    const { code, v, stderr } = await verifyJson();
    assert.equal(code, 1, stderr);
    const d = database(v, 't', WORKLOAD_DB);
    assert.equal(d.state, 'differs');
    assert.deepEqual(names(d.missing), ['table public.m2']);
    assert.deepEqual(names(d.extra), ['index public.emp_by_hand']);
    assert.deepEqual(names(d.different), [
      'comment table public.emp',
      'foreign table public.employee',
      'function public.f_dollar()',
      'table public.emp',
      'user mapping for fx_readers server fx_dummy_srv',
      'user mapping for fx_writers server fx_dummy_srv',
      'user mapping for public server fx_dummy_srv',
      'view public.emp_v',
    ]);
    const readers = d.different.find((c) => c.name === 'for fx_readers server fx_dummy_srv')!;
    assert.deepEqual([readers.primary, readers.diff], ['options (password=********, user=r)', ['(they differ in a secret, not shown)']]);
    const diff = (name: string) => d.different.find((c) => c.name === name)!.diff;
    assert.deepEqual(diff('public.emp'), ['- column age integer', '+ column age bigint']);
    assert.ok(diff('public.employee').some((l) => l.startsWith('- ') && l.includes('format=csv')), diff('public.employee').join('\n'));
    assert.ok(diff('public.emp_v').some((l) => l.includes('40')));
    assert.ok(diff('public.f_dollar()').some((l) => l.includes("'changed'")));
    assert.deepEqual(diff('table public.emp'), ['- employees; with a semicolon', '+ changed by hand']);
    assert.equal(database(v, 't', 'postgres').state, 'same');

    const res = await verify();
    assert.equal(res.code, 1);
    for (const line of [
      `target t, database ${WORKLOAD_DB}: 1 missing, 1 extra, 8 different (of ${d.objects} objects)`,
      '  missing    table public.m2',
      '  extra      index public.emp_by_hand',
      '  different  table public.emp',
      '               - column age integer',
      '               + column age bigint',
      '  different  comment on table public.emp',
      '  different  view public.emp_v',
      '  different  foreign table public.employee',
      '  different  function public.f_dollar()',
    ]) {
      assert.ok(lines(res.stdout).includes(line), `no line ${JSON.stringify(line)} in:\n${res.stdout}`);
    }
    assert.deepEqual(lines(res.stderr), [
      `pg-ddl-sync: 1 of 1 target(s) differ from the primary: t (${WORKLOAD_DB}: 1 missing, 1 extra, 8 different)`,
    ]);
    assert.ok(lines(res.stdout).includes('  different  user mapping for fx_writers server fx_dummy_srv'), res.stdout);
    // The mappings' passwords differ, and none shows, nor any part of one.
    for (const out of [res.stdout, res.stderr, JSON.stringify(v), stderr]) assert.ok(!SECRETS.test(out), out);
    // Only the databases asked for.
    const only = await verify('--database', 'postgres');
    assert.equal(only.code, 0, only.stdout);
  });

  test("DDL a DO block ran on the primary is missing on the target", async () => {
    primary.psql(WORKLOAD_DB, "DO $$ BEGIN EXECUTE 'CREATE TABLE made_in_do (a int PRIMARY KEY)'; END $$;\n");
    const { code, v } = await verifyJson();
    assert.equal(code, 1);
    const d = database(v, 't', WORKLOAD_DB);
    const made = d.missing.find((m) => m.name === 'public.made_in_do');
    assert.ok(made, names(d.missing).join(', '));
    assert.equal(made.kind, 'table');
    // Its primary key goes with it.
    assert.equal(made.dependents, 1);
  });

  test('a missing database, bad usage and an unreachable target exit 2 or 1, one line on stderr, no password', async () => {
    primary.psql('postgres', 'CREATE DATABASE fx_only_here;\n');
    const { code, v } = await verifyJson();
    assert.equal(code, 1);
    assert.equal(database(v, 't', 'fx_only_here').state, 'missing');

    const noSource = await cli(['verify', '--target', `t=${target.syncUrl}`]);
    assert.equal(noSource.code, 2);
    assert.deepEqual(lines(noSource.stderr), ['pg-ddl-sync: verify reads the primary: give --source URL, or --data-dir DIR of a running primary']);
    const unknown = await verify('--database', 'nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^pg-ddl-sync: database "nope" is not on the primary/);
    const config = path.join(work, 'verify.json');
    fs.writeFileSync(config, JSON.stringify({ source: primary.url, targets: [`t=${target.syncUrl}`] }));
    const byName = await cli(['verify', '-c', config, '--target', 'other']);
    assert.equal(byName.code, 2);
    assert.deepEqual(lines(byName.stderr), ['pg-ddl-sync: no target named "other" (known: t)']);
    const named = await cli(['verify', '-c', config, '--target', 't', '--database', 'postgres']);
    assert.equal(named.code, 0, named.stderr);

    const down = await cli(['verify', '--source', primary.url, '--target', 'gone=postgresql://postgres:pw-s3cret@127.0.0.1:1/postgres', '--target', `t=${target.syncUrl}`, '--database', 'postgres']);
    assert.equal(down.code, 2);
    assert.match(down.stdout, /^target gone: not compared: cannot connect: .*ECONNREFUSED/m);
    assert.match(down.stdout, /^target t, database postgres: same/m);
    assert.equal(lines(down.stderr).length, 1);
    assert.match(down.stderr, /^pg-ddl-sync: 1 of 2 target\(s\) could not be compared: gone \(cannot connect: /);
    assert.ok(!/pw-s3cret/.test(down.stdout + down.stderr));
    const sourceDown = await cli(['verify', '--source', 'postgresql://postgres:pw-s3cret@127.0.0.1:1/postgres', '--target', `t=${target.syncUrl}`]);
    assert.equal(sourceDown.code, 2);
    assert.match(sourceDown.stderr, /^pg-ddl-sync: primary: cannot connect: /);
    assert.ok(!/pw-s3cret/.test(sourceDown.stdout + sourceDown.stderr));

    // A server that takes the connection and never answers: the connect timeout says so.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const slow = await cli(['verify', '--connect-timeout', '1', '--source', primary.url, '--target', `slow=postgresql://postgres@127.0.0.1:${port}/postgres`]);
      assert.equal(slow.code, 2);
      assert.match(slow.stdout, /^target slow: not compared: cannot connect: timed out after 1 s \(--connect-timeout\)$/m);
    } finally {
      silent.close();
    }
  });
});

const pg12 = serverBins().find((s) => s.major === 12);
const pg15 = serverBins().find((s) => s.major === 15);

describe('verify across majors: a PostgreSQL 15 primary and a 12 target', { skip: !pg12 || !pg15 ? 'needs the servers of 12 (dev dependency pg12) and 15' : false }, () => {
  let primary: Cluster;
  let target: Cluster;
  let work: string;
  const verify = (...extra: string[]) => cli(['verify', '--source', primary.url, '--target', `old=${target.syncUrl}`, ...extra]);

  before(async () => {
    work = makeTempDir('pgds-verify-majors-');
    [primary, target] = await Promise.all([
      startPrimaryAndTargets([], 'ddl', pg15!.bin).then(([p]) => p),
      Cluster.start({ name: 'old', bin: pg12!.bin }),
    ]);
    // Every kind of object both majors can make (the catalog fixtures' DDL), and roles.
    primary.psql('postgres', `${fs.readFileSync(path.join(FIXTURES, 'roles.sql'), 'utf8')}\nCREATE DATABASE fx_kinds;\n`);
    for (const script of ['all.sql', 'from-11.sql', 'from-12.sql']) {
      const res = primary.psql('fx_kinds', fs.readFileSync(path.join(FIXTURES, script), 'utf8'));
      assert.equal(res.stderr, '', `${script}: ${res.stderr}`);
    }
    primary.psql('fx_kinds', 'CREATE TABLE fx_last (a int);\n');
    await primary.waitForLog('fx_last');
    const res = await cli(['run', '--csvlog-dir', primary.logDir, '--target', `old=${target.syncUrl}`, '--state-file', path.join(work, 'state.json')]);
    assert.equal(res.code, 0, res.stderr);
  });

  after(async () => {
    await Promise.all([primary, target].map((c) => c?.destroy()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('what run synced matches, though 12 prints views, triggers and functions otherwise', async () => {
    const res = await verify('--roles');
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /^target old: PostgreSQL 12\.\d+ \(the primary: 15\.\d+\)$/m);
    const objects = /^target old, database fx_kinds: same \((\d+) objects\)$/m.exec(res.stdout);
    assert.ok(objects && Number(objects[1]) > 90, res.stdout);
  });

  test('a change on the 12 target still shows', async () => {
    target.psql('fx_kinds', "CREATE OR REPLACE VIEW v_case AS SELECT id, CASE WHEN salary > 20 THEN 'high' ELSE 'low' END AS band, salary::int AS s, name || '!' AS shout, coalesce(name, 'x') AS c, born + 1 AS d, now() - created AS age FROM emp WITH CHECK OPTION;\n");
    const res = await verify('--json');
    assert.equal(res.code, 1);
    const v = JSON.parse(res.stdout) as Verification;
    assert.deepEqual(names(database(v, 'old', 'fx_kinds').different), ['view public.v_case']);
  });

  test("a foreign table's or a server's option changed on the 12 target shows, though only a name's qualifier differs", async () => {
    // Set on both sides: the common form of expressions would read each pair as the same.
    const set = (c: Cluster, file: string, host: string) =>
      c.psql('fx_kinds', `ALTER FOREIGN TABLE ft OPTIONS (SET filename '${file}');\nALTER SERVER remote OPTIONS (SET host '${host}');\n`);
    assert.equal(set(primary, '/data/employee.csv', 'db1.example.com').stderr, '');
    assert.equal(set(target, '/data/payroll.csv', 'db2.example.com').stderr, '');
    const res = await verify('--json');
    assert.equal(res.code, 1);
    const d = database(JSON.parse(res.stdout) as Verification, 'old', 'fx_kinds');
    assert.deepEqual(names(d.different), ['foreign table public.ft', 'server remote', 'view public.v_case']);
    assert.deepEqual(d.different.find((c) => c.name === 'remote')!.diff, ['- options (dbname=d, host=db1.example.com, port=5432)', '+ options (dbname=d, host=db2.example.com, port=5432)']);
  });
});
