import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lockWaitMessage } from '../../src/pipeline/apply';
import { withLockBudget } from '../../src/io/applier';
import { answerTimeoutMs, clientConfig, queryOf } from '../../src/io/connect';
import { parseTarget } from '../../src/io/target';
import { resolveSettings } from '../../src/io/settings';

/** What every session of the tool's sets, whatever it was told. */
const SESSION = '-c idle_in_transaction_session_timeout=60000 -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3';
/** The search_path of the tool's own sessions (not of those that replay DDL). */
const PIN = '-c search_path=pg_catalog,pg_temp';

describe('timeouts on targets', () => {
  it('sends the lock and statement timeouts, 0 (no limit) too, after the URI\'s own options', () => {
    const spec = parseTarget('a=postgresql://u@h:5433/db?options=-c%20work_mem%3D8MB');
    const none = clientConfig(spec, undefined, { connectTimeoutMs: 1000, lockTimeoutMs: 0, statementTimeoutMs: 0 });
    assert.equal(none.options, `-c work_mem=8MB -c lock_timeout=0 -c statement_timeout=0 ${SESSION} ${PIN}`);
    const some = clientConfig(parseTarget('postgresql://h/db'), undefined, { connectTimeoutMs: 1000, lockTimeoutMs: 1500, statementTimeoutMs: 60000, keepSearchPath: true });
    assert.equal(some.options, `-c lock_timeout=1500 -c statement_timeout=60000 ${SESSION}`);
    // Not set (verify sets no lock timeout): the server's own; search_path pinned all the same.
    assert.equal(clientConfig(parseTarget('postgresql://h/db'), undefined, { connectTimeoutMs: 1000 }).options, `${SESSION} ${PIN}`);
    // A URI's search_path comes before the pin, which wins.
    const uri = parseTarget('postgresql://h/db?options=-c%20search_path%3Dpublic');
    assert.equal(clientConfig(uri, undefined, { connectTimeoutMs: 1000 }).options, `-c search_path=public ${SESSION} ${PIN}`);
  });

  it('has a statement timeout of 10 minutes unless told, 0 for none, and refuses more than a day', () => {
    assert.equal(resolveSettings({}).statementTimeoutMs, 600_000);
    assert.equal(resolveSettings({ statementTimeout: '0' }).statementTimeoutMs, 0);
    assert.equal(resolveSettings({}, { statementTimeout: 2.5 }).statementTimeoutMs, 2500);
    assert.throws(() => resolveSettings({ statementTimeout: '86401' }), /statement timeout "86401" must be a number of seconds of at most 86400/);
    assert.throws(() => resolveSettings({ connectTimeout: '1e9' }), /connect timeout "1e9" must be a number of seconds, written with digits and a decimal point only/);
    assert.throws(() => resolveSettings({ lockTimeout: '-1' }), /lock timeout "-1" must be a number of seconds, written with digits and a decimal point only/);
  });

  it('waits for an answer a bit longer than the statements of a query may take, and not at all without a timeout', () => {
    const opts = { connectTimeoutMs: 1000, statementTimeoutMs: 2000 };
    assert.equal(clientConfig(parseTarget('postgresql://h/db'), undefined, opts).query_timeout, 7000);
    assert.equal(answerTimeoutMs(opts, 3), 11_000);
    assert.deepEqual(queryOf('SELECT 1', opts, 2), { text: 'SELECT 1', query_timeout: 9000 });
    // A batch of long statements: never past what a timer counts (a longer one would fire at once).
    assert.equal(answerTimeoutMs({ connectTimeoutMs: 1000, statementTimeoutMs: 86_400_000 }, 100), 2 ** 31 - 1);
    const none = { connectTimeoutMs: 1000, statementTimeoutMs: 0 };
    assert.equal(clientConfig(parseTarget('postgresql://h/db'), undefined, none).query_timeout, undefined);
    assert.equal(queryOf('SELECT 1', none, 5).query_timeout, undefined);
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
