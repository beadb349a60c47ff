/**
 * Temporary objects in a parse tree. A temporary table, view or sequence lives and dies with its
 * session on the primary; a target has no such session, so the tool neither creates one there nor
 * sends statements that act on one (they would fail there, or leave an object the primary dropped).
 */
import { ParsedStatement } from './parser';

export interface TempEffect {
  /** Temporary relations this statement creates. */
  creates: string[];
  /** Relations this statement drops by name. */
  drops: string[];
  /**
   * Relations and types it names without a schema or in `pg_temp`, other than what it creates (a
   * temporary table's row type has the table's name).
   */
  refs: string[];
  /**
   * What it creates that lives and dies with the temporary objects it refers to: an index on a
   * temporary table, a view (PostgreSQL makes it temporary), a domain or composite type over a
   * temporary table's row type.
   */
  dependent?: string;
  /** A rename: `[from, to]`. */
  rename?: [string, string];
  /** A DROP of relations, in parts, so one that also names temporary ones can be sent without them. */
  drop?: DropSpec;
  /** A temporary table made `ON COMMIT DROP`: gone when its transaction commits. */
  onCommitDrop?: boolean;
}

export interface DropSpec {
  /** The object kind as SQL writes it: `TABLE`, `MATERIALIZED VIEW`, … */
  kind: string;
  /** Each object's name, qualified or not. */
  names: string[][];
  ifExists: boolean;
  cascade: boolean;
  concurrently: boolean;
}

const NONE: TempEffect = { creates: [], drops: [], refs: [] };

const DROP_KINDS: Record<string, string> = {
  OBJECT_TABLE: 'TABLE',
  OBJECT_VIEW: 'VIEW',
  OBJECT_MATVIEW: 'MATERIALIZED VIEW',
  OBJECT_SEQUENCE: 'SEQUENCE',
  OBJECT_INDEX: 'INDEX',
  OBJECT_FOREIGN_TABLE: 'FOREIGN TABLE',
};


export interface RangeVarLike {
  relname: string;
  schemaname?: string;
  relpersistence?: string;
}

/** What a parsed statement does to and with temporary objects. */
export function tempEffect(stmt: ParsedStatement): TempEffect {
  const created = createdRelation(stmt);
  const creates: string[] = [];
  // A temporary table makes, unnamed, its serial sequences and its constraints' indexes: temporary too.
  if (created && isTemp(created)) creates.push(created.relname, ...implicitNames(created.relname, stmt));
  const refs: string[] = [];
  walk(stmt.node, (rv) => {
    if (rv !== created && (rv.schemaname === undefined || isTempSchema(rv.schemaname))) refs.push(rv.relname);
  }, (names) => {
    if (names.length === 1) refs.push(names[0]);
    else if (names.length === 2 && isTempSchema(names[0])) refs.push(names[1]);
  });
  const drops = namedRelations(stmt, 'DropStmt', 'removeType');
  const commented = namedRelations(stmt, 'CommentStmt', 'objtype');
  const rename = renamed(stmt);
  const drop = dropSpec(stmt);
  const dependent = dependentName(stmt, created);
  if (creates.length + refs.length + drops.length + commented.length === 0 && !rename) return NONE;
  const onCommitDrop = creates.length > 0 && stmt.node.oncommit === 'ONCOMMIT_DROP';
  return { creates, drops, refs: [...refs, ...drops, ...commented], dependent, rename, drop, onCommitDrop };
}

/**
 * The names PostgreSQL gives what a CREATE TABLE makes without a name (ChooseRelationName): serial
 * and identity sequences `t_col_seq`, constraint indexes `t_pkey`, `t_col_key`, `t_col_excl`. Names
 * cut to 63 bytes or made unique with a number are not foreseen.
 */
function implicitNames(table: string, stmt: ParsedStatement): string[] {
  const names: string[] = [];
  const constraint = (c: Record<string, unknown>, columns: string[]): void => {
    if (typeof c.conname === 'string') names.push(c.conname);
    else if (c.contype === 'CONSTR_PRIMARY') names.push(`${table}_pkey`);
    else if (c.contype === 'CONSTR_UNIQUE') names.push(`${table}_${columns.join('_')}_key`);
    else if (c.contype === 'CONSTR_EXCLUSION') names.push(`${table}_${columns.join('_')}_excl`);
  };
  for (const elt of (stmt.node.tableElts as Record<string, Record<string, unknown>>[]) ?? []) {
    const col = elt.ColumnDef;
    if (col && typeof col.colname === 'string') {
      const type = lastName((col.typeName as { names?: unknown })?.names);
      const constraints = ((col.constraints as { Constraint: Record<string, unknown> }[]) ?? []).map((c) => c.Constraint);
      if (type && /^(small|big)?serial[248]?$/.test(type)) names.push(`${table}_${col.colname}_seq`);
      for (const c of constraints) {
        if (c.contype === 'CONSTR_IDENTITY') names.push(`${table}_${col.colname}_seq`);
        else constraint(c, [col.colname]);
      }
    } else if (elt.Constraint) {
      constraint(elt.Constraint, ((elt.Constraint.keys as unknown[]) ?? []).map((k) => (k as { String?: { sval?: string } }).String?.sval ?? ''));
    }
  }
  return names;
}

/** The name CREATE INDEX gives an index it is not given one for: `t_a_lower_idx`. */
function defaultIndexName(stmt: ParsedStatement): string | undefined {
  const table = (stmt.node.relation as RangeVarLike | undefined)?.relname;
  if (!table) return undefined;
  const columns = ((stmt.node.indexParams as { IndexElem?: { name?: string; expr?: { FuncCall?: { funcname?: unknown } } } }[]) ?? []).map(
    (p) => p.IndexElem?.name ?? lastName(p.IndexElem?.expr?.FuncCall?.funcname) ?? 'expr',
  );
  return `${table}_${columns.join('_')}_idx`;
}

