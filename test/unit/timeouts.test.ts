import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withLockBudget } from '../../src/io/applier';

describe('timeouts on targets', () => {
  it('gives the statements of a transaction after the first what is left of the lock timeout', () => {
    assert.deepEqual(withLockBudget(['ALTER TABLE a ADD b int'], 2000), ['ALTER TABLE a ADD b int']);
    assert.deepEqual(withLockBudget(['ALTER TABLE a ADD b int', 'ALTER TABLE c ADD d int'], 0), ['ALTER TABLE a ADD b int', 'ALTER TABLE c ADD d int']);
    const budgeted = withLockBudget(['ALTER TABLE a ADD b int', 'SET LOCAL search_path TO DEFAULT', 'ALTER TABLE c ADD d int'], 2000);
    assert.equal(budgeted.length, 6);
    assert.match(budgeted[0], /set_config\('pg_ddl_sync\.lock_deadline', .* \+ 2000\)::text, true\)/);
    assert.deepEqual([budgeted[1], budgeted[3], budgeted[5]], ['ALTER TABLE a ADD b int', 'SET LOCAL search_path TO DEFAULT', 'ALTER TABLE c ADD d int']);
    assert.match(budgeted[2], /set_config\('lock_timeout', greatest\(1, .*\)::text \|\| 'ms', true\)/);
    assert.equal(budgeted[4], budgeted[2]);
  });
});
