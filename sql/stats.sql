-- analytics.event_stats / event_stats_merge / stats_metric (src/stats.c).
-- Input comes from a temp table of hand-built events, never from
-- analytics.events (earlier tests leave rows there).
SET extra_float_digits = 0;  -- 15 significant digits: stable display of ratios

CREATE TEMP TABLE ev (grp int, event_type analytics.event_type, value double precision);
INSERT INTO ev VALUES
  -- 4 impressions, values 100 + 200 + 60 = 360 over 3 non-NULL values (avg 120)
  (1, 'impression', 100), (1, 'impression', 200), (2, 'impression', NULL), (2, 'impression', 60),
  -- 3 plays (a value on a play is not summed anywhere)
  (1, 'play', NULL), (1, 'play', 5), (2, 'play', NULL),
  -- 2 starts, 1 end
  (1, 'start', NULL), (2, 'start', NULL), (2, 'end', NULL),
  -- 3 watch events, 11.5 + 20 = 31.5 (the NULL adds nothing)
  (1, 'watch', 11.5), (2, 'watch', 20), (2, 'watch', NULL),
  -- 9 views: value 3 twice, 5 once, 10 once, 30 three times, 7 (no threshold), NULL
  (1, 'view', 3), (2, 'view', 3), (1, 'view', 5), (1, 'view', 10),
  (1, 'view', 30), (2, 'view', 30), (2, 'view', 30), (2, 'view', 7), (2, 'view', NULL),
  -- 1 error with a value: counted, value ignored
  (1, 'error', 42),
  -- rows without an event type are ignored entirely
  (1, NULL, 999), (2, NULL, NULL);
-- 5 resumes, 6 pauses, 7 seeks
INSERT INTO ev SELECT i % 2 + 1, 'resume', NULL FROM generate_series(1, 5) i;
INSERT INTO ev SELECT i % 2 + 1, 'pause', i FROM generate_series(1, 6) i;
INSERT INTO ev SELECT i % 2 + 1, 'seek', NULL FROM generate_series(1, 7) i;

-- expected, element by element:
--   impression 4, play 3, start 2, end 1, resume 5, pause 6, seek 7, watch 3, view 9, error 1,
--   views@3s 2, @5s 1, @10s 1, @30s 3, impression sum 360, impression values 3, watch sum 31.5
SELECT analytics.event_stats(event_type, value) AS stats FROM ev;
SELECT analytics.event_stats(event_type, value)
       = '{4,3,2,1,5,6,7,3,9,1,2,1,1,3,360,3,31.5}'::float8[] AS all_17_as_expected
  FROM ev;

-- per group: group 1 = 2 impressions (300 over 2), 2 plays, 1 start, 0 end, 2 resumes
-- (i = 1, 3, 5 -> grp 2; 2, 4 -> grp 1), 3 pauses, 3 seeks, 1 watch (11.5), 4 views (3, 5, 10, 30), 1 error;
-- group 2 = the rest
SELECT grp, analytics.event_stats(event_type, value) FROM ev GROUP BY grp ORDER BY grp;

-- labels are mapped by name: label number k (in enum order) repeated k times
-- gives exactly 1..10 in the first ten elements
SELECT analytics.event_stats(e, NULL) AS one_to_ten
  FROM unnest(enum_range(NULL::analytics.event_type)) WITH ORDINALITY AS u(e, k),
       generate_series(1, k::int);

-- no rows: 17 zeros, not NULL; only NULL event types: 17 zeros too
SELECT analytics.event_stats(event_type, value) AS no_rows FROM ev WHERE false;
SELECT analytics.event_stats(NULL, v) AS null_types FROM generate_series(1, 3) v;
SELECT grp, analytics.event_stats(event_type, value) FROM ev WHERE false GROUP BY grp;

-- event_stats_merge: merging the per-group arrays gives the whole (element-wise sum)
SELECT analytics.event_stats_merge(s) = (SELECT analytics.event_stats(event_type, value) FROM ev) AS merge_equals_whole,
       analytics.event_stats_merge(s) AS merged
  FROM (SELECT analytics.event_stats(event_type, value) AS s FROM ev GROUP BY grp) g;
