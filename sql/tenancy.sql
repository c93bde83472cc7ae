-- Tenants (README, Tenancy): two tenant roles, each granted one project, read only
-- their rows through every function, view, table and partition; writes into
-- the other's project fail; the setting analytics.project_id narrows and
-- never widens; administrative functions refuse them. Hand-built data with
-- known counts in the projects t7a and t7b (other tests' rows are in other
-- projects). Roles are cluster-wide: unique names, dropped at the end.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
SELECT analytics.run_maintenance() IS NOT NULL AS partitions_ready;

CREATE ROLE regress_t7_a;
CREATE ROLE regress_t7_b;
-- a member of regress_t7_a (inherits its projects, like its privileges)
CREATE ROLE regress_t7_a_bi IN ROLE regress_t7_a;
SELECT analytics.grant_project('regress_t7_a', 't7a') AS granted,
       analytics.grant_project('regress_t7_b', 't7b') AS granted,
       analytics.grant_project('regress_t7_a', 't7a') AS granted_again;
SELECT role, project_id FROM analytics.project_grants WHERE role::text LIKE 'regress_t7%' ORDER BY 1, 2;

-- the data: every event 10 minutes ago (one day partition), plays per
-- project and media, impressions, countries
CREATE TEMP TABLE t7_anchor AS SELECT now() - interval '10 minutes' AS t;
GRANT SELECT ON t7_anchor TO PUBLIC;
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, country, continent)
SELECT p, (SELECT t FROM t7_anchor) - n * interval '1 second', ty::analytics.event_type, v, m, c, cont::analytics.continent
  FROM (VALUES ('t7a', 'play', NULL, 'm_a1', 2, 'FR', 'EU'),
               ('t7a', 'play', NULL, 'm_a2', 1, 'FR', 'EU'),
               ('t7a', 'impression', 800, 'm_a1', 4, 'FR', 'EU'),
               ('t7b', 'play', NULL, 'm_b1', 7, 'US', 'NA'),
               ('t7b', 'impression', 200, 'm_b1', 10, 'US', 'NA')) AS d(p, ty, v, m, k, c, cont),
       generate_series(1, k) AS n;
-- archived plays (as if partitions had been dropped) and the catalogue
INSERT INTO analytics.play_totals (project_id, media_id, media_type, plays)
VALUES ('t7a', 'm_a1', 'video', 100), ('t7b', 'm_b1', 'video', 1000);
INSERT INTO analytics.media (project_id, media_id, tags)
VALUES ('t7a', 'm_a1', '{sport}'), ('t7b', 'm_b1', '{sport}');
-- the day partition holding them
SELECT partition AS t7_part FROM analytics.partitions()
 WHERE NOT is_default AND from_ts <= (SELECT t FROM t7_anchor) AND (SELECT t FROM t7_anchor) < to_ts \gset
SELECT count(*) AS rows_in_day_partition FROM :t7_part WHERE project_id IN ('t7a', 't7b');
-- a BI view: security_invoker, so the row-level security of its reader applies
CREATE SCHEMA regress_t7;
CREATE VIEW regress_t7.plays WITH (security_invoker = true) AS
  SELECT project_id, count(*) AS plays FROM analytics.events WHERE event_type = 'play' GROUP BY 1;
GRANT USAGE ON SCHEMA regress_t7 TO regress_t7_a, regress_t7_b;
GRANT SELECT ON regress_t7.plays TO regress_t7_a, regress_t7_b;

