-- On every target (here myinst1, port 5433): the role pg-ddl-sync connects as.
--   psql -p 5433 -U postgres -f sync-user.sql
--
-- It must be able to run whatever DDL the primary logs: CREATE DATABASE, CREATE EXTENSION,
-- CREATE SERVER, CREATE ROLE, ALTER on objects other roles own. In practice that is a superuser.
-- It also runs each statement as the role that ran it on the primary (SET ROLE): a superuser may; a
-- non-superuser must be a member of every such role (GRANT app_owner TO ddl_syncer), or run with
-- --apply-as sync, and then owns what it creates.
-- Give it a password and put that password in the sync user's ~/.pgpass (see pgpass).
-- Not named ddl_sync, like the tool's ledger schema: "$user" in search_path would then put
-- unqualified objects the tool creates as this role into the ledger's schema.
CREATE ROLE ddl_syncer LOGIN SUPERUSER PASSWORD 'change-me';

-- pg_hba.conf of the target, for a sync run on another host (10.0.0.5 here):
--   host  all  ddl_syncer  10.0.0.5/32  scram-sha-256
-- The sync user connects to every database DDL runs in, so "all" databases.
