/**
 * What DDL made in one database, read from its catalogs for `verify`: one query per kind of object,
 * each row already the object's name and its definition as text (PostgreSQL's own `pg_get_*def`
 * functions where there is one), inside one REPEATABLE READ READ ONLY transaction, so every kind is
 * read from the same snapshot. Names are schema-qualified and quoted as SQL would, never OIDs, so
 * two servers' rows can be matched by name.
 */
import type { Client } from 'pg';
import { MASK, NOT_SECRET_KEYS, SECRET_KEY_PATTERN } from '../core/redact';
import { CatalogObject, ObjectKind } from '../core/schemaDiff';
import { LEDGER_SCHEMA } from './ledger';

/** The oldest major `verify` reads: 10 brought pg_sequence, partitions and identity columns. */
export const OLDEST_MAJOR = 10;

export interface CatalogSnapshot {
  /** `server_version_num`, e.g. 150018. */
  versionNum: number;
  /** The role connected as (`session_user`), quoted as an identifier. */
  user: string;
  objects: CatalogObject[];
}

/** The row every query returns; `secret` and `hidden` only some. */
interface Row {
  kind: ObjectKind;
  name: string;
  def: string | null;
  parent: string | null;
  comment: string | null;
  secret?: string | null;
  hidden?: boolean;
}

/** Why a user mapping's options could not be read (see USER_MAPPINGS). */
export const HIDDEN_MAPPING =
  "its options show only to a superuser, a member of the server's owner, or the mapping's own user";

/**
 * Settings that change how the `pg_get_*def` functions and type output print: an empty search_path
 * makes them qualify every name outside pg_catalog, so both sides print the same whatever the
 * connecting user's own search_path; the date and time settings fix how constants in defaults print.
 * The empty search_path also leaves pg_catalog the only schema searched for functions, operators and
 * types (the session's own pg_temp is never searched for the first two): the operators the queries
 * below leave unqualified (`=`, `||`, `~`) can only be pg_catalog's, whoever can create in public.
 * (The connection is pinned too, see target.ts; this holds for any connection given.)
 */
const PRINT_SETTINGS = [
  "SELECT pg_catalog.set_config('search_path', '', true)",
  "SELECT pg_catalog.set_config('TimeZone', 'UTC', true)",
  "SELECT pg_catalog.set_config('DateStyle', 'ISO, YMD', true)",
  "SELECT pg_catalog.set_config('IntervalStyle', 'postgres', true)",
  "SELECT pg_catalog.set_config('standard_conforming_strings', 'on', true)",
  "SELECT pg_catalog.set_config('quote_all_identifiers', 'off', true)",
];

/** Schemas of the user's objects: not the system's, not temporary ones, not the tool's ledger. */
const USER_SCHEMA = (n: string): string => `${n}.nspname !~ '^pg_' AND ${n}.nspname NOT IN ('information_schema', '${LEDGER_SCHEMA}')`;

