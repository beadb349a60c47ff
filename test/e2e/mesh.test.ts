/**
 * Every instance writable: three instances logging as README recommends (csvlog, log_statement =
 * 'all'), each with its own pg-ddl-sync configured as examples/mesh/ has it (its data directory, a
 * source name, the two others as targets through the sync role), all three run round after round
 * while DDL is issued on all three. What a tool applied on an instance is in that instance's log too:
 * it must never be sent on, back, or round again.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { Cluster, PRIMARY_SETTINGS, SYNC_USER, makeTempDir, sleep } from '../helpers/cluster';
import { cli } from '../helpers/cli';

const NAMES = ['inst1', 'inst2', 'inst3'] as const;
type Name = (typeof NAMES)[number];
const ROUNDS = 4;

/** csvlog columns (the same in every format). */
const USER_NAME = 1;
const SEVERITY = 11;
const MESSAGE = 13;
const APPLICATION = 22;

/** A step of what a DBA runs on an instance: one psql session on one database. */
interface Script {
  database: string;
  sql: string[];
  /** Of those, the DDL that commits: what the other instances must receive. */
  committed: string[];
}

/**
 * What is run on instance `n` in a round: DDL on objects of its own (a new database, a table, an
 * index built concurrently, DDL of another role through SET ROLE), with pauses so that the tools run
 * while it goes on, a block rolled back and a statement that fails (neither goes anywhere).
 */
function scripts(n: Name, round: number): Script[] {
  const t = `${n}_t${round}`;
  const main: string[] = [];
  const committed: string[] = [];
  const ddl = (sql: string): void => {
    main.push(sql);
    committed.push(sql);
  };
  if (round === 0) {
    ddl(`CREATE ROLE app_${n};`);
    ddl(`CREATE SCHEMA ${n}_s AUTHORIZATION app_${n};`);
    ddl(`CREATE DATABASE db_${n};`);
  }
  ddl(`CREATE TABLE ${t} (id int PRIMARY KEY, note text);`);
  main.push('SELECT pg_sleep(1);');
  ddl(`CREATE INDEX CONCURRENTLY ${t}_note ON ${t} (note);`);
  ddl(`COMMENT ON TABLE ${t} IS 'made on ${n} in round ${round}';`);
  main.push(`SET ROLE app_${n};`);
  ddl(`CREATE TABLE ${n}_s.owned_${round} (a int);`);
  main.push('RESET ROLE;');
  main.push('SELECT pg_sleep(1);');
  if (round > 0) ddl(`ALTER TABLE ${n}_t${round - 1} ADD COLUMN r${round} int;`);
  main.push('SELECT pg_sleep(1);');
  main.push('BEGIN;', `CREATE TABLE ${n}_rolled_back_${round} (a int);`, 'ROLLBACK;');
  main.push(`CREATE TABLE ${t} (id int);`);
  const inDb = `CREATE TABLE ${n}_in_db_${round} (a int);`;
  return [
    { database: 'postgres', sql: main, committed },
    { database: `db_${n}`, sql: [inDb], committed: [inDb] },
  ];
}

/** The statement records of an instance's csvlog: who ran them, as what application, the text. */
function loggedStatements(c: Cluster): { user: string; app: string; text: string }[] {
  return c.csvFiles().flatMap((f) =>
    (parse(fs.readFileSync(f), { relaxColumnCount: true }) as string[][])
      .filter((r) => r[SEVERITY] === 'LOG' && /^(statement|execute [^:]*): /.test(r[MESSAGE]))
      .map((r) => ({ user: r[USER_NAME], app: r[APPLICATION], text: r[MESSAGE].replace(/^(statement|execute [^:]*): /, '') })),
  );
}

/**
 * Whether a logged text runs a statement: as issued (a lone statement, sent byte for byte), or as a
 * part of a batch of the tool's, without its `;`.
 */
