#!/bin/bash
# Latency of the query layer (analytics.metric / breakdown / timeseries), to
# compare two versions of the code on the same data.
#
#   test/bench/query_bench.sh [-n EVENTS] [-d DAYS] [-r RUNS] [-c OTHER_TREE]
#
#   defaults      -n 1000000 -d 7 -r 25
#   environment   QUERY_BENCH_PORT (54333)
#   -c OTHER_TREE compare: OTHER_TREE (another checkout, e.g. the code before
#                 a change) is installed as extension analytics_a and this tree
#                 as analytics_b (test/dev_install.sh), each in its own
#                 database with the same data; the runs of a question
#                 alternate between the two (a busy machine slows both alike)
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
N=1000000 D=7 R=25 OTHER=
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift ;;
    -d) D=$2; shift ;;
    -r) R=$2; shift ;;
    -c) OTHER=$(cd "$2" && pwd); shift ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
  esac
  shift
done
PORT=${QUERY_BENCH_PORT:-54333}
. test/pgenv.sh
make -s gen
if [ -n "$OTHER" ]; then
  (cd "$OTHER" && ./test/dev_install.sh a >/dev/null)
  ./test/dev_install.sh b >/dev/null
  PG_BINDIR=$(pg_config --bindir)
  WORK=$(mktemp -d /tmp/analytics-qbench.XXXXXX) && chmod 755 "$WORK"
  DBS="a b"
else
  pgenv_prepare qbench
  DBS="analytics"
fi
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
# a fixed end (2026-12-06 00:00 UTC): the same events and answers every run
END=1796515200
./test/gen -n "$N" -d "$D" -e "$END" -p 20 -m 500 -s 11 > "$WORK/events.copy"
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '512MB'" "work_mem = '64MB'" "jit = off" \
  "max_parallel_workers_per_gather = 2" >/dev/null
load() {   # database extension
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $1" >/dev/null
  local PSQL="psql -X -q -v ON_ERROR_STOP=1 -d $1"
  $PSQL -c "CREATE EXTENSION $2" -c "SELECT analytics.set_retention('3650 days')" \
        -c "SET analytics.maintenance_in_worker = off" \
        -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
            SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, $D) d" \
        -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
  $PSQL -c "\\copy analytics.events FROM '$WORK/events.copy'"
  $PSQL -c "SET analytics.maintenance_in_worker = off" -c "SELECT analytics.run_maintenance()" >/dev/null
  $PSQL -c "VACUUM ANALYZE" >/dev/null
}
for db in $DBS; do
  if [ "$db" = analytics ]; then load qb analytics; else load "qb_$db" "analytics_$db"; fi
done
FIRST=$(for db in $DBS; do [ "$db" = analytics ] && echo qb || echo "qb_$db"; done | head -1)
VIDEO=$(psql -X -At -d "$FIRST" -c "SELECT media_id FROM analytics.events WHERE project_id = 'p001' AND media_type = 'video' AND event_type = 'play' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
E="to_timestamp($END)"
# the questions, timed in one database (dblink-free: one psql per database
# and round, alternating)
cat > "$WORK/questions.sql" <<'SQL'
CREATE FUNCTION pg_temp.rows(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; BEGIN
  EXECUTE 'SELECT string_agg(x::text, '';'') FROM (' || q || ') x' INTO r; RETURN coalesce(r, ''); END $$;
CREATE FUNCTION pg_temp.bench(q text, runs int) RETURNS double precision[] LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; d double precision[] := '{}'; i int;
BEGIN
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp();
    PERFORM pg_temp.rows(q);
    d := d || extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RETURN d;
END $$;
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
CREATE TEMP TABLE t (n int, ms double precision[]);
SQL
# per round: every question $R / 5 times in each database, in turn (5 rounds)
for db in $DBS; do
  d=$([ "$db" = analytics ] && echo qb || echo "qb_$db")
  psql -X -q -At -d "$d" -v e="$E" -v video="$VIDEO" -f "$WORK/questions.sql" \
       -c "CREATE TABLE qb_times AS SELECT n, question, '{}'::double precision[] AS ms FROM questions" \
       -c "SELECT pg_temp.rows(q) FROM questions" >/dev/null   # warm-up
done
PER=$(( (R + 4) / 5 ))
for round in 1 2 3 4 5; do
  for db in $DBS; do
    d=$([ "$db" = analytics ] && echo qb || echo "qb_$db")
    psql -X -q -At -d "$d" -v e="$E" -v video="$VIDEO" -f "$WORK/questions.sql" \
         -c "UPDATE qb_times t SET ms = t.ms || pg_temp.bench(q.q, $PER) FROM questions q WHERE q.n = t.n" >/dev/null
  done
done
for db in $DBS; do
  d=$([ "$db" = analytics ] && echo qb || echo "qb_$db")
  echo "== $d: p50 / p95 ms over $((PER * 5)) runs"
  psql -X -q -At -F $'\t' -d "$d" -c "
    SELECT n, rpad(question, 52),
           round(percentile_disc(0.5) WITHIN GROUP (ORDER BY x)::numeric, 2),
           round(percentile_disc(0.95) WITHIN GROUP (ORDER BY x)::numeric, 2)
      FROM qb_times, unnest(ms) x GROUP BY n, question ORDER BY n"
  psql -X -q -At -F $'\t' -d "$d" -v e="$E" -v video="$VIDEO" -f "$WORK/questions.sql" \
       -c "SET max_parallel_workers_per_gather = 0" \
       -c "SELECT 'md5 of every answer (rollups on)', md5(string_agg(pg_temp.rows(q), '|' ORDER BY n)) FROM questions" \
       -c "SET analytics.use_rollups = off" \
       -c "SELECT 'md5 of every answer (rollups off)', md5(string_agg(pg_temp.rows(q), '|' ORDER BY n)) FROM questions"
done
