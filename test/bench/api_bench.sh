#!/bin/bash
# Query API latency benchmark.
#   test/bench/api_bench.sh [ROWS] [DAYS] [RUNS]     defaults: 10000000 30 9
# Starts a private cluster, loads ROWS generated events over DAYS days (20
# projects), then times each question through the API (analytics.metric /
# breakdown / timeseries / api_request) and as the plain SQL GROUP BY a user
# would write over analytics.events, RUNS times each after one warm-up run,
# and prints p50 / p95 in ms and the ratio. Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-10000000}
DAYS=${2:-30}
RUNS=${3:-9}
PORT=${ANALYTICS_BENCH_PORT:-54334}

. test/pgenv.sh
pgenv_prepare apibench gen
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '4GB'" "max_wal_size = '8GB'" "work_mem = '64MB'" \
  "maintenance_work_mem = '1GB'" "synchronous_commit = off" "max_parallel_workers_per_gather = 2" \
  "jit = off" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"

END=$(( $(date +%s) / 60 * 60 ))
$PSQL -c "CREATE EXTENSION analytics" -c "SELECT analytics.set_retention('$((DAYS + 2)) days')" >/dev/null
$PSQL -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, $DAYS) d" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
echo "loading $ROWS events over $DAYS days..."
t0=$(date +%s.%N)
./test/gen -n "$ROWS" -d "$DAYS" -e "$END" -p 20 -m 500 -s 11 | $PSQL -c "COPY analytics.events FROM STDIN"
t1=$(date +%s.%N)
echo "$t0 $t1" | awk -v r="$ROWS" '{printf "COPY: %.1f s, %.0f rows/s\n", $2-$1, r/($2-$1)}'
$PSQL -c "VACUUM ANALYZE analytics.events" >/dev/null
$PSQL -At -c "SELECT 'events: ' || pg_size_pretty(sum(pg_total_relation_size(partition))) FROM analytics.partitions()"