-- every read path, as one tenant: one row of numbers (t7a: 3 plays, 4
-- impressions, 100 archived plays; t7b: 7, 10, 1000)
CREATE FUNCTION pg_temp.reads(OUT what text, OUT value text) RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
  f timestamptz := (SELECT t FROM t7_anchor) - interval '1 hour';
  u timestamptz := (SELECT t FROM t7_anchor) + interval '1 minute';
  qs text := format('from=%s&to=%s', to_char(f, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), to_char(u, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
  r record;
BEGIN
  what := 'metric play count'; value := analytics.metric('play', 'count', f, u); RETURN NEXT;
  what := 'metric play rate'; value := analytics.metric('play', 'rate', f, u); RETURN NEXT;
  what := 'metric play total (play-total)'; value := analytics.metric('play', 'total'); RETURN NEXT;
  what := 'metric play count, tag sport'; value := analytics.metric('play', 'count', f, u, '{"tag": "sport"}'); RETURN NEXT;
  what := 'breakdown play by country';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO value FROM analytics.breakdown('play', 'country', f, u);
  RETURN NEXT;
  what := 'breakdown play-total by media-id';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO value FROM analytics.breakdown('play-total', 'media-id');
  RETURN NEXT;
  what := 'timeseries play (sum of buckets)';
  SELECT sum(metric_value) INTO value FROM analytics.timeseries('play', f, u, 'hour'); RETURN NEXT;
  what := 'api_metrics impression'; value := analytics.api_metrics('impression', 'count', f, u)->'data'; RETURN NEXT;
  what := 'api_buckets play by media-id';
  SELECT string_agg((d->>'dimensionValue') || '=' || (d->>'metricValue'), ' ') INTO value
    FROM jsonb_array_elements(analytics.api_buckets('play', 'media-id', f, u)->'data') d;
  RETURN NEXT;
  what := 'api_timeseries impression (sum)';
  SELECT sum((d->>'metricValue')::int) INTO value
    FROM jsonb_array_elements(analytics.api_timeseries('impression', f, u, 'hour')->'data') d;
  RETURN NEXT;
  what := 'api_request metrics play';
  SELECT a.status || ' ' || (a.body->'data') INTO value FROM analytics.api_request('/data/metrics/play/count?' || qs) a;
  RETURN NEXT;
  what := 'api_request buckets play by country';
  SELECT a.status || ' ' || (a.body->'data') INTO value FROM analytics.api_request('/data/buckets/play/country?' || qs) a;
  RETURN NEXT;
  what := 'api_request timeseries play (sum)';
  SELECT sum((d->>'metricValue')::int) INTO value
    FROM analytics.api_request('/data/timeseries/play?interval=hour&' || qs) a, jsonb_array_elements(a.body->'data') d;
  RETURN NEXT;
  what := 'view regress_t7.plays';
  SELECT string_agg(project_id || '=' || plays, ' ') INTO value FROM regress_t7.plays; RETURN NEXT;
  what := 'table events';
  SELECT string_agg(project_id || '=' || n, ' ') INTO value
    FROM (SELECT project_id, count(*) AS n FROM analytics.events GROUP BY 1 ORDER BY 1) x;
  RETURN NEXT;
  what := 'table play_totals';
  SELECT string_agg(project_id || '=' || plays, ' ') INTO value FROM analytics.play_totals; RETURN NEXT;
  what := 'table media';
  SELECT string_agg(project_id || '/' || media_id, ' ') INTO value FROM analytics.media; RETURN NEXT;
  what := 'day partition';
  EXECUTE format('SELECT string_agg(project_id || ''='' || n, '' '') FROM (SELECT project_id, count(*) AS n FROM %s GROUP BY 1 ORDER BY 1) x',
                 (SELECT partition FROM analytics.partitions() WHERE NOT is_default AND from_ts <= f + interval '1 hour'
                     AND f + interval '1 hour' < to_ts)) INTO value;
  RETURN NEXT;
  what := 'default partition';
  SELECT count(*) INTO value FROM analytics.events_default; RETURN NEXT;
  what := 'my projects'; value := analytics._my_projects(); RETURN NEXT;
  what := 'my grants';
  SELECT string_agg(g.role || ':' || g.project_id, ' ') INTO value FROM analytics.project_grants g; RETURN NEXT;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.reads() TO PUBLIC;

SET ROLE regress_t7_a;
SELECT * FROM pg_temp.reads();
SET ROLE regress_t7_b;
SELECT * FROM pg_temp.reads();
-- a member of regress_t7_a reads what it reads
SET ROLE regress_t7_a_bi;
SELECT value AS plays_seen_by_member FROM pg_temp.reads() WHERE what = 'metric play count';
RESET ROLE;

-- asking for the other project by name: nothing (never an error, never a row)
SET ROLE regress_t7_a;
SELECT analytics.metric('play', 'total', project_id => 't7b') AS other_total,
       (SELECT count(*) FROM analytics.breakdown('play', 'media-id', project_id => 't7b')) AS other_buckets,
       (SELECT body->'data' FROM analytics.api_request('/data/metrics/play/total', 't7b')) AS other_api,
       (SELECT count(*) FROM analytics.events WHERE project_id = 't7b') AS other_rows;
-- the setting narrows (to nothing, for a project the role lacks) ...
SET analytics.project_id = 't7b';
SELECT analytics.metric('play', 'total') AS total, analytics.metric('play', 'total', project_id => 't7b') AS total_b,
       (SELECT count(*) FROM analytics.events) AS event_rows, (SELECT count(*) FROM :t7_part) AS partition_rows,
       (SELECT count(*) FROM analytics.play_totals) AS total_rows, analytics._my_projects() AS projects;
-- ... or to its own project; it never widens
SET analytics.project_id = 't7a';
SELECT analytics.metric('play', 'total') AS total, (SELECT count(*) FROM analytics.events) AS event_rows;
RESET analytics.project_id;

-- writes into the other project fail with the error PostgreSQL gives for
-- row-level security (or a missing privilege); its own succeed
RESET ROLE;
-- runs a statement, says ok or its SQLSTATE and message (partition names
-- written events_pYYYYMMDD)
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'events_p\d{8}', 'events_pYYYYMMDD', 'g');
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
CREATE TEMP TABLE t7_part_name AS SELECT :'t7_part'::text AS part;
GRANT SELECT ON t7_part_name TO PUBLIC;
SET ROLE regress_t7_a;
SELECT w AS attempt, pg_temp.try(replace(w, 'PART', (SELECT part FROM t7_part_name))) AS outcome
  FROM (VALUES
    ($$INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id) VALUES ('t7b', now(), 'play', 'x')$$),
    ($$INSERT INTO PART (project_id, emitted_at, event_type, media_id) VALUES ('t7b', now(), 'play', 'x')$$),
    ($$INSERT INTO analytics.events_default (project_id, emitted_at, event_type, media_id) VALUES ('t7b', '2099-01-01', 'play', 'x')$$),
    ($$INSERT INTO PART (project_id, emitted_at, event_type, media_id) SELECT 't7a', t, 'impression', 'direct' FROM t7_anchor$$),
    ($$INSERT INTO analytics.media (project_id, media_id) VALUES ('t7b', 'sneaky')$$),
    ($$UPDATE analytics.media SET project_id = 't7b' WHERE media_id = 'm_a1'$$),
    ($$UPDATE analytics.media SET title = 'Cup final' WHERE media_id = 'm_a1'$$),
    ($$UPDATE analytics.events SET project_id = 't7a'$$),
    ($$DELETE FROM analytics.events$$),
    ($$DELETE FROM PART$$),
    ($$INSERT INTO analytics.play_totals (project_id, media_id, media_type, plays) VALUES ('t7a', 'm_a1', 'video', 1)$$),
    ($$SET analytics.project_id = 't7b'; INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id) VALUES ('t7a', now(), 'play', 'x')$$)
  ) AS a(w);
