/**
 * `nested`: DDL run inside a function on the primary (seen through the capture helper, never sent)
 * dealt with by a person. `--copy` gives the targets the object as the primary has it, owner and
 * columns included, so a later statement on it (a DROP TABLE) works there; `--handled` records that
 * it was done by hand. Either ends the runs' exit 1, and is recorded.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Cluster } from '../helpers/cluster';
import { cli, readDir } from '../helpers/cli';
import { OneTarget, nestedPlace } from '../helpers/oneTarget';

/** A table's owner and columns (name, type, default, nullability); [] when it is not there. */
async function tableShape(c: Cluster, table: string): Promise<string[]> {
  const owner = await c.query<{ o: string }>('postgres', 'SELECT tableowner AS o FROM pg_tables WHERE schemaname = $1 AND tablename = $2', ['public', table]);
  if (owner.length === 0) return [];
  const cols = await c.query<{ col: string }>(
    'postgres',
    `SELECT column_name || ' ' || data_type || ' ' || coalesce(column_default, '-') || ' ' || is_nullable AS col
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return [`owner ${owner[0].o}`, ...cols.map((r) => r.col)];
}

describe('nested: DDL run inside functions, copied to the targets or marked handled', () => {
  const sync = new OneTarget('pgds-nested-', 'ddl', true);

  const where = (): string[] => sync.where();
  const run = (marker: string, code: number) => sync.run(marker, code);
  const placeOf = nestedPlace;

  let primary: Cluster;
  let a: Cluster;
  before(async () => {
    await sync.start();
    ({ primary, a } = sync);
  });
  after(() => sync.stop());

  test('--copy: the table a function made reaches the target, owner and columns as on the primary; a later DROP works there', async () => {
    primary.psql('postgres', 'CREATE ROLE bob;\nGRANT CREATE ON SCHEMA public TO bob;\n');
    primary.psql('postgres', "CREATE FUNCTION mk() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE made_in_fn (id serial PRIMARY KEY, note text NOT NULL DEFAULT 'x'); END $$;\n");
    // As bob, whom 'ddl' does not log: the table is his.
    primary.psql('postgres', 'SET ROLE bob;\nSELECT mk();\nRESET ROLE;\nCREATE TABLE after_fn (a int);\n');
    const first = await run('after_fn', 1);
    const at = placeOf(first.stderr, 'table public\\.made_in_fn');
    assert.deepEqual(await tableShape(a, 'made_in_fn'), []);

    const listed = await cli(['nested', ...where()]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${at}\\n[^]*table public\\.made_in_fn created`, 'm'));

    const copied = await cli(['nested', ...where(), '--at', at, '--copy', '--yes', '--reason', 'made by mk()']);
    assert.equal(copied.code, 0, `${copied.stderr}\n${readDir(sync.toolLog)}`);
    assert.match(copied.stdout, /Copied .* to a \(database postgres\); recorded in /);
    const shape = await tableShape(primary, 'made_in_fn');
    assert.equal(shape[0], 'owner bob');
    assert.deepEqual(await tableShape(a, 'made_in_fn'), shape);
    // In the target's ledger, at the capture record's place, like other applied DDL.
    const offset = Number(at.slice(at.lastIndexOf(':') + 1));
    const rows = await a.query<{ state: string }>('postgres', 'SELECT state FROM ddl_sync.applied WHERE record_offset = $1', [offset]);
    assert.deepEqual(rows, [{ state: 'done' }]);
    const record = fs.readFileSync(`${sync.state}.skipped.jsonl`, 'utf8');
    assert.match(record, /"handled":"copied".*"reason":"made by mk\(\)"/);

    // Done: the next run is clean, and what follows on the object works on the target.
    primary.psql('postgres', 'DROP TABLE made_in_fn;\n');
    await run('DROP TABLE made_in_fn', 0);
    assert.deepEqual(await tableShape(a, 'made_in_fn'), []);
    const again = await cli(['nested', ...where(), '--at', at, '--handled', '--yes']);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /holds no nested DDL left to handle/);
  });

  test('--copy refuses what it cannot copy; --handled records it and ends the exit 1', async () => {
    primary.psql('postgres', 'DO $$ BEGIN CREATE FUNCTION made_in_do() RETURNS int LANGUAGE sql AS $f$ SELECT 1 $f$; END $$;\nCREATE TABLE after_do (a int);\n');
    const first = await run('after_do', 1);
    const at = placeOf(first.stderr, 'function public\\.made_in_do\\(\\)');

    const refused = await cli(['nested', ...where(), '--at', at, '--copy', '--yes']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /copying a function is not supported .* pg-ddl-sync nested --at \S+ --handled/);
    await run('after_do', 1);

    const handled = await cli(['nested', ...where(), '--at', at, '--handled', '--yes', '--reason', 'created on a by hand']);
    assert.equal(handled.code, 0, handled.stderr);
    assert.match(handled.stdout, /Marked handled/);
    const records = fs.readFileSync(`${sync.state}.skipped.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = records.find((r) => r.at === at);
    assert.equal(mine?.handled, 'by hand');
    assert.equal(mine?.reason, 'created on a by hand');
    await run('after_do', 0);
    const listed = await cli(['nested', ...where()]);
    assert.equal(listed.stdout, 'No nested DDL left to handle.\n');
  });

  test('made and dropped before it was copied: --copy says so; --handled records it, and the target was not stopped at the DROP', async () => {
    primary.psql('postgres', 'CREATE FUNCTION mk_gone() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE gone_t (a int); END $$;\n');
    primary.psql('postgres', 'SELECT mk_gone();\nDROP TABLE gone_t;\nCREATE TABLE after_gone (a int);\n');
    const first = await run('after_gone', 1);
    const at = placeOf(first.stderr, 'table public\\.gone_t');
    assert.doesNotMatch(first.stderr, /does not exist/);
    assert.equal((await tableShape(a, 'after_gone'))[0], 'owner postgres');

    const refused = await cli(['nested', ...where(), '--at', at, '--copy', '--yes']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /gone_t no longer exists on the primary .* --handled\): a target passes a logged DROP of only such objects by itself/);
    const handled = await cli(['nested', ...where(), '--at', at, '--handled', '--yes']);
    assert.equal(handled.code, 0, handled.stderr);
    await run('after_gone', 0);
  });

  test("CREATE TABLE … AS EXECUTE, whose PREPARE 'ddl' does not log: reported like nested DDL, copied, and a later DROP works", async () => {
    primary.psql('postgres', 'PREPARE q AS SELECT 1 AS x, $$a$$::text AS y;\nCREATE TABLE ctas AS EXECUTE q;\nCREATE TABLE after_ctas (a int);\n');
    const first = await run('after_ctas', 1);
    const at = placeOf(first.stderr, 'table public\\.ctas');
    // The target was not stopped: what came after reached it.
    assert.equal((await tableShape(a, 'after_ctas'))[0], 'owner postgres');
    assert.deepEqual(await tableShape(a, 'ctas'), []);
    const copied = await cli(['nested', ...where(), '--at', at, '--copy', '--yes']);
    assert.equal(copied.code, 0, `${copied.stderr}\n${readDir(sync.toolLog)}`);
    assert.deepEqual(await tableShape(a, 'ctas'), await tableShape(primary, 'ctas'));
    primary.psql('postgres', 'DROP TABLE ctas;\nCREATE TABLE after_ctas_drop (a int);\n');
    await run('after_ctas_drop', 0);
    assert.deepEqual(await tableShape(a, 'ctas'), []);
  });

  test('--copy waits for a target that has not reached the nested DDL yet: the copy is the primary\'s object as it is now', async () => {
    // The target has the table already: the primary's CREATE stops it there, before the nested DDL.
    await a.query('postgres', 'CREATE TABLE blocker (a int)');
    primary.psql('postgres', "CREATE FUNCTION mk_late() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE made_late (a int); END $$;\nCREATE TABLE blocker (a int);\nSELECT mk_late();\nCREATE TABLE after_late (a int);\n");
    const first = await run('after_late', 1);
    const at = placeOf(first.stderr, 'table public\\.made_late');
    const early = await cli(['nested', ...where(), '--at', at, '--copy', '--yes']);
    assert.equal(early.code, 2, early.stdout);
    assert.match(early.stderr, /not every target has reached the nested DDL at .*: a \(it stands at postgresql-[^:]+:\d+\); run pg-ddl-sync run until they have, then copy/);
    assert.deepEqual(await tableShape(a, 'made_late'), []);
    const skipped = await cli(['skip', ...where().slice(0, -2), '--stopped-target', 'a', '--yes', '--reason', 'the target had it']);
    assert.equal(skipped.code, 0, skipped.stderr);
    await run('after_late', 1);
    const copied = await cli(['nested', ...where(), '--at', at, '--copy', '--yes']);
    assert.equal(copied.code, 0, `${copied.stderr}\n${readDir(sync.toolLog)}`);
    assert.deepEqual(await tableShape(a, 'made_late'), await tableShape(primary, 'made_late'));
  });
});
