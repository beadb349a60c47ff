import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { StateError } from '../../src/errors';
import { STATE_VERSION, State, loadState, saveState } from '../../src/io/state';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-state-'));
const good: State = {
  version: STATE_VERSION,
  targets: { s1: { position: { file: 'a.csv', ino: 7, fingerprint: 'abc', offset: 42 }, lastSuccess: '2026-01-01T00:00:00Z' } },
};

describe('state file', () => {
  it('round-trips, is written 0600, and a missing file is a first run', () => {
    const file = path.join(dir, 'ok.json');
    assert.deepEqual(loadState(file), { version: STATE_VERSION, targets: {} });
    saveState(file, good);
    assert.deepEqual(loadState(file), good);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), []);
  });

  const bad: [string, string, RegExp][] = [
    ['empty', '', /not valid JSON/],
    ['torn', JSON.stringify(good).slice(0, 40), /not valid JSON/],
    ['garbage', '\u0000\u0001garbage', /not valid JSON/],
    ['future', JSON.stringify({ ...good, version: 99 }), /format version 99/],
    ['array', '[]', /expected a JSON object/],
    ['bad position', JSON.stringify({ version: 1, targets: { s1: { position: { file: 'a', offset: -1 } } } }), /targets\.s1\.position/],
  ];
  for (const [name, content, message] of bad) {
    it(`refuses a ${name} state file, naming it`, () => {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, content);
      assert.throws(() => loadState(file), (err: unknown) => err instanceof StateError && message.test(err.message) && err.message.includes(file));
    });
  }
});
