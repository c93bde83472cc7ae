-- One row must never stop maintenance (README: Data model, Retention and
-- maintenance): emitted_at outside [1970-01-01, 10000-01-01) UTC is refused
-- on every write path, and a failure in one day's, partition's or hour's
-- work is reported in the run's jsonb, retried by later runs and never
-- keeps the others from being done; the report counts committed work only.
CREATE DATABASE analytics_faults;
\c analytics_faults
SET TimeZone = 'UTC';
CREATE EXTENSION analytics;
SELECT jsonb_array_length(r->'partitions_created') AS created, r->'deferred' AS deferred
  FROM analytics.run_maintenance() r;

-- 1. the accepted range of emitted_at, on every write path
-- INSERT: the far future and the far past of the issue
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('tenant', '294276-12-31 00:00:00+00', 'play', 'v1');
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('tenant', '4713-01-01 00:00:00+00 BC', 'play', 'v1');
-- one microsecond outside each end
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('tenant', '1969-12-31 23:59:59.999999+00', 'play', 'v1');
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('tenant', '10000-01-01 00:00:00+00', 'play', 'v1');
-- the error's fields name the column and the constraint
DO $$
DECLARE st text; col text; con text;
BEGIN
  INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
  VALUES ('tenant', '52000-01-01 00:00:00+00', 'play', 'v1');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME, con = CONSTRAINT_NAME;
  RAISE NOTICE 'sqlstate %, column %, constraint %', st, col, con;
END $$;
-- COPY: the context names the line; nothing of the statement is stored
COPY analytics.events (project_id, emitted_at, event_type, media_id) FROM STDIN;
tenant	2026-01-01 00:00:00+00	play	v1
tenant	2026-01-01 00:00:00+00	play	v1
tenant	52000-01-01 00:00:00+00	play	v1
\.
-- UPDATE
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('tenant', now() - interval '1 hour', 'impression', 'v1');
UPDATE analytics.events SET emitted_at = '294276-12-31 00:00:00+00' WHERE project_id = 'tenant';
DELETE FROM analytics.events WHERE project_id = 'tenant';
-- the events_import view (COPY for tenants)
\set VERBOSITY terse
INSERT INTO analytics.events_import (project_id, emitted_at, event_type, media_id)
VALUES ('tenant', now() - interval '1 hour', 'play', 'v1'), ('tenant', '294276-12-31 00:00:00+00', 'play', 'v1');
\set VERBOSITY default
-- ingest_ping: a playback of 1960, inside a retention of 100 years, is not
-- stored (refused with the range error, or dropped by the ping's own bounds)
SELECT analytics.set_retention('100 years');
CREATE TEMP TABLE ping_outcome (outcome text);
DO $$
DECLARE reply jsonb;
BEGIN
  reply := analytics.ingest_ping('{"emitted_at": "1960-01-01T00:00:05Z",
    "session": {"loaded_at": "1960-01-01T00:00:00Z", "video_id": "v9"},
    "events": [{"type": "ready", "emitted_at": "1960-01-01T00:00:01Z"},
               {"type": "play", "emitted_at": "1960-01-01T00:00:02Z", "at": 0}]}',
    NULL, NULL, NULL, 'tenant');
  INSERT INTO ping_outcome VALUES (CASE WHEN (reply->>'events')::int = 0 THEN 'dropped' ELSE 'stored' END);
EXCEPTION WHEN datetime_field_overflow THEN
  INSERT INTO ping_outcome VALUES (CASE WHEN SQLERRM LIKE 'emitted_at out of range: %' THEN 'refused' ELSE SQLERRM END);
END $$;
SELECT outcome IN ('refused', 'dropped') AS ping_not_stored FROM ping_outcome;
SELECT analytics.set_retention('30 days');
SELECT count(*) AS tenant_rows FROM analytics.events WHERE project_id = 'tenant';

-- the ends of the range are accepted, and every part handles them: the
-- first UTC day of 1970 is past the retention window (discarded), the last
-- of 9999 gets its partition and its rollups
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('edge', '1970-01-01 00:00:00+00', 'impression', 'v1'),
       ('edge', '9999-12-31 23:59:59.999999+00', 'impression', 'v1');
