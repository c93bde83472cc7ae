-- Partitions made by hand are no side door (issue 15, item 1): every table
-- that becomes a partition of analytics.events, at any depth, is secured in
-- the same transaction (owner, exactly its parent's privileges, row-level
-- security, the policies tenant_rows and admin_rows), and grant_project
-- never grants on an unsecured table. Two tenants (projects ps1a, ps1b),
-- hand-built rows with known counts in days of 2031.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE ROLE regress_ps_a;
CREATE ROLE regress_ps_b;

-- 1. the README's recipe: CREATE TABLE ... PARTITION OF ... USING analytics_heap
CREATE TABLE analytics.events_p20310101 PARTITION OF analytics.events
  FOR VALUES FROM ('2031-01-01 00:00+00') TO ('2031-01-02 00:00+00') USING analytics_heap;
-- 2. ATTACH of a standalone table that already holds rows, owned by a
-- tenant, on which tenants held privileges (TRUNCATE, TRIGGER, column
-- privileges included)
CREATE TABLE public.regress_ps_standalone (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) USING analytics_heap;
INSERT INTO public.regress_ps_standalone (project_id, emitted_at, event_type, media_id)
SELECT p, '2031-01-02 10:00+00'::timestamptz + n * interval '1 second', 'play', 'standalone'
  FROM (VALUES ('ps1a', 2), ('ps1b', 5)) d(p, k), generate_series(1, k) n;
GRANT ALL ON public.regress_ps_standalone TO regress_ps_a;
GRANT SELECT (media_id, project_id) ON public.regress_ps_standalone TO PUBLIC;
ALTER TABLE public.regress_ps_standalone OWNER TO regress_ps_b;
ALTER TABLE analytics.events ATTACH PARTITION public.regress_ps_standalone
  FOR VALUES FROM ('2031-01-02 00:00+00') TO ('2031-01-03 00:00+00');
-- 3. a sub-partitioned partition: its partitions, and theirs (3 levels)
CREATE TABLE analytics.events_p20310103 PARTITION OF analytics.events
  FOR VALUES FROM ('2031-01-03 00:00+00') TO ('2031-01-04 00:00+00') PARTITION BY RANGE (emitted_at);
CREATE TABLE analytics.events_p20310103_am PARTITION OF analytics.events_p20310103
  FOR VALUES FROM ('2031-01-03 00:00+00') TO ('2031-01-03 12:00+00') USING analytics_heap;
CREATE TABLE analytics.events_p20310103_pm PARTITION OF analytics.events_p20310103
  FOR VALUES FROM ('2031-01-03 12:00+00') TO ('2031-01-04 00:00+00') PARTITION BY LIST (project_id);
CREATE TABLE analytics.events_p20310103_pm_a PARTITION OF analytics.events_p20310103_pm
  FOR VALUES IN ('ps1a') USING analytics_heap;
CREATE TABLE public.regress_ps_pm_rest (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) USING analytics_heap;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON public.regress_ps_pm_rest TO PUBLIC;
ALTER TABLE analytics.events_p20310103_pm ATTACH PARTITION public.regress_ps_pm_rest DEFAULT;

-- refused: a foreign table (no row-level security) and another access method
CREATE FOREIGN DATA WRAPPER regress_ps_fdw;
CREATE SERVER regress_ps_server FOREIGN DATA WRAPPER regress_ps_fdw;
\set VERBOSITY terse
CREATE FOREIGN TABLE analytics.events_p20310104 PARTITION OF analytics.events
  FOR VALUES FROM ('2031-01-04 00:00+00') TO ('2031-01-05 00:00+00') SERVER regress_ps_server;
CREATE TABLE analytics.events_p20310104 PARTITION OF analytics.events
  FOR VALUES FROM ('2031-01-04 00:00+00') TO ('2031-01-05 00:00+00') USING heap;
\set VERBOSITY default
DROP SERVER regress_ps_server;
DROP FOREIGN DATA WRAPPER regress_ps_fdw;

-- the catalog: every member of the tree is owned by the owner of
-- analytics.events, has row-level security, exactly the two policies and
-- its parent's privileges (none were granted yet: nobody else's)
CREATE FUNCTION pg_temp.members() RETURNS TABLE (member text, level int, kind "char", same_owner boolean,
    rls boolean, policies text, privileges text, column_privileges bigint)
