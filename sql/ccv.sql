-- analytics.ccv (src/ccv.c): concurrent distinct watchers {peak, average}
-- over [period_from, period_to), from watch intervals [started_at, ended_at).
-- Inputs are VALUES lists / temp tables (never analytics.events).
SET TimeZone = 'UTC';
SET extra_float_digits = 0;

-- intervals as second offsets from 2024-01-01 00:00 UTC; the period is
-- [0 s, 60 s) unless a case says otherwise
CREATE TEMP TABLE iv (c text, s int, e int, w bigint);
INSERT INTO iv VALUES
  -- three sessions: [0,30) [10,40) [20,60)
  -- concurrency: 0-10: 1, 10-20: 2, 20-30: 3, 30-40: 2, 40-60: 1
  -- peak 3; integral 10 + 20 + 30 + 20 + 20 = 100 watcher-s; average 100 / 60 = 1.66666666666667
  ('three', 0, 30, 1), ('three', 10, 40, 2), ('three', 20, 60, 3),
  -- touching intervals (end = start) of three watchers never overlap:
  -- exactly 1 watcher all along: peak 1, average 60 / 60 = 1
  ('touching', 0, 20, 1), ('touching', 20, 40, 2), ('touching', 40, 60, 3),
  -- clipping: [-30,15) -> [0,15), [45,90) -> [45,60); [-60,-10) and [60,70)
  -- (starts at period_to) are outside: peak 1, average (15 + 15) / 60 = 0.5
  ('clip', -30, 15, 1), ('clip', 45, 90, 2), ('clip', -60, -10, 3), ('clip', 60, 70, 4),
  -- the same watcher overlapping itself counts once: w1 [0,30) and [10,40), w2 [20,50)
  -- distinct: 0-20: 1, 20-40: 2, 40-50: 1, 50-60: 0 -> peak 2 (not 3),
  -- integral 20 + 40 + 10 = 70, average 70 / 60 = 1.16666666666667
  ('self', 0, 30, 1), ('self', 10, 40, 1), ('self', 20, 50, 2),
  -- a watcher whose own intervals touch: 1 all along, never 2
  ('self_touch', 0, 30, 7), ('self_touch', 30, 60, 7),
  -- a watcher nested in itself: [0,60) and [10,20): still 1 all along
  ('self_nested', 0, 60, 7), ('self_nested', 10, 20, 7),
  -- NULL watchers are each a distinct watcher: two NULLs + w1, all [0,30):
  -- peak 3, average 3 * 30 / 60 = 1.5
  ('nulls', 0, 30, NULL), ('nulls', 0, 30, NULL), ('nulls', 0, 30, 1),
  -- a NULL watcher next to w1 twice over [10,20): w1 counts once, the NULL once
  -- -> 0-10: 1, 10-20: 2, 20-30: 1: peak 2, integral 40, average 0.666666666666667
  ('null_and_self', 0, 30, 1), ('null_and_self', 10, 20, 1), ('null_and_self', 10, 20, NULL),
  -- zero and negative lengths are ignored, so are NULL bounds: nothing left -> {0,0}
  ('degenerate', 10, 10, 1), ('degenerate', 20, 5, 2), ('degenerate', NULL, 30, 3), ('degenerate', 0, NULL, 4),
  -- nothing inside the period -> {0,0}
  ('outside', -100, 0, 1), ('outside', 60, 100, 2),
  -- one watcher 15 s of 60: peak 1, average 0.25
  ('quarter', 20, 35, 5),
  -- bigint keys: negative and extreme values are distinct watchers
  ('extremes', 0, 60, -9223372036854775808), ('extremes', 0, 60, 9223372036854775807),
  ('extremes', 0, 60, 0), ('extremes', 0, 60, -1);

SELECT c, analytics.ccv('2024-01-01'::timestamptz + s * interval '1 s',
                        '2024-01-01'::timestamptz + e * interval '1 s', w,
                        '2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00') AS peak_average
  FROM iv GROUP BY c ORDER BY c;
-- the expected values, side by side
SELECT c, r = x::float8[] AS as_expected FROM (
  SELECT c, analytics.ccv('2024-01-01'::timestamptz + s * interval '1 s',
                          '2024-01-01'::timestamptz + e * interval '1 s', w,
                          '2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00') AS r
    FROM iv GROUP BY c) t
  JOIN (VALUES ('three', ARRAY[3, 100::float8 / 60]), ('touching', '{1,1}'), ('clip', '{1,0.5}'),
               ('self', ARRAY[2, 70::float8 / 60]), ('self_touch', '{1,1}'), ('self_nested', '{1,1}'),
               ('nulls', '{3,1.5}'), ('null_and_self', ARRAY[2, 40::float8 / 60]), ('degenerate', '{0,0}'),
               ('outside', '{0,0}'), ('quarter', '{1,0.25}'), ('extremes', '{4,4}')) AS e(c, x) USING (c)
 ORDER BY c;