SELECT r->'partitions_created' AS created, r->'rows_moved' AS moved, r->'rows_discarded' AS discarded,
       r->'rollup_hours_refreshed' AS refreshed, r->'deferred' AS deferred
  FROM analytics.run_maintenance() r;
SELECT partition, from_ts, to_ts FROM analytics.partitions() WHERE from_ts >= '9999-01-01';
SELECT 'hour' AS level, bucket, stats[1] AS impressions FROM analytics.rollup_hour WHERE project_id = 'edge' AND dim = 0
UNION ALL
SELECT 'week', bucket, stats[1] FROM analytics.rollup_week WHERE project_id = 'edge' AND dim = 0
UNION ALL
SELECT 'w4', bucket, stats[1] FROM analytics.rollup_w4 WHERE project_id = 'edge' AND dim = 0
ORDER BY 1;
-- the SQL and JSON answers reach the last microsecond (the REST API's
-- query string takes four-digit years: its `to` ends at 9999-12-31T23:59:59.999999Z)
SELECT analytics.metric('impression', 'count', '9999-12-31 23:59:59+00', '10000-01-01 00:00:00+00', project_id => 'edge') AS last_second,
       analytics.metric('impression', 'count', '9000-01-01 00:00:00+00', '10000-01-01 00:00:00+00', project_id => 'edge') AS last_millennium;
SELECT analytics.api_timeseries('impression', '9999-12-20 00:00:00+00', '10000-01-01 00:00:00+00', "interval" => 'week',
                                project_id => 'edge') - 'pagination' AS body;
DELETE FROM analytics.events WHERE project_id = 'edge';
SELECT (r->'rollup_hours_refreshed')::int >= 1 AS refreshed, r->'deferred' AS deferred FROM analytics.run_maintenance() r;

-- 2. a day that cannot be placed, a step rolled back for a lock timeout
CREATE TEMP TABLE d AS
SELECT (now() AT TIME ZONE 'UTC')::date + 20 AS blocked, (now() AT TIME ZONE 'UTC')::date + 21 AS free,
       (now() AT TIME ZONE 'UTC')::date - 40 AS expired;
-- a table by the name of the blocked day's partition, made by hand and not attached
DO $$ BEGIN
  EXECUTE (SELECT format('CREATE TABLE analytics.%I (x int)', 'events_p' || to_char(blocked, 'YYYYMMDD')) FROM d);
END $$;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'p1', blocked + time '10:00', 'play'::analytics.event_type, 'v1' FROM d, generate_series(1, 2)
UNION ALL SELECT 'p1', free + time '10:00', 'play', 'v1' FROM d, generate_series(1, 3)
UNION ALL SELECT 'p1', expired + time '10:00', 'play', 'v1' FROM d, generate_series(1, 4);
-- the rollups are locked meanwhile: discarding the expired day (which
-- forgets its rollups) times out after its rows were deleted and counted,
-- and is rolled back; the free day is placed all the same
BEGIN;
LOCK TABLE analytics.rollup_hour IN SHARE MODE;
CREATE TEMP TABLE run1 AS SELECT analytics.run_maintenance() AS r;
COMMIT;
SELECT r->'mode' AS mode, r->'rows_moved' AS moved, r->'rows_discarded' AS discarded, r->'plays_archived' AS archived,
       r->'partitions_created' = jsonb_build_array('events_p' || to_char(free, 'YYYYMMDD')) AS created_free_day
  FROM run1, d;
SELECT x->>'step' AS step, x->>'target' = 'events_p' || to_char(blocked, 'YYYYMMDD') AS blocked_day,
       x->>'partition' = x->>'target' AS partition, (x->>'day')::date - blocked AS day, x->'rows' AS rows,
       x->>'sqlstate' AS sqlstate, x->>'message' = format('relation "events_p%s" already exists', to_char(blocked, 'YYYYMMDD')) AS message
  FROM run1, d, jsonb_array_elements(r->'deferred') x WHERE x->>'step' = 'place' AND x->>'sqlstate' <> '55P03';
SELECT x->>'step' AS step, x->>'target' = 'events_p' || to_char(expired, 'YYYYMMDD') AS expired_day, x->>'sqlstate' AS sqlstate, x->>'reason' AS reason
  FROM run1, d, jsonb_array_elements(r->'deferred') x WHERE x->>'sqlstate' = '55P03' ORDER BY 1;
