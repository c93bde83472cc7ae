-- EXPLAIN ANALYZE is no side channel (issue 15, item 4): the tenant policy
-- is an index condition, so a tenant's scan through an index that starts
-- with project_id reads only the rows of its projects, even when it forces
-- index scans and puts another project's values in its conditions (under
-- the 0.5 CASE policy those conditions were the index condition and the
-- policy a filter: "Rows Removed by Filter" counted the other project's
-- matching rows). Projects x4a (the tenant's) and x4b (another one, with
-- "secret" media ids), hand-built rows with known counts.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE ROLE regress_x4_a;
CREATE ROLE regress_x4_ab;
SELECT analytics.grant_project('regress_x4_a', 'x4a'),
       analytics.grant_project('regress_x4_ab', 'x4a'), analytics.grant_project('regress_x4_ab', 'x4c');

-- the policies: one for everyone, indexable; one for analytics_admin
SELECT p.polname, p.polpermissive, p.polcmd, p.polroles::regrole[] AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr
  FROM pg_policy p WHERE p.polrelid = 'analytics.events'::regclass ORDER BY 1;
-- every table with a project_id column has exactly these two
SELECT count(*) >= 10 AS tables_checked,
       coalesce(string_agg(c.oid::regclass::text, ', ') FILTER (WHERE NOT analytics._has_tenant_policies(c.oid)), 'none') AS other_policies
  FROM pg_class c
 WHERE c.relkind IN ('r', 'p') AND c.oid <> 'analytics.project_grants'::regclass
   AND (c.relnamespace = 'analytics'::regnamespace
        OR c.oid IN (SELECT relid FROM pg_partition_tree('analytics.events')))
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'project_id');

-- 3 media of x4a, 40 of x4b (5 of them "secret_..."), in the catalogue,
-- the archived plays and a week rollup (dimension 7, a week of 2031, with
-- 3000 more values of x4b)
INSERT INTO analytics.media (project_id, media_id)
SELECT 'x4a', 'mine_' || i FROM generate_series(1, 3) i
UNION ALL SELECT 'x4b', 'secret_' || i FROM generate_series(1, 5) i
UNION ALL SELECT 'x4b', 'other_' || i FROM generate_series(1, 35) i;
INSERT INTO analytics.play_totals (project_id, media_id, media_type, plays)
SELECT project_id, media_id, 'video', 10 FROM analytics.media WHERE project_id IN ('x4a', 'x4b');
INSERT INTO analytics.rollup_week (project_id, dim, bucket, value, media_type, stats)
SELECT project_id, 7, '2031-02-03 00:00+00', media_id, 'video', '{1}' FROM analytics.media WHERE project_id IN ('x4a', 'x4b');
INSERT INTO analytics.rollup_week (project_id, dim, bucket, value, media_type, stats)
SELECT 'x4b', 7, '2031-02-03 00:00+00', 'more_' || i, 'video', '{1}' FROM generate_series(1, 3000) i;
-- events: a day partition (made by hand, holding nothing else) with 6
-- x4a events and 20 x4b events of secret_1
CREATE TABLE analytics.events_p20310301 PARTITION OF analytics.events
  FOR VALUES FROM ('2031-03-01 00:00+00') TO ('2031-03-02 00:00+00') USING analytics_heap;
CREATE TEMP TABLE x4_t AS SELECT '2031-03-01 10:00+00'::timestamptz AS t;
GRANT SELECT ON x4_t TO PUBLIC;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT p, (SELECT t FROM x4_t) + n * interval '1 second', 'play', m
  FROM (VALUES ('x4a', 'mine_1', 6), ('x4b', 'secret_1', 20)) d(p, m, k), generate_series(1, k) n;
SELECT partition AS x4_part FROM analytics.partitions()
 WHERE NOT is_default AND from_ts <= (SELECT t FROM x4_t) AND (SELECT t FROM x4_t) < to_ts \gset
CREATE TEMP TABLE x4_part AS SELECT :'x4_part'::text AS part;
GRANT SELECT ON x4_part TO PUBLIC;
ANALYZE analytics.media, analytics.play_totals, analytics.rollup_week;