-- event_stats_negate: the whole minus one group, merged, is the other groups
SELECT analytics.event_stats_negate('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17.5}') AS negated;
SELECT analytics.event_stats_merge(s) = (SELECT analytics.event_stats(event_type, value) FROM ev WHERE grp <> 1) AS whole_minus_group_1
  FROM (SELECT analytics.event_stats(event_type, value) AS s FROM ev
        UNION ALL SELECT analytics.event_stats_negate(analytics.event_stats(event_type, value)) FROM ev WHERE grp = 1) g;
-- NULL arrays are skipped; no rows -> 17 zeros
SELECT analytics.event_stats_merge(s) AS merged_with_null
  FROM (VALUES ('{1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.5}'::float8[]), (NULL),
               ('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17}')) t(s);
SELECT analytics.event_stats_merge(s) AS merged_nothing FROM (SELECT NULL::float8[] WHERE false) t(s);
SELECT analytics.event_stats_merge(NULL) AS merged_only_null;
-- any lower bound is fine, only the shape counts
SELECT analytics.event_stats_merge('[0:16]={1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17}') AS lower_bound_0;

-- stats_metric on the hand-built array
CREATE TEMP TABLE st AS SELECT analytics.event_stats(event_type, value) AS s FROM ev;
SELECT m, a, d, analytics.stats_metric(s, m, a, d) AS value
  FROM st, (VALUES
    ('play', NULL, NULL),                   -- 3
    ('play', 'count', NULL),                -- 3
    ('play', 'rate', NULL),                 -- 3 / 4 = 0.75
    ('play-rate', NULL, NULL),              -- 0.75
    ('start', NULL, NULL),                  -- 2
    ('start', 'count', NULL),               -- 2
    ('end', NULL, NULL),                    -- 1
    ('end', 'count', NULL),                 -- 1
    ('impression', NULL, NULL),             -- 4
    ('impression', 'count', NULL),          -- 4
    ('impression-time', NULL, NULL),        -- average: 360 / 3 = 120 (NULL value not counted)
    ('impression-time', 'average', NULL),   -- 120
    ('impression-time', 'sum', NULL),       -- 360
    ('watch-time', NULL, NULL),             -- sum: 31.5
    ('watch-time', 'sum', NULL),            -- 31.5
    ('watch-time', 'average', NULL),        -- 31.5 / 3 plays = 10.5
    ('view', NULL, NULL),                   -- default 5s: 1
    ('view', 'count', NULL),                -- 1
    ('view', NULL, '3s'),                   -- 2
    ('view', 'count', '5s'),                -- 1
    ('view', NULL, '10s'),                  -- 1
    ('view', NULL, '30s')                   -- 3
  ) AS p(m, a, d)
 ORDER BY m, a NULLS FIRST, d NULLS FIRST;
-- play-rate is never clamped: 3 plays / 2 impressions = 1.5; ratio with a fraction: 1 / 3
SELECT analytics.stats_metric('{2,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}', 'play-rate') AS rate_above_1,
       analytics.stats_metric('{3,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}', 'play', 'rate') AS one_third;
-- empty denominators give NULL: no impressions (play-rate), impressions but no
-- impression value (impression-time average: element 16 is 0 while element 1 is 2),
-- no plays (watch-time average, even with watch time)
SELECT analytics.stats_metric(s, 'play-rate') IS NULL AS rate_null,
       analytics.stats_metric(s, 'play', 'rate') IS NULL AS play_rate_null,
       analytics.stats_metric(s, 'impression-time') IS NULL AS impr_avg_null,
       analytics.stats_metric(s, 'impression-time', 'sum') AS impr_sum,
       analytics.stats_metric(s, 'watch-time', 'average') IS NULL AS watch_avg_null,
       analytics.stats_metric(s, 'watch-time') AS watch_sum,
       analytics.stats_metric(s, 'impression') AS impressions
  FROM (VALUES ('{2,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,12.5}'::float8[])) t(s);
