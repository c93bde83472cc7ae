-- analytics 0.5 -> 0.6: hardening against hostile tenants, anonymous players
-- and routine operations (see the README: Tenancy, Ingesting, Retention and
-- maintenance, Operations).

\echo Use "ALTER EXTENSION analytics UPDATE TO '0.6'" to load this file. \quit

-- Each section below belongs to one concern; keep additions inside it.

-- @@ tenancy: every partition secured, policies the planner can index @@
--
-- The role analytics_admin: its members pass the policy admin_rows for
-- every project. A policy can only name a role that exists, so the
-- extension creates it (NOLOGIN, no members) when it is missing; the DBA
-- grants it (README: Tenancy).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'analytics_admin') THEN
    CREATE ROLE analytics_admin NOLOGIN;
  END IF;
END $$;

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
  tenant_pred constant text := 'project_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT @extschema@._my_projects()) AS pg_catalog.text[]))';
  admin_pred constant text := '(SELECT @extschema@._my_projects()) IS NULL';
  has_admin constant boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'analytics_admin');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = rel AND a.attname = 'project_id' AND NOT a.attisdropped) THEN
    RETURN;
  END IF;
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
  -- exactly these policies: any other one (the 0.5 CASE policy, or a
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
REVOKE ALL ON FUNCTION @extschema@._secure_table(regclass, regclass) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._secure_table(regclass, regclass) IS
    'row-level security and the tenant policies (tenant_rows, admin_rows) on a table with a project_id column; a partition (of parent) also gets its parent''s privileges';

-- does rel have row-level security and exactly the policies tenant_rows and
-- (when the role exists) admin_rows, as _secure_table writes them?
-- Compared with analytics.events' own policies, deparsed.
CREATE FUNCTION @extschema@._has_tenant_policies(rel regclass)
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
                    AND pg_catalog.pg_get_expr(p.polqual, p.polrelid)
                        = '(project_id = ANY (( SELECT @extschema@._my_projects() AS _my_projects)::text[]))'
                    AND pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
                        = '(project_id = ANY (( SELECT @extschema@._my_projects() AS _my_projects)::text[]))')
     AND (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'analytics_admin')
          OR EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
                      WHERE p.polrelid = rel AND p.polname = 'admin_rows' AND p.polcmd = '*' AND p.polpermissive
                        AND p.polroles = ARRAY[(SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'analytics_admin')]
                        AND pg_catalog.pg_get_expr(p.polqual, p.polrelid)
                            = '(( SELECT @extschema@._my_projects() AS _my_projects) IS NULL)'
                        AND pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
                            = '(( SELECT @extschema@._my_projects() AS _my_projects) IS NULL)'))
    FROM pg_catalog.pg_class c WHERE c.oid = rel
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
CREATE FUNCTION @extschema@._partition_secured(rel regclass, with_policies boolean DEFAULT true,
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
CREATE FUNCTION @extschema@._secure_partition(rel regclass, with_policies boolean DEFAULT true,
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

-- The DDL trigger of analytics.events (0.2), now over the whole partition
-- tree: a leaf partition must use analytics_heap (the rollups), a member is
-- a table or a partitioned table (no foreign table: no row-level security,
-- no change tracking); every member is secured (above); the rows of a leaf
-- that came or went without a write make their hours pending.
-- In a session with row_security = off (pg_dump's scripts and pg_restore
-- set it: a restore brings each partition's own policies after attaching
-- it), the policies are left to the restore: row-level security is enabled
-- at once, so until then tenants get no row of the partition.
CREATE OR REPLACE FUNCTION @extschema@._events_ddl()
RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  policies boolean;
  fresh boolean;
BEGIN
  -- the DDL of securing a partition fires this trigger again
  IF pg_catalog.current_setting('analytics_internal.securing', true) = 'on' THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() c
                  WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND c.objid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t)) THEN
    RETURN;
  END IF;
  policies := pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.<>) 'off';
  PERFORM pg_catalog.set_config('analytics_internal.securing', 'on', true);
  FOR p IN SELECT t.relid::regclass AS rel, t.isleaf, r.relkind, a.amname
             FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
             JOIN pg_catalog.pg_class r ON r.oid = t.relid
             LEFT JOIN pg_catalog.pg_am a ON a.oid = r.relam
            WHERE t.level > 0
            ORDER BY t.level, t.relid LOOP
    IF p.relkind NOT IN ('r', 'p') THEN
      RAISE EXCEPTION 'partition % of analytics.events must be a table', p.rel
        USING ERRCODE = 'wrong_object_type',
              DETAIL = 'A foreign table can have no row-level security and does not note the hours written for the rollups.',
              HINT = 'Create a table with USING analytics_heap (or a partitioned table whose partitions use it).';
    END IF;
    IF p.relkind = 'r' AND p.amname IS DISTINCT FROM 'analytics_heap' THEN
      RAISE EXCEPTION 'partition % of analytics.events must use the table access method analytics_heap', p.rel
        USING ERRCODE = 'wrong_object_type',
              DETAIL = 'analytics_heap notes which hours each write touches, so that the rollups stay exact.',
              HINT = 'Create it with USING analytics_heap, or run ALTER TABLE ... SET ACCESS METHOD analytics_heap before attaching it.';
    END IF;
    -- a new member (a leaf the rollups do not know yet, a partitioned
    -- table never given the policies): everything, its privileges made its
    -- parent's; a member secured before: owner, row-level security and
    -- policies put back if changed (its privileges are the administrators')
    fresh := CASE WHEN p.isleaf THEN p.rel NOT IN (SELECT k.relid FROM @extschema@.rollup_partitions k)
                  ELSE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy y
                                    WHERE y.polrelid = p.rel AND y.polname = 'tenant_rows') END;
    IF NOT @extschema@._partition_secured(p.rel, policies, fresh) THEN
      PERFORM @extschema@._secure_partition(p.rel, policies, fresh);
    END IF;
    -- a new leaf: attached (rows came) or created
    IF p.isleaf AND p.rel NOT IN (SELECT k.relid FROM @extschema@.rollup_partitions k) THEN
      PERFORM @extschema@._mark_partition(p.rel);
      INSERT INTO @extschema@.rollup_partitions VALUES (p.rel);
    END IF;
  END LOOP;
  PERFORM pg_catalog.set_config('analytics_internal.securing', '', true);
  -- leaves gone: detached (rows went) or dropped
  FOR p IN SELECT k.relid FROM @extschema@.rollup_partitions k
            WHERE k.relid NOT IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
                                   WHERE t.isleaf) LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = p.relid) THEN
      PERFORM @extschema@._mark_partition(p.relid::regclass);
    END IF;
    DELETE FROM @extschema@.rollup_partitions k WHERE k.relid = p.relid;
  END LOOP;
END $$;
-- CREATE FOREIGN TABLE ... PARTITION OF is refused too
DROP EVENT TRIGGER analytics_events_ddl;
CREATE EVENT TRIGGER analytics_events_ddl ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE FOREIGN TABLE')
  EXECUTE FUNCTION @extschema@._events_ddl();

--
-- the table privileges grant_project gives (and revoke_project takes back
-- with a role's last project), as in 0.2, on every member of analytics.events'
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

-- every table secured with the 0.5 CASE policy gets the two policies
-- (events, every partition, media, play_totals, ping_sessions, the rollups)
DO $$
DECLARE
  r regclass;
BEGIN
  FOR r IN SELECT DISTINCT p.polrelid::regclass FROM pg_catalog.pg_policy p
            WHERE p.polname = 'tenant_rows'
              AND (p.polrelid IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = '@extschema@'::regnamespace)
                   OR p.polrelid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t))
            ORDER BY 1 LOOP
    PERFORM @extschema@._secure_table(r);
  END LOOP;
END $$;



-- @@ maintenance: the accepted range of emitted_at, fault isolation, short drops @@

-- The accepted range of emitted_at (README: Data model): from 1970-01-01
-- 00:00:00+00 (inclusive) to 10000-01-01 00:00:00+00 (exclusive). A row
-- outside it is refused with SQLSTATE 22008 naming the value and the range,
-- by a CHECK constraint of analytics.events (inherited by every partition,
-- the default one included) that calls a C function: every write path
-- (INSERT, COPY, UPDATE, events_import, ingest_ping) goes through it, and
-- COPY's error context names the line of the row.
-- (No SET search_path on it: it resolves no name, and a SET clause would
-- make every row COPY writes save and restore a setting.)
CREATE FUNCTION @extschema@._check_emitted_at(emitted_at timestamptz)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_check_emitted_at'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._check_emitted_at(timestamptz) IS
    'true, or an error (22008) when emitted_at lies outside [1970-01-01 00:00:00+00, 10000-01-01 00:00:00+00), the accepted range of analytics.events';