/** The index, view, domain or composite type a statement makes. */
function dependentName(stmt: ParsedStatement, created: RangeVarLike | undefined): string | undefined {
  const n = stmt.node;
  if (stmt.type === 'IndexStmt') return typeof n.idxname === 'string' ? n.idxname : defaultIndexName(stmt);
  if (stmt.type === 'ViewStmt' || stmt.type === 'CompositeTypeStmt') return created?.relname;
  if (stmt.type === 'CreateDomainStmt') return lastName(n.domainname);
  return undefined;
}

function renamed(stmt: ParsedStatement): [string, string] | undefined {
  if (stmt.type !== 'RenameStmt' || !DROP_KINDS[stmt.node.renameType as string]) return undefined;
  const rv = stmt.node.relation as RangeVarLike | undefined;
  const to = stmt.node.newname;
  if (!rv || typeof to !== 'string' || (rv.schemaname !== undefined && !isTempSchema(rv.schemaname))) return undefined;
  return [rv.relname, to];
}

function dropSpec(stmt: ParsedStatement): DropSpec | undefined {
  const kind = DROP_KINDS[stmt.node.removeType as string];
  if (stmt.type !== 'DropStmt' || !kind) return undefined;
  return {
    kind,
    names: ((stmt.node.objects as unknown[]) ?? []).map(stringList),
    ifExists: stmt.node.missing_ok === true,
    cascade: stmt.node.behavior === 'DROP_CASCADE',
    concurrently: stmt.node.concurrent === true,
  };
}

function stringList(list: unknown): string[] {
  return ((list as { List?: { items?: { String?: { sval?: string } }[] } })?.List?.items ?? []).map((i) => i.String?.sval ?? '');
}

function lastName(items: unknown): string | undefined {
  const names = ((items as { String?: { sval?: string } }[]) ?? []).map((i) => i.String?.sval ?? '');
  return names[names.length - 1];
}

/** `DROP …` of the given objects only, as PostgreSQL would read it. */
export function dropStatement(spec: DropSpec, names: string[][]): string {
  const quote = (n: string): string => `"${n.replace(/"/g, '""')}"`;
  return [
    'DROP',
    spec.kind,
    spec.concurrently ? 'CONCURRENTLY' : '',
    spec.ifExists ? 'IF EXISTS' : '',
    names.map((parts) => parts.map(quote).join('.')).join(', '),
    spec.cascade ? 'CASCADE' : '',
  ]
    .filter((w) => w !== '')
    .join(' ');
}

function isTemp(rv: RangeVarLike): boolean {
  return rv.relpersistence === 't' || (rv.schemaname !== undefined && isTempSchema(rv.schemaname));
}

function isTempSchema(schema: string): boolean {
  return schema === 'pg_temp' || /^pg_temp_\d+$/.test(schema);
}

/** The relation a CREATE statement makes, if it makes one. */
function createdRelation(stmt: ParsedStatement): RangeVarLike | undefined {
  const n = stmt.node as Record<string, { rel?: RangeVarLike } & RangeVarLike>;
  switch (stmt.type) {
    case 'CreateStmt':
    case 'CreateForeignTableStmt':
      return (n.relation ?? (n.base as unknown as { relation?: RangeVarLike })?.relation) as RangeVarLike | undefined;
    case 'ViewStmt':
      return n.view;
    case 'CreateSeqStmt':
      return n.sequence;
    case 'CreateTableAsStmt':
      return n.into?.rel;
    case 'SelectStmt':
      return (n.intoClause as { rel?: RangeVarLike } | undefined)?.rel;
    case 'CompositeTypeStmt':
      return n.typevar;
    default:
      return undefined;
  }
}

/** Unqualified or pg_temp-qualified relation names in a DROP or COMMENT of relations. */
function namedRelations(stmt: ParsedStatement, type: string, kindKey: string): string[] {
  if (stmt.type !== type) return [];
  const kind = stmt.node[kindKey] as string;
  const isColumn = type === 'CommentStmt' && kind === 'OBJECT_COLUMN';
  if (!DROP_KINDS[kind] && !isColumn) return [];
  const lists = type === 'DropStmt' ? (stmt.node.objects as unknown[]) ?? [] : [stmt.node.object];
  const names: string[] = [];
  for (const list of lists) {
    const items = stringList(list);
    const parts = isColumn ? items.slice(0, -1) : items;
    if (parts.length === 1) names.push(parts[0]);
    else if (parts.length === 2 && isTempSchema(parts[0])) names.push(parts[1]);
  }
  return names;
}

/** Calls onRelation on every RangeVar of a parse tree, onType on every type name. */
export function walk(node: unknown, onRelation: (rv: RangeVarLike) => void, onType: (names: string[]) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, onRelation, onType);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  // A RangeVar: protobuf's JSON leaves out false and empty fields, but relpersistence is never empty.
  if (typeof obj.relname === 'string' && typeof obj.relpersistence === 'string') {
    onRelation(obj as unknown as RangeVarLike);
    return;
  }
  // A TypeName: its names, and a typemod that is always written (-1 when none).
  if (Array.isArray(obj.names) && 'typemod' in obj) {
    onType(obj.names.map((i) => (i as { String?: { sval?: string } }).String?.sval ?? ''));
  }
  for (const value of Object.values(obj)) walk(value, onRelation, onType);
}
