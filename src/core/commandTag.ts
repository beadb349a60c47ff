/**
 * The command tag of a DDL statement (`CREATE TABLE`, `GRANT`, `DROP ROLE`), as PostgreSQL names it
 * (CreateCommandTag()): what `--exclude-command` and `--include-command` match.
 */
import { ParsedStatement } from './parser';

const FIXED: Record<string, string> = {
  CreateStmt: 'CREATE TABLE',
  CreateForeignTableStmt: 'CREATE FOREIGN TABLE',
  ViewStmt: 'CREATE VIEW',
  IndexStmt: 'CREATE INDEX',
  CreateSeqStmt: 'CREATE SEQUENCE',
  AlterSeqStmt: 'ALTER SEQUENCE',
  CreateSchemaStmt: 'CREATE SCHEMA',
  CreateExtensionStmt: 'CREATE EXTENSION',
  AlterExtensionStmt: 'ALTER EXTENSION',
  AlterExtensionContentsStmt: 'ALTER EXTENSION',
  CreateFdwStmt: 'CREATE FOREIGN DATA WRAPPER',
  AlterFdwStmt: 'ALTER FOREIGN DATA WRAPPER',
  CreateForeignServerStmt: 'CREATE SERVER',
  AlterForeignServerStmt: 'ALTER SERVER',
  CreateUserMappingStmt: 'CREATE USER MAPPING',
  AlterUserMappingStmt: 'ALTER USER MAPPING',
  DropUserMappingStmt: 'DROP USER MAPPING',
  ImportForeignSchemaStmt: 'IMPORT FOREIGN SCHEMA',
  CreateRoleStmt: 'CREATE ROLE',
  AlterRoleStmt: 'ALTER ROLE',
  AlterRoleSetStmt: 'ALTER ROLE',
  DropRoleStmt: 'DROP ROLE',
  DropOwnedStmt: 'DROP OWNED',
  ReassignOwnedStmt: 'REASSIGN OWNED',
  AlterDefaultPrivilegesStmt: 'ALTER DEFAULT PRIVILEGES',
  CommentStmt: 'COMMENT',
  SecLabelStmt: 'SECURITY LABEL',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  AlterDatabaseStmt: 'ALTER DATABASE',
  AlterDatabaseSetStmt: 'ALTER DATABASE',
  AlterDatabaseRefreshCollStmt: 'ALTER DATABASE',
  CreateTableSpaceStmt: 'CREATE TABLESPACE',
  DropTableSpaceStmt: 'DROP TABLESPACE',
  AlterTableSpaceOptionsStmt: 'ALTER TABLESPACE',
  AlterTableMoveAllStmt: 'ALTER TABLE',
  CompositeTypeStmt: 'CREATE TYPE',
  CreateEnumStmt: 'CREATE TYPE',
  CreateRangeStmt: 'CREATE TYPE',
  AlterEnumStmt: 'ALTER TYPE',
  AlterTypeStmt: 'ALTER TYPE',
  CreateDomainStmt: 'CREATE DOMAIN',
  AlterDomainStmt: 'ALTER DOMAIN',
  CreateTrigStmt: 'CREATE TRIGGER',
  CreateEventTrigStmt: 'CREATE EVENT TRIGGER',
  AlterEventTrigStmt: 'ALTER EVENT TRIGGER',
  RuleStmt: 'CREATE RULE',
  CreatePolicyStmt: 'CREATE POLICY',
  AlterPolicyStmt: 'ALTER POLICY',
  CreatePublicationStmt: 'CREATE PUBLICATION',
  AlterPublicationStmt: 'ALTER PUBLICATION',
  CreateSubscriptionStmt: 'CREATE SUBSCRIPTION',
  AlterSubscriptionStmt: 'ALTER SUBSCRIPTION',
  DropSubscriptionStmt: 'DROP SUBSCRIPTION',
  ClusterStmt: 'CLUSTER',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
  AlterSystemStmt: 'ALTER SYSTEM',
  CreateStatsStmt: 'CREATE STATISTICS',
  AlterStatsStmt: 'ALTER STATISTICS',
  CreateCastStmt: 'CREATE CAST',
  CreateConversionStmt: 'CREATE CONVERSION',
  CreateOpClassStmt: 'CREATE OPERATOR CLASS',
  CreateOpFamilyStmt: 'CREATE OPERATOR FAMILY',
  AlterOpFamilyStmt: 'ALTER OPERATOR FAMILY',
  CreateTransformStmt: 'CREATE TRANSFORM',
  CreateAmStmt: 'CREATE ACCESS METHOD',
  CreatePLangStmt: 'CREATE LANGUAGE',
  AlterCollationStmt: 'ALTER COLLATION',
  AlterTSDictionaryStmt: 'ALTER TEXT SEARCH DICTIONARY',
  AlterTSConfigurationStmt: 'ALTER TEXT SEARCH CONFIGURATION',
  AlterOperatorStmt: 'ALTER OPERATOR',
  ExplainStmt: 'EXPLAIN',
};