-- one EXPLAIN (ANALYZE, FORMAT JSON): the rows returned, the rows removed
-- (by a filter, a join filter or an index recheck) and the index conditions
-- of the plan, summed over its nodes. PostgreSQL 17 names the output of an
-- initplan (InitPlan 1).col1 where 15 prints $0: written here as 15 does;
-- 18 prints row counts with two decimals (read through numeric)
CREATE FUNCTION pg_temp.explained(q text, OUT returned bigint, OUT removed bigint, OUT index_conds text)
LANGUAGE plpgsql AS $$
DECLARE
  plan jsonb;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || q INTO plan;
  WITH RECURSIVE n(node) AS (SELECT plan->0->'Plan'
                             UNION ALL SELECT c FROM n, jsonb_array_elements(n.node->'Plans') c)
  SELECT (SELECT (plan->0->'Plan'->>'Actual Rows')::numeric::bigint),
         sum(coalesce((node->>'Rows Removed by Filter')::numeric::bigint, 0)
             + coalesce((node->>'Rows Removed by Index Recheck')::numeric::bigint, 0)
             + coalesce((node->>'Rows Removed by Join Filter')::numeric::bigint, 0)),
         string_agg(regexp_replace(node->>'Index Cond', '\(InitPlan 1\)\.col1', '$0', 'g'), ' / ')
    INTO returned, removed, index_conds FROM n;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.explained(text) TO PUBLIC;

-- as the tenant, forcing index scans (as an attacker would) and asking for
-- the other project's values: nothing returned, nothing removed, and the
-- policy (project_id = ANY ($0)) is part of every index condition
SET ROLE regress_x4_a;
SET enable_seqscan = off;
SELECT q AS query, e.*
  FROM (VALUES
    ($$SELECT * FROM analytics.media WHERE media_id = 'secret_1'$$),
    ($$SELECT * FROM analytics.media WHERE media_id >= 'secret_' AND media_id < 'secret`'$$),
    ($$SELECT * FROM analytics.media WHERE project_id = 'x4b' AND media_id >= 's'$$),
    ($$SELECT * FROM analytics.play_totals WHERE media_id >= 'secret_' AND media_id < 'secret`'$$),
    ($$SELECT * FROM analytics.play_totals WHERE media_id = 'secret_3' AND media_type = 'video'$$),
    ($$SELECT * FROM analytics.rollup_week WHERE project_id = 'x4b' AND dim = 7 AND value >= 's'$$)
  ) AS a(q), pg_temp.explained(q) e;
-- rollup_week also has the refresh's (dim, bucket) index. Through
-- rollup_week_value_idx (project_id, dim, value) the policy is part of the
-- index condition (nothing removed); through (dim, bucket), when the
-- planner prefers it, the scan reads dimension 7 of every project and the
-- policy removes the others' rows: then the count removed is all the
-- dimension's rows but the tenant's matching ones, whatever the value asked
-- for. Either way no value of another project shows.
RESET ROLE;
SELECT count(*) AS x4_dim7_rows FROM analytics.rollup_week WHERE dim = 7 AND bucket = '2031-02-03 00:00+00' \gset
CREATE TEMP TABLE x4_dim7 AS SELECT :x4_dim7_rows::bigint AS n;
GRANT SELECT ON x4_dim7 TO PUBLIC;
SET ROLE regress_x4_a;
SET enable_seqscan = off;
SELECT q AS query, e.returned,
       CASE WHEN e.removed = 0 AND e.index_conds LIKE '%project_id = ANY ($0)%' THEN 'none: the policy is in the index condition'
            WHEN e.removed = (SELECT n FROM x4_dim7) - e.returned THEN 'every other row of the dimension, whatever the value'
            ELSE 'depends on the value: ' || e.removed END AS removed
  FROM (VALUES
    ($$SELECT * FROM analytics.rollup_week WHERE dim = 7 AND value >= 'secret_' AND value < 'secret`'$$),
    ($$SELECT * FROM analytics.rollup_week WHERE dim = 7 AND value = 'secret_2'$$),
    ($$SELECT * FROM analytics.rollup_week WHERE dim = 7 AND value = 'mine_2'$$),
    ($$SELECT * FROM analytics.rollup_week WHERE dim = 7 AND value = 'nobody_has_it'$$)
  ) AS a(q), pg_temp.explained(q) e;
-- its own rows the same way: returned, still nothing removed
SELECT q AS query, e.*
  FROM (VALUES
    ($$SELECT * FROM analytics.media WHERE media_id >= 'm'$$),
    ($$SELECT * FROM analytics.play_totals WHERE media_id >= 'm'$$)
  ) AS a(q), pg_temp.explained(q) e;
