import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { crossMajorForm } from '../../src/core/printedSql';
import { CatalogObject, canonicalKey, diffSchemas, lineDiff, normalise } from '../../src/core/schemaDiff';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'catalog');

interface Fixture {
  major: number;
  roles: CatalogObject[];
  databases: Record<string, CatalogObject[]>;
}

/** What make-catalog-fixtures.ts read from each major's server. */
const fixtures: Fixture[] = fs
  .readdirSync(FIXTURES)
  .filter((f) => /^pg\d+\.json$/.test(f))
  .map((f) => JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8')) as Fixture)
  .sort((a, b) => a.major - b.major);

const clean = (d: ReturnType<typeof diffSchemas>): string[] => [
  ...d.missing.map((m) => `missing ${m.kind} ${m.name}`),
  ...d.extra.map((m) => `extra ${m.kind} ${m.name}`),
  ...d.different.map((c) => `different ${c.kind} ${c.name}: ${c.diff.join(' | ')}`),
];

const obj = (kind: CatalogObject['kind'], name: string, definition: string, parent?: string): CatalogObject =>
  parent === undefined ? { kind, name, definition } : { kind, name, definition, parent };

describe('schemaDiff on catalogs read from majors 10 to 18', () => {
  it('has a fixture of every major', () => {
    assert.deepEqual(fixtures.map((f) => f.major), [10, 11, 12, 13, 14, 15, 16, 17, 18]);
  });

  it('finds no difference between any two majors for the same DDL', () => {
    for (const a of fixtures) {
      for (const b of fixtures) {
        if (a.major >= b.major) continue;
        for (const db of Object.keys(a.databases)) {
          const d = diffSchemas(a.databases[db], b.databases[db], { crossMajor: true });
          assert.deepEqual(clean(d), [], `${a.major} and ${b.major}, database ${db}`);
          assert.ok(d.objects > 70, `${db}: ${d.objects}`);
        }
        assert.deepEqual(clean(diffSchemas(a.roles, b.roles, { crossMajor: true })), [], `roles of ${a.major} and ${b.major}`);
      }
    }
  });

  it('needs the common form only across majors: 11 and 16 print views and triggers otherwise', () => {
    const [v11, v16] = [11, 16].map((m) => fixtures.find((f) => f.major === m)!.databases.from11);
    const plain = clean(diffSchemas(v11, v16));
    assert.ok(plain.some((l) => l.startsWith('different view public.v_fns')), plain.join('\n'));
    assert.ok(plain.some((l) => l.startsWith('different trigger emp_trg on public.emp: - CREATE TRIGGER')), plain.join('\n'));
  });

  it('still sees drift across majors', () => {
    const primary = fixtures.find((f) => f.major === 15)!.databases.from12;
    const target = structuredClone(fixtures.find((f) => f.major === 12)!.databases.from12);
    const edit = (name: string, fn: (d: string) => string): void => {
      const o = target.find((x) => x.name === name)!;
      o.definition = fn(o.definition);
    };
    edit('public.v_case', (d) => d.replace("'high'", "'HIGH'"));
    edit('public.v_fns', (d) => d.replace('date_part(\'year\'', 'date_part(\'month\''));
    edit('public.emp', (d) => d.replace('column ratio double precision default 1.1', 'column ratio double precision default 1.2'));
    edit('emp_trg on public.emp', (d) => d.replace('BEFORE INSERT', 'AFTER INSERT'));
    edit('public.emp_name', (d) => d.replace('lower(', 'upper('));
    const d = diffSchemas(primary, target, { crossMajor: true });
    assert.deepEqual(
      d.different.map((c) => `${c.kind} ${c.name}`),
      ['table public.emp', 'view public.v_case', 'view public.v_fns', 'index public.emp_name', 'trigger emp_trg on public.emp'],
    );
    assert.deepEqual(d.different[0].diff, ['- column ratio double precision default 1.1', '+ column ratio double precision default 1.2']);
  });
});

describe('schemaDiff', () => {
  it('lists a missing table once, with what hangs on it counted', () => {
    const primary = [
      obj('table', 'public.t', 'column a integer'),
      obj('index', 'public.t_a', 'CREATE INDEX t_a ON public.t USING btree (a)', 'table public.t'),
      obj('comment', 'index public.t_a', 'by a', 'index public.t_a'),
      obj('constraint', 't_pkey on public.t', 'PRIMARY KEY (a)', 'table public.t'),
      obj('table', 'public.u', 'column b integer'),
      obj('index', 'public.u_b', 'CREATE INDEX u_b ON public.u USING btree (b)', 'table public.u'),
    ];
    const target = [obj('table', 'public.u', 'column b integer'), obj('index', 'public.u_c', 'CREATE INDEX u_c ON public.u USING btree (c)', 'table public.u')];
    const d = diffSchemas(primary, target);
    assert.equal(d.objects, 6);
    assert.deepEqual(d.missing.map((m) => [m.kind, m.name, m.dependents]), [['table', 'public.t', 3], ['index', 'public.u_b', 0]]);
    assert.deepEqual(d.extra.map((m) => [m.kind, m.name]), [['index', 'public.u_c']]);
    assert.deepEqual(d.different, []);
  });

  it('shows what differs, secrets masked, and compares them unmasked', () => {
    const mask = (t: string) => t.replace(/password=[^,)]*/g, 'password=***');
    const d = diffSchemas(
      [obj('user mapping', 'for public server s', 'options (password=one, user=u)'), obj('server', 's', 'options (host=a)')],
      [obj('user mapping', 'for public server s', 'options (password=two, user=u)'), obj('server', 's', 'options (host=b)')],
      { mask },
    );
    assert.deepEqual(d.different.map((c) => [c.kind, c.diff]), [
      ['server', ['- options (host=a)', '+ options (host=b)']],
      ['user mapping', ['(they differ in a secret, not shown)']],
    ]);
    assert.ok(!JSON.stringify(d).includes('one') && !JSON.stringify(d).includes('two'));
  });

  it('matches a procedure whether its major prints IN or not', () => {
    assert.equal(canonicalKey('procedure public.p(IN a integer, IN b text)'), 'procedure public.p(a integer, b text)');
    assert.equal(canonicalKey('comment procedure public.p(IN a integer)'), 'comment procedure public.p(a integer)');
    assert.equal(canonicalKey('function public.f(IN a integer)'), 'function public.f(IN a integer)');
  });

  it('normalises blanks except in function bodies and comments', () => {
    assert.equal(normalise('view', ' SELECT a,\n    b\n   FROM t;'), 'SELECT a,\nb\nFROM t');
    assert.equal(normalise('function', 'AS $$\n  x  \n$$\n'), 'AS $$\n  x\n$$');
    assert.equal(normalise('comment', 'two  spaces'), 'two  spaces');
  });
});

