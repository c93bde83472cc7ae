-- analytics: tenancy
-- (README: Tenancy)
--
-- The role analytics_admin: its members pass the policy admin_rows for
-- every project. A policy can only name a role that exists, so the
-- extension creates it (NOLOGIN, no members) when it is missing; the DBA
-- grants it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'analytics_admin') THEN
    CREATE ROLE analytics_admin NOLOGIN;
  END IF;
END $$;

--
-- Tenants (README: Tenancy): a role reads and writes the rows of the projects granted
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
CREATE OR REPLACE FUNCTION @extschema@._my_projects()
RETURNS text[]
AS 'MODULE_PATHNAME', 'analytics_my_projects'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._my_projects() IS
    'the projects the current role may read and write, narrowed by analytics.project_id; NULL: every project (administrators)';

-- the same as 0 (every project), 1 (one: _my_project()) or 2 (another
-- number: _my_projects()), for a cheap policy
CREATE OR REPLACE FUNCTION @extschema@._my_scope()
RETURNS integer
AS 'MODULE_PATHNAME', 'analytics_my_scope'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._my_scope() IS
    'how many projects the current role may use: 0 every project, 1 one (analytics._my_project()), 2 another number (analytics._my_projects())';

CREATE OR REPLACE FUNCTION @extschema@._my_project()
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_my_project'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._my_project() IS
    'the one project the current role may use, NULL when it may use another number of projects';

CREATE OR REPLACE FUNCTION @extschema@._is_admin()
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_is_admin'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._is_admin() IS
    'true for superusers, members of the owner of analytics.events and members of the role analytics_admin';

CREATE OR REPLACE FUNCTION @extschema@._grants_changed()
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
-- Two permissive policies on every table with a project_id column, for all
-- commands:
--   tenant_rows (PUBLIC):          project_id = ANY ((SELECT analytics._my_projects()))
--   admin_rows (analytics_admin):  (SELECT analytics._my_projects()) IS NULL
-- _my_projects() is an initplan, computed once per query: the projects of
-- the role, narrowed by analytics.project_id, NULL for administrators
-- without the setting. tenant_rows is an index condition on every index
-- that starts with project_id, so a tenant's scans read only the rows of
-- its projects; admin_rows applies to members of analytics_admin only, so
-- it never turns a tenant's condition into an OR the planner cannot index.
-- A partition of analytics.events (parent given, or found) also gets its
-- parent's privileges.
--
CREATE OR REPLACE FUNCTION @extschema@._secure_table(rel regclass, parent regclass DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  g record;
  -- the distributed form has no subquery (Citus refuses them in policies;
  -- README "Scaling out"): _my_projects() is then evaluated per row, from its
  -- per-statement cache
  tenant_pred constant text := CASE WHEN @extschema@._distributed_policies()
                                    THEN 'project_id OPERATOR(pg_catalog.=) ANY (@extschema@._my_projects())'
                                    ELSE 'project_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT @extschema@._my_projects()) AS pg_catalog.text[]))' END;
  admin_pred constant text := CASE WHEN @extschema@._distributed_policies()
                                   THEN '@extschema@._my_projects() IS NULL'
                                   ELSE '(SELECT @extschema@._my_projects()) IS NULL' END;
  has_admin constant boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'analytics_admin');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = rel AND a.attname = 'project_id' AND NOT a.attisdropped) THEN
    RETURN;
  END IF;
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
  -- exactly these policies: any other one (an earlier version's policy, or a
  -- permissive policy someone added) is dropped
  IF NOT @extschema@._has_tenant_policies(rel) THEN
    FOR g IN SELECT p.polname FROM pg_catalog.pg_policy p WHERE p.polrelid = rel LOOP
      EXECUTE pg_catalog.format('DROP POLICY %I ON %s', g.polname, rel);
    END LOOP;
    EXECUTE pg_catalog.format('CREATE POLICY tenant_rows ON %s USING (%s) WITH CHECK (%s)', rel, tenant_pred, tenant_pred);
    IF has_admin THEN
      EXECUTE pg_catalog.format('CREATE POLICY admin_rows ON %s TO analytics_admin USING (%s) WITH CHECK (%s)',
                                rel, admin_pred, admin_pred);
    END IF;
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

COMMENT ON FUNCTION @extschema@._secure_table(regclass, regclass) IS
    'row-level security and the tenant policies (tenant_rows, admin_rows) on a table with a project_id column; a partition (of parent) also gets its parent''s privileges';

REVOKE ALL ON FUNCTION @extschema@._secure_table(regclass, regclass) FROM PUBLIC;


