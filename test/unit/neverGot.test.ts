import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { NeverGot, dropsOnlyNeverGot, identityParts, reindexLeftovers } from '../../src/core/neverGot';
import { loadParser } from '../../src/core/parser';

const made: NeverGot = { database: 'db', kind: 'table', schema: 'public', name: 't', why: 'made by nested DDL at f:1' };
const PATH = `SET LOCAL search_path TO '$user', 'public'`;

describe('neverGot', () => {
  before(loadParser);

  test('identities as quote_identifier writes them', () => {
    assert.deepEqual(identityParts('public.t'), ['public', 't']);
    assert.deepEqual(identityParts('"My s"."a""b"'), ['My s', 'a"b']);
    assert.equal(identityParts('public.T'), null);
  });

  test('a DROP of only never-got objects, qualified or through the search_path', () => {
    assert.deepEqual(dropsOnlyNeverGot('DROP TABLE t', [PATH], 'db', [made]), [made]);
    assert.deepEqual(dropsOnlyNeverGot('DROP TABLE public.t', [], 'db', [made]), [made]);
  });

  test('anything else is not passed', () => {
    assert.equal(dropsOnlyNeverGot('DROP TABLE t, u', [PATH], 'db', [made]), null);
    assert.equal(dropsOnlyNeverGot('DROP TABLE t', [], 'db', [made]), null, 'no known search_path');
    assert.equal(dropsOnlyNeverGot("DROP TABLE t", ["SET LOCAL search_path TO 'other', 'public'"], 'db', [made]), null);
    assert.equal(dropsOnlyNeverGot('DROP VIEW public.t', [], 'db', [made]), null, 'another kind');
    assert.equal(dropsOnlyNeverGot('DROP TABLE public.t', [], 'other', [made]), null, 'another database');
    assert.equal(dropsOnlyNeverGot('DROP TABLE IF EXISTS public.t', [], 'db', [made]), null);
    assert.equal(dropsOnlyNeverGot('DROP TABLE public.t; CREATE TABLE x ()', [], 'db', [made]), null);
  });

  test('a failed REINDEX INDEX CONCURRENTLY leaves _ccnew or _ccold, under the search_path it ran with', () => {
    const left = reindexLeftovers('REINDEX INDEX CONCURRENTLY i', [], 'db', 'f:2');
    assert.deepEqual(left.map((g) => [g.name, g.path]), [['i_ccnew', ''], ['i_ccold', '']]);
    assert.deepEqual(dropsOnlyNeverGot('DROP INDEX i_ccnew', [], 'db', left), [left[0]]);
    assert.equal(dropsOnlyNeverGot('DROP INDEX i_ccnew', [PATH], 'db', left), null);
    assert.equal(reindexLeftovers('REINDEX INDEX i', [], 'db', 'f:2').length, 0);
    assert.equal(reindexLeftovers('REINDEX TABLE CONCURRENTLY t', [], 'db', 'f:2').length, 0);
    assert.deepEqual(reindexLeftovers('REINDEX (CONCURRENTLY) INDEX s.i', [], 'db', 'f:2').map((g) => g.schema), ['s', 's']);
  });
});