SELECT analytics.stats_metric(s, 'play-rate') IS NULL AS rate_null,
       analytics.stats_metric(s, 'impression-time') IS NULL AS impr_avg_null,
       analytics.stats_metric(s, 'watch-time', 'average') IS NULL AS watch_avg_null
  FROM (VALUES ('{0,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}'::float8[])) t(s);
-- the 0-row case, end to end: counts and sums are 0, ratios NULL
SELECT analytics.stats_metric(s, 'play') AS plays, analytics.stats_metric(s, 'start') AS starts,
       analytics.stats_metric(s, 'end') AS ends, analytics.stats_metric(s, 'impression') AS impressions,
       analytics.stats_metric(s, 'view', NULL, '30s') AS views30,
       analytics.stats_metric(s, 'impression-time', 'sum') AS impr_sum,
       analytics.stats_metric(s, 'watch-time') AS watch_sum,
       analytics.stats_metric(s, 'play-rate') IS NULL AS rate_null,
       analytics.stats_metric(s, 'impression-time') IS NULL AS impr_avg_null,
       analytics.stats_metric(s, 'watch-time', 'average') IS NULL AS watch_avg_null
  FROM (SELECT analytics.event_stats(event_type, value) FROM ev WHERE false) t(s);
-- NULL stats: NULL (names are still checked, see below)
SELECT analytics.stats_metric(NULL, 'play') IS NULL AS null_stats;

-- errors: SQLSTATE and message
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT q, pg_temp.err(q) FROM (VALUES
  ($$SELECT analytics.stats_metric(s, 'plays') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'PLAY') FROM st$$),
  ($$SELECT analytics.stats_metric(s, '') FROM st$$),
  ($$SELECT analytics.stats_metric(s, NULL) FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'ccv', 'peak') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'play-total') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'play', 'total') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'play', 'sum') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'play-rate', 'rate') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'start', 'rate') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'impression-time', 'count') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'watch-time', '') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'view', 'average') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'view', NULL, '7s') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'view', NULL, '5') FROM st$$),
  ($$SELECT analytics.stats_metric(s, 'play', NULL, '5s') FROM st$$),
  ($$SELECT analytics.stats_metric(NULL, 'plays')$$),
  ($$SELECT analytics.stats_metric('{1,2,3}', 'play')$$),
  ($$SELECT analytics.stats_metric('{{1,2},{3,4}}', 'play')$$),
  ($$SELECT analytics.stats_metric('{}', 'play')$$),
  ($$SELECT analytics.stats_metric('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,NULL}', 'play')$$),
  ($$SELECT analytics.event_stats_merge(s) FROM (VALUES ('{1,2}'::float8[])) t(s)$$),
  ($$SELECT analytics.event_stats_merge(s) FROM (VALUES ('{{1},{2}}'::float8[])) t(s)$$),
  ($$SELECT analytics.event_stats_merge(s) FROM (VALUES (array_fill(1::float8, ARRAY[16]) || NULL::float8)) t(s)$$)
) AS t(q);
-- a huge value is shown cut to 64 bytes
SELECT pg_temp.err($$SELECT analytics.stats_metric('{}', repeat('é', 100000))$$) AS huge_metric;

-- message and hint, as a client sees them
SELECT analytics.stats_metric(s, 'plays') FROM st;
SELECT analytics.stats_metric(s, 'watch-time', 'count') FROM st;
SELECT analytics.stats_metric(s, 'play-rate', 'count') FROM st;
SELECT analytics.stats_metric(s, 'view', 'count', '7s') FROM st;
SELECT analytics.stats_metric(s, 'end', NULL, '5s') FROM st;
SELECT analytics.event_stats_merge(s) FROM (VALUES ('{1,2}'::float8[])) t(s);