--
-- the table privileges grant_project gives (and revoke_project takes back
-- with a role's last project), on every member of analytics.events'
-- partition tree wherever it lives; and grant_project never grants on a
-- table that is not secured: it secures every member of the tree (as the
-- trigger does) and every other table with a project_id column (row-level
-- security and the tenant policies) first.
--
CREATE OR REPLACE FUNCTION @extschema@._tenant_privileges(role regrole, do_grant boolean)
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
  IF do_grant THEN
    PERFORM pg_catalog.set_config('analytics_internal.securing', 'on', true);
    FOR r IN SELECT t.relid::regclass AS rel
               FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
              WHERE t.level > 0 AND NOT @extschema@._partition_secured(t.relid, true, false)
              ORDER BY t.level, t.relid LOOP
      PERFORM @extschema@._secure_partition(r.rel, true, false);
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_catalog.pg_class c
              WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'p')
                AND c.oid NOT IN ('@extschema@.project_grants'::regclass, '@extschema@.ping_sessions'::regclass)
                AND c.oid NOT IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
                                   WHERE t.level > 0)
                AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped)
                AND NOT @extschema@._has_tenant_policies(c.oid) LOOP
      PERFORM @extschema@._secure_table(r.rel);
    END LOOP;
    PERFORM pg_catalog.set_config('analytics_internal.securing', '', true);
  END IF;
  EXECUTE pg_catalog.format('%s USAGE ON SCHEMA @extschema@ %s %s', verb, prep, who);
  FOR r IN SELECT c.oid::regclass AS rel,
                  CASE WHEN c.oid = '@extschema@.media'::regclass THEN 'SELECT, INSERT, UPDATE, DELETE'
                       WHEN c.oid = '@extschema@.events_import'::regclass THEN 'SELECT, INSERT'
                       WHEN c.oid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t)
                         THEN 'SELECT, INSERT'
                       ELSE 'SELECT' END AS privs
             FROM pg_catalog.pg_class c
            WHERE (c.relnamespace = '@extschema@'::regnamespace
                   AND ((c.relkind IN ('r', 'p')
                         AND c.oid NOT IN ('@extschema@.project_grants'::regclass, '@extschema@.ping_sessions'::regclass)
                         AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                      WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped))
                        OR c.relkind = 'v'))
               OR c.oid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t)
            ORDER BY c.oid LOOP
    EXECUTE pg_catalog.format('%s %s ON %s %s %s', verb, r.privs, r.rel, prep, who);
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION @extschema@._tenant_privileges(regrole, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._grant_project(role name, project_id text)
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

CREATE OR REPLACE FUNCTION @extschema@._revoke_project(role name, project_id text)
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
CREATE OR REPLACE FUNCTION @extschema@.grant_project(role name, project_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.grant_project(name, text) IS
    'lets a role (and its members) query and ingest the rows of a project: row access, schema usage, table privileges; false when it had it already. Administrators only';

CREATE OR REPLACE FUNCTION @extschema@.revoke_project(role name, project_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.revoke_project(name, text) IS
    'takes a project back from a role (with its last project, its table privileges); false when it did not have it. Administrators only';

--
-- The role analytics_admin: its members pass the policy admin_rows for
-- every project. A policy can only name a role that exists, so the
-- extension creates it (NOLOGIN, no members) when it is missing; the DBA
-- grants it (README: Tenancy).

-- does rel have row-level security and exactly the policies tenant_rows and
-- (when the role exists) admin_rows, as _secure_table writes them?
-- Compared with analytics.events' own policies, deparsed.
CREATE OR REPLACE FUNCTION @extschema@._has_tenant_policies(rel regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT c.relrowsecurity
     AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = rel)
         = (CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'analytics_admin') THEN 2 ELSE 1 END)
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
                  WHERE p.polrelid = rel AND p.polname = 'tenant_rows' AND p.polcmd = '*' AND p.polpermissive
                    AND p.polroles = '{0}'::oid[]
                    AND pg_catalog.pg_get_expr(p.polqual, p.polrelid) = f.tenant
                    AND pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) = f.tenant)
     AND (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'analytics_admin')
          OR EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
                      WHERE p.polrelid = rel AND p.polname = 'admin_rows' AND p.polcmd = '*' AND p.polpermissive
                        AND p.polroles = ARRAY[(SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'analytics_admin')]
                        AND pg_catalog.pg_get_expr(p.polqual, p.polrelid) = f.admin
                        AND pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) = f.admin))
    FROM pg_catalog.pg_class c,
         (SELECT CASE WHEN @extschema@._distributed_policies()
                      THEN '(project_id = ANY (@extschema@._my_projects()))'
                      ELSE '(project_id = ANY (( SELECT @extschema@._my_projects() AS _my_projects)::text[]))' END AS tenant,
                 CASE WHEN @extschema@._distributed_policies()
                      THEN '(@extschema@._my_projects() IS NULL)'
                      ELSE '(( SELECT @extschema@._my_projects() AS _my_projects) IS NULL)' END AS admin) f
   WHERE c.oid = rel
