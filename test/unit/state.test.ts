import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { StateError } from '../../src/errors';
import { STATE_VERSION, State, loadState, saveState } from '../../src/io/state';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgds-state-'));
const entry = {
  seq: 3, file: { key: 'abc', name: 'a.csv', ino: 7 }, offset: 40, end: 90, key: 40, parts: [0], settings: [],
  database: 'd', user: 'u', sessionId: 's.1', logTime: '2026-01-01 00:00:00.000 UTC', runsAlone: false, actsOnDatabase: false,
};
const good: State = {
  version: STATE_VERSION,
  log: {
    files: [{ name: 'a.csv', ino: 7, fingerprint: 'abc', firstLogTime: '2026-01-01 00:00:00.000', offset: 90, size: 120 }],
    judge: { nextOrder: 1, nextTx: 1, sessions: [], txs: [], pending: [], prepared: {} },
  },
  journal: { nextSeq: 4, entries: [entry] },
  targets: { s1: { next: 3, lastSuccess: '2026-01-01T00:00:00Z' } },
};

describe('state file', () => {
  it('round-trips, is written 0600, and a missing file is a first run', () => {
    const file = path.join(dir, 'ok.json');
    assert.deepEqual(loadState(file), { version: STATE_VERSION, journal: { nextSeq: 0, entries: [] }, targets: {} });
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
    ['bad target', JSON.stringify({ ...good, targets: { s1: { next: -1 } } }), /key "targets\.s1\.next" must be a journal sequence number/],
    ['bad log position', JSON.stringify({ ...good, log: { files: [{ name: 'a', offset: 1 }], judge: {} } }), /key "log" must hold/],
    ['bad journal entry', JSON.stringify({ ...good, journal: { nextSeq: 1, entries: [{ seq: 'x' }] } }), /key "journal\.entries\[0\]" is not a journal entry/],
    ['no journal', JSON.stringify({ version: 1, targets: {} }), /key "journal" must hold/],
  ];
  for (const [name, content, message] of bad) {
    it(`refuses a ${name} state file, naming it`, () => {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, content);
      assert.throws(() => loadState(file), (err: unknown) => err instanceof StateError && message.test(err.message) && err.message.includes(file));
    });
  }
});

describe('state file place', () => {
  it('is refused in a directory others can write, or as a symbolic link, naming it', () => {
    for (const mode of [0o777, 0o1777, 0o770]) {
      const d = path.join(dir, `open-${mode.toString(8)}`);
      fs.mkdirSync(d);
      fs.chmodSync(d, mode);
      const file = path.join(d, 'state.json');
      fs.writeFileSync(file, JSON.stringify(good));
      assert.throws(() => loadState(file), (err: unknown) => err instanceof StateError && err.message.includes(d) && /written by/.test(err.message), mode.toString(8));
    }
    const file = path.join(dir, 'linked.json');
    fs.writeFileSync(path.join(dir, 'real.json'), JSON.stringify(good));
    fs.symlinkSync(path.join(dir, 'real.json'), file);
    assert.throws(() => loadState(file), (err: unknown) => err instanceof StateError && err.message.includes(file) && /symbolic link/.test(err.message));
  });
});