-- Rows an earlier version stored outside the range (they stopped every
-- maintenance run) are set aside here, with their plays, not lost: only
-- administrators and the rows' own tenants (row-level security) read them.
CREATE TABLE @extschema@.events_out_of_range (
    LIKE @extschema@.events INCLUDING DEFAULTS,
    set_aside_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.events_out_of_range IS
    'events stored by analytics < 0.6 with emitted_at outside the accepted range, set aside by the upgrade to 0.6';
SELECT @extschema@._secure_table('@extschema@.events_out_of_range');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.events_out_of_range', '');

-- NOT VALID: adding it does not scan the partitions under the lock; the
-- rows that violate it are moved out just below, so every stored row
-- complies (VALIDATE CONSTRAINT at leisure only sets the flag).
ALTER TABLE @extschema@.events ADD CONSTRAINT events_emitted_at_range
    CHECK (@extschema@._check_emitted_at(emitted_at)) NOT VALID;

DO $$
DECLARE
  lo constant timestamptz := '1970-01-01 00:00:00+00';
  hi constant timestamptz := '10000-01-01 00:00:00+00';
  n bigint;
  p record;
  stale boolean;
BEGIN
  WITH gone AS (
    DELETE FROM @extschema@.events e WHERE NOT (e.emitted_at >= lo AND e.emitted_at < hi) RETURNING e.*)
  INSERT INTO @extschema@.events_out_of_range SELECT g.*, pg_catalog.now() FROM gone g;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    RAISE NOTICE 'analytics: % events with emitted_at outside [%, %) moved to analytics.events_out_of_range', n, lo, hi;
  END IF;
  -- partitions wholly outside the range (made for such rows) are empty now
  FOR p IN SELECT x.partition FROM @extschema@.partitions() x
            WHERE NOT x.is_default AND (x.to_ts <= lo OR x.from_ts >= hi) LOOP
    RAISE NOTICE 'analytics: dropping partition % (outside the accepted range of emitted_at)', p.partition;
    EXECUTE pg_catalog.format('DROP TABLE %s', p.partition);
  END LOOP;
  -- and their derived data; a week or 28-day block across an end of the
  -- range is rebuilt from its days inside it by the next refresh
  stale := EXISTS (SELECT 1 FROM @extschema@.rollup_week r WHERE r.bucket < lo OR r.bucket + interval '7 days' > hi)
        OR EXISTS (SELECT 1 FROM @extschema@.rollup_w4 r WHERE r.bucket < lo OR r.bucket + interval '28 days' > hi);
  DELETE FROM @extschema@.rollup_hour r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_day r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_5min r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_week r WHERE r.bucket + interval '7 days' <= lo OR r.bucket >= hi;
  DELETE FROM @extschema@.rollup_w4 r WHERE r.bucket + interval '28 days' <= lo OR r.bucket >= hi;
  DELETE FROM @extschema@.rollup_ccv c WHERE NOT (c.minute >= lo AND c.minute < hi);
  DELETE FROM @extschema@.rollup_watch_max w WHERE NOT (w.hour >= lo AND w.hour < hi);
  DELETE FROM @extschema@.rollup_pending r WHERE NOT (r.hour >= lo AND r.hour < hi);
  IF stale THEN
    INSERT INTO @extschema@.rollup_pending (project_id, hour)
    VALUES ('default', lo), ('default', hi - interval '1 hour');
  END IF;
  -- a new installation (no events yet): the constraint is valid at once
  IF NOT EXISTS (SELECT 1 FROM @extschema@.events) THEN
    ALTER TABLE @extschema@.events VALIDATE CONSTRAINT events_emitted_at_range;
  END IF;
END $$;

-- The rollup refresh of given hours (those still pending), the unit that
-- maintenance retries on its own when a batch fails (README: Retention and
-- maintenance): one hour whose refresh fails never holds the others.
CREATE FUNCTION @extschema@._rollup_refresh_hours(hrs timestamptz[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d timestamptz;
BEGIN
  -- one refresh at a time (maintenance also holds its own lock)
  PERFORM pg_catalog.pg_advisory_xact_lock(6385249, 3);
  SELECT pg_catalog.array_agg(x.h ORDER BY x.h) INTO hrs
    FROM (SELECT DISTINCT p.hour AS h FROM @extschema@.rollup_pending p WHERE p.hour = ANY (hrs)) x;
  IF hrs IS NULL THEN
    RETURN 0;
  END IF;
  -- consume the marks first: under READ COMMITTED each statement below sees
  -- at least every row whose mark this statement deleted
  DELETE FROM @extschema@.rollup_pending p WHERE p.hour = ANY (hrs);
  DELETE FROM @extschema@.rollup_hour r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket = ANY (hrs);
  FOR d IN SELECT DISTINCT pg_catalog.date_bin('1 day', h, '2000-01-01 00:00+00') FROM unnest(hrs) h ORDER BY 1 LOOP
    -- one pass over the hours' events: every dimension per hour, and the
    -- whole project per 5 minutes
    DELETE FROM @extschema@.rollup_5min r
     WHERE r.bucket >= d AND r.bucket < d + interval '24 hours'
       AND pg_catalog.date_bin('1 hour', r.bucket, '2000-01-01 00:00+00') = ANY (hrs);
    WITH g AS (
      SELECT e.project_id,
             GROUPING(e.m5) = 0 AS fine,
             CASE WHEN GROUPING(e.media_id) = 0 THEN 1 WHEN GROUPING(e.media_type) = 0 THEN 2
                  WHEN GROUPING(e.continent) = 0 THEN 3 WHEN GROUPING(e.country) = 0 THEN 4
                  WHEN GROUPING(e.device_type) = 0 THEN 5 WHEN GROUPING(e.operating_system) = 0 THEN 6
                  WHEN GROUPING(e.browser) = 0 THEN 7 WHEN GROUPING(e.referrer) = 0 THEN 8 ELSE 0 END AS dim,
             CASE WHEN GROUPING(e.m5) = 0 THEN e.m5 ELSE e.h END AS bucket,
             CASE WHEN GROUPING(e.media_id) = 0 THEN e.media_id WHEN GROUPING(e.media_type) = 0 THEN e.media_type::text
                  WHEN GROUPING(e.continent) = 0 THEN e.continent::text WHEN GROUPING(e.country) = 0 THEN e.country
                  WHEN GROUPING(e.device_type) = 0 THEN e.device_type::text
                  WHEN GROUPING(e.operating_system) = 0 THEN e.operating_system
                  WHEN GROUPING(e.browser) = 0 THEN e.browser WHEN GROUPING(e.referrer) = 0 THEN e.referrer END AS value,
             CASE WHEN GROUPING(e.media_id) = 0 THEN e.media_type END AS media_type,
             @extschema@.event_stats(e.event_type, e.value) AS stats
        FROM (SELECT x.*, pg_catalog.date_bin('1 hour', x.emitted_at, '2000-01-01 00:00+00') AS h,
                     pg_catalog.date_bin('5 minutes', x.emitted_at, '2000-01-01 00:00+00') AS m5
                FROM @extschema@.events x
               WHERE x.emitted_at >= d AND x.emitted_at < d + interval '24 hours'
                 AND pg_catalog.date_bin('1 hour', x.emitted_at, '2000-01-01 00:00+00') = ANY (hrs)) e
       GROUP BY GROUPING SETS (
         (e.project_id, e.m5),
         (e.project_id, e.h),
         (e.project_id, e.h, e.media_id, e.media_type),
         (e.project_id, e.h, e.media_type),
         (e.project_id, e.h, e.continent),
         (e.project_id, e.h, e.country),
         (e.project_id, e.h, e.device_type),
         (e.project_id, e.h, e.operating_system),
         (e.project_id, e.h, e.browser),
         (e.project_id, e.h, e.referrer))),
    fine AS (
      INSERT INTO @extschema@.rollup_5min (project_id, dim, bucket, value, media_type, stats)
      SELECT g.project_id, 0, g.bucket, NULL, NULL, g.stats FROM g WHERE g.fine)
    INSERT INTO @extschema@.rollup_hour (project_id, dim, bucket, value, media_type, stats)
    SELECT g.project_id, g.dim, g.bucket, g.value, g.media_type, g.stats FROM g WHERE NOT g.fine;
    DELETE FROM @extschema@.rollup_day r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket = d;
    INSERT INTO @extschema@.rollup_day (project_id, dim, bucket, value, media_type, stats)
    SELECT r.project_id, r.dim, d, r.value, r.media_type, @extschema@.event_stats_merge(r.stats)
      FROM @extschema@.rollup_hour r
     WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket >= d AND r.bucket < d + interval '24 hours'
     GROUP BY r.project_id, r.dim, r.value, r.media_type;
  END LOOP;
  -- the weeks of those days
  FOR d IN SELECT DISTINCT pg_catalog.date_bin('7 days', h, '2000-01-03 00:00+00') FROM unnest(hrs) h ORDER BY 1 LOOP
    DELETE FROM @extschema@.rollup_week r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket = d;
    INSERT INTO @extschema@.rollup_week (project_id, dim, bucket, value, media_type, stats)
    SELECT r.project_id, r.dim, d, r.value, r.media_type, @extschema@.event_stats_merge(r.stats)
      FROM @extschema@.rollup_day r
     WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket >= d AND r.bucket < d + interval '7 days'
     GROUP BY r.project_id, r.dim, r.value, r.media_type;
  END LOOP;
  -- the 28-day blocks of those weeks. A block that still holds a pending
  -- hour is never read (queries read its weeks, days and hours instead): it
  -- is rebuilt with the refresh of its last pending hour, not once per batch
  -- (rewriting it each time would leave dead rows for every query to skip).
  -- Weeks are always rebuilt: the ccv of one media relies on every
  -- refreshed hour being in a week row.
  FOR d IN SELECT DISTINCT pg_catalog.date_bin('28 days', h, '2000-01-03 00:00+00') FROM unnest(hrs) h ORDER BY 1 LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM @extschema@.rollup_pending p WHERE p.hour >= d AND p.hour < d + interval '28 days');
    DELETE FROM @extschema@.rollup_w4 r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket = d;
    INSERT INTO @extschema@.rollup_w4 (project_id, dim, bucket, value, media_type, stats)
    SELECT r.project_id, r.dim, d, r.value, r.media_type, @extschema@.event_stats_merge(r.stats)
      FROM @extschema@.rollup_week r
     WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket >= d AND r.bucket < d + interval '28 days'
     GROUP BY r.project_id, r.dim, r.value, r.media_type;
  END LOOP;

  -- concurrent viewers: a watch event emitted in hour h covers minutes of h
  -- and of h - 1 hour, so both hours' minutes are recomputed
  DELETE FROM @extschema@.rollup_watch_max w WHERE w.hour = ANY (hrs);
  INSERT INTO @extschema@.rollup_watch_max (project_id, hour, max_value)
  SELECT e.project_id, pg_catalog.date_bin('1 hour', e.emitted_at, '2000-01-01 00:00+00'), max(e.value)
    FROM @extschema@.events e, unnest(hrs) h
   WHERE e.event_type = 'watch' AND e.value > 0 AND e.emitted_at >= h AND e.emitted_at < h + interval '1 hour'
   GROUP BY 1, 2;
  FOR d IN SELECT DISTINCT x FROM unnest(hrs) h, LATERAL (VALUES (h), (h - interval '1 hour')) v(x) ORDER BY 1 LOOP
    DELETE FROM @extschema@.rollup_ccv c WHERE c.minute >= d AND c.minute < d + interval '1 hour';
    INSERT INTO @extschema@.rollup_ccv (project_id, media_id, minute, peak_sessions, secs_sessions, peak_viewers, secs_viewers)
    SELECT g.project_id, g.live_id, g.m, (g.cs)[1]::integer, (g.cs)[2] * 60, (g.cv)[1]::integer, (g.cv)[2] * 60
      FROM (SELECT x.project_id, x.live_id, m.m, GROUPING(x.live_id) AS whole_project,
                   @extschema@.ccv(x.s, x.e, x.session_id, m.m, m.m + interval '1 minute') AS cs,
                   @extschema@.ccv(CASE WHEN x.viewer_id IS NULL THEN x.e ELSE x.s END, x.e, x.viewer_id,
                                   m.m, m.m + interval '1 minute') AS cv
              FROM (SELECT e.project_id, e.session_id, e.viewer_id,
                           CASE WHEN e.media_type = 'live-stream' THEN e.media_id END AS live_id,
                           e.emitted_at - e.value * interval '1 second' AS s, e.emitted_at AS e
                      FROM @extschema@.events e
                     WHERE e.event_type = 'watch' AND e.value > 0 AND e.emitted_at > d
                       AND e.emitted_at < d + interval '2 hours'
                       AND e.emitted_at - e.value * interval '1 second' < d + interval '1 hour') x,
                   LATERAL pg_catalog.generate_series(
                     pg_catalog.date_bin('1 minute', greatest(x.s, d), '2000-01-01 00:00+00'),
                     least(x.e, d + interval '1 hour') - interval '1 microsecond', interval '1 minute') m(m)
             GROUP BY GROUPING SETS ((x.project_id, m.m), (x.project_id, x.live_id, m.m))) g
     WHERE g.whole_project = 1 OR g.live_id IS NOT NULL;
  END LOOP;
  RETURN pg_catalog.array_length(hrs, 1);
END $$;
REVOKE ALL ON FUNCTION @extschema@._rollup_refresh_hours(timestamptz[]) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._rollup_refresh_hours(timestamptz[]) IS
    're-aggregates the given hours that are pending into the rollups and consumes their marks; returns how many';

-- the oldest pending hours, at most max_hours, in one transaction
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh(max_hours integer DEFAULT 168)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  hrs timestamptz[];
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(6385249, 3);
  SELECT pg_catalog.array_agg(x.h ORDER BY x.h) INTO hrs
    FROM (SELECT DISTINCT p.hour AS h FROM @extschema@.rollup_pending p ORDER BY 1 LIMIT max_hours) x;
  IF hrs IS NULL THEN
    RETURN 0;
  END IF;
  RETURN @extschema@._rollup_refresh_hours(hrs);
END $$;




-- @@ ingest: events_import, bounded pings, tolerant headers @@



-- @@ concurrent viewers in one sweep; a bound on one call's work @@

-- A watch event is the interval [emitted_at - value s, emitted_at) of its
-- session (of its viewer with unique viewers). analytics._ccv_series(started,
-- ended, watcher, bounds) gives {peak, average} of every cell
-- [bounds[i], bounds[i+1]) from one sort and one sweep (src/ccv.c): a
-- timeseries costs events * log(events) + buckets, not events * buckets.
CREATE FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, uuid, timestamptz[])
RETURNS internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_transfn_uuid';
COMMENT ON FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, uuid, timestamptz[]) IS
    'transition function of analytics._ccv_series (uuid watchers)';
