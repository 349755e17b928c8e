# shellcheck shell=bash
# The per-service PostgreSQL roles of the local stack, as SQL run by the superuser on every
# `stack.sh up` (idempotent). docs/security.md has the same table in words. Sourced, never run.
#
# role                 owns (CREATE SCHEMA … AUTHORIZATION)     may also
# scheduler_recorder   event_store (event store), recorder       —
#                      (read models, checkpoints)
# scheduler_handlers   scheduler_handlers (handler_executions)   SELECT/INSERT/UPDATE/DELETE the domain tables ($PG_DOMAIN_SCHEMA)
# scheduler_notifier   scheduler_notifier                        SELECT/INSERT/UPDATE/DELETE the domain tables (users, preferences, inbox; DELETE for the outbox relay)
# scheduler_api        nothing                                   read the read models; read and append to the event store
# scheduler_ticker     scheduler_ticker (ticker_fencing_tokens)  —   (TICKER_LEASE_TOKENS=postgres; the
#                      table is created unqualified, so it lands in the schema named after the role)
#
# Every role logs in with its own generated password, can reach only this database (CONNECT is
# revoked from PUBLIC), and holds no other attribute (no superuser, createdb, createrole,
# replication, bypassrls). recorder and handlers keep CREATE on the database only because their
# migrations run `CREATE SCHEMA IF NOT EXISTS`, which PostgreSQL checks before it looks whether the
# schema exists; their schemas are made here, with the right owner, in any case.

PG_SERVICE_ROLES='scheduler_recorder scheduler_api scheduler_handlers scheduler_notifier scheduler_ticker'

pg_roles_sql() {
  local role db=\"$PG_DATABASE\" domain=\"$PG_DOMAIN_SCHEMA\"
  echo "BEGIN;"
  for role in $PG_SERVICE_ROLES; do
    cat <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN CREATE ROLE $role; END IF;
END \$\$;
ALTER ROLE $role WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  PASSWORD '$(secret_for "pg-$role")';
SQL
  done
  cat <<SQL
REVOKE ALL ON DATABASE $db FROM PUBLIC;
GRANT CONNECT ON DATABASE $db TO scheduler_recorder, scheduler_api, scheduler_handlers, scheduler_notifier, scheduler_ticker;
GRANT CREATE ON DATABASE $db TO scheduler_recorder, scheduler_handlers;

-- Each service schema belongs to its role; so does everything in it, also what a service made
-- while it ran as the superuser (a migration replaces functions, which only their owner may do).
CREATE SCHEMA IF NOT EXISTS event_store AUTHORIZATION scheduler_recorder;
CREATE SCHEMA IF NOT EXISTS recorder AUTHORIZATION scheduler_recorder;
CREATE SCHEMA IF NOT EXISTS scheduler_handlers AUTHORIZATION scheduler_handlers;
CREATE SCHEMA IF NOT EXISTS scheduler_notifier AUTHORIZATION scheduler_notifier;
CREATE SCHEMA IF NOT EXISTS scheduler_ticker AUTHORIZATION scheduler_ticker;
CREATE SCHEMA IF NOT EXISTS $domain;
DO \$\$
DECLARE
  owners CONSTANT jsonb := '{"event_store": "scheduler_recorder", "recorder": "scheduler_recorder",
    "scheduler_handlers": "scheduler_handlers", "scheduler_notifier": "scheduler_notifier",
    "scheduler_ticker": "scheduler_ticker"}';
  s record;
  r record;
BEGIN
  FOR s IN SELECT key AS nsp, value AS owner FROM jsonb_each_text(owners) LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', s.nsp, s.owner);
    -- Tables, views and standalone sequences (a serial's sequence follows its table).
    FOR r IN
      SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = s.nsp AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND pg_get_userbyid(c.relowner) <> s.owner
        AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
      EXECUTE format('ALTER %s %s OWNER TO %I',
        CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                       WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.name, s.owner);
    END LOOP;
    FOR r IN
      SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = s.nsp AND pg_get_userbyid(p.proowner) <> s.owner
    LOOP
      EXECUTE format('ALTER %s %s OWNER TO %I', CASE r.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.name, s.owner);
    END LOOP;
  END LOOP;
END \$\$;

-- The admin API: reads the read models; reads and appends to the event store (append_events,
-- append_many run as the caller, so they need INSERT and the position sequence).
GRANT USAGE ON SCHEMA event_store, recorder TO scheduler_api;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA event_store TO scheduler_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA event_store TO scheduler_api;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA event_store FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA event_store TO scheduler_api;
GRANT SELECT ON ALL TABLES IN SCHEMA recorder TO scheduler_api;
-- The same for what the recorder creates later (a migration, a rebuild's swapped tables).
ALTER DEFAULT PRIVILEGES FOR ROLE scheduler_recorder IN SCHEMA event_store GRANT SELECT, INSERT ON TABLES TO scheduler_api;
ALTER DEFAULT PRIVILEGES FOR ROLE scheduler_recorder IN SCHEMA event_store GRANT USAGE, SELECT ON SEQUENCES TO scheduler_api;
ALTER DEFAULT PRIVILEGES FOR ROLE scheduler_recorder IN SCHEMA event_store GRANT EXECUTE ON FUNCTIONS TO scheduler_api;
ALTER DEFAULT PRIVILEGES FOR ROLE scheduler_recorder REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE scheduler_recorder IN SCHEMA recorder GRANT SELECT ON TABLES TO scheduler_api;

-- Handlers change OpenPenPal's domain tables (made by its migrations, as the superuser here).
GRANT USAGE ON SCHEMA $domain TO scheduler_handlers;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA $domain TO scheduler_handlers;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA $domain TO scheduler_handlers;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA $domain GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO scheduler_handlers;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA $domain GRANT USAGE, SELECT ON SEQUENCES TO scheduler_handlers;

-- The notifier reads users and their preferences and writes the notifications inbox (domain tables);
-- its events go through the outbox, whose relay deletes what it published (hence DELETE).
GRANT USAGE ON SCHEMA $domain TO scheduler_notifier;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA $domain TO scheduler_notifier;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA $domain TO scheduler_notifier;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA $domain GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO scheduler_notifier;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA $domain GRANT USAGE, SELECT ON SEQUENCES TO scheduler_notifier;
COMMIT;
SQL
}
