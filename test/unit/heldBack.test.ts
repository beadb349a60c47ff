import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logTimeMs, oldestHeldBack } from '../../src/core/heldBack';
import type { WaitingUnit } from '../../src/core/judge';
import { socketUser } from '../../src/io/dataDir';

const waiting = (logTime: string, blocking: boolean): WaitingUnit =>
  ({ unit: { logTime, file: { key: 'k', name: 'f.csv', ino: 1 }, offset: 0 }, blocking, vxid: '3/1' }) as unknown as WaitingUnit;

describe('held-back statements', () => {
  it('reads log_time in its zone: UTC and offsets exactly, a name as the machine’s zone', () => {
    assert.equal(logTimeMs('2026-12-06 10:00:00.123 UTC'), Date.parse('2026-12-06T10:00:00.123Z'));
    assert.equal(logTimeMs('2026-12-06 10:00:00.123 GMT'), Date.parse('2026-12-06T10:00:00.123Z'));
    assert.equal(logTimeMs('2026-12-06 18:00:00.000 +08'), Date.parse('2026-12-06T10:00:00.000Z'));
    assert.equal(logTimeMs('2026-12-06 04:30:00.000 -0530'), Date.parse('2026-12-06T10:00:00.000Z'));
    // CST is China's or the US's: the machine's zone decides (here, one 8 hours ahead).
    assert.equal(logTimeMs('2026-12-06 18:00:00.000 CST', () => 8 * 3600_000), Date.parse('2026-12-06T10:00:00.000Z'));
    assert.ok(Number.isNaN(logTimeMs('not a time')));
  });

  it('is the oldest statement that holds others back; one passed over does not count', () => {
    const now = new Date('2026-12-06T10:20:00Z');
    const held = oldestHeldBack([waiting('2026-12-06 10:00:00.000 UTC', false), waiting('2026-12-06 10:05:00.000 UTC', true), waiting('2026-12-06 10:10:00.000 UTC', true)], now);
    assert.equal(held?.ageMs, 15 * 60_000);
    assert.equal(oldestHeldBack([waiting('2026-12-06 10:00:00.000 UTC', false)], now), undefined);
  });
});

describe('the role the primary is asked as through its socket', () => {
  it('is PGUSER, else the OS user unless root, else the targets’ role, else the data directory’s owner', () => {
    assert.equal(socketUser({ pgUser: 'dba', osUser: 'root', targetUsers: ['postgres'] }), 'dba');
    assert.equal(socketUser({ osUser: 'sdbadmin', targetUsers: ['ddl_syncer'] }), 'sdbadmin');
    assert.equal(socketUser({ osUser: 'root', targetUsers: ['sdbadmin'], dataDirOwner: 'postgres' }), 'sdbadmin');
    assert.equal(socketUser({ osUser: 'root', targetUsers: [], dataDirOwner: 'sdbadmin' }), 'sdbadmin');
  });
});