function runsStatement(text: string, sql: string): boolean {
  const plain = sql.replace(/;$/, '');
  // Run as it is, or inside the guard function of its role, as a literal (quotes doubled).
  return [plain, plain.replace(/'/g, "''")].some((s) => new RegExp(`${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\w)`).test(text));
}

describe('a mesh of three instances', () => {
  const inst = {} as Record<Name, Cluster>;
  let work: string;
  const configOf = (n: Name): string => path.join(work, `${n}.json`);
  // The tool runs as the OS user that reads the instance's log (postgres): through --data-dir's
  // socket it asks its own instance as that user.
  const env = { PGUSER: 'postgres' };
  const issued: Record<Name, string[]> = { inst1: [], inst2: [], inst3: [] };

  before(async () => {
    work = makeTempDir('pgds-mesh-');
    const settings = { ...PRIMARY_SETTINGS, log_statement: "'all'" };
    const started = await Promise.all(NAMES.map((name) => Cluster.start({ name, settings })));
    NAMES.forEach((n, i) => (inst[n] = started[i]));
    // As examples/mesh/ has it: each instance's tool reads its own log and sends to the other two.
    for (const n of NAMES) {
      fs.writeFileSync(
        configOf(n),
        JSON.stringify({
          dataDir: inst[n].dataDir,
          targets: NAMES.filter((o) => o !== n).map((o) => `${o}=${inst[o].syncUrl}`),
          stateFile: path.join(work, 'state', `${n}.state.json`),
          logDir: path.join(work, 'log'),
          logPrefix: n,
          sourceName: n,
          // As README's mesh set-up has it: the sync role, no person's, is left out too.
          ignoreSyncUsers: true,
        }),
      );
    }
  });

  after(async () => {
    await Promise.all(NAMES.map((n) => inst[n]?.destroy()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('DDL issued on every instance while the tools run reaches the other two once each, and never comes back', async (t) => {
    const notSentOwn: Record<Name, number> = { inst1: 0, inst2: 0, inst3: 0 };
    let runs = 0;
    const runAll = async (): Promise<void> => {
      const results = await Promise.all(NAMES.map((n) => cli(['run', '-c', configOf(n)], { env })));
      runs++;
      results.forEach((res, i) => assert.equal(res.code, 0, `${NAMES[i]}: ${res.stderr}`));
    };
    /** The lines of each tool's own log. */
    const toolLog = (n: Name): string[] =>
      fs
        .readdirSync(path.join(work, 'log'))
        .filter((f) => f.startsWith(`${n}-`))
        .flatMap((f) => fs.readFileSync(path.join(work, 'log', f), 'utf8').split('\n'));
    const issue = async (n: Name, round: number): Promise<void> => {
      for (const s of scripts(n, round)) {
        const res = await inst[n].psqlAsync(s.database, s.sql.join('\n'));
        // The statement that fails where it is issued, and only it.
        assert.equal(res.stderr.trim().split('\n').filter((l) => l.startsWith('ERROR') || l.startsWith('psql')).length, s.database === 'postgres' ? 1 : 0, res.stderr);
        issued[n].push(...s.committed);
      }
    };

    const during: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let done = false;
      const ddl = Promise.all(NAMES.map((n) => issue(n, round))).finally(() => (done = true));
      const before = runs;
      // The three tools, side by side, again and again while the DDL goes on.
      do await runAll();
      while (!done);
      await ddl;
      during.push(runs - before);
    }
    // Then until every tool has everything: the last runs read only what the other tools ran.
    await Promise.all(NAMES.map((n) => inst[n].waitForLog(`${n}_in_db_${ROUNDS - 1}`)));
    let settled = false;
    for (let i = 0; i < 6 && !settled; i++) {
      await runAll();
      await sleep(300);
      const status = await Promise.all(NAMES.map((n) => cli(['status', '-c', configOf(n), '--json'], { env })));
      settled = status.every((s) => s.code === 0 && (JSON.parse(s.stdout) as { waiting: unknown[] }).waiting.length === 0);
    }
    assert.ok(settled, 'every target caught up');
    const warnings: string[] = [];
    for (const n of NAMES) {
      const lines = toolLog(n);
      assert.deepEqual(lines.filter((l) => / error /.test(l)), [], `errors in ${n}'s log`);
      warnings.push(...lines.filter((l) => / warn /.test(l)).map((l) => `${n}: ${l}`));
      // not_sent_own counts the other tools' DDL it left out.
      for (const l of lines) for (const m of l.matchAll(/not_sent_own=(\d+)/g)) notSentOwn[n] += Number(m[1]);
    }
    // A statement may give way on a lock the other tools hold for a moment; nothing else is to be said.
    assert.deepEqual(warnings.filter((w) => !/statement gave way on a lock; trying again/.test(w)), []);

    // The same schema everywhere: databases, roles, and every database's pg_dump --schema-only with owners.
    const databases = await inst.inst1.databases();
    assert.deepEqual(databases, ['db_inst1', 'db_inst2', 'db_inst3', 'postgres']);
    const roles = (c: Cluster) => c.query<{ r: string }>('postgres', "SELECT rolname AS r FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1");
    for (const n of NAMES) {
      assert.deepEqual(await inst[n].databases(), databases, `databases of ${n}`);
      assert.deepEqual(await roles(inst[n]), await roles(inst.inst1), `roles of ${n}`);
      for (const db of databases) assert.equal(inst[n].schemaDump(db, true), inst.inst1.schemaDump(db, true), `schema of ${db} on ${n}`);
    }
    const owned = await inst.inst3.query<{ o: string }>('postgres', "SELECT tableowner AS o FROM pg_tables WHERE schemaname = 'inst1_s' LIMIT 1");
    assert.deepEqual(owned, [{ o: 'app_inst1' }], 'DDL run through SET ROLE belongs to that role everywhere');

    for (const n of NAMES) {
      // Every database's ledger on this instance.
      const rows: { source: string; statement: string }[] = [];
      for (const db of databases) {
        const [has] = await inst[n].query<{ ok: boolean }>(db, "SELECT to_regclass('ddl_sync.applied') IS NOT NULL AS ok");
        if (has.ok) rows.push(...(await inst[n].query<{ source: string; statement: string }>(db, "SELECT source, statement FROM ddl_sync.applied WHERE state = 'done'")));
      }
      const bySource = (s: string): string[] => rows.filter((r) => r.source === s).map((r) => r.statement).sort();
      // Nothing of its own came back to it, by the ledger...
      assert.deepEqual(bySource(n), [], `statements of ${n} that came back to it`);
      for (const other of NAMES.filter((o) => o !== n)) {
        // ...and exactly what was issued on each other instance, once: not what other tools applied there.
        assert.deepEqual(bySource(other), [...issued[other]].sort(), `what ${other}'s tool applied on ${n}`);
      }
      assert.equal(rows.length, issued.inst1.length + issued.inst2.length + issued.inst3.length - issued[n].length);
      // ...and by its own log, which shows every statement a pg-ddl-sync ran there: the other two's
      // statements, each of them, and none of its own.
      const byTools = loggedStatements(inst[n]).filter((s) => s.app === 'pg-ddl-sync');
      const back = issued[n].filter((sql) => byTools.some((s) => runsStatement(s.text, sql)));
      assert.deepEqual(back, [], `statements of ${n} that a pg-ddl-sync ran on ${n}`);
      for (const other of NAMES.filter((o) => o !== n)) {
        for (const sql of issued[other]) assert.ok(byTools.some((s) => runsStatement(s.text, sql)), `${n}'s log shows no pg-ddl-sync running ${sql}`);
      }
      assert.ok(byTools.every((s) => s.user === SYNC_USER || s.user === 'postgres'), 'the tools connect as the sync role (and to their own instance as postgres)');
      assert.ok(notSentOwn[n] > 0, `${n}: nothing of the other tools was left out`);
    }
    t.diagnostic(
      `${ROUNDS} rounds, tools run ${during.join(', ')} time(s) while DDL went on, ${runs} runs in all; ` +
        `issued ${NAMES.map((n) => `${n} ${issued[n].length}`).join(', ')}; each instance's ledger holds exactly the other two's; ` +
        `DDL of other tools left out by each tool: ${NAMES.map((n) => `${n} ${notSentOwn[n]}`).join(', ')}; ${warnings.length} lock wait(s)`,
    );
    assert.ok(during.every((d) => d >= 1));
  });

  test("check and every run say when the sync role runs DDL that no pg-ddl-sync sent; only DDL counts", async () => {
    const check = () => cli(['check', '-c', configOf('inst1')], { env });
    const clean = await check();
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, new RegExp(`^ok +sync role ${SYNC_USER}: ran no DDL in the newest \\d+ csvlog file\\(s\\) but what a pg-ddl-sync sent$`, 'm'));

    // Monitoring as the sync role is nothing lost.
    inst.inst1.psql('postgres', 'SELECT 1;\n', ['-U', SYNC_USER]);
    await inst.inst1.waitForLog('SELECT 1;');
    assert.equal((await check()).code, 0);

    // DDL as the sync role by hand: left out like the tools' own, so never propagated. Said loudly.
    inst.inst1.psql('postgres', 'CREATE TABLE by_sync_role (a int);\nCREATE INDEX by_sync_role_a ON by_sync_role (a);\n', ['-U', SYNC_USER]);
    await inst.inst1.waitForLog('CREATE INDEX by_sync_role_a');
    const warned = await check();
    assert.equal(warned.code, 1, warned.stdout + warned.stderr);
    assert.match(
      warned.stdout,
      new RegExp(
        `^warning +sync role ${SYNC_USER}: ran 2 DDL statement\\(s\\) in the newest \\d+ csvlog file\\(s\\) that no pg-ddl-sync sent \\(application psql\\): ` +
          `they are never propagated \\(${SYNC_USER} is a role this tool connects as: give the tool a role of its own, see README\\)$`,
        'm',
      ),
    );
    // The escape hatch: the sync role's DDL is sent like anyone's (a dry run of it).
    const hatch = await cli(['check', '-c', configOf('inst1'), '--no-ignore-sync-users'], { env });
    assert.doesNotMatch(hatch.stdout, /sync role/);
    const sent = await cli(['run', '-c', configOf('inst1'), '--no-ignore-sync-users', '--dry-run'], { env });
    assert.match(sent.stdout, /CREATE TABLE by_sync_role/);
    const run = await cli(['run', '-c', configOf('inst1')], { env });
    assert.equal(run.code, 0, run.stderr);
    const warns = fs
      .readdirSync(path.join(work, 'log'))
      .filter((f) => f.startsWith('inst1-'))
      .flatMap((f) => fs.readFileSync(path.join(work, 'log', f), 'utf8').split('\n'))
      .filter((l) => / warn /.test(l));
    assert.deepEqual(
      warns.map((l) => l.replace(/^\S+ /, '')),
      [`warn  left out 2 DDL statement(s) that role ${SYNC_USER} ran, which no pg-ddl-sync sent: they are never propagated (${SYNC_USER} is a role this tool connects as: give the tool a role of its own, see README)`],
    );
    for (const n of ['inst2', 'inst3'] as const) assert.deepEqual(await inst[n].query('postgres', "SELECT 1 FROM pg_class WHERE relname = 'by_sync_role'"), []);

    // Someone else who calls themselves pg-ddl-sync: their DDL goes nowhere either.
    inst.inst1.psql('dbname=postgres application_name=pg-ddl-sync', 'CREATE TABLE posing (a int);\n');
    await inst.inst1.waitForLog('CREATE TABLE posing');
    const posing = await check();
    assert.equal(posing.code, 1);
    assert.match(
      posing.stdout,
      /^warning +application_name pg-ddl-sync: role postgres ran 1 DDL statement\(s\) in the newest \d+ csvlog file\(s\) as application 'pg-ddl-sync', and is neither a role this tool connects as nor given with --ignore-user: they are left out, never propagated\./m,
    );
    // A role given with --ignore-user is known: what it runs as pg-ddl-sync is taken as a tool's.
    const given = await cli(['check', '-c', configOf('inst1'), '--ignore-user', 'postgres'], { env });
    assert.doesNotMatch(given.stdout, /application_name pg-ddl-sync/);
    assert.match(given.stdout, /^warning +ignored role postgres: ran \d+ DDL statement\(s\) .* \(postgres is given with --ignore-user: /m);
  });
});