SELECT count(*) AS expired_rows_left FROM analytics.events_default;
SELECT count(*) AS archived_plays FROM analytics.play_totals;
-- the next run (in the caller's transaction) retries both: the expired day
-- is discarded now and counted once; the blocked day fails again
SET analytics.maintenance_in_worker = off;
SET client_min_messages = error;  -- the WARNING names the day
SELECT r->'mode' AS mode, r->'rows_moved' AS moved, r->'rows_discarded' AS discarded, r->'plays_archived' AS archived,
       (SELECT jsonb_agg(x->>'step' || ' ' || (x->>'sqlstate')) FROM jsonb_array_elements(r->'deferred') x) AS deferred
  FROM analytics.run_maintenance() r;
RESET client_min_messages;
SELECT media_id, plays FROM analytics.play_totals;
-- once the hand-made table is gone, the blocked day is placed
DO $$ BEGIN
  EXECUTE (SELECT format('DROP TABLE analytics.%I', 'events_p' || to_char(blocked, 'YYYYMMDD')) FROM d);
END $$;
SELECT r->'rows_moved' AS moved, r->'partitions_created' = jsonb_build_array('events_p' || to_char(blocked, 'YYYYMMDD')) AS created_blocked_day,
       r->'deferred' AS deferred
  FROM analytics.run_maintenance() r, d;
RESET analytics.maintenance_in_worker;
SELECT count(*) AS strays_left FROM analytics.events_default;

-- 3. a poisoned hour: project sick writes, at hour H1, one row whose
-- referrer (3,200 random characters) no rollup_week index entry can hold;
-- H1's refresh fails, the hours H2 and H3 of both projects are refreshed
CREATE TEMP TABLE h AS SELECT date_trunc('day', now()) - interval '1 day' + interval '3 hours' AS h1;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, referrer)
SELECT 'sick', h1 + interval '10 minutes', 'play'::analytics.event_type, 'v1',
       (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i) FROM h
UNION ALL SELECT 'sick', h1 + interval '20 minutes', 'play', 'v1', '' FROM h, generate_series(1, 2)
UNION ALL SELECT 'sick', h1 + interval '1 hour', 'play', 'v1', '' FROM h
UNION ALL SELECT 'well', h1 + interval '1 hour 5 minutes', 'play', 'v2', 'https://a.example/' FROM h, generate_series(1, 3)
UNION ALL SELECT 'well', h1 + interval '2 hours', 'play', 'v2', '' FROM h, generate_series(1, 4);
-- in a worker committing per step
CREATE TEMP TABLE run2 AS SELECT analytics.run_maintenance() AS r;
SELECT r->'mode' AS mode, r->'rows_moved' AS moved, r->'rollup_hours_refreshed' AS refreshed,
       r->'rollup_hours_failed' AS failed, jsonb_array_length(r->'deferred') AS deferred
  FROM run2;
