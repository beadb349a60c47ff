import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineParts, squeezeBlanks } from '../../src/core/definitionParts';

/** The parts of a line, expressions in [brackets]. */
const marked = (...args: Parameters<typeof lineParts>): string => lineParts(...args).map((p) => (p.expression ? `[${p.text}]` : p.text)).join('');

describe('lineParts', () => {
  it("finds a column's default or generated expression, whatever its type, collation and options", () => {
    assert.equal(marked('table', 'column a integer not null'), 'column a integer not null');
    assert.equal(marked('table', "column \"default x\" public.\"my default\" default 'a default b'::text"), "column \"default x\" public.\"my default\" default ['a default b'::text]");
    assert.equal(marked('table', 'column id bigint not null generated always as identity'), 'column id bigint not null generated always as identity');
    assert.equal(marked('table', "column b text collate \"C\" generated always as (('x'::text || a)) stored"), "column b text collate \"C\" generated always as [(('x'::text || a))] stored");
    assert.equal(marked('foreign table', "column a text default ' options (x)' options (k=v)"), "column a text default [' options (x)'] options (k=v)");
    assert.equal(marked('foreign table', 'server s options (filename=/a.csv)'), 'server s options (filename=/a.csv)');
  });

  it('finds the bound of a partition, the key of a partitioned table', () => {
    assert.equal(marked('table', "partition of public.\"a FOR VALUES b\" FOR VALUES IN ('x')"), "partition of public.\"a FOR VALUES b\" [FOR VALUES IN ('x')]");
    assert.equal(marked('table', 'partition of public.li DEFAULT'), 'partition of public.li [DEFAULT]');
    assert.equal(marked('table', 'partition by RANGE (at)'), 'partition by [RANGE (at)]');
    assert.equal(marked('table', 'inherits public.p'), 'inherits public.p');
  });

  it("finds a trigger's WHEN, apart from its name, table and function", () => {
    assert.equal(
      marked('trigger', 'CREATE TRIGGER "x WHEN (y)" AFTER INSERT ON public.t FOR EACH ROW WHEN ((new.a = \') EXECUTE \')) EXECUTE FUNCTION public.f(\'a\')'),
      'CREATE TRIGGER "x WHEN (y)" AFTER INSERT ON public.t FOR EACH ROW WHEN [((new.a = \') EXECUTE \'))] EXECUTE FUNCTION public.f(\'a\')',
    );
    assert.equal(marked('trigger', 'disabled'), 'disabled');
  });

  it('takes check and exclusion constraints, index definitions, policies and domains', () => {
    assert.equal(marked('constraint', 'CHECK ((a > 0))'), '[CHECK ((a > 0))]');
    assert.equal(marked('constraint', 'FOREIGN KEY (a) REFERENCES hr.t(id)'), 'FOREIGN KEY (a) REFERENCES hr.t(id)');
    assert.equal(marked('index', 'clustered'), 'clustered');
    assert.equal(marked('policy', 'to "HR", public'), 'to "HR", public');
    assert.equal(marked('policy', 'with check ((a > 0))'), 'with check [((a > 0))]');
    assert.equal(marked('domain', 'constraint "a b" CHECK ((VALUE > 0))'), 'constraint "a b"[ CHECK ((VALUE > 0))]');
    assert.equal(marked('domain', 'domain over public.d1'), 'domain over public.d1');
    assert.equal(marked('server', 'options (host=h)'), 'options (host=h)');
  });
});

describe('squeezeBlanks', () => {
  it('reads blanks outside quotes as one, keeps those inside', () => {
    assert.equal(squeezeBlanks("  SELECT  'a  b' ,\n\n   \"c  d\"  "), "SELECT 'a  b' ,\n\"c  d\"");
    assert.equal(squeezeBlanks("E'it\\'s  x'  y"), "E'it\\'s  x' y");
    assert.equal(squeezeBlanks("'it''s  x'  y"), "'it''s  x' y");
  });
});