/** Objects an extension made are its own (compared through the extension), not the user's DDL. */
const NOT_EXTENSION_MEMBER = (catalog: string, oid: string): string =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend xd WHERE xd.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND xd.objid = ${oid} AND xd.deptype = 'e')`;

const QNAME = (n: string, name: string): string => `pg_catalog.quote_ident(${n}.nspname) || '.' || pg_catalog.quote_ident(${name})`;

/** The key of the relation an object hangs on (see schemaDiff's keyOf). */
const REL_KEY = (c: string, n: string): string =>
  `CASE ${c}.relkind WHEN 'f' THEN 'foreign table ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' ELSE 'table ' END || ${QNAME(n, `${c}.relname`)}`;

/** Whether an option element (`key=value`) is a secret: redact's isSecretOption, in SQL. */
const IS_SECRET = (o: string): string =>
  `(pg_catalog.split_part(${o}, '=', 1) ~* '${SECRET_KEY_PATTERN}' AND pg_catalog.lower(pg_catalog.split_part(${o}, '=', 1)) NOT IN (${NOT_SECRET_KEYS.map((k) => `'${k}'`).join(', ')}))`;

/**
 * Options (`{k=v,…}`) as `options (k=v, …)`, sorted: their order is not meaning. A password's value
 * is masked here, element by element: the list is printed unquoted, so once joined no pattern could
 * tell where the value ends; SECRET compares it.
 */
const OPTIONS = (arr: string, word = 'options'): string =>
  `(SELECT '${word} (' || pg_catalog.string_agg(CASE WHEN ${IS_SECRET('o')} THEN pg_catalog.split_part(o, '=', 1) || '=${MASK}' ELSE o END, ', ' ORDER BY o) || ')'
    FROM pg_catalog.unnest(${arr}) o)`;

/** A digest of the password elements among option lists (null when none): compared, never shown. */
const SECRET = (...lists: string[]): string =>
  `(SELECT pg_catalog.md5(pg_catalog.string_agg(e.list || ' ' || e.o, E'\\n' ORDER BY e.list, e.o)) FROM (${lists.join(' UNION ALL ')}) e(list, o)
    WHERE ${IS_SECRET('e.o')})`;

/** The elements of one option list, as SECRET takes them; `list` (SQL text) tells the list apart. */
const ELEMENTS = (arr: string, list = "'options'"): string => `SELECT ${list}, o FROM pg_catalog.unnest(${arr}) o`;

/** A collation's name, qualified outside pg_catalog. */
const COLLATION = (oid: string): string =>
  `(SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN '' ELSE pg_catalog.quote_ident(cn.nspname) || '.' END || pg_catalog.quote_ident(co.collname)
     FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = ${oid})`;

function columnLines(v: number, rel: string): string {
  const generated =
    v >= 120000
      ? `CASE a.attgenerated WHEN 's' THEN ' generated always as (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) || ') stored'
                            WHEN 'v' THEN ' generated always as (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) || ') virtual'
         ELSE coalesce(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') END`
      : `coalesce(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '')`;
  return `(SELECT pg_catalog.string_agg(
      'column ' || pg_catalog.quote_ident(a.attname) || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
      || CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN ' collate ' || ${COLLATION('a.attcollation')} ELSE '' END
      || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
      || ${generated}
      || CASE a.attidentity WHEN 'a' THEN ' generated always as identity' WHEN 'd' THEN ' generated by default as identity' ELSE '' END
      || coalesce(' ' || ${OPTIONS('a.attfdwoptions')}, ''),
      E'\\n' ORDER BY a.attnum)
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = ${rel} AND a.attnum > 0 AND NOT a.attisdropped)`;
}

