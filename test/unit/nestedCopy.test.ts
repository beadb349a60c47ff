/**
 * What `nested --copy` does with each object of nested DDL, and pg_dump's script made runnable over a
 * connection: what cannot be copied is refused with the reason, never guessed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NestedDdl, NestedObject } from '../../src/core/captureUse';
import { copySteps, dumpPattern, dumpSql } from '../../src/core/nestedCopy';

const nested = (...objects: NestedObject[]): NestedDdl => ({
  at: 'postgresql.csv:100', fileKey: 'k', database: 'postgres', sessionId: 's', logTime: 't', tag: 'CREATE TABLE', objects, statement: 'SELECT mk();',
});

describe('nested --copy steps', () => {
  it('dump created relations; take indexes and the sequence a serial column alters along', () => {
    const steps = copySteps(
      nested(
        { identity: 'public.t_id_seq', type: 'sequence', action: 'created' },
        { identity: 'public.t', type: 'table', action: 'created' },
        { identity: 'public.t_pkey', type: 'index', action: 'created' },
        { identity: 'public.t_id_seq', type: 'sequence', action: 'altered' },
      ),
    );
    assert.deepEqual(steps.map((s) => s.kind), ['dump', 'dump', 'withRelation', 'withRelation']);
  });

  it('drop named relations with IF EXISTS; refuse a name that is not plainly quoted', () => {
    assert.deepEqual(copySteps(nested({ identity: 's."Odd ""x"""', type: 'view', action: 'dropped' })), [
      { kind: 'drop', identity: 's."Odd ""x"""', sql: 'DROP VIEW IF EXISTS s."Odd ""x"""' },
    ]);
    const [bad] = copySteps(nested({ identity: 'public.t; DROP DATABASE x', type: 'table', action: 'dropped' }));
    assert.equal(bad.kind, 'cannot');
  });

  it('refuse what is not named, altered alone, or of a kind pg_dump -t does not select', () => {
    const steps = copySteps(
      nested(
        { identity: null, type: 'table', action: 'dropped' },
        { identity: 'public.t', type: 'table', action: 'altered' },
        { identity: 'public.f()', type: 'function', action: 'created' },
        { identity: 'public.f()', type: 'function', action: 'dropped' },
      ),
    );
    assert.deepEqual(steps.map((s) => s.kind), ['cannot', 'cannot', 'cannot', 'cannot']);
    assert.match(steps.map((s) => (s.kind === 'cannot' ? s.why : '')).join('\n'), /does not name it[^]*cannot be copied without knowing[^]*copying a function is not supported[^]*dropping a function/);
  });
});

describe('pg_dump script', () => {
  it('names relations literally in -t patterns', () => {
    assert.equal(dumpPattern('s*', 'a"b?'), '"s*"."a""b?"');
  });

  it('drops the \\restrict fence and refuses any other psql command', () => {
    assert.deepEqual(dumpSql('\\restrict abc123\nCREATE TABLE public.t (a integer);\n\\unrestrict abc123\n'), { sql: 'CREATE TABLE public.t (a integer);\n' });
    assert.ok('problem' in dumpSql('\\connect other\nCREATE TABLE t ();'));
  });

  it("drops the opening SETs that turn timeouts off, and only those, only at the top", () => {
    const dump = "SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET client_encoding = 'UTF8';\n\nCREATE TABLE public.t (a text DEFAULT '\nSET lock_timeout = 0;\n');\n";
    assert.deepEqual(dumpSql(dump), { sql: "SET client_encoding = 'UTF8';\n\nCREATE TABLE public.t (a text DEFAULT '\nSET lock_timeout = 0;\n');\n" });
  });
});