LANGUAGE sql AS $$
  SELECT regexp_replace(t.relid::regclass::text, '^(analytics\.)?', ''), t.level, c.relkind,
         c.relowner = (SELECT relowner FROM pg_class WHERE oid = 'analytics.events'::regclass), c.relrowsecurity,
         (SELECT string_agg(p.polname || ' ' || p.polroles::regrole[]::text, ', ' ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid),
         coalesce((SELECT string_agg(a.grantee::regrole::text || ':' || a.privilege_type, ' ' ORDER BY 1)
                     FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner), '-'),
         (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL)
    FROM pg_partition_tree('analytics.events') t JOIN pg_class c ON c.oid = t.relid
   WHERE t.relid::regclass::text ~ '(2031|regress_ps)' ORDER BY t.level, 1
$$;
SELECT * FROM pg_temp.members();

-- grant_project: both tenants get the parent's privileges on every member
SELECT analytics.grant_project('regress_ps_a', 'ps1a'), analytics.grant_project('regress_ps_b', 'ps1b');
SELECT member, privileges FROM pg_temp.members();

-- rows: in each leaf, ps1a and ps1b (a: 1 + 2 + 3 + 4 = 10, b: 6 + 5 + 7 + 8 = 26)
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT p, ts + n * interval '1 second', 'play', 'm'
  FROM (VALUES ('ps1a', '2031-01-01 10:00+00'::timestamptz, 1), ('ps1b', '2031-01-01 10:00+00', 6),
               ('ps1a', '2031-01-03 10:00+00', 3), ('ps1b', '2031-01-03 10:00+00', 7),
               ('ps1a', '2031-01-03 20:00+00', 4), ('ps1b', '2031-01-03 20:00+00', 8)) d(p, ts, k),
       generate_series(1, k) n;
-- what each role reads, table by table: project=rows
CREATE FUNCTION pg_temp.reads(OUT tbl text, OUT seen text) RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
  r regclass;
BEGIN
  FOR r IN SELECT t.relid::regclass FROM pg_partition_tree('analytics.events') t
            WHERE t.relid::regclass::text ~ '(2031|regress_ps)' OR t.level = 0 ORDER BY t.level, 1 LOOP
    tbl := regexp_replace(r::text, '^(analytics\.)?', '');
    EXECUTE format('SELECT coalesce(string_agg(project_id || ''='' || n, '' ''), ''nothing'') FROM
                      (SELECT project_id, count(*) n FROM %s WHERE project_id LIKE ''ps1%%'' GROUP BY 1 ORDER BY 1) x', r)
      INTO seen;
    RETURN NEXT;
  END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.reads() TO PUBLIC;
SELECT * FROM pg_temp.reads();
SET ROLE regress_ps_a;
SELECT * FROM pg_temp.reads();
SET ROLE regress_ps_b;
SELECT * FROM pg_temp.reads();
RESET ROLE;

-- writes into each leaf: a tenant's own project only; what it held on the
-- standalone tables before is gone
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
SET ROLE regress_ps_a;
SELECT w AS attempt, pg_temp.try(w) AS outcome
  FROM (VALUES
    ($$INSERT INTO analytics.events_p20310101 (project_id, emitted_at, event_type, media_id) VALUES ('ps1a', '2031-01-01 11:00+00', 'play', 'w')$$),
    ($$INSERT INTO analytics.events_p20310101 (project_id, emitted_at, event_type, media_id) VALUES ('ps1b', '2031-01-01 11:00+00', 'play', 'w')$$),
    ($$INSERT INTO public.regress_ps_standalone (project_id, emitted_at, event_type, media_id) VALUES ('ps1a', '2031-01-02 11:00+00', 'play', 'w')$$),
    ($$INSERT INTO public.regress_ps_standalone (project_id, emitted_at, event_type, media_id) VALUES ('ps1b', '2031-01-02 11:00+00', 'play', 'w')$$),
    ($$INSERT INTO analytics.events_p20310103 (project_id, emitted_at, event_type, media_id) VALUES ('ps1a', '2031-01-03 11:00+00', 'play', 'w')$$),
    ($$INSERT INTO analytics.events_p20310103_am (project_id, emitted_at, event_type, media_id) VALUES ('ps1b', '2031-01-03 11:00+00', 'play', 'w')$$),
    ($$INSERT INTO analytics.events_p20310103_pm (project_id, emitted_at, event_type, media_id) VALUES ('ps1b', '2031-01-03 21:00+00', 'play', 'w')$$),
    ($$INSERT INTO public.regress_ps_pm_rest (project_id, emitted_at, event_type, media_id) VALUES ('ps1b', '2031-01-03 21:00+00', 'play', 'w')$$),
    ($$TRUNCATE public.regress_ps_standalone$$),
    ($$TRUNCATE public.regress_ps_pm_rest$$),
    ($$DELETE FROM public.regress_ps_standalone$$),
    ($$UPDATE public.regress_ps_pm_rest SET media_id = 'x'$$),
    ($$CREATE TRIGGER t BEFORE INSERT ON public.regress_ps_standalone FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$),
    ($$ALTER TABLE public.regress_ps_standalone DISABLE ROW LEVEL SECURITY$$)
  ) AS a(w);
RESET ROLE;
SELECT * FROM pg_temp.reads();

-- row-level security switched off by hand on a partition comes back at once
ALTER TABLE analytics.events_p20310101 DISABLE ROW LEVEL SECURITY;
SELECT relrowsecurity FROM pg_class WHERE oid = 'analytics.events_p20310101'::regclass;

-- in a session with row_security = off (a restore: pg_dump's scripts set
-- it and bring each partition's policies after attaching it), a new
-- partition gets row-level security and its parent's privileges but no
-- policy: tenants read none of its rows, write none; grant_project then
-- secures it fully before it grants anything
SET row_security = off;
CREATE TABLE analytics.events_p20310105 PARTITION OF analytics.events
  FOR VALUES FROM ('2031-01-05 00:00+00') TO ('2031-01-06 00:00+00') USING analytics_heap;
RESET row_security;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('ps1a', '2031-01-05 10:00+00', 'play', 'm'), ('ps1b', '2031-01-05 10:00+00', 'play', 'm');
SELECT member, rls, policies, privileges FROM pg_temp.members() WHERE member ~ '0105';
SET ROLE regress_ps_a;
SELECT count(*) AS rows_seen FROM analytics.events_p20310105;
SELECT pg_temp.try($$INSERT INTO analytics.events_p20310105 (project_id, emitted_at, event_type, media_id) VALUES ('ps1a', '2031-01-05 11:00+00', 'play', 'w')$$);
RESET ROLE;
-- an administrator's own table with a project_id column in the schema:
-- grant_project secures it too before granting SELECT on it
CREATE TABLE analytics.regress_ps_extra (project_id text, n int);
INSERT INTO analytics.regress_ps_extra VALUES ('ps1a', 1), ('ps1b', 2);
SELECT analytics.grant_project('regress_ps_a', 'ps1a') AS granted_again;
SELECT member, rls, policies, privileges FROM pg_temp.members() WHERE member ~ '0105';
SELECT c.relrowsecurity, analytics._has_tenant_policies(c.oid) AS policies,
       has_table_privilege('regress_ps_a', c.oid, 'SELECT') AS a_select
  FROM pg_class c WHERE c.oid = 'analytics.regress_ps_extra'::regclass;
SET ROLE regress_ps_a;
SELECT (SELECT string_agg(project_id, ',') FROM analytics.events_p20310105) AS partition_rows,
       (SELECT string_agg(project_id || '=' || n, ',') FROM analytics.regress_ps_extra) AS extra_rows;
RESET ROLE;

-- the rollups know the rows that came with the attached table and every
-- leaf: the hours of 2031 are pending (or refreshed)
SELECT count(*) AS leaves_known FROM analytics.rollup_partitions
 WHERE relid::regclass::text ~ '(2031|regress_ps)';

-- clean up (the rows first: their hours become pending and the rollups
-- forget them)
DELETE FROM analytics.events WHERE project_id LIKE 'ps1%';
DROP TABLE analytics.regress_ps_extra;
DROP TABLE analytics.events_p20310101, public.regress_ps_standalone, analytics.events_p20310103, analytics.events_p20310105;
SELECT analytics.revoke_project('regress_ps_a', 'ps1a'), analytics.revoke_project('regress_ps_b', 'ps1b');
DROP ROLE regress_ps_a;
DROP ROLE regress_ps_b;