RESET analytics.project_id;
-- COPY FROM into events: PostgreSQL refuses it to every role that
-- row-level security applies to; tenants COPY into analytics.events_import,
-- whose rows go into events with the same checks as an INSERT: a batch with
-- a row of the other project fails whole, its own project's rows arrive
\set VERBOSITY terse
COPY analytics.events (project_id, emitted_at, event_type, media_id) FROM STDIN;
t7a	2099-01-01 00:00:00+00	play	copied
\.
COPY :t7_part (project_id, emitted_at, event_type, media_id) FROM STDIN;
t7b	2099-01-01 00:00:00+00	play	copied
\.
COPY analytics.events_import (project_id, emitted_at, event_type, media_id) FROM STDIN;
t7a	2099-01-01 00:00:00+00	play	copied
t7b	2099-01-01 00:00:00+00	play	copied
\.
COPY analytics.events_import (project_id, emitted_at, event_type, media_id) FROM STDIN;
t7a	2099-01-01 00:00:00+00	play	copied
t7a	2099-01-01 00:00:01+00	play	copied
\.
-- without project_id: the column default, 'default', is not theirs either
COPY analytics.events_import (emitted_at, event_type, media_id) FROM STDIN;
2099-01-01 00:00:00+00	play	copied
\.
\set VERBOSITY default

