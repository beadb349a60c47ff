import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { acquireLock } from '../../src/io/lock';
import { failingWrites } from '../helpers/failingWrites';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-lock-'));
const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function startOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** A live process that looks like a run: pg-ddl-sync is one of its arguments. */
function runLike() {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'pg-ddl-sync']);
}

/** Waits until /proc shows the child's arguments (it has exec-ed node). */
async function started(pid: number): Promise<void> {
  while (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('setTimeout')) await new Promise((r) => setTimeout(r, 10));
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
    const child = runLike();
    try {
      await started(child.pid as number);
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

  it('takes over a lock whose live pid is not a pg-ddl-sync run', async () => {
    const file = path.join(dir, 'other-program.lock');
    const child = spawn('sleep', ['30']);
    try {
      await new Promise((r) => child.once('spawn', r));
      fs.writeFileSync(file, JSON.stringify({ pid: child.pid, start: startOf(child.pid as number), boot: bootId }));
      const lock = acquireLock(file);
      assert.ok(lock);
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid);
      lock.release();
    } finally {
      child.kill();
    }
  });

  it('takes over an old lock naming no real pid (0 or -1 name groups of processes)', () => {
    for (const pid of [0, -1]) {
      const file = path.join(dir, `group${pid}.lock`);
      fs.writeFileSync(file, JSON.stringify({ pid, start: '', boot: bootId }));
      const then = Date.now() / 1000 - 60;
      fs.utimesSync(file, then, then);
      const lock = acquireLock(file);
      assert.ok(lock, `pid ${pid}`);
      lock.release();
    }
  });

  it("refuses another user's lock file, naming it and its owner, rather than waiting on it for ever", { skip: process.getuid?.() !== 0 && 'needs root to give a file away' }, async () => {
    const file = path.join(dir, 'foreign.lock');
    const child = runLike();
    try {
      await started(child.pid as number);
      fs.writeFileSync(file, JSON.stringify({ pid: child.pid, start: startOf(child.pid as number), boot: bootId }));
      fs.chownSync(file, 65534, 65534);
      assert.throws(() => acquireLock(file), (err: unknown) => (err as Error).message.includes(file) && /uid 65534/.test((err as Error).message));
      assert.ok(fs.existsSync(file));
    } finally {
      child.kill();
    }
  });

  it('a lock whose write fails (the file size limit, as a full disk) is not left behind', () => {
    const d = fs.mkdtempSync(path.join(dir, 'full-'));
    const res = failingWrites(`require(${JSON.stringify(path.resolve(__dirname, '../../src/io/lock'))}).acquireLock(${JSON.stringify(path.join(d, 'a.lock'))})`);
    assert.match(res, /EFBIG/);
    assert.deepEqual(fs.readdirSync(d), []);
  });
});
