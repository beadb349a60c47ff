import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadParser } from '../../src/core/parser';
import { Part, analyze } from '../../src/core/statements';

before(loadParser);

/** Whether each DDL part of a text names the ledger's schema. */
const named = (sql: string): boolean[] =>
  analyze(sql).parts.filter((p): p is Extract<Part, { kind: 'ddl' }> => p.kind === 'ddl').map((p) => p.namesLedger);

describe('DDL that names the ledger schema', () => {
  it('is told from the parse tree, wherever the schema is named', () => {
    for (const sql of [
      'CREATE SCHEMA ddl_sync',
      'CREATE SCHEMA IF NOT EXISTS ddl_sync AUTHORIZATION bob',
      'CREATE SCHEMA AUTHORIZATION ddl_sync',
      'DROP SCHEMA ddl_sync CASCADE',
      'DROP SCHEMA other, ddl_sync',
      'ALTER SCHEMA ddl_sync OWNER TO bob',
      'ALTER SCHEMA ddl_sync RENAME TO old',
      'ALTER SCHEMA other RENAME TO ddl_sync',
      "COMMENT ON SCHEMA ddl_sync IS 'mine'",
      'GRANT USAGE, CREATE ON SCHEMA ddl_sync TO PUBLIC',
      'GRANT SELECT ON ALL TABLES IN SCHEMA ddl_sync TO bob',
      'REVOKE ALL ON ALL SEQUENCES IN SCHEMA ddl_sync FROM bob',
      'ALTER DEFAULT PRIVILEGES IN SCHEMA ddl_sync GRANT SELECT ON TABLES TO bob',
      'CREATE TABLE ddl_sync.x (a int)',
      'CREATE TABLE "ddl_sync".x (a int)',
      'CREATE TABLE postgres.ddl_sync.x (a int)',
      'ALTER TABLE ddl_sync.applied ADD COLUMN b int',
      'ALTER TABLE public.t SET SCHEMA ddl_sync',
      'DROP TABLE ddl_sync.applied',
      'CREATE TRIGGER t AFTER INSERT ON ddl_sync.applied FOR EACH ROW EXECUTE FUNCTION f()',
      'CREATE RULE r AS ON INSERT TO ddl_sync.applied DO ALSO NOTIFY x',
      'CREATE FUNCTION ddl_sync.f() RETURNS int LANGUAGE sql AS $$SELECT 1$$',
      'DROP FUNCTION ddl_sync.f()',
      'CREATE VIEW v AS SELECT * FROM ddl_sync.applied',
      'CREATE INDEX ON ddl_sync.applied (state)',
      'CREATE TYPE ddl_sync.t AS (a int)',
      'CREATE EXTENSION hstore SCHEMA ddl_sync',
      'ALTER EXTENSION hstore SET SCHEMA ddl_sync',
      'CREATE PUBLICATION p FOR TABLES IN SCHEMA ddl_sync',
      'IMPORT FOREIGN SCHEMA r FROM SERVER s INTO ddl_sync',
      'SELECT 1 AS a INTO ddl_sync.copy',
    ]) {
      assert.deepEqual(named(sql), [true], sql);
    }
  });

  it('leaves other schemas, and the name in other roles, alone', () => {
    for (const sql of [
      'CREATE SCHEMA app',
      'CREATE SCHEMA "DDL_SYNC"',
      'CREATE TABLE ddl_sync (a int)',
      'CREATE TABLE public.ddl_sync (ddl_sync int)',
      'ALTER TABLE t RENAME COLUMN a TO ddl_sync',
      'CREATE ROLE ddl_sync',
      'GRANT SELECT ON TABLE t TO ddl_sync',
      "COMMENT ON TABLE t IS 'ddl_sync.applied'",
      'CREATE SCHEMA AUTHORIZATION bob',
      "ALTER ROLE bob SET search_path = 'ddl_sync'",
    ]) {
      assert.deepEqual(named(sql), [false], sql);
    }
  });

  it('leaves out only the statement of a text that names it', () => {
    assert.deepEqual(named('CREATE TABLE a (x int); CREATE SCHEMA ddl_sync; CREATE TABLE b (x int)'), [false, true, false]);
  });
});
