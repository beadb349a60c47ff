/**
 * A real failed write, as on a full disk, without a full disk: a node process under `ulimit -f 0`,
 * where every write that would make a file longer fails with EFBIG (the signal that comes with it is
 * ignored).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/**
 * Runs `code` (JavaScript) in such a process.
 * @returns the message of what it threw, or 'no error'
 */
export function failingWrites(code: string): string {
  const script = `process.on('SIGXFSZ', () => {}); try { ${code}; console.log('no error') } catch (e) { console.log(String(e.message)) }`;
  const res = spawnSync('sh', ['-c', 'ulimit -f 0; exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}
