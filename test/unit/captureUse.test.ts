/**
 * What a statement's capture records decide: the primary's answers combined, the role and settings it
 * ran with as SET LOCAL statements, and which records tell of DDL no statement shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapturePayload } from '../../src/core/capture';
import { captureOutcome, captureSettings, combinedStatus, isNested, nameList } from '../../src/core/captureUse';

const payload = (over: Partial<CapturePayload> = {}): CapturePayload => ({
  xid: '740', sub: '741', tag: 'CREATE TABLE', role: 'app', sessionUser: 'app', settings: {}, commands: [], ...over,
});

describe('capture records', () => {
  it('decide a statement only with every answer, and never on a guess', () => {
    const c = (...s: (Parameters<typeof combinedStatus>[0])[]) => s.map((status) => ({ xid: '1', sub: '1', status }));
    assert.equal(captureOutcome(c('committed', undefined)).kind, 'ask');
    assert.equal(captureOutcome(c('committed', 'committed')).kind, 'send');
    assert.equal(captureOutcome(c('aborted')).kind, 'drop');
    assert.equal(captureOutcome(c('committed', 'in progress')).kind, 'running');
    assert.equal(captureOutcome(c('committed', 'aborted')).kind, 'stop');
    assert.equal(captureOutcome(c('unknown', 'in progress')).kind, 'stop');
  });

  it('take the less final answer of a subtransaction and its top-level transaction', () => {
    assert.equal(combinedStatus('committed', 'committed'), 'committed');
    assert.equal(combinedStatus('aborted', 'committed'), 'aborted');
    assert.equal(combinedStatus('committed', 'in progress'), 'in progress');
    assert.equal(combinedStatus('committed', 'unknown'), 'unknown');
    assert.equal(combinedStatus('committed', undefined), undefined);
  });

  it('give the role and settings as SET LOCAL, lists name by name, values quoted', () => {
    const sql = captureSettings(payload({ role: 'alice', settings: { search_path: '"$user", s', DateStyle: "ISO, MDY", default_tablespace: '', TimeZone: "it's\\" } }), 'app');
    assert.deepEqual(sql, {
      statements: [
        'SET LOCAL ROLE "alice"',
        "SET LOCAL DateStyle TO 'ISO, MDY'",
        "SET LOCAL TimeZone TO E'it''s\\\\'",
        "SET LOCAL default_tablespace TO ''",
        "SET LOCAL search_path TO '$user', 's'",
      ],
    });
    assert.deepEqual(captureSettings(payload({ sessionUser: 'bob', role: 'bob' }), 'postgres'), { statements: ['SET LOCAL SESSION AUTHORIZATION "bob"'] });
    // set_config() keeps its text as given: a bare name may hold ';', never sent as SQL.
    const injected = captureSettings(payload({ settings: { search_path: 'public;RESET/**/ROLE;SELECT/**/1' } }), 'app');
    assert.deepEqual(injected, { statements: ["SET LOCAL search_path TO 'public;reset/**/role;select/**/1'"] });
    assert.ok('stop' in captureSettings(payload({ settings: { temp_tablespaces: 'a b' } }), 'app'));
  });

  it('split a list setting as the server does', () => {
    assert.deepEqual(nameList(' "$user" , Public,"a""b",""'), ['$user', 'public', 'a"b', '']);
    assert.deepEqual(nameList('  '), []);
    assert.equal(nameList('a b'), null);
    assert.equal(nameList('a,,b'), null);
    assert.equal(nameList('"a'), null);
    assert.equal(nameList('a,'), null);
  });

  it('tell nested DDL by its tag or by no statement, and leave an extension\'s own commands to it', () => {
    assert.equal(isNested(payload(), { commandTag: 'CREATE TABLE' }, true), false);
    assert.equal(isNested(payload(), { commandTag: 'SELECT' }, true), true);
    assert.equal(isNested(payload(), { commandTag: 'CREATE TABLE' }, false), true);
    const member = { tag: 'CREATE FUNCTION', type: 'function', identity: 'f()', schema: 'public', inExtension: true };
    assert.equal(isNested(payload({ tag: 'CREATE FUNCTION', commands: [member] }), { commandTag: 'CREATE EXTENSION' }, true), false);
  });
  it("never paste a list setting's text into SQL, and take only the settings the helper reports", () => {
    const path = (v: string) => captureSettings(payload({ settings: { search_path: v } }), 'app');
    assert.deepEqual(path("a';select/**/1;--"), { statements: ["SET LOCAL search_path TO 'a'';select/**/1;--'"] });
    assert.deepEqual(path('  '), { statements: ["SET LOCAL search_path TO ''"] });
    assert.deepEqual(captureSettings(payload({ settings: { 'x TO 1; DROP TABLE t; SET y': '1' } }), 'app'), { statements: [] });
  });
});
