import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { appendRecord, writeFileAtomic } from '../../src/io/atomicFile';
import { writeMetrics } from '../../src/io/metrics';
import { failingWrites } from '../helpers/failingWrites';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-atomic-'));
let n = 0;

/** A fresh directory of the given mode (set past the umask). */
function dirOf(mode: number): string {
  const d = path.join(root, `d${n++}`);
  fs.mkdirSync(d);
  fs.chmodSync(d, mode);
  return d;
}

const metrics = { finishedAt: new Date(0), durationMs: 1, waiting: 0, unreadBytes: 0, outcomeUnknown: 0, targets: [] };

describe('atomic file', () => {
  it('never writes or chmods through a link planted at a temp name it could have used', () => {
    const d = dirOf(0o700);
    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, 'root owned\n');
    fs.chmodSync(victim, 0o644);
    const file = path.join(d, 'state.json');
    // The name the temp file had: the file's, and the pid.
    fs.symlinkSync(victim, path.join(d, `.state.json.${process.pid}.tmp`));
    writeFileAtomic(file, 'new\n');
    assert.equal(fs.readFileSync(victim, 'utf8'), 'root owned\n');
    assert.equal(fs.statSync(victim).mode & 0o777, 0o644);
    assert.equal(fs.readFileSync(file, 'utf8'), 'new\n');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('gives the file its mode whatever the umask', () => {
    const d = dirOf(0o700);
    const old = process.umask(0o077);
    try {
      writeMetrics(path.join(d, 'm.prom'), metrics);
    } finally {
      process.umask(old);
    }
    assert.equal(fs.statSync(path.join(d, 'm.prom')).mode & 0o777, 0o644);
  });

  it('refuses a symbolic link where the metrics file goes, naming it', () => {
    const d = dirOf(0o700);
    const victim = path.join(d, 'victim');
    fs.writeFileSync(victim, 'x');
    const file = path.join(d, 'm.prom');
    fs.symlinkSync(victim, file);
    assert.throws(() => writeMetrics(file, metrics), (err: unknown) => (err as Error).message.includes(file) && /symbolic link/.test((err as Error).message));
    assert.ok(fs.lstatSync(file).isSymbolicLink());
    assert.equal(fs.readFileSync(victim, 'utf8'), 'x');
  });

  it('refuses a directory others can write: world-writable, sticky or not, or group-writable without the sticky bit', () => {
    for (const mode of [0o777, 0o1777, 0o770, 0o1733]) {
      const d = dirOf(mode);
      assert.throws(() => writeFileAtomic(path.join(d, 'f'), 'x'), (err: unknown) => (err as Error).message.includes(d) && /written by/.test((err as Error).message), mode.toString(8));
      assert.deepEqual(fs.readdirSync(d), [], mode.toString(8));
    }
    for (const mode of [0o700, 0o755, 0o1770]) {
      const d = dirOf(mode);
      writeFileAtomic(path.join(d, 'f'), 'x');
      assert.equal(fs.readFileSync(path.join(d, 'f'), 'utf8'), 'x', mode.toString(8));
    }
  });

  it('a write that fails (the file size limit, as a full disk) leaves no temp file', () => {
    const d = dirOf(0o700);
    const res = failingWrites(`require(${JSON.stringify(path.resolve(__dirname, '../../src/io/atomicFile'))}).writeFileAtomic(${JSON.stringify(path.join(d, 'state.json'))}, 'x'.repeat(100))`);
    assert.match(res, /EFBIG/);
    assert.deepEqual(fs.readdirSync(d), []);
  });

  it('appends a skip record never through a symbolic link, and makes a new file 0600', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-append-'));
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'untouched\n');
    const record = path.join(dir, 'state.json.skipped.jsonl');
    fs.symlinkSync(victim, record);
    assert.throws(() => appendRecord(record, '{"statement":"$(id)"}\n'), /ELOOP|symbolic/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'untouched\n');
    fs.unlinkSync(record);
    appendRecord(record, 'one\n');
    appendRecord(record, 'two\n');
    assert.equal(fs.readFileSync(record, 'utf8'), 'one\ntwo\n');
    assert.equal(fs.statSync(record).mode & 0o777, 0o600);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
