--
-- ccv_sweep: concurrent-viewer series from one sweep of the watch events
-- (analytics._ccv_series, or the per-minute rollup rows), and the bound on
-- one call's work (analytics.max_call_time).
--
-- Projects cs1 (hand-built) and cs2 (generated), removed at the end.
-- Times are offsets from C0 = 10:00 UTC two days ago (inside the retention).
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE cs_anchor AS SELECT date_trunc('day', now()) - interval '2 days' + interval '10 hours' AS c0;
CREATE FUNCTION pg_temp.c0(o interval) RETURNS timestamptz LANGUAGE sql STABLE AS
  $$ SELECT c0 + o FROM cs_anchor $$;
CREATE FUNCTION pg_temp.num(v double precision) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE WHEN v = trunc(v) THEN v::bigint::text ELSE round(v::numeric, 9)::text END $$;
-- a series as "offset=value ..." (offsets from C0 in seconds)
CREATE FUNCTION pg_temp.series(m text, f interval, t interval, i text, uniq boolean, filter jsonb DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
SELECT string_agg(format('%s=%s', extract(epoch FROM r.emitted_at - pg_temp.c0('0'))::int, pg_temp.num(r.metric_value)),
                  ' ' ORDER BY r.emitted_at)
  FROM analytics.timeseries(m, pg_temp.c0(f), pg_temp.c0(t), i, filter, unique_viewers => uniq, project_id => 'cs1') r
$$;

--
-- Hand-built watch events of project cs1, live stream L1. A watch event is
-- the interval [emitted_at - value s, emitted_at) of its session (of its
-- viewer with unique viewers). Seconds from C0:
--
-- session viewer  intervals
-- a       1       [10, 50) [50, 90)     two adjacent intervals: one session throughout
-- b       1       [30, 70)              overlaps a; the same viewer as a
-- c       2       [90, 120)             starts when a ends (half-open: never together)
-- d       NULL    [120, 210)            crosses two minute bounds; no viewer: counts for sessions only
-- e       3       [150, 160) [155, 165) overlaps itself: one session, one viewer
-- f       2       [290, 320)            runs past the end of the period (5 minutes)
--
-- sessions per minute (peak; watcher-seconds / 60):
--   0:  [10,30) a, [30,60) a b              peak 2, 20 + 60 = 80  -> 1.333333333
--   60: [60,70) a b, [70,90) a, [90,120) c  peak 2, 20 + 20 + 30 = 70 -> 1.166666667
--   120: [120,150) d, [150,165) d e, [165,180) d  peak 2, 30 + 30 + 15 = 75 -> 1.25
--   180: [180,210) d                        peak 1, 30 -> 0.5
--   240: [290,300) f                        peak 1, 10 -> 0.166666667
-- viewers per minute (1: [10,90); 2: [90,120) and [290,320); 3: [150,165); d nobody):
--   0: 1, 50 -> 0.833333333;  60: 1, 30 + 30 = 60 -> 1;  120: 1, 15 -> 0.25;  180: 0, 0;  240: 1, 10 -> 0.166666667
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id, viewer_id)
SELECT 'cs1', pg_temp.c0(e * interval '1 second'), 'watch', e - s, 'L1', 'live-stream',
       ('00000000-0000-4000-8000-00000000000' || sess)::uuid, viewer
  FROM (VALUES ('a', 1, 10, 50), ('a', 1, 50, 90), ('b', 1, 30, 70), ('c', 2, 90, 120), ('d', NULL, 120, 210),
               ('e', 3, 150, 160), ('e', 3, 155, 165), ('f', 2, 290, 320)) v(sess, viewer, s, e);
-- other projects and event types do not count
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id, viewer_id)
VALUES ('cs0', pg_temp.c0('00:01:00'), 'watch', 60, 'L1', 'live-stream', gen_random_uuid(), 1),
       ('cs1', pg_temp.c0('00:01:00'), 'play', 60, 'L1', 'live-stream', gen_random_uuid(), 1);

-- every hour pending (raw pieces), raw events only (one sweep), and after
-- maintenance (the minute rows): the same series
CREATE TEMP TABLE cs_hand (step text, q int, result text);
CREATE FUNCTION pg_temp.hand(step text) RETURNS void LANGUAGE sql AS $$
INSERT INTO cs_hand
SELECT step, q, pg_temp.series(m, f, t, i, u, filter) FROM (VALUES
  (1, 'ccv-peak', '0'::interval, '00:05'::interval, 'minute', false, NULL::jsonb),
  (2, 'ccv-average', '0', '00:05', 'minute', false, NULL),
  (3, 'ccv-peak', '0', '00:05', 'minute', true, NULL),
  (4, 'ccv-average', '0', '00:05', 'minute', true, NULL),
  -- a period that cuts minutes: [30 s, 150 s): buckets [30,60) [60,120) [120,150)
  --   sessions: 2, 60/30 = 2; 2, 70/60; 1, 30/30 = 1
  (5, 'ccv-peak', '00:00:30', '00:02:30', 'minute', false, NULL),
  (6, 'ccv-average', '00:00:30', '00:02:30', 'minute', false, NULL),
  -- one hour bucket: peak 2, (80 + 70 + 75 + 30 + 10 + 20 of f after 300 s) / 3600 = 285/3600 = 0.079166667
  (7, 'ccv-peak', '0', '01:00', 'hour', false, NULL),
  (8, 'ccv-average', '0', '01:00', 'hour', false, NULL),
  -- one live stream: the same as the project
  (9, 'ccv-average', '0', '00:05', 'minute', false, '{"mediaId": "L1"}'),
  (10, 'ccv-average', '0', '00:05', 'minute', true, '{"mediaId": "L1"}')) v(q, m, f, t, i, u, filter)