-- uuid keys: the same cases with session uuids give the same answers
-- (w -> a uuid whose last byte is w; NULL stays NULL)
SELECT c, analytics.ccv('2024-01-01'::timestamptz + s * interval '1 s',
                        '2024-01-01'::timestamptz + e * interval '1 s',
                        ('00000000-0000-0000-0000-0000000000' || lpad(to_hex(w), 2, '0'))::uuid,
                        '2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00')
       = analytics.ccv('2024-01-01'::timestamptz + s * interval '1 s',
                        '2024-01-01'::timestamptz + e * interval '1 s', w,
                        '2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00') AS uuid_equals_bigint
  FROM iv WHERE c <> 'extremes' GROUP BY c ORDER BY c;
-- all 16 bytes count: uuids differing only in the first or only in the last byte are
-- three distinct watchers (peak 3); the same uuid twice is one (peak 1, average 1)
SELECT analytics.ccv('2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00', u,
                     '2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00') AS distinct_uuids
  FROM (VALUES ('00000000-0000-0000-0000-000000000001'::uuid), ('01000000-0000-0000-0000-000000000001'),
               ('00000000-0000-0000-0000-000000000002')) t(u);
SELECT analytics.ccv('2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00', u,
                     '2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00') AS same_uuid
  FROM (VALUES ('8a1d5c2e-5d7a-4c53-9a3a-1c1b2d3e4f50'::uuid), ('8a1d5c2e-5d7a-4c53-9a3a-1c1b2d3e4f50')) t(u);
-- NULL uuid watchers are distinct from each other: peak 2, average 2 * 20 / 60 = 0.666666666666667
SELECT analytics.ccv('2024-01-01 00:00:00+00', '2024-01-01 00:00:20+00', NULL::uuid,
                     '2024-01-01 00:00:00+00', '2024-01-01 00:01:00+00') AS null_uuids
  FROM generate_series(1, 2);

-- empty input: {0,0} for both key types
SELECT analytics.ccv(s, e, w, '2024-01-01', '2024-01-02') AS empty_bigint
  FROM (SELECT NULL::timestamptz, NULL::timestamptz, NULL::bigint WHERE false) t(s, e, w);
SELECT analytics.ccv(s, e, w, '2024-01-01', '2024-01-02') AS empty_uuid
  FROM (SELECT NULL::timestamptz, NULL::timestamptz, NULL::uuid WHERE false) t(s, e, w);
-- each group has its own period: day 1 one watcher 18:00-24:00, 6 h of 24 -> {1, 0.25};
-- day 2 two watchers 6 h each, overlapping 3 h -> peak 2, integral 12 h, average 0.5;
-- the interval crossing midnight is in both groups, clipped to each day
SELECT d, analytics.ccv(s, e, w, d, d + interval '1 day') AS per_day
  FROM (VALUES ('2024-01-01'::timestamptz, '2024-01-01 18:00'::timestamptz, '2024-01-02 06:00'::timestamptz, 1::bigint),
               ('2024-01-02', '2024-01-01 18:00', '2024-01-02 06:00', 1),
               ('2024-01-02', '2024-01-02 03:00', '2024-01-02 09:00', 2)) t(d, s, e, w)
 GROUP BY d ORDER BY d;
-- microsecond resolution: 1 µs of one watcher in 1 s -> average 1e-06
SELECT analytics.ccv('2024-01-01 00:00:00.5+00', '2024-01-01 00:00:00.500001+00', 1::bigint,
                     '2024-01-01 00:00:00+00', '2024-01-01 00:00:01+00') AS one_microsecond;
-- infinite interval bounds are clipped like any other
SELECT analytics.ccv('-infinity', 'infinity', 1::bigint, '2024-01-01', '2024-01-02') AS infinite_interval;

-- errors
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.err(q) FROM (VALUES
  -- the period must be the same for all rows of a group
  ($$SELECT analytics.ccv(now(), now(), 1::bigint, p, '2024-01-02')
       FROM (VALUES ('2024-01-01'::timestamptz), ('2024-01-01 00:00:01')) t(p)$$),
  ($$SELECT analytics.ccv(now(), now(), NULL::uuid, '2024-01-01', p)
       FROM (VALUES ('2024-01-02'::timestamptz), ('2024-01-03')) t(p)$$),
  -- from >= to
  ($$SELECT analytics.ccv(now(), now(), 1::bigint, '2024-01-02', '2024-01-01')$$),
  ($$SELECT analytics.ccv(now(), now(), 1::bigint, '2024-01-01', '2024-01-01')$$),
  -- NULL or infinite period
  ($$SELECT analytics.ccv(now(), now(), 1::bigint, NULL, '2024-01-01')$$),
  ($$SELECT analytics.ccv(now(), now(), 1::bigint, '-infinity', '2024-01-01')$$)
) AS t(q);
SELECT analytics.ccv(now(), now(), 1::bigint, p, '2024-01-02')
  FROM (VALUES ('2024-01-01'::timestamptz), ('2024-01-01 00:00:01')) t(p);

