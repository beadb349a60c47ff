import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors';
import { createLogger, logFileFor } from '../../src/io/logger';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-logger-'));
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A logger writing to a string; the lines once closed. */
async function logged(format: 'text' | 'json', fn: (log: ReturnType<typeof createLogger>) => void | Promise<void>, level: 'info' | 'debug' = 'info'): Promise<string[]> {
  let text = '';
  const log = createLogger({ level, format, prefix: 'x', stderr: (t) => void (text += t) });
  await fn(log);
  await log.close();
  assert.ok(text === '' || text.endsWith('\n'), 'every line ends with a newline');
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

describe('logger', () => {
  it('text: time, level, message, then the fields in order; undefined left out; values with spaces, quotes or = quoted', async () => {
    const lines = await logged('text', (log) => {
      log.info('applied', { target: 't1', database: 'db', at: 'a.csv:12', ms: 3, sql: 'CREATE TABLE "x" (a int)', gone: undefined, ok: true });
      log.warn('w', { error: 'a=b', empty: '' });
    });
    assert.equal(lines.length, 2);
    const [time, ...rest] = lines[0].split(' ');
    assert.match(time, TIME);
    assert.equal(rest.join(' '), 'info  applied target=t1 database=db at=a.csv:12 ms=3 sql="CREATE TABLE \\"x\\" (a int)" ok=true');
    assert.equal(lines[1].slice(25), 'warn  w error="a=b" empty=""');
  });

  it('json: one object a line, keys sorted, undefined left out, text escaped', async () => {
    const lines = await logged('json', (log) => {
      log.error('statement failed', { target: 't\n2', sqlstate: undefined, ms: 4, sql: "it's \\ \"q\"" });
    });
    assert.equal(lines.length, 1);
    const obj = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.deepEqual(Object.keys(obj), ['level', 'message', 'ms', 'sql', 'target', 'timestamp']);
    assert.deepEqual({ ...obj, timestamp: undefined }, { level: 'error', message: 'statement failed', ms: 4, sql: "it's \\ \"q\"", target: 't\n2', timestamp: undefined });
    assert.match(String(obj.timestamp), TIME);
    // Keys that look like numbers are sorted as text too, as winston's json format sorts them.
    const [odd] = await logged('json', (log) => log.info('m', { '10': 'a', '2': 'b', b: undefined }));
    assert.equal(odd.replace(/"timestamp":"[^"]*"/, '"timestamp":"T"'), '{"10":"a","2":"b","level":"info","message":"m","timestamp":"T"}');
  });

  it('leaves out what is below its level', async () => {
    assert.deepEqual((await logged('text', (log) => log.debug('hidden'))).length, 0);
    assert.equal((await logged('text', (log) => log.debug('shown'), 'debug')).length, 1);
  });

  it('keeps every line, in order, across turns of the event loop and large bursts', async () => {
    const lines = await logged('json', async (log) => {
      for (let i = 0; i < 1000; i++) log.info('applied', { n: i });
      await new Promise((resolve) => setImmediate(resolve));
      for (let i = 1000; i < 2500; i++) {
        log.info('applied', { n: i });
        if (i % 300 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    });
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { n: number }).n),
      Array.from({ length: 2500 }, (_, i) => i),
    );
  });

  it('--log-dir: a file of the day, 0600, holding every line once closed', async () => {
    const logDir = path.join(dir, 'logs');
    const now = new Date();
    const log = createLogger({ level: 'info', format: 'text', prefix: 'pgds', logDir, now: () => now });
    for (let i = 0; i < 3000; i++) log.info('applied', { n: i, sql: 'CREATE TABLE t (a int)' });
    await log.close();
    const file = logFileFor(logDir, 'pgds', now);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 3000);
    assert.ok(lines.every((l, i) => l.includes(` applied n=${i} sql=`)));
  });

  it('has written what was logged by the time code awaiting the logging code goes on', async () => {
    let text = '';
    const log = createLogger({ level: 'info', format: 'text', prefix: 'x', stderr: (t) => void (text += t) });
    const work = async (): Promise<void> => {
      log.info('applied', { n: 1 });
      log.info('run finished');
    };
    await work();
    // What the CLI prints after a command returns comes after the command's log lines.
    assert.deepEqual(text.trimEnd().split('\n').map((l) => l.slice(25)), ['info  applied n=1', 'info  run finished']);
    await log.close();
  });

  it('a --log-dir it cannot write to is a usage error at once, before the command does anything', () => {
    const notADir = path.join(dir, 'a-file');
    fs.writeFileSync(notADir, '');
    assert.throws(
      () => createLogger({ level: 'info', format: 'text', prefix: 'pgds', logDir: path.join(notADir, 'logs') }),
      (err: Error) => err instanceof UsageError && /--log-dir .*a-file\/logs: cannot write the log there \(ENOTDIR/.test(err.message),
    );
  });

  it('a write that fails in a flush is thrown by the next log call, and by close', async () => {
    const log = createLogger({ level: 'info', format: 'text', prefix: 'x', stderr: () => {
      throw new Error('ENOSPC: no space left on device');
    } });
    log.info('applied', { n: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.throws(() => log.info('applied', { n: 2 }), /ENOSPC/);
    await assert.rejects(log.close(), /ENOSPC/);
  });

  it('writes what it holds when the process exits without closing it', () => {
    const logger = path.resolve(__dirname, '..', '..', 'src', 'io', 'logger.js');
    const script = `const log = require(${JSON.stringify(logger)}).createLogger({ level: 'info', prefix: 'x' });
      log.info('before', { n: 1 }); log.error('last words', { n: 2 }); process.exit(3);`;
    const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(res.status, 3);
    const lines = res.stderr.trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => l.slice(25)), ['info  before n=1', 'error last words n=2']);
  });

  it('owns its exit hook: each logger writes only its own lines at exit, and none once closed', async () => {
    const hooks = new Map<string, () => void>();
    const unhooked: string[] = [];
    const make = (name: string) => {
      let text = '';
      const log = createLogger({
        level: 'info',
        prefix: name,
        stderr: (t) => void (text += t),
        onExit: (fn) => {
          hooks.set(name, fn);
          return () => void unhooked.push(name);
        },
      });
      return { log, text: () => text };
    };
    const a = make('a');
    const b = make('b');
    a.log.info('from a');
    b.log.info('from b');
    // The process "exits" before either got to write what it holds: only a's hook runs.
    hooks.get('a')?.();
    assert.deepEqual(a.text().split('\n').filter(Boolean).map((l) => l.slice(25)), ['info  from a']);
    assert.equal(b.text(), '');
    await b.log.close();
    assert.deepEqual(unhooked, ['b']);
    assert.equal(b.text().slice(25), 'info  from b\n');
    await a.log.close();
    assert.deepEqual(unhooked, ['b', 'a']);
    assert.equal(a.text().split('\n').filter(Boolean).length, 1, 'a line written at exit is not written again');
  });
});

describe('log file', () => {
  it('is never opened through a symbolic link: one planted at its name is an error naming it', () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-logger-link-'));
    const victim = path.join(logDir, 'victim');
    fs.writeFileSync(victim, 'root owned\n', { mode: 0o644 });
    const now = new Date('2026-03-01T12:00:00Z');
    const file = logFileFor(logDir, 'x', now);
    fs.symlinkSync(victim, file);
    assert.throws(
      () => createLogger({ level: 'info', prefix: 'x', logDir, now: () => now }),
      (err: unknown) => err instanceof UsageError && err.message.includes(file) && /symbolic link/.test(err.message),
    );
    assert.equal(fs.readFileSync(victim, 'utf8'), 'root owned\n');
  });
});