-- ingest_ping: into its own project; the other one is refused before
-- anything is read or written; project_id NULL means the setting (else
-- 'default'), which must be granted too
RESET ROLE;
CREATE FUNCTION pg_temp.ping(project text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT analytics.ingest_ping(jsonb_build_object(
           'emitted_at', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           'session', jsonb_build_object('loaded_at', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                         'video_id', 'm_ping'),
           'events', jsonb_build_array(jsonb_build_object('emitted_at', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                                          'type', 'ready'))),
         project_id => project) - 'session' FROM t7_anchor $$;
GRANT EXECUTE ON FUNCTION pg_temp.ping(text) TO PUBLIC;
CREATE FUNCTION pg_temp.ping_payload() RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object(
           'emitted_at', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           'session', jsonb_build_object('loaded_at', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                         'video_id', 'm_batch'),
           'events', jsonb_build_array(jsonb_build_object('emitted_at', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                                          'type', 'ready'))) FROM t7_anchor $$;
GRANT EXECUTE ON FUNCTION pg_temp.ping_payload() TO PUBLIC;
SET ROLE regress_t7_a;
SELECT pg_temp.ping('t7a');
SELECT pg_temp.ping('t7b');
SELECT pg_temp.ping(NULL);
SET analytics.project_id = 't7a';
SELECT pg_temp.ping(NULL);
SELECT pg_temp.ping('t7b');
RESET analytics.project_id;
-- ingest_pings: the same rights, ping by ping: t7a's stored, t7b's refused
-- (its reply is the 42501 error), in one call
SELECT r - 'session' - 'hint' - 'detail' AS reply
  FROM jsonb_array_elements(analytics.ingest_pings((
         SELECT jsonb_agg(jsonb_build_object('project_id', p, 'payload', pg_temp.ping_payload()) ORDER BY p)
           FROM unnest(ARRAY['t7a', 't7b']) p))) r;
-- the session state is not theirs to read or write, even through the
-- functions ingest_ping uses
SELECT count(*) FROM analytics.ping_sessions;
SELECT analytics._ping_state_lock('t7a', gen_random_uuid(), now(), 'm', 'video');
SELECT analytics._ping_state_store('t7a', gen_random_uuid(), now(), '\x00');
SELECT analytics._ping_states_lock('{t7a}', ARRAY[gen_random_uuid()], ARRAY[now()], '{m}', '{video}');
SELECT analytics._ping_states_store('{t7a}', '{"(0,1)"}', '{"\\x00"}');
-- nor the secrets, the settings, the grants
SELECT * FROM analytics.secrets;
UPDATE analytics.settings SET retention = '1 day';
INSERT INTO analytics.project_grants (role, project_id) VALUES ('regress_t7_a', 't7b');

-- administrative functions refuse tenants: 42501 and a message naming the function
SELECT analytics.set_retention('1 day');
SELECT analytics.run_maintenance();
SELECT analytics.grant_project('regress_t7_a', 't7b');
SELECT analytics.revoke_project('regress_t7_b', 't7b');
\set VERBOSITY terse
SELECT analytics._set_retention('1 day');
SELECT analytics._run_maintenance();
SELECT analytics._grant_project('regress_t7_a', 't7b');
SELECT analytics._revoke_project('regress_t7_b', 't7b');
SELECT analytics._secure_table('analytics.events');
RESET ROLE;
\set VERBOSITY default

-- what the writes left: t7a's own rows only
SELECT project_id, media_id, count(*) FROM analytics.events WHERE project_id IN ('t7a', 't7b')
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT project_id, media_id, title FROM analytics.media WHERE project_id IN ('t7a', 't7b') ORDER BY 1, 2;
SELECT project_id, count(*) FROM analytics.ping_sessions WHERE project_id IN ('t7a', 't7b') GROUP BY 1;

-- a partition created by maintenance from now on is covered too: row-level
-- security, the policy, the parent's privileges
SELECT 'analytics.events_p' || to_char((now() AT TIME ZONE 'UTC')::date + 8, 'YYYYMMDD') AS t7_new_part \gset
SELECT to_regclass(:'t7_new_part') IS NULL AS not_there_yet;
SET analytics.premake_days = 8;
SELECT analytics.run_maintenance()->'partitions_created' ? split_part(:'t7_new_part', '.', 2) AS created;
RESET analytics.premake_days;
SELECT c.relrowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
       c.relispartition,
       has_table_privilege('regress_t7_a', c.oid, 'SELECT') AS a_select, has_table_privilege('regress_t7_a', c.oid, 'INSERT') AS a_insert,
       has_table_privilege('regress_t7_a', c.oid, 'UPDATE') AS a_update
  FROM pg_class c WHERE c.oid = :'t7_new_part'::regclass;
-- every table with a project_id column has it (events, events_default,
-- media, play_totals, ping_sessions, project_grants, and the derived tables)
SELECT count(*) >= 6 AS tables_checked,
       coalesce(string_agg(c.relname, ', ') FILTER (WHERE NOT c.relrowsecurity
                  OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)), 'none') AS unprotected
  FROM pg_class c
 WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p')
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'project_id');
-- the SECURITY DEFINER functions: all with a pinned search_path, none
-- executable by a tenant
SELECT count(*) FILTER (WHERE p.proname IN ('_set_retention', '_run_maintenance', '_grant_project', '_revoke_project',
                                            '_ping_state_lock', '_ping_state_store', '_ping_states_lock',
                                            '_ping_states_store')) AS ours,
       coalesce(string_agg(p.proname, ', ') FILTER (WHERE NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
                'none') AS search_path_not_pinned,
       coalesce(string_agg(p.proname, ', ') FILTER (WHERE has_function_privilege('regress_t7_a', p.oid, 'EXECUTE')),
                'none') AS tenant_can_execute
  FROM pg_proc p WHERE p.pronamespace = 'analytics'::regnamespace AND p.prosecdef;

-- analytics_admin (created by the DBA; the extension works without it, as
-- above): its members see every project, may call the administrative
-- functions, and run_maintenance still works in its worker
CREATE TEMP TABLE t7_created_admin AS SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analytics_admin') AS created;
DO $$ BEGIN
  IF (SELECT created FROM t7_created_admin) THEN CREATE ROLE analytics_admin; END IF;
END $$;
CREATE ROLE regress_t7_admin IN ROLE analytics_admin;
GRANT USAGE ON SCHEMA analytics TO regress_t7_admin;
GRANT SELECT ON analytics.events TO regress_t7_admin;
SELECT analytics.retention() AS t7_retention \gset
SET analytics.maintenance_in_worker = on;
SET ROLE regress_t7_admin;
SELECT analytics._is_admin(), analytics._my_projects() IS NULL AS all_projects,
       (SELECT count(*) FROM analytics.events WHERE project_id IN ('t7a', 't7b')) AS rows_both_projects;
SET analytics.project_id = 't7b';
SELECT (SELECT count(*) FROM analytics.events WHERE project_id IN ('t7a', 't7b')) AS rows_narrowed;
RESET analytics.project_id;
SELECT analytics.set_retention(:'t7_retention') = :'t7_retention'::interval AS retention_kept;
SELECT analytics.grant_project('regress_t7_b', 't7c'), analytics.revoke_project('regress_t7_b', 't7c'),
       analytics.revoke_project('regress_t7_b', 't7c') AS again;
SELECT r->>'mode' AS mode, r ? 'partitions_created' AS reported FROM analytics.run_maintenance() r;
RESET ROLE;

-- a role's grants: DROP ROLE is refused while grant_project's privileges
-- remain; after DROP OWNED the stale grant names nobody and is forgotten by
-- the next grant_project / revoke_project
CREATE ROLE regress_t7_gone;
SELECT analytics.grant_project('regress_t7_gone', 't7a');
\set VERBOSITY terse
DROP ROLE regress_t7_gone;
\set VERBOSITY default
DROP OWNED BY regress_t7_gone;
DROP ROLE regress_t7_gone;
SELECT count(*) AS stale_grants FROM analytics.project_grants g WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = g.role);
SELECT analytics.revoke_project('regress_t7_b', 'nothing');
SELECT count(*) AS stale_grants FROM analytics.project_grants g WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = g.role);
-- bad arguments
SELECT analytics.grant_project('regress_t7_nobody', 't7a');
SELECT analytics.grant_project('regress_t7_a', '');
SELECT analytics.grant_project(NULL, 't7a');

-- clean up: rows, grants (which revokes the privileges), roles
DELETE FROM analytics.events WHERE project_id IN ('t7a', 't7b');
DELETE FROM analytics.play_totals WHERE project_id IN ('t7a', 't7b');
DELETE FROM analytics.media WHERE project_id IN ('t7a', 't7b');
DELETE FROM analytics.ping_sessions WHERE project_id IN ('t7a', 't7b');
DROP SCHEMA regress_t7 CASCADE;
SELECT analytics.revoke_project('regress_t7_a', 't7a'), analytics.revoke_project('regress_t7_b', 't7b');
REVOKE ALL ON analytics.events FROM regress_t7_admin;
REVOKE ALL ON SCHEMA analytics FROM regress_t7_admin;
DROP ROLE regress_t7_a_bi;
DROP ROLE regress_t7_a;
DROP ROLE regress_t7_b;
DROP ROLE regress_t7_admin;
DO $$ BEGIN
  IF (SELECT created FROM t7_created_admin) THEN DROP ROLE analytics_admin; END IF;
END $$;
SELECT count(*) AS grants_left FROM analytics.project_grants WHERE role::text LIKE 'regress_t7%';
