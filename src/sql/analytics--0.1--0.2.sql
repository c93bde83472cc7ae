-- analytics 0.1 -> 0.2
-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION analytics UPDATE TO '0.2'" to load this file. \quit

-- 0.1 has landed: everything new in the schema goes here (CREATE EXTENSION
-- runs analytics--0.1.sql, then this script).

-- @@ rollups @@ (issue 6: derived data; src/rollup.c)

-- @@ tenancy @@ (issue 7: grants, row-level security, SECURITY DEFINER)
--
-- Tenants (SPEC 7): a role reads and writes the rows of the projects granted
-- to it (or to a role whose privileges it has) with grant_project; members
-- of the role analytics_admin (created by the DBA, if at all), members of
-- the tables' owner and superusers see everything. src/tenancy.c explains
-- the functions in C.
--
CREATE TABLE @extschema@.project_grants (
    role        regrole NOT NULL,
    project_id  text NOT NULL CONSTRAINT project_grants_project_id_check CHECK (project_id OPERATOR(pg_catalog.<>) ''),
    granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT project_grants_pkey PRIMARY KEY (role, project_id)
);
COMMENT ON TABLE @extschema@.project_grants IS
    'the projects each role may read and write (analytics.grant_project / revoke_project)';
-- dumped by name (regrole), so a restore into another cluster maps the same roles
SELECT pg_catalog.pg_extension_config_dump('@extschema@.project_grants', '');

-- the projects of the current role: NULL for all (administrators), narrowed
-- by the setting analytics.project_id; cached per statement
CREATE FUNCTION @extschema@._my_projects()
RETURNS text[]
AS 'MODULE_PATHNAME', 'analytics_my_projects'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._my_projects() IS
    'the projects the current role may read and write, narrowed by analytics.project_id; NULL: every project (administrators)';

-- the same as 0 (every project), 1 (one: _my_project()) or 2 (another
-- number: _my_projects()), for a cheap policy
CREATE FUNCTION @extschema@._my_scope()
RETURNS integer
AS 'MODULE_PATHNAME', 'analytics_my_scope'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._my_scope() IS
    'how many projects the current role may use: 0 every project, 1 one (analytics._my_project()), 2 another number (analytics._my_projects())';

CREATE FUNCTION @extschema@._my_project()
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_my_project'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._my_project() IS
    'the one project the current role may use, NULL when it may use another number of projects';

CREATE FUNCTION @extschema@._is_admin()
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_is_admin'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._is_admin() IS
    'true for superusers, members of the owner of analytics.events and members of the role analytics_admin';

CREATE FUNCTION @extschema@._grants_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_grants_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._grants_changed() FROM PUBLIC;
CREATE TRIGGER project_grants_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.project_grants
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._grants_changed();

-- a role sees its own grant rows; administrators see all
ALTER TABLE @extschema@.project_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON @extschema@.project_grants FOR SELECT
    USING (pg_catalog.pg_has_role(role, 'USAGE') OR (SELECT @extschema@._is_admin()));
GRANT SELECT ON @extschema@.project_grants TO PUBLIC;