# the busiest live stream and video of the biggest project, for the per-media questions
LIVE=$($PSQL -At -c "SELECT media_id FROM analytics.events WHERE project_id = 'p001' AND media_type = 'live-stream' AND event_type = 'watch' AND emitted_at >= now() - interval '1 day' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
VIDEO=$($PSQL -At -c "SELECT media_id FROM analytics.events WHERE project_id = 'p001' AND media_type = 'video' AND event_type = 'play' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")

$PSQL -v runs="$RUNS" -v live="$LIVE" -v video="$VIDEO" <<'SQL'
CREATE FUNCTION pg_temp.bench(q text, runs int) RETURNS double precision[] LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; d double precision[] := '{}'; i int;
BEGIN
  EXECUTE q;                                   -- warm-up
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    d := d || extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RETURN d;
END $$;
CREATE FUNCTION pg_temp.pct(d double precision[], p double precision) RETURNS double precision LANGUAGE sql AS $$
  SELECT percentile_disc(p) WITHIN GROUP (ORDER BY x) FROM unnest(d) x $$;
CREATE TEMP TABLE questions (n int, question text, api text, plain text);
INSERT INTO questions VALUES
 (1, 'play count, 1 project, 30 d',
  $$SELECT analytics.metric('play', 'count', now() - interval '30 days', now(), project_id => 'p001')$$,
  $$SELECT count(*) FROM analytics.events WHERE project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - interval '30 days' AND emitted_at < now()$$),
 (2, 'play count, 3 countries, 30 d',
  $$SELECT analytics.metric('play', 'count', now() - interval '30 days', now(), '{"country": ["US", "FR", "DE"]}', project_id => 'p001')$$,
  $$SELECT count(*) FROM analytics.events WHERE project_id = 'p001' AND event_type = 'play' AND country IN ('US', 'FR', 'DE') AND emitted_at >= now() - interval '30 days' AND emitted_at < now()$$),
 (3, 'play rate, 1 project, 30 d',
  $$SELECT analytics.metric('play', 'rate', now() - interval '30 days', now(), project_id => 'p001')$$,
  $$SELECT count(*) FILTER (WHERE event_type = 'play')::float8 / nullif(count(*) FILTER (WHERE event_type = 'impression'), 0) FROM analytics.events WHERE project_id = 'p001' AND event_type IN ('play', 'impression') AND emitted_at >= now() - interval '30 days' AND emitted_at < now()$$),
 (4, 'plays by country top 25, 1 project',
  $$SELECT * FROM analytics.breakdown('play', 'country', now() - interval '30 days', now(), project_id => 'p001') LIMIT 25$$,
  $$SELECT coalesce(country, 'unknown'), count(*) FROM analytics.events WHERE project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - interval '30 days' AND emitted_at < now() GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 25$$),
 (5, 'plays by media top 25, all projects',
  $$SELECT * FROM analytics.breakdown('play', 'media-id', now() - interval '30 days', now()) LIMIT 25$$,
  $$SELECT media_id, count(*) FROM analytics.events WHERE event_type = 'play' AND emitted_at >= now() - interval '30 days' AND emitted_at < now() GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 25$$),
 (6, 'plays per day, 30 d, 1 project',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '30 days', now(), 'day', project_id => 'p001')$$,
  $$SELECT date_trunc('day', emitted_at), count(*) FROM analytics.events WHERE project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - interval '30 days' AND emitted_at < now() GROUP BY 1 ORDER BY 1$$),
 (7, 'plays per hour, last 2 d, 1 project',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '2 days', now(), 'hour', project_id => 'p001')$$,
  $$SELECT date_trunc('hour', emitted_at), count(*) FROM analytics.events WHERE project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - interval '2 days' AND emitted_at < now() GROUP BY 1 ORDER BY 1$$),
 (8, 'average watch time, 1 media, 30 d',
  format($$SELECT analytics.metric('watch-time', 'average', now() - interval '30 days', now(), '{"mediaId": "%s"}', project_id => 'p001')$$, :'video'),
  format($$SELECT sum(value) FILTER (WHERE event_type = 'watch') / nullif(count(*) FILTER (WHERE event_type = 'play'), 0) FROM analytics.events WHERE project_id = 'p001' AND media_id = '%s' AND event_type IN ('watch', 'play') AND emitted_at >= now() - interval '30 days' AND emitted_at < now()$$, :'video')),
 (9, 'ccv peak, 1 live stream, 1 d',
  format($$SELECT analytics.metric('ccv', 'peak', now() - interval '1 day', now(), '{"mediaId": "%s"}', project_id => 'p001')$$, :'live'),
  -- plain SQL: concurrency at each interval start (self-join would be quadratic; this is the usual window trick)
  format($$SELECT max(c) FROM (SELECT sum(d) OVER (ORDER BY t, d) AS c FROM (
       SELECT greatest(emitted_at - value * interval '1 second', now() - interval '1 day') AS t, 1 AS d FROM analytics.events
        WHERE project_id = 'p001' AND media_id = '%1$s' AND event_type = 'watch' AND emitted_at > now() - interval '1 day' AND emitted_at < now() + interval '1 hour' AND emitted_at - value * interval '1 second' < now()
       UNION ALL
       SELECT least(emitted_at, now()), -1 FROM analytics.events
        WHERE project_id = 'p001' AND media_id = '%1$s' AND event_type = 'watch' AND emitted_at > now() - interval '1 day' AND emitted_at < now() + interval '1 hour' AND emitted_at - value * interval '1 second' < now()) s) x$$, :'live')),
 (10, 'JSON: api_request buckets by country',
  $$SELECT * FROM analytics.api_request('/data/buckets/play/country?pageSize=25', 'p001')$$,
  $$SELECT json_agg(r) FROM (SELECT coalesce(country, 'unknown') AS "dimensionValue", count(*) AS "metricValue" FROM analytics.events WHERE project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - interval '1 day' AND emitted_at < now() GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 25) r$$);

\pset footer off
SELECT n, question,
       round(pg_temp.pct(a, 0.5)::numeric, 1) AS api_p50_ms, round(pg_temp.pct(a, 0.95)::numeric, 1) AS api_p95_ms,
       round(pg_temp.pct(p, 0.5)::numeric, 1) AS sql_p50_ms, round(pg_temp.pct(p, 0.95)::numeric, 1) AS sql_p95_ms,
       round((pg_temp.pct(a, 0.5) / pg_temp.pct(p, 0.5))::numeric, 2) AS api_over_sql
  FROM (SELECT n, question, pg_temp.bench(api, :runs) AS a, pg_temp.bench(plain, :runs) AS p FROM questions ORDER BY n) r
 ORDER BY n;
SQL
