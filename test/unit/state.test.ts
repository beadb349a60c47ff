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

/** A copy of `v` with the value at `keys` replaced. */
function with_(v: unknown, keys: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let at = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[keys[keys.length - 1]] = value;
  return copy;
}

/** A judge's transaction record, as a state file holds it. */
function tx(is: string): unknown {
  const view = { settings: {}, temp: [] };
  return {
    id: 0, session: 's.1', pid: 1, vxid: '3/1', state: { is }, block: 'logged', extendedProtocol: false, ownCommits: false,
    view, before: view, local: {}, savepoints: [], units: [], dropOnCommit: [],
  };
}

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
    ['future', JSON.stringify({ ...good, version: 99 }), /^state file [^ ]+: format version 99 is not one this pg-ddl-sync reads \(1 or 2\)/],
    ['array', '[]', /expected a JSON object/],
    ['bad target', JSON.stringify({ ...good, targets: { s1: { next: -1 } } }), /key "targets\.s1\.next" must be a journal sequence number/],
    ['bad log position', JSON.stringify({ ...good, log: { files: [{ name: 'a', offset: 1 }], judge: {} } }), /key "log\.files\[0\]\.ino" is missing/],
    ['bad journal entry', JSON.stringify({ ...good, journal: { nextSeq: 1, entries: [{ seq: 'x' }] } }), /key "journal\.entries\[0\]\.seq" must be a journal sequence number/],
    ['no journal', JSON.stringify({ version: 1, targets: {} }), /key "journal" is missing/],
    // Every field, not only the top ones: one that crashed the run further on is named here.
    ['judge sessions not a list', JSON.stringify(with_(good, ['log', 'judge', 'sessions'], 5)), /key "log\.judge\.sessions" must be an array/],
    ['entry parts of text', JSON.stringify(with_(good, ['journal', 'entries', 0, 'parts'], ['x'])), /key "journal\.entries\[0\]\.parts\[0\]" must be a whole number, 0 or more/],
    ['entry without its file key', JSON.stringify(with_(good, ['journal', 'entries', 0, 'file'], { name: 'a.csv', ino: 7 })), /key "journal\.entries\[0\]\.file\.key" is missing/],
    ['mark fingerprint a number', JSON.stringify(with_(good, ['log', 'files', 0, 'fingerprint'], 3)), /key "log\.files\[0\]\.fingerprint" must be a string/],
    ['target failure without its seq', JSON.stringify(with_(good, ['targets', 's1', 'failure'], { message: 'm' })), /key "targets\.s1\.failure\.seq" is missing/],
    ['target of text', JSON.stringify(with_(good, ['targets', 's1'], 'x')), /key "targets\.s1" must be an object holding "next"/],
    ['bad last run', JSON.stringify({ ...good, lastRun: 'yesterday' }), /key "lastRun" must be a time/],
    ['gap without its offset', JSON.stringify({ ...good, gaps: [{ file: 'a', size: 1, problem: 'p', foundAt: '2026-01-01T00:00:00Z' }] }), /key "gaps\[0\]\.offset" is missing/],
    ['tx of unknown status', JSON.stringify(with_(good, ['log', 'judge', 'txs'], [tx('maybe')])), /key "log\.judge\.txs\[0\]\.state\.is" must be one of running/],
    // Positions that disagree: each would skip, unseen, what lies before it.
    ['mark past its file', JSON.stringify(with_(good, ['log', 'files', 0, 'offset'], 5000)), /key "log\.files\[0\]\.offset": offset 5000 is past the end of a\.csv \(size 120\)/],
    ['target past the journal', JSON.stringify(with_(good, ['targets', 's1', 'next'], 1000)), /key "targets\.s1\.next": 1000 is past the end of the journal \("journal\.nextSeq" 4\)/],
    ['entry at or past nextSeq', JSON.stringify(with_(good, ['journal', 'nextSeq'], 3)), /key "journal\.entries\[0\]\.seq": 3 is not below "journal\.nextSeq" \(3\)/],
    ['entries out of order', JSON.stringify(with_(good, ['journal', 'entries'], [entry, { ...entry, seq: 2 }])), /key "journal\.entries\[1\]\.seq": 2 does not come after the entry before it \(3\)/],
    ['entry past the read', JSON.stringify(with_(good, ['log', 'files', 0, 'offset'], 60)), /key "journal\.entries\[0\]" ends at byte 90 of a\.csv, past where the log was read \(offset 60\)/],
  ];
  for (const [name, content, message] of bad) {
    it(`refuses a ${name} state file, naming it`, () => {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, content);
      assert.throws(() => loadState(file), (err: unknown) => err instanceof StateError && message.test(err.message) && err.message.startsWith(`state file ${file}: `));
      assert.equal(fs.readFileSync(file, 'utf8'), content);
    });
  }

  it('takes a judge with records of every kind', () => {
    const file = path.join(dir, 'judge.json');
    const session = { id: 's.1', pid: 1, exact: false, txs: [0], view: { settings: { a: 'SET a = 1' }, temp: [] }, prepared: {}, last: { tx: 0, record: 'abc@0' } };
    const pending = { ...entry, seq: undefined, order: 0, tx: 0, dropped: false, textHash: 'h' };
    const state = with_(good, ['log', 'judge'], { nextOrder: 1, nextTx: 1, sessions: [session], txs: [tx('running')], pending: [pending], prepared: { g: 0 } }) as State;
    saveState(file, state);
    assert.deepEqual(loadState(file), JSON.parse(JSON.stringify(state)));
  });
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