describe('crossMajorForm', () => {
  const same = (a: string, b: string) => assert.equal(crossMajorForm(a), crossMajorForm(b), `${a}\n${b}`);
  const differ = (a: string, b: string) => assert.notEqual(crossMajorForm(a), crossMajorForm(b), `${a}\n${b}`);

  it("makes 13's functions and 14's SQL-standard forms one", () => {
    same("EXTRACT(year FROM emp.born)", "date_part('year'::text, emp.born)");
    same('SUBSTRING(emp.name FROM 2 FOR 3)', '"substring"((emp.name)::text, 2, 3)');
    same("POSITION(('a'::text) IN (emp.name))", "\"position\"((emp.name)::text, 'a'::text)");
    same("TRIM(BOTH ' '::text FROM emp.name)", "btrim((emp.name)::text, ' '::text)");
    same("TRIM(LEADING FROM emp.name)", 'ltrim((emp.name)::text)');
    same("OVERLAY(emp.name PLACING 'x'::text FROM 1)", "\"overlay\"((emp.name)::text, 'x'::text, 1)");
    same("(emp.created AT TIME ZONE 'UTC'::text)", "timezone('UTC'::text, emp.created)");
    same("similar_to_escape('a'::text)", "similar_escape('a'::text, NULL::text)");
  });

  it("makes 16's unqualified columns and 11's EXECUTE PROCEDURE one with the others'", () => {
    same('SELECT emp.id, (emp.salary)::integer AS s FROM public.emp', 'SELECT id, (salary)::integer AS s FROM public.emp');
    same('CREATE TRIGGER t AFTER INSERT ON public.t FOR EACH ROW EXECUTE PROCEDURE public.f()', 'CREATE TRIGGER t AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.f()');
  });

  it('keeps what means something', () => {
    differ("SELECT a FROM t WHERE b > 10", "SELECT a FROM t WHERE b > 11");
    differ("SELECT 'x' AS c", "SELECT 'y' AS c");
    differ('SELECT a, b FROM t', 'SELECT b, a FROM t');
    differ('(a + b) * c', 'a + (b * c)');
    differ('SELECT "Mixed" FROM t', 'SELECT mixed FROM t');
    differ("EXTRACT(year FROM d)", "EXTRACT(month FROM d)");
  });
});

describe('lineDiff', () => {
  it('lists the lines that differ, in order', () => {
    assert.deepEqual(lineDiff('a\nb\nc\nd', 'a\nB\nc\nd\ne'), ['- b', '+ B', '+ e']);
    assert.deepEqual(lineDiff('same', 'same'), []);
  });

  it('stops at the limit and counts the rest', () => {
    const a = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const out = lineDiff(a, '', 5);
    assert.equal(out.length, 5);
    assert.equal(out[4], '… 27 more line(s)');
  });
});