--
-- Row-level security of a table with a project_id column, and, for a
-- partition, its parent's privileges. Run here for every such table and by
-- maintenance for each partition it creates. One policy for all commands:
-- rows of the projects of the current role, computed once per query (the
-- subqueries are initplans); per row, one comparison with one text for a
-- role with one project (the usual tenant), "= ANY (array)" otherwise.
--
CREATE FUNCTION @extschema@._secure_table(rel regclass, parent regclass DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  g record;
  pred constant text := 'CASE (SELECT @extschema@._my_scope())'
                        ' WHEN 0 THEN true'
                        ' WHEN 1 THEN project_id OPERATOR(pg_catalog.=) (SELECT @extschema@._my_project())'
                        ' ELSE project_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT @extschema@._my_projects()) AS pg_catalog.text[]))'
                        ' END';
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = rel AND a.attname = 'project_id' AND NOT a.attisdropped) THEN
    RETURN;
  END IF;
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = rel AND p.polname = 'tenant_rows') THEN
    EXECUTE pg_catalog.format('CREATE POLICY tenant_rows ON %s USING (%s) WITH CHECK (%s)', rel, pred, pred);
  END IF;
  -- a partition (or a table about to be attached, parent given): the
  -- privileges of its parent (tenants read a partition through its own
  -- policy, never around it)
  IF parent IS NULL THEN
    SELECT i.inhparent::regclass INTO parent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = rel;
  END IF;
  IF parent IS NOT NULL THEN
    FOR g IN SELECT a.grantee, a.privilege_type
               FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
              WHERE c.oid = parent AND a.grantee OPERATOR(pg_catalog.<>) c.relowner LOOP
      EXECUTE pg_catalog.format('GRANT %s ON %s TO %s', g.privilege_type, rel,
                                CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
    END LOOP;
  END IF;
END $$;
REVOKE ALL ON FUNCTION @extschema@._secure_table(regclass, regclass) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._secure_table(regclass, regclass) IS
    'enables the tenant row-level security policy on a table with a project_id column; a partition (of parent) also gets its parent''s privileges';

-- COPY for tenants: PostgreSQL refuses COPY FROM into a table with
-- row-level security to the roles it applies to. COPY (or INSERT) into this
-- view instead: its triggers insert the rows into analytics.events in
-- batches, with the caller's rights (privileges, row-level security).
CREATE VIEW @extschema@.events_import WITH (security_invoker = true) AS
SELECT e.project_id, e.emitted_at, e.event_type, e.value, e.media_id, e.media_type, e.session_id, e.viewer_id,
       e.referrer, e.continent, e.country, e.device_type, e.operating_system, e.browser
  FROM @extschema@.events e WHERE false;
COMMENT ON VIEW @extschema@.events_import IS
    'COPY or INSERT events here (same columns and defaults as analytics.events): they go into analytics.events with the caller''s rights, row-level security included';
ALTER VIEW @extschema@.events_import ALTER COLUMN project_id SET DEFAULT 'default';
ALTER VIEW @extschema@.events_import ALTER COLUMN media_type SET DEFAULT 'video';
ALTER VIEW @extschema@.events_import ALTER COLUMN referrer SET DEFAULT '';
ALTER VIEW @extschema@.events_import ALTER COLUMN device_type SET DEFAULT 'unknown';
ALTER VIEW @extschema@.events_import ALTER COLUMN operating_system SET DEFAULT 'unknown';
ALTER VIEW @extschema@.events_import ALTER COLUMN browser SET DEFAULT 'unknown';

CREATE FUNCTION @extschema@._import_row()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_import_row'
LANGUAGE C;
CREATE FUNCTION @extschema@._import_flush()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_import_flush'
LANGUAGE C;
CREATE TRIGGER import_row INSTEAD OF INSERT ON @extschema@.events_import
    FOR EACH ROW EXECUTE FUNCTION @extschema@._import_row();
CREATE TRIGGER import_flush AFTER INSERT ON @extschema@.events_import
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._import_flush();

-- every table holding event-derived data (events, its partitions, media,
-- play_totals, ping_sessions, the rollups), and views run as their caller
DO $$
DECLARE
  r regclass;
BEGIN
  FOR r IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
            WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'p')
              AND c.oid <> '@extschema@.project_grants'::regclass
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped)
            ORDER BY c.oid LOOP
    PERFORM @extschema@._secure_table(r);
  END LOOP;
  FOR r IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
            WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'v' LOOP
    EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', r);
  END LOOP;
END $$;

