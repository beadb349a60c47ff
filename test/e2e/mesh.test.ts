/**
 * Every instance writable: three instances, each with its own pg-ddl-sync toward the other two, run
 * side by side round after round while DDL is issued on all three. What a tool applied on an instance
 * is in that instance's log too: it must never be sent on (back, or round again).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, PRIMARY_SETTINGS, makeTempDir } from '../helpers/cluster';
import { cli } from '../helpers/cli';

const NAMES = ['inst1', 'inst2', 'inst3'] as const;
type Name = (typeof NAMES)[number];

describe('a mesh of three instances', () => {
  const inst = {} as Record<Name, Cluster>;
  let work: string;
  const configOf = (n: Name): string => path.join(work, `${n}.json`);

  before(async () => {
    work = makeTempDir('pgds-mesh-');
    const started = await Promise.all(NAMES.map((name) => Cluster.start({ name, settings: PRIMARY_SETTINGS })));
    NAMES.forEach((n, i) => (inst[n] = started[i]));
    // As examples/mesh/ has it: each instance's tool reads its own log and sends to the other two.
    for (const n of NAMES) {
      fs.writeFileSync(
        configOf(n),
        JSON.stringify({
          csvlogDir: inst[n].logDir,
          stateFile: path.join(work, `${n}.state.json`),
          sourceName: n,
          targets: NAMES.filter((o) => o !== n).map((o) => `${o}=${inst[o].url}`),
        }),
      );
    }
  });

  after(async () => {
    await Promise.all(NAMES.map((n) => inst[n]?.destroy()));
  });

  test('DDL issued on every instance reaches the other two once each, and never comes back', async (t) => {
    const issued: Record<Name, string[]> = { inst1: [], inst2: [], inst3: [] };
    const notSentOwn: Record<Name, number> = { inst1: 0, inst2: 0, inst3: 0 };
    const runAll = async (): Promise<void> => {
      const results = await Promise.all(NAMES.map((n) => cli(['run', '-c', configOf(n)])));
      results.forEach((res, i) => {
        assert.equal(res.code, 0, `${NAMES[i]}: ${res.stderr}`);
        for (const m of res.stderr.matchAll(/not_sent_own=(\d+)/g)) notSentOwn[NAMES[i]] += Number(m[1]);
      });
    };

    for (let round = 0; round < 4; round++) {
      for (const n of NAMES) {
        const table = `${n}_t${round}`;
        const committed = [
          `CREATE TABLE ${table} (id int PRIMARY KEY, note text);`,
          `CREATE INDEX ${table}_note ON ${table} (note);`,
          `COMMENT ON TABLE ${table} IS 'made on ${n} in round ${round}';`,
          ...(round > 0 ? [`ALTER TABLE ${n}_t${round - 1} ADD COLUMN r${round} int;`] : []),
        ];
        // A statement that fails where it is issued is sent nowhere.
        const res = inst[n].psql('postgres', [...committed, `CREATE TABLE ${table} (id int);`].join('\n'));
        assert.match(res.stderr, new RegExp(`relation "${table}" already exists`));
        issued[n].push(...committed);
      }
      await Promise.all(NAMES.map((n) => inst[n].waitForLog(`${n}_t${round} (id int);`)));
      await runAll();
    }
    // Runs with nothing new of their own: only the other tools' statements are in the logs now.
    await runAll();
    await runAll();

    const dump = inst.inst1.schemaDump('postgres', true);
    for (const n of NAMES) assert.equal(inst[n].schemaDump('postgres', true), dump, `schema of ${n}`);
    for (const n of NAMES) {
      const rows = await inst[n].query<{ source: string; statement: string }>('postgres', 'SELECT source, statement FROM ddl_sync.applied ORDER BY source, log_file, record_offset');
      const bySource = (s: string): string[] => rows.filter((r) => r.source === s).map((r) => r.statement);
      // Nothing of its own came back to it.
      assert.deepEqual(bySource(n), [], `statements of ${n} that came back to it`);
      for (const other of NAMES.filter((o) => o !== n)) {
        // Exactly what was issued there, in order, once: not what other instances' tools applied there.
        assert.deepEqual(bySource(other), issued[other], `what ${other}'s tool applied on ${n}`);
      }
      assert.equal(rows.length, issued.inst1.length + issued.inst2.length + issued.inst3.length - issued[n].length);
      // Its log held what the two other tools ran on it (a batch of statements is one record); its own
      // tool sent none of it.
      assert.ok(notSentOwn[n] > 0, `${n}: nothing of the other tools was left out`);
    }
    t.diagnostic(
      `issued ${NAMES.map((n) => `${n} ${issued[n].length}`).join(', ')}; each instance's ledger holds exactly the other two's; ` +
        `records of other tools left out by each tool: ${NAMES.map((n) => `${n} ${notSentOwn[n]}`).join(', ')}`,
    );
  });

  test('check warns when an ignored role also runs statements the tool did not send', async () => {
    inst.inst1.psql('postgres', 'CREATE TABLE by_hand (a int);\n');
    await inst.inst1.waitForLog('CREATE TABLE by_hand');
    const res = await cli(['check', '-c', configOf('inst1'), '--ignore-user', 'postgres']);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /^warning +ignored role postgres: ran \d+ statement\(s\) in the newest 1 csvlog file\(s\) that no pg-ddl-sync sent \(application [^)]*psql[^)]*\): they are never propagated/m);
    // Left out by --ignore-user, the statement is not sent.
    const dry = await cli(['run', '-c', configOf('inst1'), '--ignore-user', 'postgres', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.doesNotMatch(dry.stdout, /by_hand/);
    const plain = await cli(['run', '-c', configOf('inst1'), '--dry-run']);
    assert.match(plain.stdout, /CREATE TABLE by_hand/);
  });
});
