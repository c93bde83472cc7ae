#!/bin/bash
# Latency of the query layer (analytics.metric / breakdown / timeseries), to
# compare two versions of the code on the same data.
#
#   test/bench/query_bench.sh [-n EVENTS] [-d DAYS] [-r RUNS]
#
#   defaults      -n 1000000 -d 7 -r 25
#   environment   QUERY_BENCH_PORT (54333)
#
# Builds and installs this tree into the PostgreSQL of the PATH, starts a
# private cluster (test/pgenv.sh), loads EVENTS events of 20 projects made by
# test/gen over DAYS days ending at a fixed instant (so that every run has the
# same data and the same answers), runs maintenance (rollups), then times each
# question RUNS times after a warm-up, as the owner: p50 / p95 in ms. Last, an
# md5 of every answer (all rows, in order), rollups on and off: equal md5s
# mean equal answers.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=1000000 D=7 R=25
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift ;;
    -d) D=$2; shift ;;
    -r) R=$2; shift ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
  esac
  shift
done
PORT=${QUERY_BENCH_PORT:-54333}
. test/pgenv.sh
make -s gen
pgenv_prepare qbench
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
# a fixed end (2026-12-06 00:00 UTC): the same events and answers every run
END=1796515200
./test/gen -n "$N" -d "$D" -e "$END" -p 20 -m 500 -s 11 > "$WORK/events.copy"
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '512MB'" "work_mem = '64MB'" "jit = off" \
  "max_parallel_workers_per_gather = 2" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
$PSQL -c "CREATE EXTENSION analytics" -c "SELECT analytics.set_retention('3650 days')" \
      -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, $D) d" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
$PSQL -c "\\copy analytics.events FROM '$WORK/events.copy'"
$PSQL -c "SET analytics.maintenance_in_worker = off" -c "SELECT analytics.run_maintenance()" >/dev/null
$PSQL -c "VACUUM ANALYZE" >/dev/null
VIDEO=$($PSQL -At -c "SELECT media_id FROM analytics.events WHERE project_id = 'p001' AND media_type = 'video' AND event_type = 'play' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
E="to_timestamp($END)"
$PSQL -At -F $'\t' -v runs="$R" -v video="$VIDEO" -v e="$E" <<'SQL'
CREATE FUNCTION pg_temp.bench(q text, runs int) RETURNS double precision[] LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; d double precision[] := '{}'; i int;
BEGIN
  PERFORM pg_temp.rows(q);                     -- warm-up
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp();
    PERFORM pg_temp.rows(q);
    d := d || extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RETURN d;
END $$;
CREATE FUNCTION pg_temp.rows(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; BEGIN
  EXECUTE 'SELECT string_agg(x::text, '';'') FROM (' || q || ') x' INTO r; RETURN coalesce(r, ''); END $$;
CREATE FUNCTION pg_temp.pct(d double precision[], p double precision) RETURNS numeric LANGUAGE sql AS $$
  SELECT round(percentile_disc(p) WITHIN GROUP (ORDER BY x)::numeric, 2) FROM unnest(d) x $$;
CREATE TEMP TABLE questions (n int, question text, q text);
INSERT INTO questions VALUES
 (1, 'metric play count, 1 project, 7 d',
  format($$SELECT analytics.metric('play', 'count', %1$s - interval '7 days', %1$s, project_id => 'p001')$$, :'e')),
 (2, 'metric play count, 1 project, last hour',
  format($$SELECT analytics.metric('play', 'count', %1$s - interval '1 hour', %1$s, project_id => 'p001')$$, :'e')),
 (3, 'breakdown plays by country, 1 project, 7 d',
  format($$SELECT * FROM analytics.breakdown('play', 'country', %1$s - interval '7 days', %1$s, project_id => 'p001')$$, :'e')),
 (4, 'breakdown plays by media, all projects, 7 d',
  format($$SELECT * FROM analytics.breakdown('play', 'media-id', %1$s - interval '7 days', %1$s)$$, :'e')),
 (5, 'timeseries plays per day, 1 project, 7 d',
  format($$SELECT * FROM analytics.timeseries('play', %1$s - interval '7 days', %1$s, 'day', project_id => 'p001')$$, :'e')),
 (6, 'timeseries plays per hour, 1 project, 2 d',
  format($$SELECT * FROM analytics.timeseries('play', %1$s - interval '2 days', %1$s, 'hour', project_id => 'p001')$$, :'e')),
 (7, 'metric avg watch time, 1 media, 7 d',
  format($$SELECT analytics.metric('watch-time', 'average', %1$s - interval '7 days', %1$s, '{"mediaId": "%2$s"}', project_id => 'p001')$$, :'e', :'video')),
 (8, 'breakdown raw (2 filters) plays by browser, 1 d',
  format($$SELECT * FROM analytics.breakdown('play', 'browser', %1$s - interval '1 day', %1$s, '{"country": ["US", "FR", "DE"], "deviceType": "phone"}', project_id => 'p001')$$, :'e')),
 (9, 'timeseries ccv peak per hour, 1 project, 1 d',
  format($$SELECT * FROM analytics.timeseries('ccv-peak', %1$s - interval '1 day', %1$s, 'hour', project_id => 'p001')$$, :'e')),
 (10, 'timeseries play rate, all projects, 7 d, Paris days',
  format($$SELECT * FROM analytics.timeseries('play-rate', %1$s - interval '7 days', %1$s, 'day', time_zone => 'Europe/Paris')$$, :'e'));
SELECT n, rpad(question, 50), pg_temp.pct(a, 0.5) AS p50_ms, pg_temp.pct(a, 0.95) AS p95_ms
  FROM (SELECT n, question, pg_temp.bench(q, :runs) AS a FROM questions ORDER BY n) r ORDER BY n;
SELECT 'md5 of every answer (rollups on)', md5(string_agg(pg_temp.rows(q), '|' ORDER BY n)) FROM questions;
SET analytics.use_rollups = off;
SELECT 'md5 of every answer (rollups off)', md5(string_agg(pg_temp.rows(q), '|' ORDER BY n)) FROM questions;
SQL