-- declared properties
SELECT p.oid::regprocedure AS function, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p
 WHERE p.pronamespace = 'analytics'::regnamespace AND p.proname LIKE 'ccv%'
 ORDER BY p.oid::regprocedure::text;

--
-- Parallel and partitionwise aggregation give identical answers.
-- 4 partitions x 50,000 deterministic rows. Values are multiples of 0.5, so
-- float sums are exact in any order; the ccv integral is an exact integer.
--
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS st_par CASCADE;  -- left over by an interrupted run
RESET client_min_messages;
CREATE SCHEMA st_par;
CREATE TABLE st_par.ev (d int, event_type analytics.event_type, value double precision,
                        started_at timestamptz, ended_at timestamptz, session_id uuid, viewer_id bigint)
  PARTITION BY LIST (d);
CREATE TABLE st_par.ev0 PARTITION OF st_par.ev FOR VALUES IN (0);
CREATE TABLE st_par.ev1 PARTITION OF st_par.ev FOR VALUES IN (1);
CREATE TABLE st_par.ev2 PARTITION OF st_par.ev FOR VALUES IN (2);
CREATE TABLE st_par.ev3 PARTITION OF st_par.ev FOR VALUES IN (3);
INSERT INTO st_par.ev
SELECT i % 4,
       (enum_range(NULL::analytics.event_type))[(i * 7) % 10 + 1],
       CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 64) * 0.5 END,   -- 0 .. 31.5: hits 3, 5, 10, 30
       '2024-01-01'::timestamptz + ((i * 7919) % 86400) * interval '1 s',
       '2024-01-01'::timestamptz + ((i * 7919) % 86400 + i % 600) * interval '1 s',  -- 0 .. 599 s long
       CASE WHEN i % 97 = 0 THEN NULL ELSE md5((i % 5000)::text)::uuid END,
       CASE WHEN i % 89 = 0 THEN NULL ELSE i % 1500 END
  FROM generate_series(1, 200000) i;
ANALYZE st_par.ev;
CREATE TABLE st_par.rollup AS       -- 2,000 pre-aggregated arrays for event_stats_merge
  SELECT i % 2000 AS b, analytics.event_stats(event_type, value) AS s
    FROM (SELECT row_number() OVER () AS i, * FROM st_par.ev) t GROUP BY 1;
ANALYZE st_par.rollup;

-- serial answers
SET max_parallel_workers_per_gather = 0;
SET enable_partitionwise_aggregate = off;
CREATE TABLE st_par.serial AS SELECT
  (SELECT analytics.event_stats(event_type, value) FROM st_par.ev) AS stats,
  (SELECT array_agg(s ORDER BY d) FROM (SELECT d, analytics.event_stats(event_type, value) s FROM st_par.ev GROUP BY d) g) AS stats_by_d,
  (SELECT analytics.event_stats_merge(s) FROM st_par.rollup) AS merged,
  (SELECT analytics.ccv(started_at, ended_at, session_id, '2024-01-01 06:00', '2024-01-01 18:00') FROM st_par.ev) AS ccv_sessions,
  (SELECT analytics.ccv(started_at, ended_at, viewer_id, '2024-01-01 06:00', '2024-01-01 18:00') FROM st_par.ev) AS ccv_viewers,
  (SELECT array_agg(c ORDER BY d) FROM (SELECT d, analytics.ccv(started_at, ended_at, viewer_id, '2024-01-01', '2024-01-02') c
                                          FROM st_par.ev GROUP BY d) g) AS ccv_by_d;
-- the serial answers agree with plain SQL: counts per event type, sums
SELECT s.stats[1:10] = (SELECT array_agg(n ORDER BY t) FROM (SELECT event_type t, count(*)::float8 n FROM st_par.ev GROUP BY 1) c)
         AS counts_ok,
       s.stats[11:14] = (SELECT ARRAY[count(*) FILTER (WHERE value = 3), count(*) FILTER (WHERE value = 5),
                                      count(*) FILTER (WHERE value = 10), count(*) FILTER (WHERE value = 30)]::float8[]
                           FROM st_par.ev WHERE event_type = 'view') AS views_ok,
       s.stats[15:17] = (SELECT ARRAY[sum(value) FILTER (WHERE event_type = 'impression'),
                                      count(value) FILTER (WHERE event_type = 'impression'),
                                      sum(value) FILTER (WHERE event_type = 'watch')]::float8[]
                           FROM st_par.ev) AS sums_ok,
       s.merged = s.stats AS merged_ok
  FROM st_par.serial s;
