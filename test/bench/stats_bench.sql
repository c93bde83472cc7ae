-- test/bench/stats_bench.sql: analytics.event_stats vs the equivalent plain SQL
-- (17 FILTERed aggregates) over 5M generated events.
--   psql -X -d DB -f test/bench/stats_bench.sql
-- Needs the extension; creates and drops the schema stats_bench. Each query
-- runs 3 times, serial then with 2 parallel workers; read the \timing lines.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS stats_bench CASCADE;
CREATE SCHEMA stats_bench;
CREATE UNLOGGED TABLE stats_bench.ev (event_type analytics.event_type, value double precision);
INSERT INTO stats_bench.ev
SELECT (enum_range(NULL::analytics.event_type))[(i * 7) % 10 + 1],
       CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 64) * 0.5 END
  FROM generate_series(1, 5000000) i;
VACUUM ANALYZE stats_bench.ev;

CREATE VIEW stats_bench.plain AS
SELECT ARRAY[count(*) FILTER (WHERE event_type = 'impression'),
             count(*) FILTER (WHERE event_type = 'play'),
             count(*) FILTER (WHERE event_type = 'start'),
             count(*) FILTER (WHERE event_type = 'end'),
             count(*) FILTER (WHERE event_type = 'resume'),
             count(*) FILTER (WHERE event_type = 'pause'),
             count(*) FILTER (WHERE event_type = 'seek'),
             count(*) FILTER (WHERE event_type = 'watch'),
             count(*) FILTER (WHERE event_type = 'view'),
             count(*) FILTER (WHERE event_type = 'error'),
             count(*) FILTER (WHERE event_type = 'view' AND value = 3),
             count(*) FILTER (WHERE event_type = 'view' AND value = 5),
             count(*) FILTER (WHERE event_type = 'view' AND value = 10),
             count(*) FILTER (WHERE event_type = 'view' AND value = 30),
             coalesce(sum(value) FILTER (WHERE event_type = 'impression'), 0),
             count(value) FILTER (WHERE event_type = 'impression'),
             coalesce(sum(value) FILTER (WHERE event_type = 'watch'), 0)]::float8[] AS stats
  FROM stats_bench.ev;

-- same answer
SELECT (SELECT analytics.event_stats(event_type, value) FROM stats_bench.ev) = (SELECT stats FROM stats_bench.plain) AS same_answer;

\echo '--- serial (max_parallel_workers_per_gather = 0)'
SET max_parallel_workers_per_gather = 0;
\timing on
\echo 'event_stats x3'
SELECT analytics.event_stats(event_type, value) IS NOT NULL FROM stats_bench.ev;
SELECT analytics.event_stats(event_type, value) IS NOT NULL FROM stats_bench.ev;
SELECT analytics.event_stats(event_type, value) IS NOT NULL FROM stats_bench.ev;
\echo 'plain SQL x3'
SELECT stats IS NOT NULL FROM stats_bench.plain;
SELECT stats IS NOT NULL FROM stats_bench.plain;
SELECT stats IS NOT NULL FROM stats_bench.plain;
\timing off

\echo '--- parallel (2 workers)'
SET max_parallel_workers_per_gather = 2;
\timing on
\echo 'event_stats x3'
SELECT analytics.event_stats(event_type, value) IS NOT NULL FROM stats_bench.ev;
SELECT analytics.event_stats(event_type, value) IS NOT NULL FROM stats_bench.ev;
SELECT analytics.event_stats(event_type, value) IS NOT NULL FROM stats_bench.ev;
\echo 'plain SQL x3'
SELECT stats IS NOT NULL FROM stats_bench.plain;
SELECT stats IS NOT NULL FROM stats_bench.plain;
SELECT stats IS NOT NULL FROM stats_bench.plain;
\timing off

DROP SCHEMA stats_bench CASCADE;
