/**
 * Databases in LATIN1 and EUC_CN beside UTF8 on one primary, so one csvlog file holds statements in
 * three encodings: each reaches the target byte for byte, or is refused with a clear error. Under
 * log_statement = 'all', with non-ASCII session settings and temporary tables whose names differ
 * only in non-ASCII bytes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster, PRIMARY_SETTINGS, makeTempDir } from '../helpers/cluster';
import { cli, lines } from '../helpers/cli';
import { assertInStep } from '../helpers/compare';

/**
 * Per database: its encoding (none: the cluster's, UTF8 on the primary), and DDL with non-ASCII
 * identifiers, comments and defaults.
 */
const DATABASES: Record<string, { encoding?: string; sql: string; names: string[] }> = {
  enc_latin1: {
    encoding: 'LATIN1',
    sql: `CREATE SCHEMA "schéma";
CREATE TABLE "schéma"."café_ñ" ("colonne_é" text DEFAULT 'élevé', "größe" int);
COMMENT ON TABLE "schéma"."café_ñ" IS 'données françaises, ¿qué?';
CREATE VIEW "vüe" AS SELECT 'àéîõü'::text AS "spalte_ß";
CREATE TABLE "schéma"."tmp_è" (a int);
SET search_path = "schéma", public;
CREATE TEMP TABLE "tmp_é" (a int);
DROP TABLE "tmp_è";
CREATE TABLE "dans_schéma" (a int);`,
    names: ['café_ñ', 'vüe', 'dans_schéma'],
  },
  enc_euc_cn: {
    encoding: 'EUC_CN',
    sql: `CREATE TABLE "表格" ("列一" text DEFAULT '默认值', "数量" int);
COMMENT ON TABLE "表格" IS '中文注释：测试';
CREATE FUNCTION "函数"() RETURNS text LANGUAGE sql AS $$ SELECT '你好，世界'::text $$;
CREATE TABLE "永久" (a int);
CREATE TEMP TABLE "临时" (a int);
DROP TABLE "永久";`,
    names: ['表格'],
  },
  enc_default: {
    sql: `CREATE TABLE "таблица_表_é" ("κολώνα" text DEFAULT '🐘');
COMMENT ON TABLE "таблица_表_é" IS 'mixed: ü 表 🐘';`,
    names: ['таблица_表_é'],
  },
};