$$;
SELECT pg_temp.hand('pending');
SET analytics.use_rollups = off;
SELECT pg_temp.hand('raw');
RESET analytics.use_rollups;
SELECT (analytics.run_maintenance()->>'rollup_hours_refreshed')::int > 0 AS refreshed;
SELECT count(*) > 0 AS minute_rows FROM analytics.rollup_ccv WHERE project_id = 'cs1';
SELECT pg_temp.hand('rollups');
SELECT q, result FROM cs_hand WHERE step = 'pending' ORDER BY q;
SELECT step, count(*) AS queries, count(*) FILTER (WHERE h.result IS DISTINCT FROM p.result) AS differ
  FROM cs_hand h JOIN (SELECT q, result FROM cs_hand WHERE step = 'pending') p USING (q)
 GROUP BY step ORDER BY step;

-- the aggregate itself: cells [0, 60) [60, 120) [120, 300) of the intervals above
SELECT analytics._ccv_series(s, e, sess, ARRAY[pg_temp.c0('0'), pg_temp.c0('00:01'), pg_temp.c0('00:02'), pg_temp.c0('00:05')]) AS cells
  FROM (SELECT pg_temp.c0(s * interval '1 second') s, pg_temp.c0(e * interval '1 second') e, sess
          FROM (VALUES (1, 10, 50), (1, 50, 90), (2, 30, 70), (3, 90, 120), (4, 120, 210), (5, 150, 160), (5, 155, 165), (6, 290, 320))
               v(sess, s, e)) x;
SELECT analytics._ccv_series(now(), now(), 1::bigint, ARRAY[now()]) AS one_bound;

--
-- 150,000 generated watch events of project cs2 over one day: 3,000
-- sessions of 50 adjacent heartbeats of 10 s, starting anywhere in the day.
-- The minute series (1,440 buckets) must equal a plain-SQL computation: the
-- start and end points of every interval and every minute bound, one running
-- sum ordered by time, the maximum (peak) and the time-weighted sum (average)
-- per minute. Cross joining buckets and events (version 0.5) takes minutes
-- here; one sweep well under the bound set below.
--
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id, viewer_id)
SELECT 'cs2', pg_temp.c0('-10:00') + ((s * 7919) % 85900) * interval '1 second' + (s % 1000) * interval '1 millisecond'
         + k * 10 * interval '1 second', 'watch', 10, 'L' || s % 5, 'live-stream', md5(s::text)::uuid, s / 2
  FROM generate_series(1, 3000) s, generate_series(1, 50) k;
CREATE TEMP TABLE cs_plain AS
WITH iv AS (SELECT greatest(e.emitted_at - e.value * interval '1 second', pg_temp.c0('-10:00')) AS s,
                   least(e.emitted_at, pg_temp.c0('14:00')) AS e
              FROM analytics.events e WHERE e.project_id = 'cs2' AND e.event_type = 'watch'),
     pts AS (SELECT s AS t, 1 AS d FROM iv WHERE s < e UNION ALL SELECT e, -1 FROM iv WHERE s < e
             UNION ALL SELECT g, 0 FROM generate_series(pg_temp.c0('-10:00'), pg_temp.c0('13:59'), interval '1 minute') g),
     steps AS (SELECT t, sum(sum(d)) OVER (ORDER BY t) AS n FROM pts GROUP BY t),
     segs AS (SELECT t, n, lead(t) OVER (ORDER BY t) AS nt FROM steps)
SELECT date_bin('1 minute', t, pg_temp.c0('0')) AS minute, max(n)::float8 AS peak,
       sum(n * extract(epoch FROM nt - t))::float8 / 60 AS average
  FROM segs WHERE t < pg_temp.c0('14:00') GROUP BY 1;
SELECT count(*) AS minutes, max(peak) > 10 AS busy FROM cs_plain;
SET statement_timeout = '60s';       -- version 0.5 would run for minutes
SET analytics.max_call_time = '30s';
CREATE FUNCTION pg_temp.big(m text, uniq boolean) RETURNS TABLE (emitted_at timestamptz, metric_value double precision)
LANGUAGE sql AS $$
SELECT * FROM analytics.timeseries(m, pg_temp.c0('-10:00'), pg_temp.c0('14:00'), 'minute', unique_viewers => uniq, project_id => 'cs2')
$$;
-- every hour pending: raw pieces through the rollup path; then raw events only
SELECT count(*) AS buckets,
       count(*) FILTER (WHERE r.metric_value IS DISTINCT FROM p.peak) AS peaks_differ
  FROM pg_temp.big('ccv-peak', false) r FULL JOIN cs_plain p ON p.minute = r.emitted_at;
