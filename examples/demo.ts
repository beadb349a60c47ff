/**
 * `npm run demo`: the main job, end to end, on throwaway servers, set up as the seed had it. A primary
 * (`myinst`: csvlog through the collector, `log_statement = 'ddl'`, rotation, nothing else) and two
 * standbys (`myinst1`, `myinst2`) start in a temp directory; the seed's DDL runs on the primary as
 * `postgres`, failures included; the real CLI, configured with the data directory, the standbys and a
 * log directory, syncs them, connected as `postgres` too; the demo shows what they hold, then what
 * `log_statement = 'all'` adds, then removes everything it made. Exit 0 when the standbys came out as
 * they must.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { BIN } from '../test/helpers/cli';
import { Cluster, SEED_SETTINGS, findPgBin, makeTempDir } from '../test/helpers/cluster';

const say = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};
const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/** The seed's scenario: each statement sent on its own, as psql sends a script. */
function scenario(dataFile: string): { database: string; sql: string; fails?: string }[] {
  const employee = `CREATE FOREIGN TABLE employee (empno INT, ename VARCHAR(128), age INT)
  SERVER company_files OPTIONS (filename '${dataFile}', format 'csv')`;
  return [
    { database: 'postgres', sql: 'CREATE DATABASE company' },
    { database: 'company', sql: 'CREATE EXTENSION file_fdw' },
    { database: 'company', sql: 'CREATE SERVER company_files FOREIGN DATA WRAPPER file_fdw' },
    { database: 'company', sql: employee },
    { database: 'company', sql: employee, fails: 'already exists on the primary' },
    { database: 'company', sql: 'BEGIN' },
    { database: 'company', sql: 'CREATE TABLE payroll (empno INT, salary NUMERIC)' },
    { database: 'company', sql: 'SELECT 1/0', fails: 'division by zero: the block, and payroll with it, rolls back' },
    { database: 'company', sql: 'COMMIT' },
    { database: 'company', sql: "COMMENT ON FOREIGN TABLE employee IS 'synced by pg-ddl-sync'" },
  ];
}