-- the REST parameter name travels as COLUMN_NAME (read by the JSON layer)
CREATE FUNCTION pg_temp.diag(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; col text; hint text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME, hint = PG_EXCEPTION_HINT;
  RETURN st || ' column=' || coalesce(nullif(col, ''), '-') || ' hint=' || hint;
END $$;
\x on
SELECT pg_temp.diag($$SELECT analytics.stats_metric(s, 'plays') FROM st$$) AS metric,
       pg_temp.diag($$SELECT analytics.stats_metric(s, 'play', 'sum') FROM st$$) AS aggregation,
       pg_temp.diag($$SELECT analytics.stats_metric(s, 'view', NULL, '7s') FROM st$$) AS view_duration,
       pg_temp.diag($$SELECT analytics.stats_metric(s, 'start', NULL, '3s') FROM st$$) AS view_duration_misplaced,
       pg_temp.diag($$SELECT analytics.event_stats_merge(s) FROM (VALUES ('{1,2}'::float8[])) t(s)$$) AS bad_array;
\x off

-- declared properties
SELECT p.oid::regprocedure AS function, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p
 WHERE p.pronamespace = 'analytics'::regnamespace
   AND (p.proname LIKE 'event\_stats%' OR p.proname = 'stats_metric')
 ORDER BY p.oid::regprocedure::text;
SELECT aggfnoid::regprocedure AS aggregate, aggcombinefn <> 0 AS has_combine,
       aggserialfn <> 0 AS has_serial, aggdeserialfn <> 0 AS has_deserial,
       aggtranstype::regtype, p.proparallel
  FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
 WHERE p.pronamespace = 'analytics'::regnamespace AND p.proname LIKE 'event\_stats%'
 ORDER BY aggfnoid::regprocedure::text;

-- _value_sums / _value_sums_merge (src/valuesums.c): the sum per value in
-- one text (each value behind its length in characters, counts in decimal,
-- other sums as their bits in hex), merged; rows with a NULL value or sum
-- skipped; NULL for no rows
SELECT analytics._value_sums(v, n)
  FROM (VALUES ('a', 1.0::float8), ('b', 2), ('a', 3), (NULL, 4), ('c', NULL), ('d;:1', -5), ('e', 0.5),
               ('f', '-0'), ('日本', 7), ('', 9007199254740992), ('g', 9007199254740994)) x(v, n);
SELECT analytics._value_sums_merge(s)
  FROM (SELECT analytics._value_sums(v, n) AS s
          FROM (VALUES (1, 'a', 1.0::float8), (1, '日本', 2), (2, 'a', 3), (2, 'c', 0.25)) x(g, v, n)
         GROUP BY g ORDER BY g) y;
SELECT analytics._value_sums(v, n) IS NULL AS no_rows FROM (VALUES ('a', 1.0::float8)) x(v, n) WHERE false;
SELECT analytics._value_sums_merge(s) FROM (VALUES ('AVS1 1;1:a3;'), (NULL)) x(s);
-- a state that is not one: 22P03
SELECT analytics._value_sums_merge(s) FROM (VALUES ('AVS1 1;5:a3;')) x(s);
SELECT analytics._value_sums_merge(s) FROM (VALUES ('AVS1 2;1:a3;')) x(s);
SELECT analytics._value_sums_merge(s) FROM (VALUES ('AVS1 1;1:ax3ff000000000000g;')) x(s);
SELECT analytics._value_sums_transfn(NULL, 'a', 1);
SELECT p.oid::regprocedure AS function, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p
 WHERE p.pronamespace = 'analytics'::regnamespace AND p.proname LIKE '\_value\_sums%'
 ORDER BY p.oid::regprocedure::text;
SELECT aggfnoid::regprocedure AS aggregate, aggcombinefn <> 0 AS has_combine, aggtranstype::regtype,
       p.proparallel
  FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
 WHERE p.pronamespace = 'analytics'::regnamespace AND p.proname LIKE '\_value\_sums%'
 ORDER BY aggfnoid::regprocedure::text;