--
-- the table privileges grant_project gives (and revoke_project takes back
-- with a role's last project): schema usage; SELECT on every table with a
-- project_id column and on the views; INSERT on events and its partitions
-- (INSERT, ingest_ping) and on the view events_import (COPY); INSERT,
-- UPDATE, DELETE on media (the
-- catalogue). Nothing on ping_sessions (ingest_ping's definer part), secrets,
-- project_grants (beyond PUBLIC's own-rows SELECT); settings is readable by
-- PUBLIC, written by set_retention only.
--
CREATE FUNCTION @extschema@._tenant_privileges(role regrole, do_grant boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  verb constant text := CASE WHEN do_grant THEN 'GRANT' ELSE 'REVOKE' END;
  prep constant text := CASE WHEN do_grant THEN 'TO' ELSE 'FROM' END;
  who constant text := pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(role));
BEGIN
  EXECUTE pg_catalog.format('%s USAGE ON SCHEMA @extschema@ %s %s', verb, prep, who);
  FOR r IN SELECT c.oid::regclass AS rel,
                  CASE WHEN c.oid = '@extschema@.media'::regclass THEN 'SELECT, INSERT, UPDATE, DELETE'
                       WHEN c.oid = '@extschema@.events_import'::regclass THEN 'SELECT, INSERT'
                       WHEN c.oid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t)
                         THEN 'SELECT, INSERT'
                       ELSE 'SELECT' END AS privs
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = '@extschema@'::regnamespace
              AND ((c.relkind IN ('r', 'p')
                    AND c.oid NOT IN ('@extschema@.project_grants'::regclass, '@extschema@.ping_sessions'::regclass)
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped))
                   OR c.relkind = 'v')
            ORDER BY c.oid LOOP
    EXECUTE pg_catalog.format('%s %s ON %s %s %s', verb, r.privs, r.rel, prep, who);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION @extschema@._tenant_privileges(regrole, boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@._grant_project(role name, project_id text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rid regrole;
  added boolean;
BEGIN
  IF role IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'role must not be NULL',
                          COLUMN = 'role';
  END IF;
  IF project_id IS NULL OR project_id = '' THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'project_id must not be NULL or empty',
                          COLUMN = 'project_id';
  END IF;
  SELECT r.oid::regrole INTO rid FROM pg_catalog.pg_roles r WHERE r.rolname = role;
  IF rid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'undefined_object', MESSAGE = pg_catalog.format('role "%s" does not exist', role),
                          COLUMN = 'role';
  END IF;
  -- grants of dropped roles name nobody: forget them
  DELETE FROM @extschema@.project_grants g
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = g.role);
  INSERT INTO @extschema@.project_grants AS g (role, project_id) VALUES (rid, _grant_project.project_id)
    ON CONFLICT DO NOTHING;
  added := FOUND;
  PERFORM @extschema@._tenant_privileges(rid, true);
  RETURN added;
END $$;
REVOKE ALL ON FUNCTION @extschema@._grant_project(name, text) FROM PUBLIC;

CREATE FUNCTION @extschema@._revoke_project(role name, project_id text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rid regrole;
  removed boolean;
BEGIN
  IF role IS NULL OR project_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'role and project_id must not be NULL',
                          COLUMN = CASE WHEN role IS NULL THEN 'role' ELSE 'project_id' END;
  END IF;
  SELECT r.oid::regrole INTO rid FROM pg_catalog.pg_roles r WHERE r.rolname = role;
  IF rid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'undefined_object', MESSAGE = pg_catalog.format('role "%s" does not exist', role),
                          COLUMN = 'role';
  END IF;
  DELETE FROM @extschema@.project_grants g
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = g.role);
  DELETE FROM @extschema@.project_grants g WHERE g.role = rid AND g.project_id = _revoke_project.project_id;
  removed := FOUND;
  -- its last project: take back the table privileges
  IF NOT EXISTS (SELECT 1 FROM @extschema@.project_grants g WHERE g.role = rid) THEN
    PERFORM @extschema@._tenant_privileges(rid, false);
  END IF;
  RETURN removed;
END $$;
REVOKE ALL ON FUNCTION @extschema@._revoke_project(name, text) FROM PUBLIC;

-- the public administrative functions: a gate in C (analytics_admin_call)
-- that refuses non-administrators with 42501 and then calls the SECURITY
-- DEFINER function of the same name with a leading underscore
CREATE FUNCTION @extschema@.grant_project(role name, project_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.grant_project(name, text) IS
    'lets a role (and its members) query and ingest the rows of a project: row access, schema usage, table privileges; false when it had it already. Administrators only';

CREATE FUNCTION @extschema@.revoke_project(role name, project_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.revoke_project(name, text) IS
    'takes a project back from a role (with its last project, its table privileges); false when it did not have it. Administrators only';

-- set_retention and run_maintenance become such gates too; the old
-- functions become their SECURITY DEFINER parts, executable by nobody but
-- the owner (EXECUTE a DBA granted on 0.1's functions is taken back: it
-- would now bypass the gate)
ALTER FUNCTION @extschema@.set_retention(interval) RENAME TO _set_retention;
ALTER FUNCTION @extschema@._set_retention(interval) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.run_maintenance() RENAME TO _run_maintenance;
ALTER FUNCTION @extschema@._run_maintenance() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
DO $$
DECLARE
  g record;
BEGIN
  FOR g IN SELECT p.oid::regprocedure AS fn, a.grantee
             FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
            WHERE p.oid IN ('@extschema@._set_retention(interval)'::regprocedure,
                            '@extschema@._run_maintenance()'::regprocedure)
              AND a.grantee OPERATOR(pg_catalog.<>) p.proowner LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', g.fn,
                              CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION @extschema@._set_retention(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._run_maintenance() FROM PUBLIC;
CREATE FUNCTION @extschema@.set_retention(retention interval)
RETURNS interval
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_retention(interval) IS
    'sets the retention window (any interval >= 1 day); the next maintenance drops what falls out of it. Administrators only';

CREATE FUNCTION @extschema@.run_maintenance()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.run_maintenance() IS
    'creates partitions ahead, moves rows out of the default partition, archives plays and drops expired partitions; returns a report. Administrators only';

-- the session state of ingest_ping, as the owner (called by ingest_ping only)
CREATE FUNCTION @extschema@._ping_state_lock(project_id text, session_id uuid, loaded_at timestamptz,
                                             media_id text, media_type text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'analytics_ping_state_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION @extschema@._ping_state_lock(text, uuid, timestamptz, text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@._ping_state_store(project_id text, session_id uuid, loaded_at timestamptz, state bytea)
RETURNS void
AS 'MODULE_PATHNAME', 'analytics_ping_state_store'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION @extschema@._ping_state_store(text, uuid, timestamptz, bytea) FROM PUBLIC;