describe('databases in other encodings', () => {
  let primary: Cluster;
  let utf8Target: Cluster;
  let asciiTarget: Cluster;
  let work: string;

  const run = (target: Cluster, name: string, ...extra: string[]) =>
    cli(['run', '--csvlog-dir', primary.logDir, '--target', `${name}=${target.syncUrl}`, '--state-file', path.join(work, `${name}.state.json`), ...extra]);
  /** The bytes of each object name as the server stores them. */
  const storedNames = async (c: Cluster, db: string): Promise<string[]> =>
    (
      await c.query<{ hex: string }>(
        db,
        `SELECT encode(c.relname::text::bytea, 'hex') AS hex FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.oid >= 16384 AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'ddl_sync' ORDER BY 1`,
      )
    ).map((r) => r.hex);

  before(async () => {
    work = makeTempDir('pgds-enc-');
    // A target made by initdb in the C locale without --encoding holds SQL_ASCII databases.
    [primary, utf8Target, asciiTarget] = await Promise.all([
      Cluster.start({ settings: { ...PRIMARY_SETTINGS, log_statement: "'all'" }, name: 'primary' }),
      Cluster.start({ name: 'utf8' }),
      Cluster.start({ name: 'ascii', encoding: 'SQL_ASCII' }),
    ]);
    for (const [db, { encoding, sql }] of Object.entries(DATABASES)) {
      const create = encoding ? `CREATE DATABASE ${db} ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0` : `CREATE DATABASE ${db}`;
      primary.psql('postgres', `${create};\n`);
      // psql sends UTF-8; the server converts it to the database's encoding, and logs it so.
      const res = primary.psql(db, `SET client_encoding = 'UTF8';\n${sql}\n`);
      assert.equal(res.stderr, '', `${db}: ${res.stderr}`);
    }
    await primary.waitForLog('mixed: ');
  });

  after(async () => {
    await Promise.all([primary, utf8Target, asciiTarget].map((c) => c?.destroy()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the csvlog holds each statement in its database\'s encoding', () => {
    const log = Buffer.concat(primary.csvFiles().map((f) => fs.readFileSync(f)));
    assert.ok(log.includes(Buffer.from('caf\u00e9_\u00f1', 'latin1')), 'LATIN1 bytes');
    assert.ok(log.includes(Buffer.from([0xb1, 0xed, 0xb8, 0xf1])), 'EUC_CN bytes of 表格');
    assert.ok(log.includes(Buffer.from('таблица_表_é')), 'UTF-8 bytes');
  });

  test('every statement reaches a target of the same encodings byte for byte', async () => {
    const res = await run(utf8Target, 'u');
    assert.equal(res.code, 0, res.stderr);
    for (const [db, { encoding, names }] of Object.entries(DATABASES)) {
      const [{ server_encoding }] = await utf8Target.query<{ server_encoding: string }>(db, 'SHOW server_encoding');
      assert.equal(server_encoding, encoding ?? 'UTF8');
      const found = await utf8Target.query<{ relname: string }>(db, 'SELECT relname FROM pg_class WHERE relname = ANY($1)', [names]);
      assert.deepEqual(found.map((r) => r.relname).sort(), [...names].sort(), db);
      assert.deepEqual(await storedNames(utf8Target, db), await storedNames(primary, db), db);
    }
    // The session's non-ASCII search_path came along; the DROP of a real table named like the
    // temporary one but for its non-ASCII letters was sent.
    const where = await utf8Target.query<{ nspname: string }>('enc_latin1', "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'dans_schéma'");
    assert.deepEqual(where, [{ nspname: 'schéma' }]);
    assert.deepEqual(await utf8Target.query('enc_latin1', "SELECT 1 FROM pg_class WHERE relname IN ('tmp_è', 'tmp_é')"), []);
    assert.deepEqual(await utf8Target.query('enc_euc_cn', "SELECT 1 FROM pg_class WHERE relname IN ('永久', '临时')"), []);
    const [{ d }] = await utf8Target.query<{ d: string }>('enc_euc_cn', `SELECT obj_description('"表格"'::regclass, 'pg_class') AS d`);
    assert.equal(d, '中文注释：测试');
    await assertInStep(primary, utf8Target);
  });

  test('a target whose database is SQL_ASCII refuses non-ASCII text instead of guessing; --source tells the primary\'s encoding', async () => {
    const first = await run(asciiTarget, 'a');
    assert.equal(first.code, 1, first.stderr);
    const line = lines(first.stderr).pop()!;
    assert.match(line, / a stopped at postgresql-\S+\.csv:\d+ in database enc_default \(not sent: postgresql-\S+\.csv at byte \d+ is not valid SQL_ASCII \(byte 0xd1 at \d+: SQL_ASCII gives bytes above 0x7f no meaning\)/);
    assert.deepEqual(await asciiTarget.query('enc_default', "SELECT relname FROM pg_class WHERE relname ~ '[^ -~]'"), []);
    // LATIN1 and EUC_CN were made with their encoding on this target too: those went through.
    assert.deepEqual(await storedNames(asciiTarget, 'enc_latin1'), await storedNames(primary, 'enc_latin1'));
    // The primary says enc_default is UTF8: its bytes go as they are into the SQL_ASCII database.
    const second = await run(asciiTarget, 'a', '--source', primary.url);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await storedNames(asciiTarget, 'enc_default'), await storedNames(primary, 'enc_default'));
  });
});