function relationsQuery(v: number): string {
  const parents = (cond: string, word: string): string => `(SELECT '${word} ' || pg_catalog.string_agg(${QNAME('pn', 'pc.relname')}, ', ' ORDER BY i.inhseqno)
      FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE i.inhrelid = c.oid AND ${cond})`;
  return `SELECT CASE c.relkind WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind, ${QNAME('n', 'c.relname')} AS name,
    pg_catalog.concat_ws(E'\\n',
      CASE WHEN c.relkind = 'p' THEN 'partition by ' || pg_catalog.pg_get_partkeydef(c.oid) END,
      CASE WHEN c.relispartition THEN ${parents('true', 'partition of')} || ' ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid) ELSE ${parents('true', 'inherits')} END,
      CASE WHEN c.relpersistence = 'u' THEN 'unlogged' END,
      ${OPTIONS('c.reloptions', 'with')},
      ${v >= 120000 ? `(SELECT 'using ' || pg_catalog.quote_ident(am.amname) FROM pg_catalog.pg_am am WHERE am.oid = c.relam AND am.amname <> 'heap')` : 'NULL'},
      CASE WHEN c.relrowsecurity THEN 'row level security' END,
      CASE WHEN c.relforcerowsecurity THEN 'force row level security' END,
      CASE WHEN c.relkind = 'f' THEN NULL WHEN c.relreplident = 'n' THEN 'replica identity nothing' WHEN c.relreplident = 'f' THEN 'replica identity full'
        WHEN c.relreplident = 'i' THEN (SELECT 'replica identity using index ' || pg_catalog.quote_ident(ic.relname)
          FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = c.oid AND x.indisreplident) END,
      (SELECT 'server ' || pg_catalog.quote_ident(s.srvname) || coalesce(' ' || ${OPTIONS('ft.ftoptions')}, '')
         FROM pg_catalog.pg_foreign_table ft JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid),
      ${columnLines(v, 'c.oid')}
    ) AS def, NULL AS parent, pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
    CASE WHEN c.relkind = 'f' THEN ${SECRET(
      `SELECT 'server'::pg_catalog.text, o FROM pg_catalog.pg_foreign_table ft, pg_catalog.unnest(ft.ftoptions) o WHERE ft.ftrelid = c.oid`,
      `SELECT 'column ' || pg_catalog.quote_ident(a.attname), o FROM pg_catalog.pg_attribute a, pg_catalog.unnest(a.attfdwoptions) o
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped`,
    )} END AS secret
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'f') AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;
}

const VIEWS = `SELECT CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind, ${QNAME('n', 'c.relname')} AS name,
    pg_catalog.concat_ws(E'\\n', ${OPTIONS('c.reloptions', 'with')}, pg_catalog.pg_get_viewdef(c.oid)) AS def,
    NULL AS parent, pg_catalog.obj_description(c.oid, 'pg_class') AS comment
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('v', 'm') AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;

// A sequence that serial or an identity column made belongs to its table: missing with it, not as well.
const SEQUENCES = `SELECT 'sequence' AS kind, ${QNAME('n', 'c.relname')} AS name,
    pg_catalog.concat_ws(E'\\n',
      'as ' || pg_catalog.format_type(s.seqtypid, NULL) || ' increment ' || s.seqincrement || ' minvalue ' || s.seqmin
        || ' maxvalue ' || s.seqmax || ' start ' || s.seqstart || ' cache ' || s.seqcache || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END,
      CASE WHEN c.relpersistence = 'u' THEN 'unlogged' END,
      'owned by ' || ${QNAME('tn', 'tc.relname')} || '.' || pg_catalog.quote_ident(ta.attname)) AS def,
    CASE WHEN tc.oid IS NOT NULL THEN ${REL_KEY('tc', 'tn')} END AS parent,
    pg_catalog.obj_description(c.oid, 'pg_class') AS comment
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
  LEFT JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.objid = c.oid
    AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.refobjsubid > 0 AND dep.deptype IN ('a', 'i')
  LEFT JOIN pg_catalog.pg_class tc ON tc.oid = dep.refobjid
  LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
  LEFT JOIN pg_catalog.pg_attribute ta ON ta.attrelid = dep.refobjid AND ta.attnum = dep.refobjsubid
  WHERE c.relkind = 'S' AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;

// The index behind a primary key, unique or exclusion constraint is the constraint's: compared as it.
const INDEXES = `SELECT 'index' AS kind, ${QNAME('n', 'ic.relname')} AS name,
    pg_catalog.concat_ws(E'\\n', pg_catalog.pg_get_indexdef(i.indexrelid),
      CASE WHEN i.indisclustered THEN 'clustered' END, CASE WHEN NOT i.indisvalid THEN 'invalid' END) AS def,
    ${REL_KEY('tc', 'tn')} AS parent, pg_catalog.obj_description(ic.oid, 'pg_class') AS comment
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
  JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
  WHERE ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'tc.oid')}
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))`;

function constraintsQuery(v: number): string {
  // 18 keeps NOT NULL as constraints too (contype n): nullability is compared with the column instead;
  // a constraint trigger's row (t) is compared as the trigger.
  // 12 on, a foreign key to a partitioned table adds one row per referenced partition under the same
  // name and table, with the first as parent: those are its workings, not constraints of their own.
  const clones = v >= 110000
    ? `AND NOT (k.conparentid <> 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint pk WHERE pk.oid = k.conparentid AND pk.conrelid = k.conrelid))`
    : '';
  return `SELECT 'constraint' AS kind, pg_catalog.quote_ident(k.conname) || ' on ' || ${QNAME('n', 'c.relname')} AS name,
    pg_catalog.pg_get_constraintdef(k.oid) AS def, ${REL_KEY('c', 'n')} AS parent,
    pg_catalog.obj_description(k.oid, 'pg_constraint') AS comment
  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE k.contype NOT IN ('n', 't') ${clones} AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;
}