-- a brute-force check of ccv per partition over [10:00, 10:20): all times are
-- whole seconds, so concurrency is constant on each second; expand every
-- interval into its seconds and count distinct viewers (each NULL viewer
-- separately) per second: peak = max, average = sum / 1200 s
CREATE TABLE st_par.brute AS
  SELECT d, ARRAY[max(n), sum(n) / 1200.0]::float8[] AS c
    FROM (SELECT d, t, count(DISTINCT viewer_id) + count(*) FILTER (WHERE viewer_id IS NULL) AS n
            FROM st_par.ev,
                 generate_series(greatest(started_at, '2024-01-01 10:00'),
                                 least(ended_at, '2024-01-01 10:20') - interval '1 s', interval '1 s') t
           WHERE started_at < '2024-01-01 10:20' AND ended_at > '2024-01-01 10:00'
           GROUP BY d, t) x
   GROUP BY d;
SELECT d, c AS brute_force, c = (SELECT analytics.ccv(started_at, ended_at, viewer_id, '2024-01-01 10:00', '2024-01-01 10:20')
                                   FROM st_par.ev e WHERE e.d = b.d) AS ccv_agrees
  FROM st_par.brute b ORDER BY d;

-- parallel, partial and partitionwise plans
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_partitionwise_aggregate = on;
-- EXPLAIN (COSTS OFF), with the partition names replaced by evN (the order
-- of equally costly partitions under Parallel Append is not significant)
CREATE FUNCTION pg_temp.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    RETURN NEXT regexp_replace(regexp_replace(line, 'ev\d ev(_\d)?', 'evN'), 'ev(_\d)?\.d', 'evN.d');
  END LOOP;
END $$;
SELECT pg_temp.plan('SELECT analytics.event_stats(event_type, value) FROM st_par.ev') AS event_stats_plan;
SELECT pg_temp.plan('SELECT d, analytics.event_stats(event_type, value) FROM st_par.ev GROUP BY d') AS partitionwise_plan;
SELECT pg_temp.plan('SELECT analytics.event_stats_merge(s) FROM st_par.rollup') AS merge_plan;
SELECT pg_temp.plan($$SELECT analytics.ccv(started_at, ended_at, viewer_id, '2024-01-01', '2024-01-02') FROM st_par.ev$$) AS ccv_plan;
-- workers really ran (states went through serialize / deserialize / combine)
CREATE FUNCTION pg_temp.workers_launched(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, FORMAT JSON) ' || q INTO plan;
  RETURN (regexp_match(plan::text, '"Workers Launched": (\d+)'))[1]::int > 0;
END $$;
SELECT pg_temp.workers_launched('SELECT analytics.event_stats(event_type, value) FROM st_par.ev') AS stats_parallel,
       pg_temp.workers_launched('SELECT analytics.ccv(started_at, ended_at, session_id, ''2024-01-01'', ''2024-01-02'') FROM st_par.ev') AS ccv_parallel;
-- identical answers
SELECT (SELECT analytics.event_stats(event_type, value) FROM st_par.ev) = s.stats AS stats_same,
       (SELECT array_agg(x ORDER BY d) FROM (SELECT d, analytics.event_stats(event_type, value) x FROM st_par.ev GROUP BY d) g)
         = s.stats_by_d AS stats_by_d_same,
       (SELECT analytics.event_stats_merge(r.s) FROM st_par.rollup r) = s.merged AS merged_same,
       (SELECT analytics.ccv(started_at, ended_at, session_id, '2024-01-01 06:00', '2024-01-01 18:00') FROM st_par.ev)
         = s.ccv_sessions AS ccv_sessions_same,
       (SELECT analytics.ccv(started_at, ended_at, viewer_id, '2024-01-01 06:00', '2024-01-01 18:00') FROM st_par.ev)
         = s.ccv_viewers AS ccv_viewers_same,
       (SELECT array_agg(c ORDER BY d) FROM (SELECT d, analytics.ccv(started_at, ended_at, viewer_id, '2024-01-01', '2024-01-02') c
                                               FROM st_par.ev GROUP BY d) g) = s.ccv_by_d AS ccv_by_d_same
  FROM st_par.serial s;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET enable_partitionwise_aggregate;
DROP SCHEMA st_par CASCADE;
