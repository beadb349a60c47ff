import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databaseRemovedBy } from '../../src/core/databaseStatements';
import { loadParser } from '../../src/core/parser';
import { analyze } from '../../src/core/statements';

describe('databaseRemovedBy', () => {
  it('names the database a DROP or RENAME makes disappear, as the server folds it', () => {
    assert.equal(databaseRemovedBy('DROP DATABASE Company'), 'company');
    assert.equal(databaseRemovedBy('drop database if exists "My ""DB"" ü" with (force)'), 'My "DB" ü');
    assert.equal(databaseRemovedBy('-- cleanup\n/* old */ DROP DATABASE x;'), 'x');
    assert.equal(databaseRemovedBy('ALTER DATABASE "Old" RENAME TO new'), 'Old');
    assert.equal(databaseRemovedBy('alter database übung\n  rename to b'), 'übung');
  });

  it('is null for statements that leave the database where it is', () => {
    for (const sql of ['ALTER DATABASE x SET work_mem = 1', 'ALTER DATABASE x OWNER TO y', 'CREATE DATABASE x', 'DROP TABLE database', 'DROP DATABASE']) {
      assert.equal(databaseRemovedBy(sql), null, sql);
    }
  });

  it('marks every statement on a whole database', async () => {
    await loadParser();
    const onDatabase = (sql: string) => analyze(sql).parts.map((p) => p.kind === 'ddl' && p.actsOnDatabase);
    assert.deepEqual(onDatabase('CREATE DATABASE x'), [true]);
    assert.deepEqual(onDatabase('DROP DATABASE x'), [true]);
    assert.deepEqual(onDatabase('ALTER DATABASE x RENAME TO y'), [true]);
    assert.deepEqual(onDatabase('ALTER DATABASE x SET y = 1; CREATE TABLE t ()'), [true, false]);
    assert.deepEqual(onDatabase('CREATE TABLE database (a int)'), [false]);
  });
});