-- a day partition of events has no index on project_id (a BRIN index on
-- emitted_at): its scan reads the period's blocks and the policy removes
-- the other project's rows, but the count never depends on the tenant's
-- conditions on other values: the other project's media id and an unknown
-- one remove the same 26 - 0 rows, and the tenant's own 6 rows come back
SELECT replace(q, 'PART', 'day partition') AS query, e.returned, e.removed
  FROM (VALUES
    ($$SELECT * FROM PART WHERE media_id = 'secret_1'$$),
    ($$SELECT * FROM PART WHERE media_id = 'nothing_such'$$),
    ($$SELECT * FROM PART WHERE media_id = 'mine_1'$$)
  ) AS a(q), pg_temp.explained(replace(q, 'PART', (SELECT part FROM x4_part)) ||
                               format(' AND emitted_at >= %L AND emitted_at < %L',
                                      (SELECT t FROM x4_t), (SELECT t FROM x4_t) + interval '1 minute')) e;
RESET enable_seqscan;
RESET ROLE;

-- the answers: each tenant reads its rows only (x4a: 3 media, 30 plays,
-- 3 rollup rows, 6 events; x4c has none; x4b: 40, 400, 3040, 20)
CREATE FUNCTION pg_temp.counts(OUT media bigint, OUT plays bigint, OUT rollup_rows bigint, OUT events bigint,
                               OUT partition_events bigint, OUT projects text)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT count(*) INTO media FROM analytics.media WHERE project_id LIKE 'x4%';
  SELECT sum(p.plays) INTO plays FROM analytics.play_totals p WHERE project_id LIKE 'x4%';
  SELECT count(*) INTO rollup_rows FROM analytics.rollup_week WHERE dim = 7 AND bucket = '2031-02-03 00:00+00';
  SELECT count(*) INTO events FROM analytics.events WHERE project_id LIKE 'x4%';
  EXECUTE format('SELECT count(*) FROM %s WHERE project_id LIKE ''x4%%''', (SELECT part FROM x4_part)) INTO partition_events;
  SELECT string_agg(DISTINCT project_id, ',') INTO projects FROM analytics.media WHERE project_id LIKE 'x4%';
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.counts() TO PUBLIC;
SELECT 'owner' AS who, * FROM pg_temp.counts();
SET ROLE regress_x4_a;
SELECT 'x4a' AS who, * FROM pg_temp.counts();
-- writes: its own project only
\set VERBOSITY terse
INSERT INTO analytics.media (project_id, media_id) VALUES ('x4b', 'planted');
INSERT INTO analytics.media (project_id, media_id) VALUES ('x4a', 'mine_4');
\set VERBOSITY default
-- the setting narrows (to nothing for a project it lacks)
SET analytics.project_id = 'x4b';
SELECT 'x4a as x4b' AS who, * FROM pg_temp.counts();
RESET analytics.project_id;
-- two projects: both, through the same index conditions
SET ROLE regress_x4_ab;
SELECT 'x4a+x4c' AS who, * FROM pg_temp.counts();
SET enable_seqscan = off;
SELECT e.* FROM pg_temp.explained($$SELECT * FROM analytics.media WHERE media_id >= 'secret_' AND media_id < 'secret`'$$) e;
RESET enable_seqscan;
RESET ROLE;

-- members of analytics_admin (the extension creates the role) pass
-- admin_rows: every project; the setting narrows them too
SELECT rolcanlogin FROM pg_roles WHERE rolname = 'analytics_admin';
CREATE ROLE regress_x4_admin IN ROLE analytics_admin;
GRANT USAGE ON SCHEMA analytics TO regress_x4_admin;
GRANT SELECT ON analytics.media, analytics.play_totals, analytics.rollup_week, analytics.events TO regress_x4_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO regress_x4_admin;
SET ROLE regress_x4_admin;
SELECT 'admin' AS who, * FROM pg_temp.counts();
SET analytics.project_id = 'x4b';
SELECT 'admin as x4b' AS who, * FROM pg_temp.counts();
RESET analytics.project_id;
RESET ROLE;

-- clean up
DELETE FROM analytics.events WHERE project_id LIKE 'x4%';
DROP TABLE analytics.events_p20310301;
DELETE FROM analytics.rollup_week WHERE project_id LIKE 'x4%';
DELETE FROM analytics.play_totals WHERE project_id LIKE 'x4%';
DELETE FROM analytics.media WHERE project_id LIKE 'x4%';
SELECT analytics.revoke_project('regress_x4_a', 'x4a'), analytics.revoke_project('regress_x4_ab', 'x4a'),
       analytics.revoke_project('regress_x4_ab', 'x4c');
REVOKE ALL ON ALL TABLES IN SCHEMA analytics FROM regress_x4_admin;
REVOKE ALL ON SCHEMA analytics FROM regress_x4_admin;
DROP ROLE regress_x4_a;
DROP ROLE regress_x4_ab;
DROP ROLE regress_x4_admin;
