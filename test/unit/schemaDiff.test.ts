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

describe('normalise across majors: only expressions in the common form', () => {
  const same = (kind: CatalogObject['kind'], a: string, b: string) =>
    assert.equal(normalise(kind, a, true), normalise(kind, b, true), `${kind}:\n${a}\n${b}`);
  const differ = (kind: CatalogObject['kind'], a: string, b: string) =>
    assert.notEqual(normalise(kind, a, true), normalise(kind, b, true), `${kind}:\n${a}\n${b}`);

  it('compares option values, parents and types as printed', () => {
    differ('server', 'foreign data wrapper postgres_fdw\noptions (host=db1.example.com)', 'foreign data wrapper postgres_fdw\noptions (host=db2.example.com)');
    differ('server', 'options (host=db1.example.com)', 'options (host=db2.example.com)');
    differ('foreign table', 'server files options (filename=/data/employee.csv, format=csv)', 'server files options (filename=/data/payroll.csv, format=csv)');
    differ('foreign table', 'server mongo options (collection=HR.Employees)', 'server mongo options (collection=hr.employees)');
    differ('foreign table', 'server files\ncolumn a integer options (column_name=Emp.Id)', 'server files\ncolumn a integer options (column_name=emp.id)');
    differ('table', "partition of hr.meas FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')", "partition of public.meas FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')");
    differ('table', 'inherits hr.parent_t\ncolumn a integer', 'inherits public.parent_t\ncolumn a integer');
    differ('table', 'column a public.d1', 'column a other.d1');
    differ('table', "column a public.d1 default 'x'::public.d1", "column a other.d1 default 'x'::other.d1");
    differ('table', 'column a text collate public."C"', 'column a text collate other."C"');
    differ('user mapping', 'options (dbname=Sales, user=bob)', 'options (dbname=sales, user=bob)');
    differ('type', 'composite\nattribute x public.d1', 'composite\nattribute x other.d1');
    differ('domain', 'domain over public.d1', 'domain over other.d1');
    differ('sequence', 'as integer increment 1 minvalue 1 maxvalue 10 start 1 cache 1\nowned by hr.t.id', 'as integer increment 1 minvalue 1 maxvalue 10 start 1 cache 1\nowned by public.t.id');
    differ('role', 'login\nset search_path=HR, public', 'login\nset search_path=hr, public');
    differ('policy', 'permissive for select\nto "HR"\nusing (true)', 'permissive for select\nto hr\nusing (true)');
    differ('constraint', 'FOREIGN KEY (ref) REFERENCES hr.emp(id)', 'FOREIGN KEY (ref) REFERENCES public.emp(id)');
    differ('trigger', 'CREATE TRIGGER t AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION hr.f()', 'CREATE TRIGGER t AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.f()');
    differ('view', 'with (check_option=local)\n SELECT 1;', 'with (check_option=cascaded)\n SELECT 1;');
  });

  it('still puts the expressions in them in the common form', () => {
    same('table', "column y double precision default EXTRACT(year FROM now())", "column y double precision default date_part('year'::text, now())");
    same('foreign table', "server files\ncolumn a text default 'x'::text options (k=V)", "server files\ncolumn a text default 'x' options (k=V)");
    differ('foreign table', "server files\ncolumn a text default 'x'::text options (k=V)", "server files\ncolumn a text default 'x' options (k=v)");
    same('table', 'column b integer generated always as ((t.a * 2)) stored', 'column b integer generated always as (a * 2) stored');
    differ('table', 'column b integer generated always as ((a * 2)) stored', 'column b integer generated always as ((a * 3)) stored');
    same('table', "partition of public.meas FOR VALUES FROM ('2020-01-01'::date) TO ('2021-01-01')", "partition of public.meas FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')");
    same('table', 'partition by RANGE (lower((name)::text))', 'partition by RANGE (lower(name))');
    same(
      'trigger',
      'CREATE TRIGGER t BEFORE INSERT ON public.t FOR EACH ROW WHEN ((new.a > (0)::numeric)) EXECUTE PROCEDURE public.f()\ndisabled',
      'CREATE TRIGGER t BEFORE INSERT ON public.t FOR EACH ROW WHEN ((new.a > 0)) EXECUTE FUNCTION public.f()\ndisabled',
    );
    differ('trigger', 'CREATE TRIGGER t BEFORE INSERT ON public.t FOR EACH ROW WHEN ((new.a > 0)) EXECUTE FUNCTION public.f()', 'CREATE TRIGGER t BEFORE INSERT ON public.t FOR EACH ROW WHEN ((new.a > 1)) EXECUTE FUNCTION public.f()');
    same('policy', 'permissive for select\nto public\nusing ((salary < (1000)::numeric))', 'permissive for select\nto public\nusing ((emp.salary < 1000))');
    same('domain', 'domain over integer\ndefault 1\nconstraint "Pos" CHECK ((VALUE > (0)::integer))', 'domain over integer\ndefault 1\nconstraint "Pos" CHECK ((VALUE > 0))');
    differ('domain', 'domain over integer\nconstraint "Pos" CHECK ((VALUE > 0))', 'domain over integer\nconstraint pos CHECK ((VALUE > 0))');
    same('constraint', 'CHECK ((salary > (0)::numeric))', 'CHECK ((emp.salary > 0))');
    same('index', 'CREATE INDEX i ON public.t USING btree (lower((name)::text))', 'CREATE INDEX i ON public.t USING btree (lower(name))');
    same('view', "with (check_option=local)\n SELECT emp.id\n   FROM public.emp;", "with (check_option=local)\n SELECT id FROM public.emp;");
  });

  it('keeps blanks inside literals and quoted names, on one major or two', () => {
    for (const crossMajor of [false, true]) {
      const differs = (kind: CatalogObject['kind'], a: string, b: string) =>
        assert.notEqual(normalise(kind, a, crossMajor), normalise(kind, b, crossMajor), `${a}\n${b}`);
      differs('table', "column a text default 'a  b'::text", "column a text default 'a b'::text");
      differs('view', " SELECT 'a  b'::text AS c;", " SELECT 'a b'::text AS c;");
      differs('view', ' SELECT 1 AS "a  b";', ' SELECT 1 AS "a b";');
      differs('constraint', "CHECK ((a <> 'x  y'::text))", "CHECK ((a <> 'x y'::text))");
      differs('server', 'options (path=/a  b)', 'options (path=/a b)');
    }
    assert.equal(normalise('view', " SELECT 'a\n  b' AS c,\n    d\n   FROM t;"), "SELECT 'a\n  b' AS c,\nd\nFROM t");
    assert.equal(normalise('table', "column a text default  'x'  ||  'y'"), "column a text default 'x' || 'y'");
  });
});