async function runScenario(primary: Cluster, dataFile: string): Promise<void> {
  const clients = new Map<string, Client>();
  try {
    for (const step of scenario(dataFile)) {
      let client = clients.get(step.database);
      if (!client) {
        client = await primary.connect(step.database);
        clients.set(step.database, client);
      }
      say(`  ${step.database}=# ${step.sql.replace(/\n\s*/g, ' ')};`);
      try {
        await client.query(step.sql);
      } catch (err) {
        say(`    ERROR:  ${(err as Error).message}${step.fails ? `  (${step.fails})` : ''}`);
        if (!step.fails) throw err;
      }
    }
  } finally {
    for (const c of clients.values()) await c.end();
  }
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** What a standby holds in `company`: its relations and employee's columns. */
async function describeCompany(c: Cluster): Promise<{ relations: string[]; columns: string[]; comment: string | null }> {
  const client = await c.connect('company');
  try {
    const rels = await client.query<{ r: string }>(
      "SELECT relname || ' (' || CASE relkind WHEN 'f' THEN 'foreign table' WHEN 'r' THEN 'table' ELSE relkind::text END || ')' AS r FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1",
    );
    const cols = await client.query<{ c: string }>(
      "SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') AS c FROM information_schema.columns WHERE table_name = 'employee' ORDER BY ordinal_position",
    );
    const comment = await client.query<{ d: string | null }>("SELECT obj_description('employee'::regclass, 'pg_class') AS d");
    return { relations: rels.rows.map((r) => r.r), columns: cols.rows.map((r) => r.c), comment: comment.rows[0].d };
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  const bin = findPgBin();
  const work = makeTempDir('pg-ddl-sync-demo-');
  const clusters: Cluster[] = [];
  try {
    say(`1. Three throwaway servers (PostgreSQL from ${bin}) in ${work}`);
    const [primary, myinst1, myinst2] = await Promise.all([
      Cluster.start({ baseDir: work, name: 'myinst', settings: SEED_SETTINGS }),
      Cluster.start({ baseDir: work, name: 'myinst1' }),
      Cluster.start({ baseDir: work, name: 'myinst2' }),
    ]);
    clusters.push(primary, myinst1, myinst2);
    say(`   primary myinst on port ${primary.port}: ${Object.entries(SEED_SETTINGS).map(([k, v]) => `${k} = ${v}`).join(', ')}; nothing else`);
    say(`   standbys myinst1 on port ${myinst1.port}, myinst2 on port ${myinst2.port}; DDL and the tool both as postgres`);

    const dataFile = path.join(work, 'employee.csv');
    fs.writeFileSync(dataFile, '1,Alice,34\n2,Bob,41\n', { mode: 0o644 });
    say('\n2. DDL on the primary, two statements of it failing there:');
    await runScenario(primary, dataFile);
    await primary.waitForLog("COMMENT ON FOREIGN TABLE employee");

    const config = path.join(work, 'pg-ddl-sync.json');
    fs.writeFileSync(
      config,
      `${JSON.stringify(
        {
          dataDir: primary.dataDir,
          targets: [`myinst1=${myinst1.url}`, `myinst2=${myinst2.url}`],
          stateFile: path.join(work, 'state', 'myinst.state.json'),
          logDir: path.join(work, 'log'),
          logPrefix: 'myinst',
        },
        null,
        2,
      )}\n`,
    );
    say(`\n3. The config (as in examples/pg-ddl-sync.json: the data directory tells the log directory and the running primary), ${config}:`);
    say(indent(fs.readFileSync(config, 'utf8')));

    say('\n4. pg-ddl-sync run --dry-run -c pg-ddl-sync.json   (what would be sent; changes nothing)');
    const dry = cli(['run', '--dry-run', '-c', config]);
    say(indent(dry.stdout));
    if (dry.code !== 0) throw new Error(`dry run exited ${dry.code}: ${dry.stderr}`);

    say('\n5. pg-ddl-sync run -c pg-ddl-sync.json');
    const run = cli(['run', '-c', config]);
    say(`   exit ${run.code}${run.stderr ? `: ${run.stderr.trim()}` : ''}; its log:`);
    const logDir = path.join(work, 'log');
    for (const f of fs.readdirSync(logDir)) say(indent(fs.readFileSync(path.join(logDir, f), 'utf8')));
    if (run.code !== 0) throw new Error(`run exited ${run.code}`);

    say('\n6. What each server holds in database company:');
    const want = await describeCompany(primary);
    let ok = true;
    for (const c of [primary, myinst1, myinst2]) {
      const got = await describeCompany(c);
      const same = JSON.stringify(got) === JSON.stringify(want);
      ok &&= same;
      say(`   ${c.name.padEnd(8)} ${got.relations.join(', ')}; employee(${got.columns.join(', ')}); comment: ${got.comment}${c === primary ? '' : same ? '  = primary' : '  DIFFERS'}`);
    }
    const rows = await myinst1.query<{ n: number }>('company', 'SELECT count(*)::int AS n FROM employee');
    say(`   SELECT count(*) FROM employee on myinst1: ${rows[0].n} (file_fdw reads ${path.basename(dataFile)})`);

    say('\n7. A second run finds nothing new (a run with nothing to do logs its summary at debug only):');
    const again = cli(['run', '-c', config, '--log-level', 'debug']);
    const finished = fs
      .readdirSync(logDir)
      .flatMap((f) => fs.readFileSync(path.join(logDir, f), 'utf8').split('\n'))
      .filter((l) => l.includes('run finished'));
    say(`   exit ${again.code}; ${finished[finished.length - 1] ?? ''}`);
    ok &&= again.code === 0 && !want.relations.some((r) => r.startsWith('payroll'));

    say("\n8. What the capture helper adds: a block rolled back without an error.");
    say("   Under 'ddl' its BEGIN and ROLLBACK are not logged. The capture helper (an event trigger, installed once)");
    say('   writes each DDL command\'s transaction, role and settings into the log, and the run asks the primary');
    say('   whether it committed:');
    say('  $ pg-ddl-sync capture install --data-dir PGDATA');
    const installed = cli(['capture', 'install', '--data-dir', primary.dataDir]);
    say(indent(installed.stdout || installed.stderr));
    ok &&= installed.code === 0;
    const draft = ['BEGIN', 'CREATE TABLE draft (a int)', 'CREATE INDEX draft_a ON draft (a)', 'ROLLBACK', 'CREATE TABLE kept (a int)'];
    for (const sql of draft) say(`  company=# ${sql};`);
    primary.psql('company', `${draft.join(';\n')};\n`);
    // The capture record of the last statement follows its statement record.
    await primary.waitForLog('public.kept');
    const third = cli(['run', '-c', config]);
    const sent = (await describeCompany(myinst1)).relations;
    const draftSent = sent.some((r) => r.startsWith('draft'));
    const keptSent = sent.some((r) => r.startsWith('kept'));
    say(`   exit ${third.code}${third.stderr ? `: ${third.stderr.trim()}` : ''}; on myinst1: draft ${draftSent ? 'SENT' : 'not sent'}, kept ${keptSent ? 'sent' : 'NOT sent'}`);
    ok &&= third.code === 0 && !draftSent && keptSent;
    say(ok ? '\nThe standbys hold what committed on the primary, and nothing that failed there.' : '\nThe standbys do NOT match the primary.');
    return ok ? 0 : 1;
  } finally {
    say(`\n9. Cleaning up: stopping the servers and removing ${work}`);
    await Promise.all(clusters.map((c) => c.destroy().catch(() => undefined)));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`demo failed: ${err.message}\n`);
    process.exitCode = 1;
  },
);