/** `OBJECT_MATVIEW` → `MATERIALIZED VIEW`, `OBJECT_FOREIGN_TABLE` → `FOREIGN TABLE`, … */
function objectWords(objectType: unknown): string {
  const special: Record<string, string> = {
    OBJECT_MATVIEW: 'MATERIALIZED VIEW',
    OBJECT_FDW: 'FOREIGN DATA WRAPPER',
    OBJECT_FOREIGN_SERVER: 'SERVER',
    OBJECT_TSPARSER: 'TEXT SEARCH PARSER',
    OBJECT_TSDICTIONARY: 'TEXT SEARCH DICTIONARY',
    OBJECT_TSTEMPLATE: 'TEXT SEARCH TEMPLATE',
    OBJECT_TSCONFIGURATION: 'TEXT SEARCH CONFIGURATION',
    OBJECT_OPCLASS: 'OPERATOR CLASS',
    OBJECT_OPFAMILY: 'OPERATOR FAMILY',
    OBJECT_ACCESS_METHOD: 'ACCESS METHOD',
    OBJECT_EVENT_TRIGGER: 'EVENT TRIGGER',
    OBJECT_STATISTIC_EXT: 'STATISTICS',
    OBJECT_LARGEOBJECT: 'LARGE OBJECT',
    OBJECT_COLUMN: 'TABLE',
    OBJECT_TABCONSTRAINT: 'TABLE',
  };
  const t = String(objectType ?? '');
  return special[t] ?? t.replace(/^OBJECT_/, '').replace(/_/g, ' ');
}

/**
 * The command tag of a parsed DDL statement.
 * @param fallbackWords its leading words, for a node this table does not know
 */
export function commandTag(stmt: ParsedStatement, fallbackWords: readonly string[]): string {
  const n = stmt.node;
  const fixed = FIXED[stmt.type];
  if (fixed) return fixed;
  switch (stmt.type) {
    case 'DropStmt':
      return `DROP ${objectWords(n.removeType)}`;
    case 'AlterTableStmt':
      return `ALTER ${objectWords(n.objtype ?? 'OBJECT_TABLE')}`;
    case 'RenameStmt':
      return `ALTER ${objectWords(n.renameType)}`;
    case 'AlterObjectSchemaStmt':
    case 'AlterOwnerStmt':
    case 'AlterObjectDependsStmt':
      return `ALTER ${objectWords(n.objectType)}`;
    case 'AlterFunctionStmt':
      return `ALTER ${objectWords(n.objtype ?? 'OBJECT_FUNCTION')}`;
    case 'CreateFunctionStmt':
      return n.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION';
    case 'DefineStmt':
      return `CREATE ${objectWords(n.kind)}`;
    case 'CreateTableAsStmt':
      return n.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS';
    case 'SelectStmt':
      return 'SELECT INTO';
    case 'GrantStmt':
      return n.is_grant ? 'GRANT' : 'REVOKE';
    case 'GrantRoleStmt':
      return n.is_grant ? 'GRANT ROLE' : 'REVOKE ROLE';
    default:
      return fallbackWords.slice(0, 2).join(' ').toUpperCase();
  }
}