SELECT count(*) AS buckets,
       count(*) FILTER (WHERE abs(r.metric_value - p.average) > 1e-9 * greatest(1, p.average)) AS averages_differ
  FROM pg_temp.big('ccv-average', false) r FULL JOIN cs_plain p ON p.minute = r.emitted_at;
SET analytics.use_rollups = off;
SELECT count(*) AS buckets,
       count(*) FILTER (WHERE r.metric_value IS DISTINCT FROM p.peak) AS peaks_differ
  FROM pg_temp.big('ccv-peak', false) r FULL JOIN cs_plain p ON p.minute = r.emitted_at;
SELECT count(*) AS buckets,
       count(*) FILTER (WHERE abs(r.metric_value - p.average) > 1e-9 * greatest(1, p.average)) AS averages_differ
  FROM pg_temp.big('ccv-average', false) r FULL JOIN cs_plain p ON p.minute = r.emitted_at;
-- unique viewers (two sessions per viewer) on and off rollups: the same
SELECT count(*) AS buckets, count(*) FILTER (WHERE a.metric_value IS DISTINCT FROM b.metric_value) AS differ,
       max(a.metric_value) > 0 AS some_viewers
  FROM pg_temp.big('ccv-peak', true) a
  FULL JOIN (SELECT * FROM pg_temp.big('ccv-peak', true) WHERE set_config('analytics.use_rollups', 'on', true) = 'on') b USING (emitted_at);
RESET analytics.use_rollups;
RESET statement_timeout;

--
-- The bound on one call: analytics.max_call_time (default 10s, 0 = off).
--
RESET analytics.max_call_time;
SHOW analytics.max_call_time;
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; hint text;
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS OR query_canceled THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RETURN st || ': ' || msg || ' HINT: ' || hint;
END $$;
SET analytics.use_rollups = off;     -- the raw sweep of 150,000 events: far more than 10 ms
SET analytics.max_call_time = '10ms';
SELECT pg_temp.err($$SELECT count(*) FROM pg_temp.big('ccv-peak', false)$$) AS timeseries;
SELECT pg_temp.err($$SELECT analytics.metric('ccv', 'peak', pg_temp.c0('-10:00'), pg_temp.c0('14:00'), project_id => 'cs2')$$) AS metric;
SELECT pg_temp.err($$SELECT count(*) FROM analytics.breakdown('ccv-peak', 'media-id', pg_temp.c0('-10:00'), pg_temp.c0('14:00'), project_id => 'cs2')$$) AS breakdown;
SELECT pg_temp.err($$SELECT analytics.api_timeseries('ccv-peak', pg_temp.c0('-10:00'), pg_temp.c0('14:00'), 'minute', project_id => 'cs2')$$) AS api_timeseries;
-- api_request never raises: 503 with a problem body
SELECT r.status, r.body
  FROM analytics.api_request('/data/timeseries/ccv-peak?interval=minute&from='
         || to_char(pg_temp.c0('-10:00'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '&to='
         || to_char(pg_temp.c0('14:00'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'cs2') r;
-- the timer does not outlive its call: later statements, and a call whose
-- error was caught, leave nothing behind to cancel what follows
SELECT pg_sleep(0.1) IS NOT NULL AS no_stray_cancel;
DO $$
BEGIN
  PERFORM count(*) FROM analytics.timeseries('ccv-peak', pg_temp.c0('-10:00'), pg_temp.c0('14:00'), 'minute', project_id => 'cs2');
EXCEPTION WHEN configuration_limit_exceeded THEN
  PERFORM pg_sleep(0.1);
  RAISE NOTICE 'caught %, slept after it', SQLSTATE;
END $$;
SELECT pg_sleep(0.1) IS NOT NULL AS no_stray_cancel;
-- light calls pass under the same bound
SET analytics.max_call_time = '5s';
SELECT pg_temp.series('ccv-peak', '0', '00:05', 'minute', false) AS light_call;
SELECT (analytics.api_request('/data/metrics/ccv/peak', 'cs1')).status AS light_request;
-- 0 turns the bound off
SET analytics.max_call_time = 0;
SELECT pg_temp.err($$SELECT count(*) FROM pg_temp.big('ccv-peak', false)$$) AS unbounded;
-- a cancel that is not the timer's stays a cancel (57014, not 53400)
SET analytics.max_call_time = '10s';
SET statement_timeout = '10ms';
SELECT pg_temp.err($$SELECT count(*) FROM pg_temp.big('ccv-peak', false)$$) AS statement_timeout;
RESET statement_timeout;
RESET analytics.max_call_time;
RESET analytics.use_rollups;

-- clean up
DELETE FROM analytics.events WHERE project_id IN ('cs0', 'cs1', 'cs2');
SELECT (analytics.run_maintenance()->>'rollup_hours_refreshed')::int > 0 AS refreshed;
SELECT count(*) AS rows_left FROM analytics.rollup_ccv WHERE project_id IN ('cs0', 'cs1', 'cs2');