SELECT x->>'step' AS step, x->>'hour' = to_char(h1, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS hour_h1, x->>'target' = x->>'hour' AS target,
       x->'projects' AS projects, x->>'sqlstate' AS sqlstate,
       x->>'message' LIKE 'index row size % exceeds btree version 4 maximum 2704 for index "rollup_week_value_idx"' AS message
  FROM run2, h, jsonb_array_elements(r->'deferred') x;
-- the healthy hours are in the rollups, the poisoned one is still pending
SELECT project_id, (bucket - h1)::text AS hour, stats[2] AS plays
  FROM analytics.rollup_hour, h WHERE dim = 0 AND project_id IN ('sick', 'well') ORDER BY 2, 1;
SELECT DISTINCT project_id, (hour - h1)::text AS hour FROM analytics.rollup_pending, h ORDER BY 1, 2;
SELECT project_id, (bucket - h1)::text AS hour, value, stats[2] AS plays
  FROM analytics.rollup_hour, h WHERE dim = 8 AND project_id = 'well' ORDER BY 2, 3;
-- answers stay exact for both (the pending hour is read raw)
SELECT analytics.metric('play', 'count', h1 - interval '1 hour', h1 + interval '1 day', project_id => 'sick') AS sick_plays,
       analytics.metric('play', 'count', h1 - interval '1 hour', h1 + interval '1 day', project_id => 'well') AS well_plays,
       analytics.metric('play', 'count', h1 + interval '1 hour', h1 + interval '3 hours', project_id => 'well') AS well_h2_h3
  FROM h;
-- the next run, in the caller's transaction, retries the hour: it fails
-- again and is reported again, counted as failed, not as refreshed
SET analytics.maintenance_in_worker = off;
SET client_min_messages = error;  -- its WARNING names the hour
SELECT r->'mode' AS mode, r->'rollup_hours_refreshed' AS refreshed, r->'rollup_hours_failed' AS failed,
       (SELECT jsonb_agg(jsonb_build_object('step', x->'step', 'projects', x->'projects', 'sqlstate', x->'sqlstate'))
          FROM jsonb_array_elements(r->'deferred') x) AS deferred
  FROM analytics.run_maintenance() r;
RESET client_min_messages;
RESET analytics.maintenance_in_worker;
-- the row is repaired: the next run refreshes the hour
UPDATE analytics.events SET referrer = 'https://long.example/' WHERE project_id = 'sick' AND length(referrer) > 1000;
SELECT r->'rollup_hours_refreshed' AS refreshed, r->'rollup_hours_failed' AS failed, r->'deferred' AS deferred
  FROM analytics.run_maintenance() r;
SELECT project_id, (bucket - h1)::text AS hour, stats[2] AS plays
  FROM analytics.rollup_hour, h WHERE dim = 0 AND project_id IN ('sick', 'well') ORDER BY 2, 1;
SELECT count(*) AS pending FROM analytics.rollup_pending;

-- 4. the upgrade from 0.5 sets aside the rows 0.5 stored out of range (they
-- stopped its maintenance), drops the partitions made for them and their
-- rollups; maintenance runs clean afterwards
\c contrib_regression
CREATE DATABASE analytics_faults_upgrade;
\c analytics_faults_upgrade
SET TimeZone = 'UTC';
CREATE EXTENSION analytics VERSION '0.5';
SELECT analytics.set_retention('100 years');
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('old', '294276-12-31 00:00:00+00', 'play', 'v1'),
       ('old', '20000-01-01 12:00:00+00', 'play', 'v1'),
       ('old', '1965-06-01 12:00:00+00', 'play', 'v1'),
       ('old', now() - interval '1 hour', 'play', 'v1');
SELECT (SELECT jsonb_agg(DISTINCT x->>'step') FROM jsonb_array_elements(r->'deferred') x) AS deferred_in_05
  FROM analytics.run_maintenance() r;
SELECT partition FROM analytics.partitions() WHERE from_ts < '1970-01-01' OR from_ts >= '10000-01-01' ORDER BY 1;
SET client_min_messages = warning;
ALTER EXTENSION analytics UPDATE TO '0.6';
RESET client_min_messages;
SELECT project_id, emitted_at, event_type, media_id FROM analytics.events_out_of_range ORDER BY emitted_at;
SELECT count(*) AS events_left, min(emitted_at) > now() - interval '1 day' AS recent FROM analytics.events;
SELECT count(*) AS partitions_out_of_range FROM analytics.partitions() WHERE from_ts < '1970-01-01' OR from_ts >= '10000-01-01';
SELECT (SELECT count(*) FROM analytics.rollup_hour WHERE bucket < '1970-01-01' OR bucket >= '10000-01-01')
     + (SELECT count(*) FROM analytics.rollup_week WHERE bucket < '1970-01-01' OR bucket >= '10000-01-01')
     + (SELECT count(*) FROM analytics.rollup_pending WHERE hour < '1970-01-01' OR hour >= '10000-01-01') AS rollups_out_of_range;
SELECT r->'deferred' AS deferred, r->'rollup_hours_failed' AS failed FROM analytics.run_maintenance() r;
SELECT convalidated FROM pg_constraint WHERE conname = 'events_emitted_at_range' AND conrelid = 'analytics.events'::regclass;
ALTER TABLE analytics.events VALIDATE CONSTRAINT events_emitted_at_range;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id) VALUES ('old', '294276-12-31 00:00:00+00', 'play', 'v1');

\c contrib_regression
DROP DATABASE analytics_faults WITH (FORCE);
DROP DATABASE analytics_faults_upgrade WITH (FORCE);