$$;

REVOKE ALL ON FUNCTION @extschema@._has_tenant_policies(regclass) FROM PUBLIC;

--
-- Partitions made by hand. Every table that becomes a partition of
-- analytics.events, at any depth (CREATE TABLE ... PARTITION OF, ATTACH
-- PARTITION, the partitions of a partitioned partition), is secured in the
-- same transaction by the event trigger below, before any tenant can use
-- it: owned by the owner of analytics.events, exactly its parent's
-- privileges (whatever anyone held on the table before is revoked, column
-- privileges included: TRUNCATE, TRIGGER or REFERENCES would go around the
-- policy), row-level security and exactly the tenant policies.
--
-- Is this member of analytics.events' partition tree secured so?
CREATE OR REPLACE FUNCTION @extschema@._partition_secured(rel regclass, with_policies boolean DEFAULT true,
                                               with_privileges boolean DEFAULT true)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH me AS (SELECT c.oid, c.relowner, c.relacl, c.relrowsecurity, i.inhparent
                FROM pg_catalog.pg_class c JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
               WHERE c.oid = rel),
       mine AS (SELECT a.grantee, a.privilege_type FROM me, pg_catalog.aclexplode(me.relacl) a
                 WHERE a.grantee OPERATOR(pg_catalog.<>) me.relowner
                UNION
                SELECT a.grantee, 'column ' OPERATOR(pg_catalog.||) a.privilege_type
                  FROM pg_catalog.pg_attribute t, pg_catalog.aclexplode(t.attacl) a
                 WHERE t.attrelid = rel AND t.attacl IS NOT NULL),
       theirs AS (SELECT a.grantee, a.privilege_type FROM me, pg_catalog.pg_class p, pg_catalog.aclexplode(p.relacl) a
                   WHERE p.oid = me.inhparent AND a.grantee OPERATOR(pg_catalog.<>) p.relowner)
  SELECT me.relowner = (SELECT e.relowner FROM pg_catalog.pg_class e WHERE e.oid = '@extschema@.events'::pg_catalog.regclass)
     AND (NOT with_privileges OR (NOT EXISTS (SELECT * FROM mine EXCEPT SELECT * FROM theirs)
                                  AND NOT EXISTS (SELECT * FROM theirs EXCEPT SELECT * FROM mine)))
     AND CASE WHEN with_policies THEN @extschema@._has_tenant_policies(rel) ELSE me.relrowsecurity END
    FROM me
$$;

REVOKE ALL ON FUNCTION @extschema@._partition_secured(regclass, boolean, boolean) FROM PUBLIC;

-- secure a member of analytics.events' partition tree (its parent first):
-- owner, row-level security, the policies (with_policies), the parent's
-- privileges (added; with reset, instead of any other)
CREATE OR REPLACE FUNCTION @extschema@._secure_partition(rel regclass, with_policies boolean DEFAULT true,
                                              reset boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  g record;
  parent regclass;
  owner oid;
BEGIN
  SELECT i.inhparent::regclass INTO parent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = rel;
  SELECT c.relowner INTO owner FROM pg_catalog.pg_class c WHERE c.oid = '@extschema@.events'::regclass;
  IF (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel) OPERATOR(pg_catalog.<>) owner THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', rel, pg_catalog.pg_get_userbyid(owner));
  END IF;
  -- whatever was granted on the table before goes (REVOKE on a table takes
  -- its column privileges too); then the parent's privileges
  FOR g IN SELECT a.grantee FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
            WHERE reset AND c.oid = rel AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
           UNION
           SELECT a.grantee FROM pg_catalog.pg_attribute t, pg_catalog.aclexplode(t.attacl) a
            WHERE reset AND t.attrelid = rel AND t.attacl IS NOT NULL LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %s', rel,
                              CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
  END LOOP;
  IF with_policies THEN
    PERFORM @extschema@._secure_table(rel, parent);
  ELSE
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
    FOR g IN SELECT a.grantee, a.privilege_type
               FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
              WHERE c.oid = parent AND a.grantee OPERATOR(pg_catalog.<>) c.relowner LOOP
      EXECUTE pg_catalog.format('GRANT %s ON %s TO %s', g.privilege_type, rel,
                                CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
    END LOOP;
  END IF;
END $$;

REVOKE ALL ON FUNCTION @extschema@._secure_partition(regclass, boolean, boolean) FROM PUBLIC;

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