function triggersQuery(v: number): string {
  // 13 on, the copies of a partitioned table's trigger on its partitions are not internal: they have a parent.
  const clones = v >= 130000 ? 'AND t.tgparentid = 0' : '';
  return `SELECT 'trigger' AS kind, pg_catalog.quote_ident(t.tgname) || ' on ' || ${QNAME('n', 'c.relname')} AS name,
    pg_catalog.concat_ws(E'\\n', pg_catalog.pg_get_triggerdef(t.oid),
      CASE t.tgenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'enabled replica' WHEN 'A' THEN 'enabled always' END) AS def,
    ${REL_KEY('c', 'n')} AS parent, pg_catalog.obj_description(t.oid, 'pg_trigger') AS comment
  FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE NOT t.tgisinternal ${clones} AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;
}

const RULES = `SELECT 'rule' AS kind, pg_catalog.quote_ident(r.rulename) || ' on ' || ${QNAME('n', 'c.relname')} AS name,
    pg_catalog.concat_ws(E'\\n', pg_catalog.pg_get_ruledef(r.oid),
      CASE r.ev_enabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'enabled replica' WHEN 'A' THEN 'enabled always' END) AS def,
    ${REL_KEY('c', 'n')} AS parent, pg_catalog.obj_description(r.oid, 'pg_rewrite') AS comment
  FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE r.rulename <> '_RETURN' AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;

const POLICIES = `SELECT 'policy' AS kind, pg_catalog.quote_ident(p.polname) || ' on ' || ${QNAME('n', 'c.relname')} AS name,
    pg_catalog.concat_ws(E'\\n',
      CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END
        || ' for ' || CASE p.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete' ELSE 'all' END,
      'to ' || CASE WHEN p.polroles = '{0}' THEN 'public' ELSE
        (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(r.rolname), ', ' ORDER BY r.rolname) FROM pg_catalog.pg_roles r WHERE r.oid = ANY (p.polroles)) END,
      'using (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')',
      'with check (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')') AS def,
    ${REL_KEY('c', 'n')} AS parent, pg_catalog.obj_description(p.oid, 'pg_policy') AS comment
  FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;

const STATISTICS = `SELECT 'statistics' AS kind, ${QNAME('n', 's.stxname')} AS name, pg_catalog.pg_get_statisticsobjdef(s.oid) AS def,
    ${REL_KEY('c', 'cn')} AS parent, pg_catalog.obj_description(s.oid, 'pg_statistic_ext') AS comment
  FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
  JOIN pg_catalog.pg_class c ON c.oid = s.stxrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
  WHERE ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_statistic_ext', 's.oid')}`;

// A range type's constructors (and, 14 on, its multirange's) are made with it: compared as the type.
function functionsQuery(v: number): string {
  // 11 brought prokind; 10 tells aggregates and window functions by flags.
  const kind = v >= 110000 ? 'p.prokind' : `CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END`;
  const aggregate = `(SELECT pg_catalog.concat_ws(E'\\n',
        'returns ' || pg_catalog.pg_get_function_result(p.oid),
        'sfunc ' || ag.aggtransfn::pg_catalog.regproc, 'stype ' || pg_catalog.format_type(ag.aggtranstype, NULL),
        CASE WHEN ag.aggfinalfn <> 0 THEN 'finalfunc ' || ag.aggfinalfn::pg_catalog.regproc END,
        CASE WHEN ag.aggcombinefn <> 0 THEN 'combinefunc ' || ag.aggcombinefn::pg_catalog.regproc END,
        'initcond ' || pg_catalog.quote_literal(ag.agginitval),
        CASE WHEN ag.aggsortop <> 0 THEN 'sortop ' || ag.aggsortop::pg_catalog.regoperator END,
        CASE ag.aggkind WHEN 'o' THEN 'ordered-set' WHEN 'h' THEN 'hypothetical-set' END)
      FROM pg_catalog.pg_aggregate ag WHERE ag.aggfnoid = p.oid)`;
  return `SELECT CASE k.kind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END AS kind,
    ${QNAME('n', 'p.proname')} || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS name,
    CASE WHEN k.kind = 'a' THEN ${aggregate} ELSE pg_catalog.pg_get_functiondef(p.oid) END AS def,
    NULL AS parent, pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace, LATERAL (SELECT ${kind} AS kind) k
  WHERE ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')}
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'i')`;
}

// Types made by the user: not the row type of a table, not the array type made with each type, not
// the multirange type made with a range (14 on; absent before).
const TYPES = `SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END AS kind, ${QNAME('n', 't.typname')} AS name,
    CASE t.typtype
      WHEN 'e' THEN (SELECT 'enum (' || pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) || ')'
        FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
      WHEN 'c' THEN (SELECT pg_catalog.concat_ws(E'\\n', 'composite', pg_catalog.string_agg('attribute ' || pg_catalog.quote_ident(a.attname) || ' '
          || pg_catalog.format_type(a.atttypid, a.atttypmod)
          || CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation THEN ' collate ' || ${COLLATION('a.attcollation')} ELSE '' END,
          E'\\n' ORDER BY a.attnum))
        FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
      WHEN 'r' THEN (SELECT pg_catalog.concat_ws(E'\\n', 'range of ' || pg_catalog.format_type(r.rngsubtype, NULL),
          'subtype_opclass ' || pg_catalog.quote_ident(oc.opcname),
          CASE WHEN r.rngcollation <> 0 THEN 'collation ' || ${COLLATION('r.rngcollation')} END,
          CASE WHEN r.rngcanonical <> 0 THEN 'canonical ' || r.rngcanonical::pg_catalog.regproc END,
          CASE WHEN r.rngsubdiff <> 0 THEN 'subtype_diff ' || r.rngsubdiff::pg_catalog.regproc END)
        FROM pg_catalog.pg_range r JOIN pg_catalog.pg_opclass oc ON oc.oid = r.rngsubopc WHERE r.rngtypid = t.oid)
      WHEN 'd' THEN pg_catalog.concat_ws(E'\\n', 'domain over ' || pg_catalog.format_type(t.typbasetype, t.typtypmod),
          CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation THEN 'collate ' || ${COLLATION('t.typcollation')} END,
          CASE WHEN t.typnotnull THEN 'not null' END,
          'default ' || pg_catalog.pg_get_expr(t.typdefaultbin, 0),
          (SELECT pg_catalog.string_agg('constraint ' || pg_catalog.quote_ident(k.conname) || ' ' || pg_catalog.pg_get_constraintdef(k.oid), E'\\n' ORDER BY k.conname)
            FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid AND k.contype <> 'n'))
      ELSE CASE WHEN NOT t.typisdefined THEN 'shell' ELSE pg_catalog.concat_ws(E'\\n', 'base type',
          'input ' || t.typinput::pg_catalog.regproc, 'output ' || t.typoutput::pg_catalog.regproc, 'internallength ' || t.typlen) END
    END AS def,
    NULL AS parent, pg_catalog.obj_description(t.oid, 'pg_type') AS comment
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
  WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r') AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_type', 't.oid')}
    AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid)`;

const SCHEMAS = `SELECT 'schema' AS kind, pg_catalog.quote_ident(n.nspname) AS name, '' AS def, NULL AS parent,
    pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment
  FROM pg_catalog.pg_namespace n WHERE ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_namespace', 'n.oid')}`;

// An extension's comment comes with its version's control file, not from the user: left out.
const EXTENSIONS = `SELECT 'extension' AS kind, pg_catalog.quote_ident(x.extname) AS name, 'schema ' || pg_catalog.quote_ident(n.nspname) AS def,
    NULL AS parent, NULL AS comment
  FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace`;

const FDWS = `SELECT 'foreign-data wrapper' AS kind, pg_catalog.quote_ident(w.fdwname) AS name,
    pg_catalog.concat_ws(E'\\n', CASE WHEN w.fdwhandler <> 0 THEN 'handler ' || w.fdwhandler::pg_catalog.regproc END,
      CASE WHEN w.fdwvalidator <> 0 THEN 'validator ' || w.fdwvalidator::pg_catalog.regproc END, ${OPTIONS('w.fdwoptions')}) AS def,
    NULL AS parent, pg_catalog.obj_description(w.oid, 'pg_foreign_data_wrapper') AS comment, ${SECRET(ELEMENTS('w.fdwoptions'))} AS secret
  FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${NOT_EXTENSION_MEMBER('pg_foreign_data_wrapper', 'w.oid')}`;

const SERVERS = `SELECT 'server' AS kind, pg_catalog.quote_ident(s.srvname) AS name,
    pg_catalog.concat_ws(E'\\n', 'foreign data wrapper ' || pg_catalog.quote_ident(w.fdwname),
      'type ' || pg_catalog.quote_literal(s.srvtype), 'version ' || pg_catalog.quote_literal(s.srvversion), ${OPTIONS('s.srvoptions')}) AS def,
    NULL AS parent, pg_catalog.obj_description(s.oid, 'pg_foreign_server') AS comment, ${SECRET(ELEMENTS('s.srvoptions'))} AS secret
  FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
  WHERE ${NOT_EXTENSION_MEMBER('pg_foreign_server', 's.oid')}`;

// pg_user_mappings shows a mapping's options (NULL otherwise, as for none) only under this condition,
// its own (10 to 18): a mapping the connecting role may not read is hidden, not a mapping without options.
const MAPPING_READABLE = `((u.umuser <> 0 AND u.usename = CURRENT_USER
      AND (pg_catalog.pg_has_role(s.srvowner, 'USAGE') OR pg_catalog.has_server_privilege(s.oid, 'USAGE')))
    OR (u.umuser = 0 AND pg_catalog.pg_has_role(s.srvowner, 'USAGE'))
    OR coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER), false))`;

const USER_MAPPINGS = `SELECT 'user mapping' AS kind,
    'for ' || CASE WHEN u.umuser = 0 THEN 'public' ELSE pg_catalog.quote_ident(u.usename) END || ' server ' || pg_catalog.quote_ident(u.srvname) AS name,
    coalesce(${OPTIONS('u.umoptions')}, '') AS def, 'server ' || pg_catalog.quote_ident(u.srvname) AS parent, NULL AS comment,
    ${SECRET(ELEMENTS('u.umoptions'))} AS secret, NOT ${MAPPING_READABLE} AS hidden
  FROM pg_catalog.pg_user_mappings u JOIN pg_catalog.pg_foreign_server s ON s.oid = u.srvid`;

const EVENT_TRIGGERS = `SELECT 'event trigger' AS kind, pg_catalog.quote_ident(e.evtname) AS name,
    pg_catalog.concat_ws(E'\\n', 'on ' || e.evtevent, 'execute ' || e.evtfoid::pg_catalog.regproc,
      'when tag in (' || pg_catalog.array_to_string(e.evttags, ', ') || ')',
      CASE e.evtenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'enabled replica' WHEN 'A' THEN 'enabled always' END) AS def,
    NULL AS parent, pg_catalog.obj_description(e.oid, 'pg_event_trigger') AS comment
  FROM pg_catalog.pg_event_trigger e WHERE ${NOT_EXTENSION_MEMBER('pg_event_trigger', 'e.oid')}`;

const COLUMN_COMMENTS = `SELECT 'comment' AS kind, 'column ' || ${QNAME('n', 'c.relname')} || '.' || pg_catalog.quote_ident(a.attname) AS name,
    d.description AS def, ${REL_KEY('c', 'n')} AS parent, NULL AS comment
  FROM pg_catalog.pg_description d
  JOIN pg_catalog.pg_class c ON d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = d.objoid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
  WHERE d.objsubid > 0 AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;

/** One query per kind of object, for a server of this version. */
export function databaseQueries(versionNum: number): string[] {
  return [
    SCHEMAS,
    relationsQuery(versionNum),
    VIEWS,
    SEQUENCES,
    INDEXES,
    constraintsQuery(versionNum),
    triggersQuery(versionNum),
    RULES,
    POLICIES,
    STATISTICS,
    functionsQuery(versionNum),
    TYPES,
    EXTENSIONS,
    FDWS,
    SERVERS,
    USER_MAPPINGS,
    EVENT_TRIGGERS,
    COLUMN_COMMENTS,
  ];
}

const ROLES = `SELECT 'role' AS kind, pg_catalog.quote_ident(r.rolname) AS name,
    pg_catalog.concat_ws(E'\\n',
      NULLIF(pg_catalog.concat_ws(' ', CASE WHEN r.rolsuper THEN 'superuser' END, CASE WHEN r.rolcreatedb THEN 'createdb' END,
        CASE WHEN r.rolcreaterole THEN 'createrole' END, CASE WHEN NOT r.rolinherit THEN 'noinherit' END,
        CASE WHEN r.rolcanlogin THEN 'login' END, CASE WHEN r.rolreplication THEN 'replication' END,
        CASE WHEN r.rolbypassrls THEN 'bypassrls' END,
        CASE WHEN r.rolconnlimit <> -1 THEN 'connection limit ' || r.rolconnlimit END,
        'valid until ' || pg_catalog.quote_literal(r.rolvaliduntil::pg_catalog.text)), ''),
      (SELECT pg_catalog.string_agg('set ' || CASE WHEN ${IS_SECRET('s')} THEN pg_catalog.split_part(s, '=', 1) || '=${MASK}' ELSE s END, E'\\n' ORDER BY s)
        FROM pg_catalog.unnest(r.rolconfig) s)) AS def,
    NULL AS parent, pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment, ${SECRET(ELEMENTS('r.rolconfig', "'set'"))} AS secret
  FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_'`;

// 16 on, a membership may be granted several times by different grantors: one membership here.
const MEMBERSHIPS = `SELECT 'membership' AS kind, pg_catalog.quote_ident(m.rolname) || ' in ' || pg_catalog.quote_ident(g.rolname) AS name,
    CASE WHEN pg_catalog.bool_or(am.admin_option) THEN 'with admin option' ELSE '' END AS def,
    'role ' || pg_catalog.quote_ident(m.rolname) AS parent, NULL AS comment
  FROM pg_catalog.pg_auth_members am
  JOIN pg_catalog.pg_roles g ON g.oid = am.roleid JOIN pg_catalog.pg_roles m ON m.oid = am.member
  WHERE m.rolname !~ '^pg_'
  GROUP BY m.rolname, g.rolname`;

/** The queries for the cluster's roles and their memberships. */
export function roleQueries(): string[] {
  return [ROLES, MEMBERSHIPS];
}

/**
 * Reads a database's objects (or, with `queries` = roleQueries(), the cluster's roles) in one
 * REPEATABLE READ READ ONLY transaction.
 * @param client a connection to the database, not in a transaction
 * @param queries the kinds to read, for the server's version (default: databaseQueries)
 */
export async function readCatalog(client: Client, queries?: (versionNum: number) => string[]): Promise<CatalogSnapshot> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    for (const sql of PRINT_SETTINGS) await client.query(sql);
    const { versionNum, user } = await connectedAs(client);
    const objects: CatalogObject[] = [];
    for (const sql of (queries ?? databaseQueries)(versionNum)) {
      const res = await client.query<Row>(sql);
      for (const r of res.rows) {
        const object: CatalogObject = { kind: r.kind, name: r.name, definition: r.def ?? '' };
        if (r.parent !== null) object.parent = r.parent;
        if (r.secret) object.secret = r.secret;
        if (r.hidden) object.hidden = HIDDEN_MAPPING;
        objects.push(object);
        if (r.comment !== null) objects.push({ kind: 'comment', name: `${r.kind} ${r.name}`, definition: r.comment, parent: `${r.kind} ${r.name}` });
      }
    }
    return { versionNum, user, objects };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

async function connectedAs(client: Client): Promise<{ versionNum: number; user: string }> {
  const res = await client.query<{ v: string; u: string }>(
    "SELECT pg_catalog.current_setting('server_version_num') AS v, pg_catalog.quote_ident(SESSION_USER) AS u",
  );
  return { versionNum: Number(res.rows[0].v), user: res.rows[0].u };
}

/** The databases of a server that can be connected to, not the templates. */
export async function listDatabases(client: Client): Promise<string[]> {
  const res = await client.query<{ datname: string }>(
    'SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname',
  );
  return res.rows.map((r) => r.datname);
}
