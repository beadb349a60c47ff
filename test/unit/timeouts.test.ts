import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lockWaitMessage } from '../../src/commands/sync';
import { withLockBudget } from '../../src/io/applier';
import { clientConfig, parseTarget } from '../../src/io/target';

describe('timeouts on targets', () => {
  it('sends the lock and statement timeouts, 0 (no limit) too, after the URI\'s own options', () => {
    const spec = parseTarget('a=postgresql://u@h:5433/db?options=-c%20work_mem%3D8MB');
    const none = clientConfig(spec, undefined, { connectTimeoutMs: 1000, lockTimeoutMs: 0, statementTimeoutMs: 0 });
    assert.equal(none.options, '-c work_mem=8MB -c lock_timeout=0 -c statement_timeout=0 -c search_path=pg_catalog,pg_temp');
    const some = clientConfig(parseTarget('postgresql://h/db'), undefined, { connectTimeoutMs: 1000, lockTimeoutMs: 1500, statementTimeoutMs: 60000, keepSearchPath: true });
    assert.equal(some.options, '-c lock_timeout=1500 -c statement_timeout=60000');
    // Not set (verify sets no lock timeout): the server's own; search_path pinned all the same.
    assert.equal(clientConfig(parseTarget('postgresql://h/db'), undefined, { connectTimeoutMs: 1000 }).options, '-c search_path=pg_catalog,pg_temp');
    // A URI's search_path comes before the pin, which wins.
    const uri = parseTarget('postgresql://h/db?options=-c%20search_path%3Dpublic');
    assert.equal(clientConfig(uri, undefined, { connectTimeoutMs: 1000 }).options, '-c search_path=public -c search_path=pg_catalog,pg_temp');
  });

  it('says how long each try waited only when there is a lock timeout', () => {
    const holder = { relation: 'accounts', mode: 'AccessShareLock', pid: 7, user: 'app', application: '', state: 'idle in transaction', seconds: 3 };
    assert.equal(
      lockWaitMessage([holder], 2, 1500),
      'waiting for a lock on accounts, held by pid 7 (user app, idle in transaction, transaction open 3 s; AccessShareLock); gave way 2 time(s) after 1.5 s each; the next run tries again',
    );
    assert.equal(lockWaitMessage([], 1, 0), 'waiting for a lock; gave way 1 time(s); the next run tries again');
  });

  it('gives the statements of a transaction after the first what is left of the lock timeout', () => {
    assert.deepEqual(withLockBudget(['ALTER TABLE a ADD b int'], 2000), ['ALTER TABLE a ADD b int']);
    assert.deepEqual(withLockBudget(['ALTER TABLE a ADD b int', 'ALTER TABLE c ADD d int'], 0), ['ALTER TABLE a ADD b int', 'ALTER TABLE c ADD d int']);
    const budgeted = withLockBudget(['ALTER TABLE a ADD b int', 'SET LOCAL search_path TO DEFAULT', 'ALTER TABLE c ADD d int'], 2000);
    assert.equal(budgeted.length, 6);
    assert.match(budgeted[0], /set_config\('pg_ddl_sync\.lock_deadline'::pg_catalog\.text, .* OPERATOR\(pg_catalog\.\+\) 2000::pg_catalog\.int8\)::pg_catalog\.text, true\)/);
    assert.deepEqual([budgeted[1], budgeted[3], budgeted[5]], ['ALTER TABLE a ADD b int', 'SET LOCAL search_path TO DEFAULT', 'ALTER TABLE c ADD d int']);
    assert.match(budgeted[2], /set_config\('lock_timeout'::pg_catalog\.text, greatest\(1::pg_catalog\.int8, .*\)::pg_catalog\.text OPERATOR\(pg_catalog\.\|\|\) 'ms'::pg_catalog\.text, true\)/);
    assert.equal(budgeted[4], budgeted[2]);
  });
});
