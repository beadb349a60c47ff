import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { acquireLock } from '../../src/io/lock';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-lock-'));
const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function startOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

describe('run lock', () => {
  it('is exclusive while held and free once released', () => {
    const file = path.join(dir, 'a.lock');
    const lock = acquireLock(file);
    assert.ok(lock);
    assert.equal(acquireLock(file), null);
    lock.release();
    assert.equal(fs.existsSync(file), false);
    const again = acquireLock(file);
    assert.ok(again);
    again.release();
  });

  it('respects a live process of another run', async () => {
    const file = path.join(dir, 'live.lock');
    const child = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: child.pid, start: startOf(child.pid as number), boot: bootId }));
      assert.equal(acquireLock(file), null);
    } finally {
      child.kill();
    }
  });

  it('takes over a lock left by a dead process, a reused pid, or an earlier boot', () => {
    const dead = spawnSync('true').pid as number;
    const owners = [
      { pid: dead, start: '1', boot: bootId },
      { pid: process.ppid, start: '1', boot: bootId }, // alive, but started at another time: pid reused
      { pid: process.ppid, start: startOf(process.ppid), boot: 'another-boot' },
    ];
    for (const [i, owner] of owners.entries()) {
      const file = path.join(dir, `stale${i}.lock`);
      fs.writeFileSync(file, JSON.stringify(owner));
      const lock = acquireLock(file);
      assert.ok(lock, `stale owner ${JSON.stringify(owner)}`);
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid);
      lock.release();
    }
  });

  it('takes over past the guard of a run killed while it was taking over', () => {
    const dead = spawnSync('true').pid as number;
    for (const [i, age] of [10, 0].entries()) {
      const file = path.join(dir, `guarded${i}.lock`);
      fs.writeFileSync(file, JSON.stringify({ pid: dead, start: '1', boot: bootId }));
      fs.writeFileSync(`${file}.takeover`, '');
      const then = Date.now() / 1000 - age;
      fs.utimesSync(`${file}.takeover`, then, then);
      const started = Date.now();
      const lock = acquireLock(file);
      assert.ok(lock, `guard ${age}s old`);
      assert.ok(Date.now() - started < 3_000);
      assert.equal(fs.existsSync(`${file}.takeover`), false);
      lock.release();
    }
  });

  it('refuses a directory others can write: another user could plant a lock there', () => {
    for (const mode of [0o1777, 0o777]) {
      const d = path.join(dir, `open-${mode.toString(8)}`);
      fs.mkdirSync(d);
      fs.chmodSync(d, mode);
      assert.throws(() => acquireLock(path.join(d, 'a.lock')), (err: unknown) => (err as Error).message.includes(d) && /written by every user/.test((err as Error).message));
      assert.deepEqual(fs.readdirSync(d), []);
    }
  });
});