describe('schemaDiff of what cannot be shown or read', () => {
  it('tells a changed password by its digest, showing neither', () => {
    const mapping = (secret: string): CatalogObject => ({ kind: 'user mapping', name: 'for r server s', definition: 'options (password=********, user=r)', secret });
    const d = diffSchemas([mapping('digest-1')], [mapping('digest-2')]);
    assert.deepEqual(d.different.map((c) => [c.name, c.diff]), [['for r server s', ['(they differ in a secret, not shown)']]]);
    assert.ok(!JSON.stringify(d).includes('digest'), JSON.stringify(d));
    assert.deepEqual(diffSchemas([mapping('digest-1')], [mapping('digest-1')]).different, []);
  });

  it('compares by name only an object one side could not read', () => {
    const hidden: CatalogObject = { kind: 'user mapping', name: 'for r server s', definition: '', hidden: 'its options show only to …' };
    const seen = obj('user mapping', 'for r server s', 'options (user=r)', 'server s');
    const d = diffSchemas([seen, obj('user mapping', 'for q server s', 'options (user=q)')], [hidden]);
    assert.deepEqual(d.different, []);
    assert.deepEqual(d.notCompared, [{ kind: 'user mapping', name: 'for r server s', reason: 'on the target, its options show only to …' }]);
    assert.deepEqual(d.missing.map((m) => m.name), ['for q server s']);
    assert.deepEqual(diffSchemas([hidden], [seen]).notCompared.map((h) => h.reason), ['on the primary, its options show only to …']);
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