CREATE FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, bigint, timestamptz[])
RETURNS internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_transfn_bigint';
COMMENT ON FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, bigint, timestamptz[]) IS
    'transition function of analytics._ccv_series (bigint watchers)';
CREATE FUNCTION @extschema@._ccv_series_final(internal)
RETURNS double precision[] LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_final';
COMMENT ON FUNCTION @extschema@._ccv_series_final(internal) IS
    'final function of analytics._ccv_series: {peak, average} of each cell';
CREATE AGGREGATE @extschema@._ccv_series(started_at timestamptz, ended_at timestamptz, watcher uuid, bounds timestamptz[]) (
    SFUNC = @extschema@._ccv_series_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@._ccv_series_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@._ccv_series(timestamptz, timestamptz, uuid, timestamptz[]) IS
    'concurrent viewers of each cell [bounds[i], bounds[i+1]): {peak_1, average_1, peak_2, ...} in one sweep';
CREATE AGGREGATE @extschema@._ccv_series(started_at timestamptz, ended_at timestamptz, watcher bigint, bounds timestamptz[]) (
    SFUNC = @extschema@._ccv_series_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@._ccv_series_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@._ccv_series(timestamptz, timestamptz, bigint, timestamptz[]) IS
    'concurrent viewers of each cell [bounds[i], bounds[i+1]): {peak_1, average_1, peak_2, ...} in one sweep';

-- the ccv_series call over the rows "e" (the intervals of _value_expr)
CREATE FUNCTION @extschema@._ccv_series_expr(unique_viewers boolean, bounds text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT format('@extschema@._ccv_series(%s, e.emitted_at, %s, %s)',
              CASE WHEN unique_viewers
                   THEN 'CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval ''1 second'' END'
                   ELSE 'e.emitted_at - e.value * interval ''1 second''' END,
              CASE WHEN unique_viewers THEN 'e.viewer_id' ELSE 'e.session_id' END, bounds)
$$;

-- The bound on one call's work: analytics.max_call_time (README, Settings).
CREATE FUNCTION @extschema@._call_begin()
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_begin';
COMMENT ON FUNCTION @extschema@._call_begin() IS
    'arms the analytics.max_call_time timer of a query function call (true: this call armed it)';
CREATE FUNCTION @extschema@._call_end(owner boolean, fname text)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_end';
COMMENT ON FUNCTION @extschema@._call_end(boolean, text) IS
    'disarms the analytics.max_call_time timer armed by _call_begin';
CREATE FUNCTION @extschema@._call_timed_out(fname text)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_timed_out';
COMMENT ON FUNCTION @extschema@._call_timed_out(text) IS
    'raises SQLSTATE 53400 when a caught query_canceled came from the analytics.max_call_time timer';

-- problem bodies: 503 when a call was stopped by analytics.max_call_time
CREATE OR REPLACE FUNCTION @extschema@._problem(status integer, name text DEFAULT NULL, detail text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN status = 404 THEN
         jsonb_build_object('type', 'about:blank', 'title', 'Not Found', 'status', 404)
       WHEN status = 503 THEN
         jsonb_build_object('type', 'about:blank', 'title', 'Service Unavailable', 'status', 503,
                            'detail', coalesce(detail, 'The request took too long.'))
       ELSE
         jsonb_build_object('type', 'about:blank', 'title', 'Bad Request', 'status', status,
                            'detail', coalesce(detail, 'The request is invalid.'), 'name', coalesce(name, 'uri'))
       END
$$;

-- ccv series of one project (all media, or one live stream) from the
-- per-minute rows of rollup_ccv, as _ccv_from_rollups does for one period:
-- every whole minute of a refreshed hour comes from its row (peak: max,
-- watcher-seconds: sum), the rest (partial minutes at the ends, hours whose
-- watch events changed, a media id that is not a live stream) from raw
-- events with one _ccv_series sweep per raw piece, cut at the bucket bounds.
-- NULL when a bucket bound inside the period is not a whole UTC minute (an
-- old zone offset with seconds): the caller then sweeps raw events.
CREATE FUNCTION @extschema@._ccv_series_from_rollups(project text, media text, unique_viewers boolean,
                                                     pf timestamptz, pt timestamptz, bucket text, tz text)
RETURNS TABLE (bucket_start timestamptz, peak double precision, average double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  o constant timestamptz := '2000-01-01 00:00+00';
  ms timestamptz := pg_catalog.date_bin('1 minute', pf, o);
  me timestamptz := pg_catalog.date_bin('1 minute', pt, o);
  bs timestamptz[];               -- bucket starts, and the bounds of the buckets clipped to the period
  bf timestamptz[];
  bt timestamptz[];
  pend timestamptz[];
  stale timestamptz[];
  lo timestamptz[] := '{}';
  hi timestamptz[] := '{}';
  cb timestamptz[] := '{}';       -- raw contributions: bucket start, peak, watcher-seconds
  cp double precision[] := '{}';
  cs double precision[] := '{}';
  rb timestamptz[];               -- rollup rows per bucket: bucket start, peak, watcher-seconds
  rp double precision[];
  rs double precision[];
  bounds timestamptz[];
  look interval;
  r double precision[];
  i integer;
  q constant text := 'SELECT @extschema@._ccv_series(' ||
    CASE WHEN unique_viewers THEN 'CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval ''1 second'' END'
         ELSE 'e.emitted_at - e.value * interval ''1 second''' END ||
    ', e.emitted_at, ' || CASE WHEN unique_viewers THEN 'e.viewer_id' ELSE 'e.session_id' END || ', $6)'
    ' FROM @extschema@.events e WHERE e.event_type = ''watch'' AND e.value > 0 AND e.emitted_at > $1'
    ' AND e.emitted_at < $2 + $3 AND e.emitted_at - e.value * interval ''1 second'' < $2 AND e.project_id = $4' ||
    CASE WHEN media IS NOT NULL THEN ' AND e.media_id = $5' ELSE '' END;
BEGIN
  SELECT pg_catalog.array_agg(x.bucket_start ORDER BY x.bucket_start),
         pg_catalog.array_agg(greatest(x.bucket_start, pf) ORDER BY x.bucket_start),
         pg_catalog.array_agg(least(x.bucket_end, pt) ORDER BY x.bucket_start)
    INTO bs, bf, bt
    FROM @extschema@.time_buckets(bucket, pf, pt, tz) x;
  IF EXISTS (SELECT 1 FROM unnest(bf) b WHERE b > pf AND pg_catalog.date_bin('1 minute', b, o) <> b) THEN
    RETURN;
  END IF;
  IF ms < pf THEN ms := ms + interval '1 minute'; END IF;
  IF ms >= me THEN
    ms := pt; me := pt;             -- no whole minute: all raw
  END IF;
  pend := @extschema@._pending_hours(pg_catalog.date_bin('1 hour', pf, o), pt + interval '1 hour');
  stale := ARRAY(SELECT DISTINCT x FROM unnest(pend) h, LATERAL (VALUES (h), (h - interval '1 hour')) v(x));
  -- one media: only live streams have rows (see _ccv_from_rollups)
  IF media IS NOT NULL AND ms < me AND NOT coalesce((
       SELECT bool_and(w.media_type = 'live-stream') FROM @extschema@.rollup_week w
        WHERE w.project_id = project AND w.dim = 1 AND w.value = media), false) THEN
    ms := pt; me := pt;
  END IF;
  -- raw pieces
  IF pf < ms THEN lo := lo || pf; hi := hi || ms; END IF;
  IF me < pt THEN lo := lo || me; hi := hi || pt; END IF;
  SELECT lo || coalesce(pg_catalog.array_agg(greatest(h, ms)), '{}'), hi || coalesce(pg_catalog.array_agg(least(h + interval '1 hour', me)), '{}')
    INTO lo, hi FROM unnest(stale) h WHERE h + interval '1 hour' > ms AND h < me;
  SELECT * INTO lo, hi FROM @extschema@._merge_ranges(lo, hi);
  FOR i IN 1 .. coalesce(cardinality(lo), 0) LOOP
    IF EXISTS (SELECT 1 FROM unnest(pend) h WHERE h >= pg_catalog.date_bin('1 hour', lo[i], o) AND h <= hi[i] + interval '1 hour') THEN
      look := interval '1 hour';
    ELSE
      SELECT coalesce(max(w.max_value), 0) * interval '1 second' + interval '1 microsecond' INTO look
        FROM @extschema@.rollup_watch_max w
       WHERE w.project_id = project AND w.hour >= pg_catalog.date_bin('1 hour', lo[i], o) AND w.hour <= hi[i] + interval '1 hour';
    END IF;
    -- the piece cut at the bucket bounds inside it: each cell lies in one bucket
    bounds := lo[i] || ARRAY(SELECT b FROM unnest(bf) b WHERE b > lo[i] AND b < hi[i] ORDER BY b) || hi[i];
    EXECUTE q INTO r USING lo[i], hi[i], look, project, media, bounds;
    IF r IS NOT NULL THEN
      SELECT cb || pg_catalog.array_agg(@extschema@.time_bucket(bucket, bounds[c], tz) ORDER BY c),
             cp || pg_catalog.array_agg(r[2 * c - 1] ORDER BY c),
             cs || pg_catalog.array_agg(r[2 * c] * extract(epoch FROM bounds[c + 1] - bounds[c])::double precision ORDER BY c)
        INTO cb, cp, cs
        FROM generate_series(1, cardinality(bounds) - 1) c;
    END IF;
  END LOOP;
  -- whole minutes of refreshed hours, per bucket
  IF ms < me THEN
    SELECT pg_catalog.array_agg(x.b), pg_catalog.array_agg(x.pk), pg_catalog.array_agg(x.sc) INTO rb, rp, rs
      FROM (SELECT @extschema@.time_bucket(bucket, c.minute, tz) AS b,
                   max(CASE WHEN unique_viewers THEN c.peak_viewers ELSE c.peak_sessions END)::double precision AS pk,
                   sum(CASE WHEN unique_viewers THEN c.secs_viewers ELSE c.secs_sessions END) AS sc
              FROM @extschema@.rollup_ccv c
             WHERE c.project_id = project AND c.media_id IS NULL AND media IS NULL
               AND c.minute >= ms AND c.minute < me
               AND pg_catalog.date_bin('1 hour', c.minute, o) <> ALL (stale)
             GROUP BY 1
            UNION ALL
            SELECT @extschema@.time_bucket(bucket, c.minute, tz),
                   max(CASE WHEN unique_viewers THEN c.peak_viewers ELSE c.peak_sessions END)::double precision,
                   sum(CASE WHEN unique_viewers THEN c.secs_viewers ELSE c.secs_sessions END)
              FROM @extschema@.rollup_ccv c
             WHERE c.project_id = project AND c.media_id = media
               AND c.minute >= ms AND c.minute < me
               AND pg_catalog.date_bin('1 hour', c.minute, o) <> ALL (stale)
             GROUP BY 1) x;
  END IF;
  RETURN QUERY
  SELECT u.s, greatest(coalesce(ro.pk, 0), coalesce(ra.pk, 0)),
         (coalesce(ro.sc, 0) + coalesce(ra.sc, 0)) / extract(epoch FROM u.t - u.f)::double precision
    FROM unnest(bs, bf, bt) u(s, f, t)
    LEFT JOIN (SELECT x.b, max(x.p) AS pk, sum(x.s) AS sc FROM unnest(cb, cp, cs) x(b, p, s) GROUP BY x.b) ra ON ra.b = u.s
    LEFT JOIN unnest(rb, rp, rs) ro(b, pk, sc) ON ro.b = u.s;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.metric(metric text, aggregation text,
                                   from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                   filter_by jsonb DEFAULT NULL,
                                   unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                   project_id text DEFAULT NULL)
RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('metrics', metric, aggregation, unique_viewers, view_duration);
  uv boolean := coalesce(unique_viewers, false);
  projects text[] := @extschema@._projects(project_id);
  f @extschema@._filter_set := @extschema@._filters(filter_by, s.kind = 'total');
  w text := @extschema@._where(f, projects);
  p record;
  pf timestamptz;
  pt timestamptz;
  q text;
  result double precision;
  dim smallint := CASE WHEN coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on' THEN @extschema@._rollup_dim(s, f, NULL) END;
  rp @extschema@._cover;
  owner boolean;
BEGIN
  -- the bound on one call's work (analytics.max_call_time, src/callbound.c)
  BEGIN
    owner := @extschema@._call_begin();
    IF s.kind = 'total' THEN
      q := 'SELECT ((SELECT coalesce(sum(e.plays), 0) FROM @extschema@.play_totals e WHERE true' || w || ')'
           ' + (SELECT count(*) FROM @extschema@.events e WHERE e.event_type = ''play''' || w || '))::double precision';
    ELSE
      IF s.kind = 'ccv_live' THEN
        pt := now(); pf := pt - interval '20 seconds';
      ELSE
        p := @extschema@._period(from_ts, to_ts, true);
        pf := p.from_out; pt := p.to_out;
      END IF;
      IF s.kind IN ('ccv_peak', 'ccv_average') AND projects[1] IS NOT NULL
         AND coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on'
         AND (f.media_ids IS NULL OR cardinality(f.media_ids) = 1)
         AND f.media_type IS NULL AND f.continents IS NULL AND f.countries IS NULL AND f.device_types IS NULL
         AND f.operating_systems IS NULL AND f.browsers IS NULL AND f.referrers IS NULL AND f.tag IS NULL THEN
        -- one project, one media or all: the per-minute rows
        result := (@extschema@._ccv_from_rollups(projects[1], f.media_ids[1], uv, pf, pt))[CASE WHEN s.kind = 'ccv_peak' THEN 1 ELSE 2 END];
      PERFORM @extschema@._call_end(owner, 'analytics.metric()');
      RETURN result;
      ELSIF dim IS NOT NULL THEN
        rp := @extschema@._plan_cover(pf, pt, 'w4', dim = 0, dim, projects);
        q := 'SELECT ' || @extschema@._merged_metric(s) || ' FROM ('
             || @extschema@._stats_rows(s, f, projects, dim, NULL, false, rp) || ') x';
      ELSE
        q := 'SELECT ' || @extschema@._value_expr(s, uv, '$1', '$2') || ' FROM @extschema@.events e WHERE '
             || @extschema@._rows_expr(s, uv, '$1', '$2') || w;
      END IF;
    END IF;
    IF rp.raw_from IS NOT NULL THEN
      -- the rollup query: a kept plan per query text
      SELECT x.v INTO result
        FROM @extschema@._kept_query(q, projects IS NOT NULL AND @extschema@._cover_raw_minutes(rp) <= 10, pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
               f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
               s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
               rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
               rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
               rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to)
             x(v double precision);
    ELSE
      EXECUTE q INTO result
        USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
              f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
              s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision;
    END IF;
    IF s.kind LIKE 'ccv%' THEN
      result := coalesce(result, 0);
    END IF;
    PERFORM @extschema@._call_end(owner, 'analytics.metric()');
    RETURN result;
  EXCEPTION WHEN query_canceled THEN
    PERFORM @extschema@._call_timed_out('analytics.metric()');
    RAISE;
  END;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.breakdown(metric text, breakdown text,
                                      from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                      filter_by jsonb DEFAULT NULL,
                                      sort_by text DEFAULT 'metricValue', sort_order text DEFAULT 'desc',
                                      aggregation text DEFAULT NULL,
                                      unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                      project_id text DEFAULT NULL)
RETURNS TABLE (dimension_value text, metric_value double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('breakdown', metric, aggregation, unique_viewers, view_duration);
  uv boolean := coalesce(unique_viewers, false);
  projects text[] := @extschema@._projects(project_id);
  f @extschema@._filter_set;
  w text;
  p record;
  pf timestamptz;
  pt timestamptz;
  dimx text;
  ord text;
  q text;
  dim smallint;
  rp @extschema@._cover;
  owner boolean;
BEGIN
  -- the bound on one call's work (analytics.max_call_time, src/callbound.c)
  BEGIN
    owner := @extschema@._call_begin();
    dimx := CASE breakdown
      WHEN 'media-id' THEN 'e.media_id'
      WHEN 'media-type' THEN 'e.media_type::text'
      WHEN 'continent' THEN 'e.continent::text'
      WHEN 'country' THEN 'e.country'
      WHEN 'device-type' THEN 'e.device_type::text'
      WHEN 'operating-system' THEN 'e.operating_system'
      WHEN 'browser' THEN 'e.browser'
      WHEN 'referrer' THEN 'e.referrer'
    END;
    IF dimx IS NULL THEN
      PERFORM @extschema@._invalid('breakdown', format('invalid breakdown: "%s"', coalesce(breakdown, 'NULL')),
        'Valid breakdowns are: media-id, media-type, continent, country, device-type, operating-system, browser, referrer.');
    END IF;
    IF s.kind = 'total' AND breakdown <> 'media-id' THEN
      PERFORM @extschema@._invalid('breakdown', format('invalid breakdown "%s" for metric "play-total"', breakdown),
                                   'play-total is broken down by media-id only.');
    END IF;
    IF sort_by IS NULL OR sort_by NOT IN ('metricValue', 'dimensionValue') THEN
      PERFORM @extschema@._invalid('sortBy', format('invalid sort_by: "%s"', coalesce(sort_by, 'NULL')),
                                   'Valid sort keys are: metricValue, dimensionValue.');
    END IF;
    IF sort_order IS NULL OR sort_order NOT IN ('asc', 'desc') THEN
      PERFORM @extschema@._invalid('sortOrder', format('invalid sort_order: "%s"', coalesce(sort_order, 'NULL')),
                                   'Valid sort orders are: asc, desc.');
    END IF;
    f := @extschema@._filters(filter_by, s.kind = 'total');
    w := @extschema@._where(f, projects);
    IF s.kind <> 'total' THEN
      p := @extschema@._period(from_ts, to_ts, true);
      pf := p.from_out; pt := p.to_out;
    END IF;
    IF coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on' THEN
      dim := @extschema@._rollup_dim(s, f, breakdown);
    END IF;

    ord := CASE WHEN sort_by = 'metricValue' AND sort_order = 'desc' THEN 'metric_value DESC NULLS LAST, dimension_value COLLATE "C"'
                WHEN sort_by = 'metricValue' THEN 'metric_value ASC NULLS FIRST, dimension_value COLLATE "C"'
                WHEN sort_order = 'desc' THEN 'dimension_value COLLATE "C" DESC'
                ELSE 'dimension_value COLLATE "C"' END;

    IF s.kind = 'total' THEN
      q := 'SELECT s.media_id AS dimension_value, sum(s.n)::double precision AS metric_value FROM ('
           'SELECT e.media_id, e.plays AS n FROM @extschema@.play_totals e WHERE true' || w ||
           ' UNION ALL SELECT e.media_id, count(*) FROM @extschema@.events e WHERE e.event_type = ''play''' || w ||
           ' GROUP BY 1) s GROUP BY 1';
    ELSIF dim IS NOT NULL THEN
      rp := @extschema@._plan_cover(pf, pt, 'w4', false, dim, projects);
      q := 'SELECT coalesce(x.v, ''unknown'') AS dimension_value,'
           ' ' || @extschema@._merged_metric(s) || ' AS metric_value FROM ('
           || @extschema@._stats_rows(s, f, projects, dim, dimx, false, rp) || ') x GROUP BY 1 HAVING '
           || @extschema@._merged_having(s);
    ELSE
      q := 'SELECT coalesce(' || dimx || ', ''unknown'') AS dimension_value, '
           || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
           || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1';
    END IF;
    IF rp.raw_from IS NOT NULL THEN
      -- the rollup query: a kept plan per query text
      RETURN QUERY SELECT x.dimension_value, x.metric_value
        FROM @extschema@._kept_query('SELECT dimension_value, metric_value FROM (' || q || ') r ORDER BY ' || ord, projects IS NOT NULL AND @extschema@._cover_raw_minutes(rp) <= 10,
               pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
               f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
               s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
               rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
               rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
               rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to)
             x(dimension_value text, metric_value double precision);
    ELSE
      RETURN QUERY EXECUTE 'SELECT dimension_value, metric_value FROM (' || q || ') r ORDER BY ' || ord
        USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
              f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
              s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision;
    END IF;
    PERFORM @extschema@._call_end(owner, 'analytics.breakdown()');
  EXCEPTION WHEN query_canceled THEN
    PERFORM @extschema@._call_timed_out('analytics.breakdown()');
    RAISE;
  END;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.timeseries(metric text,
                                       from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                       "interval" text DEFAULT NULL, filter_by jsonb DEFAULT NULL,
                                       sort_by text DEFAULT 'emittedAt', sort_order text DEFAULT 'asc',
                                       time_zone text DEFAULT 'UTC',
                                       aggregation text DEFAULT NULL,
                                       unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                       project_id text DEFAULT NULL)
RETURNS TABLE (emitted_at timestamptz, metric_value double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('timeseries', metric, aggregation, unique_viewers, view_duration);
  uv boolean := coalesce(unique_viewers, false);
  projects text[] := @extschema@._projects(project_id);
  f @extschema@._filter_set;
  w text;
  p record;
  bucket text;
  tz text := coalesce(time_zone, 'UTC');
  ord text;
  q text;
  dim smallint;
  tier text;
  rp @extschema@._cover;
  owner boolean;
BEGIN
  -- the bound on one call's work (analytics.max_call_time, src/callbound.c)
  BEGIN
    owner := @extschema@._call_begin();
    IF sort_by IS NULL OR sort_by NOT IN ('emittedAt', 'metricValue') THEN
      PERFORM @extschema@._invalid('sortBy', format('invalid sort_by: "%s"', coalesce(sort_by, 'NULL')),
                                   'Valid sort keys are: emittedAt, metricValue.');
    END IF;
    IF sort_order IS NULL OR sort_order NOT IN ('asc', 'desc') THEN
      PERFORM @extschema@._invalid('sortOrder', format('invalid sort_order: "%s"', coalesce(sort_order, 'NULL')),
                                   'Valid sort orders are: asc, desc.');
    END IF;
    f := @extschema@._filters(filter_by);
    w := @extschema@._where(f, projects);
    p := @extschema@._period(from_ts, to_ts, true);
    bucket := coalesce("interval", @extschema@.default_interval(p.from_out, p.to_out));

    ord := CASE WHEN sort_by = 'emittedAt' AND sort_order = 'desc' THEN 'bucket_start DESC'
                WHEN sort_by = 'emittedAt' THEN 'bucket_start'
                WHEN sort_order = 'desc' THEN 'metric_value DESC NULLS LAST, bucket_start'
                ELSE 'metric_value ASC NULLS FIRST, bucket_start' END;

    IF s.kind LIKE 'ccv%' AND projects[1] IS NOT NULL
       AND coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on'
       AND (f.media_ids IS NULL OR cardinality(f.media_ids) = 1)
       AND f.media_type IS NULL AND f.continents IS NULL AND f.countries IS NULL AND f.device_types IS NULL
       AND f.operating_systems IS NULL AND f.browsers IS NULL AND f.referrers IS NULL AND f.tag IS NULL
       AND NOT EXISTS (SELECT 1 FROM @extschema@.time_buckets(bucket, p.from_out, p.to_out, tz) x
                        WHERE x.bucket_start > p.from_out
                          AND pg_catalog.date_bin('1 minute', x.bucket_start, '2000-01-01 00:00+00') <> x.bucket_start) THEN
      -- one project, one media or all, buckets of whole minutes: the per-minute rows
      q := 'SELECT r.bucket_start, r.' || CASE WHEN s.kind = 'ccv_average' THEN 'average' ELSE 'peak' END || ' AS metric_value'
           ' FROM @extschema@._ccv_series_from_rollups($3[1], $4[1], ' || CASE WHEN uv THEN 'true' ELSE 'false' END
           || ', $1, $2, $17, $18) r';
    ELSIF s.kind LIKE 'ccv%' THEN
      -- one sort and one sweep of the watch intervals of the whole period,
      -- crossing the bucket bounds as it goes (_ccv_series, src/ccv.c): each
      -- bucket, clipped to the period, gets what ccv over it gives
      q := 'WITH b AS MATERIALIZED (SELECT x.bucket_start, greatest(x.bucket_start, $1) AS pfrom,'
           ' pg_catalog.row_number() OVER (ORDER BY x.bucket_start) AS n'
           ' FROM @extschema@.time_buckets($17, $1, $2, $18) x)'
           ' SELECT b.bucket_start, coalesce(r.v[b.n * 2 - ' || CASE WHEN s.kind = 'ccv_average' THEN '0' ELSE '1' END
           || '], 0) AS metric_value FROM b, (SELECT ' || @extschema@._ccv_series_expr(uv,
                '(SELECT pg_catalog.array_append(pg_catalog.array_agg(b.pfrom ORDER BY b.n), $2) FROM b)')
           || ' AS v FROM @extschema@.events e WHERE ' || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ') r';
    ELSE
      IF coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on' THEN
        dim := @extschema@._rollup_dim(s, f, NULL);
      END IF;
      -- rollup rows fall into one bucket each only when every bucket boundary
      -- is a whole UTC hour (day rows: a whole UTC day; week rows: a Monday)
      IF dim IS NOT NULL AND bucket <> 'minute' AND tz = 'UTC' THEN
        -- UTC hours, days, weeks (from Monday) and months (from a day)
        tier := CASE bucket WHEN 'hour' THEN 'hour' WHEN 'week' THEN 'week' ELSE 'day' END;
      ELSIF dim IS NOT NULL AND bucket <> 'minute' THEN
        SELECT CASE WHEN NOT bool_and(pg_catalog.date_bin('1 hour', b.t, '2000-01-01 00:00+00') = b.t) THEN NULL
                    WHEN bucket = 'hour' OR NOT bool_and(pg_catalog.date_bin('1 day', b.t, '2000-01-01 00:00+00') = b.t) THEN 'hour'
                    WHEN bool_and(pg_catalog.date_bin('7 days', b.t, '2000-01-03 00:00+00') = b.t) THEN 'week'
                    ELSE 'day' END INTO tier
          FROM @extschema@.time_buckets(bucket, p.from_out, p.to_out, tz) x,
               LATERAL (VALUES (x.bucket_start), (x.bucket_end)) b(t);
      END IF;
      IF tier IS NOT NULL THEN
        rp := @extschema@._plan_cover(p.from_out, p.to_out, tier, dim = 0, dim, projects);
        q := 'SELECT b.bucket_start, coalesce(v.metric_value, $19) AS metric_value'
             ' FROM @extschema@.time_buckets($17, $1, $2, $18) b LEFT JOIN ('
             'SELECT @extschema@.time_bucket($17, x.t, $18) AS bucket_start,'
             ' ' || @extschema@._merged_metric(s) || ' AS metric_value FROM ('
             || @extschema@._stats_rows(s, f, projects, dim, NULL, true, rp) || ') x GROUP BY 1 HAVING '
             || @extschema@._merged_having(s)
             || ') v USING (bucket_start)';
      ELSE
      q := 'SELECT b.bucket_start, coalesce(v.metric_value, $19) AS metric_value'
           ' FROM @extschema@.time_buckets($17, $1, $2, $18) b LEFT JOIN ('
           'SELECT @extschema@.time_bucket($17, e.emitted_at, $18) AS bucket_start, '
           || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
           || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1) v USING (bucket_start)';
      END IF;
    END IF;
    IF rp.raw_from IS NOT NULL THEN
      -- the rollup query: a kept plan per query text
      RETURN QUERY SELECT x.bucket_start, x.metric_value
        FROM @extschema@._kept_query('SELECT bucket_start, metric_value FROM (' || q || ') r ORDER BY ' || ord, projects IS NOT NULL AND @extschema@._cover_raw_minutes(rp) <= 10,
               p.from_out, p.to_out, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
               f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
               s.sm_metric, s.sm_aggregation, s.view_duration, bucket, tz, s.empty_value,
               rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
               rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
               rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to)
             x(bucket_start timestamptz, metric_value double precision);
    ELSE
      RETURN QUERY EXECUTE 'SELECT bucket_start, metric_value FROM (' || q || ') r ORDER BY ' || ord
        USING p.from_out, p.to_out, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
              f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
              s.sm_metric, s.sm_aggregation, s.view_duration, bucket, tz, s.empty_value;
    END IF;
    PERFORM @extschema@._call_end(owner, 'analytics.timeseries()');
  EXCEPTION WHEN query_canceled THEN
    PERFORM @extschema@._call_timed_out('analytics.timeseries()');
    RAISE;
  END;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.api_request(uri text, project_id text DEFAULT NULL,
                                        OUT status integer, OUT body jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  r jsonb;
  metric text;
  filter jsonb;
  uniq boolean := false;
  link_params text[];
  err_name text;
  err_message text;
  err_hint text;
  owner boolean;
BEGIN
  r := @extschema@._route(coalesce(uri, ''));
  status := (r->>'status')::integer;
  IF status = 404 THEN
    body := @extschema@._problem(404);
    RETURN;
  ELSIF status <> 200 THEN
    body := @extschema@._problem(400, r->>'name', r->>'detail');
    RETURN;
  END IF;

  metric := r->>'metric';
  SELECT coalesce(array_agg(x ORDER BY i), ARRAY[]::text[]) INTO link_params
    FROM jsonb_array_elements(r->'params') WITH ORDINALITY AS p(pair, n),
         LATERAL (VALUES (2 * n - 1, pair->>0), (2 * n, pair->>1)) AS kv(i, x);

  BEGIN
    -- the bound on one call's work covers the whole request (src/callbound.c)
    owner := @extschema@._call_begin();
    BEGIN
      IF r->>'filterBy' IS NOT NULL THEN
        BEGIN
          filter := (r->>'filterBy')::jsonb;
        EXCEPTION WHEN data_exception THEN
          PERFORM @extschema@._invalid('filterBy', 'invalid filterBy: not a JSON object',
                                       'Use filterBy[key]=value, filterBy[key][]=value or a JSON object.');
        END;
      END IF;
      IF r->>'unique' IS NOT NULL THEN
        IF r->>'unique' NOT IN ('true', 'false') THEN
          PERFORM @extschema@._invalid('unique', format('invalid unique: "%s"', left(r->>'unique', 100)),
                                       'unique is true or false.');
        END IF;
        IF metric NOT IN ('view', 'ccv', 'ccv-peak', 'ccv-average') THEN
          PERFORM @extschema@._invalid('unique', format('unique does not apply to metric "%s"', metric),
                                       'unique applies to the view and ccv metrics only.');
        END IF;
        uniq := (r->>'unique') = 'true';
      END IF;

      CASE r->>'endpoint'
        WHEN 'metrics' THEN
          body := @extschema@.api_metrics(metric, r->>'aggregation',
                    @extschema@._rest_timestamp('from', r->>'from'), @extschema@._rest_timestamp('to', r->>'to'),
                    filter, uniq, r->>'viewDuration', project_id);
        WHEN 'buckets' THEN
          body := @extschema@._api_buckets(metric, r->>'breakdown',
                    @extschema@._rest_timestamp('from', r->>'from'), @extschema@._rest_timestamp('to', r->>'to'),
                    filter, coalesce(r->>'sortBy', 'metricValue'), coalesce(r->>'sortOrder', 'desc'),
                    coalesce(@extschema@._rest_integer('currentPage', r->>'currentPage'), 1),
                    coalesce(@extschema@._rest_integer('pageSize', r->>'pageSize'), 25),
                    uniq, r->>'viewDuration', project_id, r->>'aggregation', r->>'path', link_params);
        ELSE
          body := @extschema@._api_timeseries(metric,
                    @extschema@._rest_timestamp('from', r->>'from'), @extschema@._rest_timestamp('to', r->>'to'),
                    r->>'interval', filter, coalesce(r->>'sortBy', 'emittedAt'), coalesce(r->>'sortOrder', 'asc'),
                    coalesce(@extschema@._rest_integer('currentPage', r->>'currentPage'), 1),
                    coalesce(@extschema@._rest_integer('pageSize', r->>'pageSize'), 25),
                    uniq, r->>'viewDuration', project_id, r->>'aggregation',
                    coalesce(r->>'timeZone', 'UTC'), r->>'path', link_params);
      END CASE;
    EXCEPTION WHEN query_canceled THEN
      PERFORM @extschema@._call_timed_out('analytics.api_request()');
      RAISE;
    END;
    PERFORM @extschema@._call_end(owner, 'analytics.api_request()');
    status := 200;
  EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
    GET STACKED DIAGNOSTICS err_name = COLUMN_NAME, err_message = MESSAGE_TEXT, err_hint = PG_EXCEPTION_HINT;
    status := 400;
    body := @extschema@._problem(400, nullif(err_name, ''),
                                 err_message || CASE WHEN coalesce(err_hint, '') <> '' THEN '. ' || err_hint ELSE '' END);
  WHEN configuration_limit_exceeded THEN
    -- analytics.max_call_time (or another configured limit) stopped the call
    GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT, err_hint = PG_EXCEPTION_HINT;
    status := 503;
    body := @extschema@._problem(503, NULL,
                                 err_message || CASE WHEN coalesce(err_hint, '') <> '' THEN '. ' || err_hint ELSE '' END);
  END;
END $$;
COMMENT ON FUNCTION @extschema@.api_request(text, text) IS
    'answers a REST call (path and query string): status 200 with the body, 400 or 404 with an RFC 7807 problem, 503 when analytics.max_call_time stopped it';



-- @@ dump and restore @@
--
-- pg_dump and pg_restore of a database with the extension (README:
-- "Backup and restore"). A restore runs CREATE EXTENSION, which creates the
-- extension's own tables empty, then the dump's own objects and rows.
--
-- 1. The BRIN index on emitted_at belongs to each partition, not to the
--    parent. A partitioned index on analytics.events (a table of the
--    extension, created by CREATE EXTENSION before the dump's partitions)
--    made every ATTACH PARTITION of a restore build the partition's index,
--    and the dump's own CREATE INDEX of it then failed ("relation ... already
--    exists"). Maintenance gives each partition it creates its index before
--    attaching it; the event trigger below gives one to partitions made by
--    hand; events_default has its own (created here, so by CREATE EXTENSION).
--    An existing install: the partitioned index goes, each partition gets a
--    plain BRIN index with the same name, method and options.
DROP INDEX IF EXISTS @extschema@.events_emitted_at_brin;
DO $$
DECLARE
  p regclass;
BEGIN
  FOR p IN SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
            WHERE t.isleaf ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('CREATE INDEX ON %s USING brin (emitted_at) WITH (pages_per_range = 16, autosummarize = on)', p);
  END LOOP;
END $$;

-- Whether this session is restoring a dump: pg_dump's scripts and
-- pg_restore run with row_security = off (so that no row of a table with
-- row-level security is skipped silently); applications do not.
CREATE FUNCTION @extschema@._restoring()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off' $$;
COMMENT ON FUNCTION @extschema@._restoring() IS
    'true in a session that restores a dump (row_security = off, as pg_dump''s scripts and pg_restore set it): DDL triggers then leave to the dump what it restores itself';

-- A partition of analytics.events without a BRIN index on emitted_at gets
-- one (CREATE TABLE ... PARTITION OF, ATTACH PARTITION, a sub-partition),
-- except in a restore: the dump creates the index itself, after attaching.
CREATE FUNCTION @extschema@._events_brin()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p regclass;
BEGIN
  IF @extschema@._restoring() OR pg_catalog.to_regclass('@extschema@.events') IS NULL THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() c,
                               pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
                  WHERE c.classid = 'pg_catalog.pg_class'::regclass AND c.objid = t.relid) THEN
    RETURN;
  END IF;
  FOR p IN SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
            WHERE t.isleaf
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index x
                                JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
                                JOIN pg_catalog.pg_am a ON a.oid = ic.relam
                                JOIN pg_catalog.pg_attribute att ON att.attrelid = x.indrelid AND att.attnum = x.indkey[0]
                               WHERE x.indrelid = t.relid AND a.amname = 'brin' AND att.attname = 'emitted_at')
            ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('CREATE INDEX ON %s USING brin (emitted_at) WITH (pages_per_range = 16, autosummarize = on)', p);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION @extschema@._events_brin() FROM PUBLIC;
CREATE EVENT TRIGGER analytics_events_brin ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
  EXECUTE FUNCTION @extschema@._events_brin();

-- 2. What pg_dump dumps of the extension's tables. Dumped (user data, or
--    state that cannot be rebuilt): events_default, media, play_totals,
--    settings, project_grants (since 0.1/0.2), and now ping_sessions (the
--    state of playbacks in progress) and secrets (the viewer id key: without
--    it a viewer pinged before and after a restore counts twice). Rebuilt,
--    not dumped: the rollups and rollup_pending (every restored row marks its
--    hour pending, and maintenance re-aggregates it), rollup_partitions (the
--    event trigger lists each partition as the restore attaches it).
--    No sequences: every table of the extension has a natural key.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ping_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.secrets', '');

-- CREATE EXTENSION generates a viewer id key; the restored row must win over
-- it, not fail on the primary key: a row inserted under an existing name
-- replaces it.
CREATE FUNCTION @extschema@._secrets_replace()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  DELETE FROM @extschema@.secrets s WHERE s.name OPERATOR(pg_catalog.=) NEW.name;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION @extschema@._secrets_replace() FROM PUBLIC;
CREATE TRIGGER secrets_replace BEFORE INSERT ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@._secrets_replace();

-- 3. No maintenance on a half-restored database. A plain-format restore
--    commits statement by statement: between CREATE EXTENSION and the last
--    row, maintenance would create partitions the dump is about to create,
--    or drop and archive partitions under the default retention before the
--    dump's setting arrives. A restoring session (see _restoring) holds the
--    session-level advisory lock (6385249, 9) from CREATE EXTENSION until it
--    disconnects; maintenance skips the database while another session
--    holds it (src/maintenance.c). run_maintenance() in the session itself
--    releases it.
DO $$
BEGIN
  IF @extschema@._restoring() THEN
    PERFORM pg_catalog.pg_advisory_lock(6385249, 9);
  END IF;
END $$;



-- @@ search_path: every function of the extension pinned (keep this section last) @@

-- No function of the extension resolves a name through its caller's
-- search_path (README: Tenancy, "search_path: nothing resolves through the
-- caller's path"). A role that can create objects in a schema on another
-- role's search_path (public on clusters created before PostgreSQL 15, a
-- tenant's own schema) could otherwise plant public.array_agg(text), a
-- "="(text, text) or a type named text, and run its code as the next
-- administrator who calls analytics.metric or api_request. The rule, for
-- every function of the extension, including those replaced or added by the
-- sections above (this section runs last and looks at the catalog, not at a
-- list):
--   * PL/pgSQL functions (event trigger and trigger functions included) and
--     C functions that run SQL (SPI, or a call of another function that does)
--     get SET search_path = pg_catalog, pg_temp: pg_catalog first, pg_temp
--     last and explicit (else it would be searched first for tables), and
--     nothing else: the bodies name the extension's own objects with their
--     schema already (they ran under any caller's path until now), and
--     messages keep naming them analytics.x (regclass and regprocedure
--     leave out the schemas on the path). Every statement they run,
--     EXECUTE'd text, kept plans of _kept_query and SPI statements included,
--     is parsed with that path. The SECURITY DEFINER parts and the
--     maintenance worker had that path already.
--   * SQL-language functions get an SQL-standard body (BEGIN ATOMIC):
--     parsed once, here, with the path of the extension script (pg_catalog
--     first); the stored body names every function, operator and type by
--     its oid. They stay inlinable (_json_number runs per row; a SET clause
--     would stop inlining and make every call plan its body again).
--   * C functions that run no SQL at all (aggregate support functions,
--     parsers, time buckets, the row-level security and table AM helpers:
--     per-row paths) get nothing: there is nothing to resolve, and a SET
--     clause costs a GUC save and restore per call (5-7 us measured). They
--     are listed below, with the one per-row trigger that runs only
--     schema-qualified SQL; a C function missing from the list is pinned.
-- The regression test search_path checks the catalog against this rule and
-- calls every public function with a hostile schema first on the path.
-- Future upgrade scripts: CREATE OR REPLACE drops a function's SET clause,
-- so end every upgrade script with this block again.
DO $pin$
DECLARE
  -- C functions that run no SQL (their symbol in the library)
  no_sql constant text[] := ARRAY[
    'analytics_event_stats_transfn', 'analytics_event_stats_merge_transfn', 'analytics_event_stats_combine',
    'analytics_event_stats_serialize', 'analytics_event_stats_deserialize', 'analytics_event_stats_final',
    'analytics_event_stats_negate', 'analytics_stats_metric',                          -- stats.c
    'analytics_ccv_transfn_uuid', 'analytics_ccv_transfn_bigint', 'analytics_ccv_combine',
    'analytics_ccv_serialize', 'analytics_ccv_deserialize', 'analytics_ccv_final',     -- ccv.c
    'analytics_time_bucket', 'analytics_time_buckets', 'analytics_to_iso8601',
    'analytics_default_interval',                                                      -- timebucket.c
    'analytics_route', 'analytics_link',                                               -- api.c (REST parsing)
    'analytics_parse_user_agent', 'analytics_continent_of', 'analytics_geoip_country_sql', -- parsers, GeoIP file
    'analytics_rollup_cover', 'analytics_ranges_sql', 'analytics_cover_raw_minutes',   -- plan.c (text, no SQL run)
    'analytics_heap_handler', 'analytics_rollup_own_pending',                          -- rollup.c (table AM)
    'analytics_my_projects', 'analytics_my_scope', 'analytics_my_project', 'analytics_is_admin', -- policies (catalog scans)
    'analytics_grants_changed',                                                        -- trigger: bumps a counter
    -- the one exception: the INSTEAD OF row trigger of analytics.events_import
    -- runs SQL (the batch INSERT, every 4096 rows) but is called per row, and
    -- a SET clause there costs a third more per row (50,000 rows: 450 ms
    -- without, 620 ms with). Its statement names everything with its schema
    -- (INSERT INTO analytics.events ... FROM pg_catalog.unnest($1): no
    -- operator, no cast, no unqualified name) and must stay so; the
    -- statement-level trigger _import_flush is pinned.
    'analytics_import_row',
    -- per row and run no SQL: the emitted_at range check (the CHECK
    -- constraint calls it for every row) and the ccv series aggregate
    'analytics_check_emitted_at', 'analytics_ccv_series_transfn_uuid',
    'analytics_ccv_series_transfn_bigint', 'analytics_ccv_series_final'
  ];
  ext oid := (SELECT e.oid FROM pg_catalog.pg_extension e
               WHERE e.extnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
                 AND e.extname OPERATOR(pg_catalog.~~) 'analytics%');
  f record;
  def text;
  head text;
  tail text;
BEGIN
  FOR f IN
    SELECT p.oid, p.oid::pg_catalog.regprocedure AS sig, l.lanname, p.prosrc
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
      JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
       AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid OPERATOR(pg_catalog.=) ext AND d.deptype OPERATOR(pg_catalog.=) 'e'
       AND p.prokind OPERATOR(pg_catalog.<>) 'a'                 -- aggregates: their support functions count
       AND p.prosqlbody IS NULL                                  -- SQL-standard bodies are resolved already
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c
                        WHERE c OPERATOR(pg_catalog.~~) 'search\_path=%')
     ORDER BY p.oid
  LOOP
    IF f.lanname OPERATOR(pg_catalog.=) 'sql' THEN
      -- the same definition with the body as BEGIN ATOMIC ... END
      def := pg_catalog.pg_get_functiondef(f.oid);
      head := pg_catalog.substr(def, 1, pg_catalog.strpos(def, E'\nAS $function$'));
      tail := pg_catalog.substr(def, pg_catalog.length(head) OPERATOR(pg_catalog.+) 1);
      IF pg_catalog.strpos(def, E'\nAS $function$') OPERATOR(pg_catalog.=) 0
         OR tail OPERATOR(pg_catalog.<>) pg_catalog.concat('AS $function$', f.prosrc, E'$function$\n') THEN
        RAISE EXCEPTION 'cannot give % an SQL-standard body: unexpected definition', f.sig;
      END IF;
      EXECUTE pg_catalog.concat(head, E'BEGIN ATOMIC\n', f.prosrc, E'\n;\nEND');
    ELSIF f.lanname OPERATOR(pg_catalog.=) 'internal'
       OR (f.lanname OPERATOR(pg_catalog.=) 'c' AND f.prosrc OPERATOR(pg_catalog.=) ANY (no_sql)) THEN
      NULL;
    ELSE
      EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f.sig);
    END IF;
  END LOOP;
END
$pin$;

-- @@ begin api in C (he) @@
--
-- The JSON API in C (src/rest.c): api_request routes the URI (src/uri.c),
-- checks the values, calls analytics.metric, breakdown and timeseries
-- through kept plans that name them with the extension's schema, and builds
-- the bodies and the RFC 7807 problems as jsonb; it runs the request in a
-- subtransaction (a 400 for an invalid argument, SQLSTATE class 22 or 54;
-- a 503 when analytics.max_call_time stopped it). They run SQL (SPI), so
-- they are pinned like the other functions that do (this block comes after
-- the search_path section). Their PL/pgSQL and SQL helpers go.
CREATE OR REPLACE FUNCTION @extschema@.api_metrics(metric text, aggregation text,
                                        from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                        filter_by jsonb DEFAULT NULL,
                                        unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                        project_id text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_api_metrics'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.api_metrics(text, text, timestamptz, timestamptz, jsonb, boolean, text, text) IS
    'the body of GET /data/metrics/{metric}/{aggregation}';

CREATE OR REPLACE FUNCTION @extschema@.api_buckets(metric text, breakdown text,
                                        from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                        filter_by jsonb DEFAULT NULL,
                                        sort_by text DEFAULT 'metricValue', sort_order text DEFAULT 'desc',
                                        current_page integer DEFAULT 1, page_size integer DEFAULT 25,
                                        unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                        project_id text DEFAULT NULL, aggregation text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_api_buckets'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.api_buckets(text, text, timestamptz, timestamptz, jsonb, text, text, integer, integer, boolean, text, text, text) IS
    'the body of GET /data/buckets/{metric}/{breakdown}';

CREATE OR REPLACE FUNCTION @extschema@.api_timeseries(metric text,
                                           from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                           "interval" text DEFAULT NULL, filter_by jsonb DEFAULT NULL,
                                           sort_by text DEFAULT 'emittedAt', sort_order text DEFAULT 'asc',
                                           current_page integer DEFAULT 1, page_size integer DEFAULT 25,
                                           unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                           project_id text DEFAULT NULL, aggregation text DEFAULT NULL,
                                           time_zone text DEFAULT 'UTC')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_api_timeseries'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.api_timeseries(text, timestamptz, timestamptz, text, jsonb, text, text, integer, integer, boolean, text, text, text, text) IS
    'the body of GET /data/timeseries/{metric}';

CREATE OR REPLACE FUNCTION @extschema@.api_request(uri text, project_id text DEFAULT NULL,
                                        OUT status integer, OUT body jsonb)
AS 'MODULE_PATHNAME', 'analytics_api_request'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.api_request(text, text) IS
    'answers a REST call (path and query string): status 200 with the body, 400 or 404 with an RFC 7807 problem, 503 when analytics.max_call_time stopped it';

DROP FUNCTION @extschema@._api_buckets(text, text, timestamptz, timestamptz, jsonb, text, text, integer, integer,
                                       boolean, text, text, text, text, text[]);
DROP FUNCTION @extschema@._api_timeseries(text, timestamptz, timestamptz, text, jsonb, text, text, integer, integer,
                                          boolean, text, text, text, text, text, text[]);
DROP FUNCTION @extschema@._paginate(jsonb, integer, integer, text, text[]);
DROP FUNCTION @extschema@._rest_timestamp(text, text);
DROP FUNCTION @extschema@._rest_integer(text, text);
DROP FUNCTION @extschema@._json_number(double precision, boolean);
DROP FUNCTION @extschema@._timeframe(timestamptz, timestamptz, text);
DROP FUNCTION @extschema@._problem(integer, text, text);
-- @@ end api in C (he) @@
