#!/bin/bash
# One-command benchmark: ingest, dashboard questions, sizes; PostgreSQL vs ClickHouse.
#
#   test/bench/bench.sh [--small] [--ingest-only] [-n EVENTS] [-d DAYS] [-r RUNS] [-b SECONDS] [-p PROJECTS] [-i SECONDS]
#
#   defaults      -n 20000000 -d 30 -r 25 -b 30 -p 20 -i 600; --small = -n 200000 -d 3 -r 9 -i 20 (CI smoke)
#                 -b: a question stops after this many seconds of runs (at least 5 runs)
#                 -i: the sustained-ingest run's length (0: skip it)
#                 --ingest-only: the load, the rollup build and the sustained-ingest run (no questions, no ClickHouse)
#   environment   BENCH_PG_PORT (55510), BENCH_CH_PORT / BENCH_CH_HTTP_PORT (59000 / 58123)
#
# What it does (everything in one /tmp/analytics-bench.* folder, removed on exit):
#  1. generates EVENTS events over DAYS days with test/gen into one COPY file;
#  2. installs this tree as extension analytics_bench (test/dev_install.sh bench)
#     into a private cluster, creates the day partitions, and times COPY into
#     analytics.events and into a plain unpartitioned table of the same columns
#     (two rounds in alternating order, the better of each, autovacuum off);
#  3. times each dashboard question RUNS times (default 25: on this VM the p50
#     of 9 runs moved by 2x between runs; fewer, at least 5, once a question
#     has run for -b seconds) after a warm-up, through the API (analytics.metric
#     / breakdown / timeseries, one through api_request), as the plain SQL GROUP
#     BY over analytics.events, and through the API as a tenant role given p001
#     by analytics.grant_project: p50 / p95 in ms and API/SQL ratio. 1-9 are
#     the shapes the rollups anticipate, 10-24 off-rollup shapes (a dashboard asks them too),
#     whose whole API answer is compared with the plain SQL's (API=SQL OK/DIFF);
#     the tenant's answers with the owner's (ten=own);
#  4. ingest_ping rate (pgbench, 2 clients, 10 s) and table sizes (events, and
#     every other analytics.* table, so derived tables/rollups show up);
#     a sustained-ingest run (-i seconds): COPY of generated events of the
#     last minute at full speed while run_maintenance runs in a loop, the
#     events/s and the rollup_pending backlog every 30 s (5 s in short runs);
#  5. if clickhouse-server is installed: a private ClickHouse server (as user
#     clickhouse, 127.0.0.1 only), a MergeTree copy of the same events, the same
#     questions through clickhouse-client (p50 / p95); skipped with a note otherwise.
# Prints figures only; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=20000000 D=30 R=25 P=20 B=30 I=600 Q=1
while [ $# -gt 0 ]; do
  case $1 in
    --small) N=200000 D=3 R=9 I=20 ;;
    --ingest-only) Q=0 ;;
    -n) N=$2; shift ;;
    -d) D=$2; shift ;;
    -r) R=$2; shift ;;
    -b) B=$2; shift ;;
    -p) P=$2; shift ;;
    -i) I=$2; shift ;;
    *) sed -n '2,10p' "$0" >&2; exit 2 ;;
  esac
  shift
done
PORT=${BENCH_PG_PORT:-55510} CH_PORT=${BENCH_CH_PORT:-59000} CH_HTTP=${BENCH_CH_HTTP_PORT:-58123}
CH_SERVER=/usr/sbin/clickhouse-server CH_USER=clickhouse

. test/pgenv.sh
WORK=$(mktemp -d /tmp/analytics-bench.XXXXXX) && chmod 755 "$WORK"
ch_stop() {
  [ -s "$WORK/ch/ch.pid" ] || return 0
  local pid; pid=$(cat "$WORK/ch/ch.pid"); kill "$pid" 2>/dev/null || true
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  rm -f "$WORK/ch/ch.pid"
}
# the 4 GB of shared buffers in huge pages (pgenv_hugepages): 2 MB pages made
# the 20M rollup build 109.9 -> 69.8 s on the same machine and load;
# BENCH_HUGE_PAGES=0 leaves the kernel alone; the report says which the
# server got
pgenv_hugepages 2300 BENCH_HUGE_PAGES
trap 'ch_stop; pgenv_stop; pgenv_hugepages_restore; rm -rf "$WORK"' EXIT
say() { echo "== $*" >&2; }
# pg_temp.p50(q, runs): the p50 in ms of runs executions of q after a warm-up
P50_FN='CREATE FUNCTION pg_temp.p50(q text, runs int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; d double precision[] := '"'{}'"'; i int;
BEGIN
  EXECUTE q;
  FOR i IN 1..runs LOOP t0 := clock_timestamp(); EXECUTE q; d := d || extract(epoch FROM clock_timestamp() - t0) * 1000; END LOOP;
  RETURN (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY x)::numeric, 1) FROM unnest(d) x);
END $$'
res() { printf '%-58s %s\n' "$1" "$2" >> "$WORK/summary"; }   # a line of the final report
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f rows/s (%.1f s)", n / (b - a), b - a }'; }

# ---- 1. data ---------------------------------------------------------------
make -s gen
./test/dev_install.sh bench >/dev/null
END=$(( $(date +%s) / 60 * 60 ))
say "generating $N events over $D days, $P projects"
./test/gen -n "$N" -d "$D" -e "$END" -p "$P" -m 500 -s 11 > "$WORK/events.copy"
res "input: events / days / projects / COPY file" "$N / $D / $P / $(du -m "$WORK/events.copy" | cut -f1) MB"

# ---- 2. PostgreSQL: partitions, COPY ----------------------------------------
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '4GB'" "max_wal_size = '8GB'" "work_mem = '64MB'" \
  "maintenance_work_mem = '1GB'" "synchronous_commit = off" "max_parallel_workers_per_gather = 2" \
  "jit = off" "huge_pages = try" >/dev/null
res "shared memory in huge pages (postmaster's HugetlbPages)" "$(awk '/^HugetlbPages:/ { print $2, $3 }' "/proc/$(head -1 "$WORK/pg/data/postmaster.pid")/status")"
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
$PSQL -c "CREATE EXTENSION analytics_bench" -c "SELECT analytics.set_retention('$(( (D > 30 ? D : 30) + 2 )) days')" \
      -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, $D) d" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" \
      -c "CREATE TABLE plain_events (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)" >/dev/null
# two rounds in alternating order (the disk's write-back of one load slows
# the next), each after sync + CHECKPOINT; the better round of each counts
copy_into() {   # table -> seconds
  $PSQL -c "TRUNCATE $1" -c CHECKPOINT; sync
  local t0 t1; t0=$(date +%s.%N); $PSQL -c "\\copy $1 FROM '$WORK/events.copy'"; t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
declare -A BEST
# no autovacuum while the rounds run: it would vacuum the table loaded in one
# round (3.4 GB) during the next round's COPY, on this machine's two cores
$PSQL -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
for t in plain_events analytics.events analytics.events plain_events; do
  say "COPY into $t"
  s=$(copy_into "$t")
  if [ -z "${BEST[$t]:-}" ] || awk -v a="$s" -v b="${BEST[$t]}" 'BEGIN { exit !(a < b) }'; then BEST[$t]=$s; fi
done
$PSQL -c "ALTER SYSTEM RESET autovacuum" -c "SELECT pg_reload_conf()" >/dev/null
for t in analytics.events plain_events; do
  res "COPY into $t (better of 2)" "$(rate "$N" 0 "${BEST[$t]}")"
done
res "COPY rate analytics.events / plain_events" "$(awk -v a="${BEST[analytics.events]}" -v b="${BEST[plain_events]}" 'BEGIN { printf "%.2f", b / a }')"
# the derived data: the first maintenance run after the load rolls every hour up
say "building the rollups (run_maintenance)"
t0=$(date +%s.%N)
HOURS=$($PSQL -At -c "SET analytics.maintenance_in_worker = off" -c "SELECT analytics.run_maintenance()->>'rollup_hours_refreshed'")
t1=$(date +%s.%N)
res "rollup build after the load (run_maintenance)" "$(awk -v a="$t0" -v b="$t1" -v h="$HOURS" -v n="$N" 'BEGIN { printf "%.1f s for %d hours: %.0f events/s", b - a, h, n / (b - a) }')"
# the state autovacuum reaches a minute later: every table vacuumed and analyzed
# (before, the 5-minute, week, 28-day and ccv rollups were left to autovacuum,
# which had or had not analyzed them when the questions ran)
$PSQL -c "VACUUM ANALYZE analytics.events" -c "VACUUM ANALYZE plain_events" \
      -c "VACUUM ANALYZE analytics.rollup_5min, analytics.rollup_hour, analytics.rollup_day, analytics.rollup_week, analytics.rollup_w4, analytics.rollup_ccv, analytics.rollup_watch_max, analytics.rollup_cube_hour, analytics.rollup_cube_day, analytics.rollup_cube_week, analytics.rollup_cube_w4, analytics.rollup_refcube_hour, analytics.rollup_refcube_day, analytics.rollup_refcube_week, analytics.rollup_refcube_w4, analytics.rollup_devcube_hour, analytics.rollup_devcube_day, analytics.rollup_devcube_week, analytics.rollup_devcube_w4, analytics.rollup_viewers_hour, analytics.rollup_viewers_day, analytics.rollup_pending"
# the busiest live stream (last day) and video of p001, for the per-media questions
LIVE=$($PSQL -At -c "SELECT media_id FROM analytics.events WHERE project_id = 'p001' AND media_type = 'live-stream' AND event_type = 'watch' AND emitted_at >= now() - interval '1 day' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
VIDEO=$($PSQL -At -c "SELECT media_id FROM analytics.events WHERE project_id = 'p001' AND media_type = 'video' AND event_type = 'play' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")

# ---- 3. PostgreSQL: questions, API vs plain SQL -----------------------------
: > "$WORK/pg.tsv"; : > "$WORK/check.tsv"
if [ "$Q" -eq 1 ]; then
say "timing the questions on PostgreSQL ($R runs each after a warm-up)"
# (a question's time depends on the minute of the hour it runs at: the
# partial hour at the start of a 30-day period is read raw until past the
# half hour, then as its hour row less raw minutes; README "Performance
# figures")
QSTART=$(date -u +%H:%M)
W="project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - interval '30 days' AND emitted_at < now()"
$PSQL -At -F $'\t' -v runs="$R" -v budget="$B" -v live="$LIVE" -v video="$VIDEO" -v w="$W" -v answers="$WORK/answers" \
      -v equiv="$WORK/equiv" -v check="$WORK/check.tsv" > "$WORK/pg.tsv" <<'SQL'
-- q `runs` times after a warm-up, or fewer (at least 5) once `budget` seconds
-- have passed; NULL (printed -) if it fails
CREATE FUNCTION pg_temp.bench(q text, runs int, budget double precision) RETURNS double precision[] LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; ts timestamptz := clock_timestamp(); d double precision[] := '{}'; i int;
BEGIN
  EXECUTE q;                                   -- warm-up
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    d := d || extract(epoch FROM clock_timestamp() - t0) * 1000;
    EXIT WHEN i >= 5 AND clock_timestamp() - ts > budget * interval '1 second';
  END LOOP;
  RETURN d;
EXCEPTION WHEN others THEN
  RAISE WARNING 'question failed: %: %', SQLERRM, q;
  RETURN NULL;
END $$;
-- the same as the tenant role (README "Tenancy": a role per tenant, given
-- its project by analytics.grant_project), back to the owner afterwards
CREATE FUNCTION pg_temp.bench_as(who text, q text, runs int, budget double precision) RETURNS double precision[] LANGUAGE plpgsql AS $$
DECLARE d double precision[];
BEGIN
  PERFORM set_config('role', who, true);
  d := pg_temp.bench(q, runs, budget);
  PERFORM set_config('role', 'none', true);
  RETURN d;
END $$;
-- a question's whole answer: its rows as JSON arrays in column order
CREATE FUNCTION pg_temp.rows(q text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE r json; BEGIN
  EXECUTE 'SELECT coalesce(json_agg(row_to_json(x)), ''[]'') FROM (' || q || ') x' INTO r; RETURN r;
EXCEPTION WHEN others THEN RAISE WARNING 'question failed: %: %', SQLERRM, q; RETURN NULL;
END $$;
CREATE FUNCTION pg_temp.rows_as(who text, q text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE r json; BEGIN
  PERFORM set_config('role', who, true); r := pg_temp.rows(q); PERFORM set_config('role', 'none', true); RETURN r;
END $$;
-- two answers are the same: as many rows, the same values column by column
-- (numbers within 1e-9 relative: sums in another order), in the same order
CREATE FUNCTION pg_temp.same(a json, b json) RETURNS boolean LANGUAGE sql AS $$
  SELECT json_array_length(a) = json_array_length(b) AND coalesce(bool_and(
           CASE WHEN json_typeof(va) = 'number' AND json_typeof(vb) = 'number'
                THEN abs(va::text::float8 - vb::text::float8) <= 1e-9 * greatest(abs(vb::text::float8), 1)
                ELSE va::text = vb::text END), true)
    FROM json_array_elements(a) WITH ORDINALITY ra(r, i)
    JOIN json_array_elements(b) WITH ORDINALITY rb(r, i) ON ra.i = rb.i
    CROSS JOIN LATERAL (SELECT x.v AS va, y.v AS vb FROM json_each(ra.r) WITH ORDINALITY x(k, v, o)
                          JOIN json_each(rb.r) WITH ORDINALITY y(k, v, o) ON x.o = y.o) c $$;
-- the plain SQL of a series: every bucket of [now - span, now) in zone tz, empty ones 0
CREATE FUNCTION pg_temp.series(agg text, cond text, unit text, tz text, span text) RETURNS text LANGUAGE sql AS $$
  SELECT format($q$SELECT b AT TIME ZONE %3$L AS emitted_at, coalesce(m, 0)::float8 AS metric_value
    FROM generate_series(date_trunc(%2$L, (now() - interval %4$L) AT TIME ZONE %3$L), now() AT TIME ZONE %3$L, interval '1 %2$s') b
    LEFT JOIN (SELECT date_trunc(%2$L, emitted_at AT TIME ZONE %3$L) AS k, %1$s AS m FROM analytics.events
                WHERE %5$s AND emitted_at >= now() - interval %4$L AND emitted_at < now() GROUP BY 1) e ON e.k = b
   WHERE b < now() AT TIME ZONE %3$L ORDER BY 1$q$, agg, unit, tz, span, cond) $$;
CREATE FUNCTION pg_temp.pct(d double precision[], p double precision) RETURNS numeric LANGUAGE sql AS $$
  SELECT round(percentile_disc(p) WITHIN GROUP (ORDER BY x)::numeric, 1) FROM unnest(d) x $$;
CREATE FUNCTION pg_temp.answer(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; BEGIN EXECUTE q INTO r; RETURN r; END $$;       -- first column of the first row
CREATE TEMP TABLE questions (n int, question text, api text, plain text);
INSERT INTO questions VALUES
 (1, 'play count, 1 project, 30 d',
  $$SELECT analytics.metric('play', 'count', now() - interval '30 days', now(), project_id => 'p001')$$,
  'SELECT count(*) FROM analytics.events WHERE ' || :'w'),
 (2, 'play count, 3 countries, 30 d',
  $$SELECT analytics.metric('play', 'count', now() - interval '30 days', now(), '{"country": ["US", "FR", "DE"]}', project_id => 'p001')$$,
  $$SELECT count(*) FROM analytics.events WHERE country IN ('US', 'FR', 'DE') AND $$ || :'w'),
 (3, 'play rate, 1 project, 30 d',
  $$SELECT analytics.metric('play', 'rate', now() - interval '30 days', now(), project_id => 'p001')$$,
  $$SELECT count(*) FILTER (WHERE event_type = 'play')::float8 / nullif(count(*) FILTER (WHERE event_type = 'impression'), 0) FROM analytics.events WHERE project_id = 'p001' AND event_type IN ('play', 'impression') AND emitted_at >= now() - interval '30 days' AND emitted_at < now()$$),
 (4, 'plays by country top 25, 1 project, 30 d',
  $$SELECT * FROM analytics.breakdown('play', 'country', now() - interval '30 days', now(), project_id => 'p001') LIMIT 25$$,
  $$SELECT coalesce(country, 'unknown'), count(*) FROM analytics.events WHERE $$ || :'w' || ' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 25'),
 (5, 'plays by media top 25, all projects, 30 d',
  $$SELECT * FROM analytics.breakdown('play', 'media-id', now() - interval '30 days', now()) LIMIT 25$$,
  $$SELECT media_id, count(*) FROM analytics.events WHERE event_type = 'play' AND emitted_at >= now() - interval '30 days' AND emitted_at < now() GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 25$$),
 (6, 'plays per day, 30 d, 1 project',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '30 days', now(), 'day', project_id => 'p001')$$,
  $$SELECT date_trunc('day', emitted_at), count(*) FROM analytics.events WHERE $$ || :'w' || ' GROUP BY 1 ORDER BY 1'),
 (7, 'plays per hour, last 2 d, 1 project',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '2 days', now(), 'hour', project_id => 'p001')$$,
  $$SELECT date_trunc('hour', emitted_at), count(*) FROM analytics.events WHERE project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - interval '2 days' AND emitted_at < now() GROUP BY 1 ORDER BY 1$$),
 (8, 'average watch time, 1 media, 30 d',
  format($$SELECT analytics.metric('watch-time', 'average', now() - interval '30 days', now(), '{"mediaId": "%s"}', project_id => 'p001')$$, :'video'),
  format($$SELECT sum(value) FILTER (WHERE event_type = 'watch') / nullif(count(*) FILTER (WHERE event_type = 'play'), 0) FROM analytics.events WHERE project_id = 'p001' AND media_id = '%s' AND event_type IN ('watch', 'play') AND emitted_at >= now() - interval '30 days' AND emitted_at < now()$$, :'video')),
 (9, 'ccv peak, 1 live stream, 1 d',
  format($$SELECT analytics.metric('ccv', 'peak', now() - interval '1 day', now(), '{"mediaId": "%s"}', project_id => 'p001')$$, :'live'),
  -- plain SQL: running sum of +1 at each watch interval start, -1 at its end
  format($$SELECT max(c) FROM (SELECT sum(d) OVER (ORDER BY t, d) AS c FROM (
       SELECT greatest(emitted_at - value * interval '1 second', now() - interval '1 day') AS t, 1 AS d FROM analytics.events
        WHERE project_id = 'p001' AND media_id = '%1$s' AND event_type = 'watch' AND emitted_at > now() - interval '1 day' AND emitted_at < now() + interval '1 hour' AND emitted_at - value * interval '1 second' < now()
       UNION ALL
       SELECT least(emitted_at, now()), -1 FROM analytics.events
        WHERE project_id = 'p001' AND media_id = '%1$s' AND event_type = 'watch' AND emitted_at > now() - interval '1 day' AND emitted_at < now() + interval '1 hour' AND emitted_at - value * interval '1 second' < now()) s) x$$, :'live'));
-- the off-rollup shapes: several filters, a filter on another
-- dimension than the breakdown, unique viewers, ccv of a whole project, local
-- days/weeks/months, referrers; each answer is compared with the plain SQL's
\set p 'project_id = \'p001\' AND emitted_at >= now() - interval \'30 days\' AND emitted_at < now()'
\set a 'emitted_at >= now() - interval \'30 days\' AND emitted_at < now()'
INSERT INTO questions VALUES
 (10, 'plays per day, filter browser + device type',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '30 days', now(), 'day', '{"browser": "chrome", "deviceType": "phone"}', project_id => 'p001')$$,
  pg_temp.series('count(*)', $$project_id = 'p001' AND event_type = 'play' AND browser = 'chrome' AND device_type = 'phone'$$, 'day', 'UTC', '30 days')),
 (11, 'plays by device type, filter country = FR',
  $$SELECT * FROM analytics.breakdown('play', 'device-type', now() - interval '30 days', now(), '{"country": "FR"}', project_id => 'p001')$$,
  $$SELECT device_type::text, count(*)::float8 FROM analytics.events WHERE event_type = 'play' AND country = 'FR' AND $$ || :'p' || ' GROUP BY 1 ORDER BY 2 DESC, 1'),
 (12, 'watch time by country, live-stream, all projects',
  $$SELECT * FROM analytics.breakdown('watch-time', 'country', now() - interval '30 days', now(), '{"mediaType": "live-stream"}')$$,
  $$SELECT coalesce(country, 'unknown'), sum(value) FROM analytics.events WHERE event_type = 'watch' AND media_type = 'live-stream' AND $$ || :'a' || ' GROUP BY 1 ORDER BY 2 DESC, 1'),
 (13, 'avg impression time, filter continent + device',
  $$SELECT analytics.metric('impression-time', 'average', now() - interval '30 days', now(), '{"continent": "EU", "deviceType": "computer"}', project_id => 'p001')$$,
  $$SELECT avg(value) FROM analytics.events WHERE event_type = 'impression' AND continent = 'EU' AND device_type = 'computer' AND $$ || :'p'),
 (14, 'unique viewers (5 s views)',
  $$SELECT analytics.metric('view', 'count', now() - interval '30 days', now(), unique_viewers => true, project_id => 'p001')$$,
  $$SELECT count(DISTINCT viewer_id)::float8 FROM analytics.events WHERE event_type = 'view' AND value = 5 AND $$ || :'p'),
 (15, 'unique viewers by country',
  $$SELECT * FROM analytics.breakdown('view', 'country', now() - interval '30 days', now(), unique_viewers => true, project_id => 'p001')$$,
  $$SELECT coalesce(country, 'unknown'), count(DISTINCT viewer_id)::float8 FROM analytics.events WHERE event_type = 'view' AND value = 5 AND $$ || :'p' || ' GROUP BY 1 ORDER BY 2 DESC, 1'),
 (16, 'ccv peak, all media of 1 project, 1 d',
  $$SELECT analytics.metric('ccv', 'peak', now() - interval '1 day', now(), project_id => 'p001')$$,
  $$SELECT max(c)::float8 FROM (SELECT sum(d) OVER (ORDER BY t, d) AS c FROM (
       SELECT greatest(emitted_at - value * interval '1 second', now() - interval '1 day') AS t, 1 AS d FROM analytics.events
        WHERE project_id = 'p001' AND event_type = 'watch' AND emitted_at > now() - interval '1 day' AND emitted_at < now() + interval '1 hour' AND emitted_at - value * interval '1 second' < now()
       UNION ALL
       SELECT least(emitted_at, now()), -1 FROM analytics.events
        WHERE project_id = 'p001' AND event_type = 'watch' AND emitted_at > now() - interval '1 day' AND emitted_at < now() + interval '1 hour' AND emitted_at - value * interval '1 second' < now()) s) x$$),
 (17, 'plays per day, Asia/Kolkata',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '30 days', now(), 'day', time_zone => 'Asia/Kolkata', project_id => 'p001')$$,
  pg_temp.series('count(*)', $$project_id = 'p001' AND event_type = 'play'$$, 'day', 'Asia/Kolkata', '30 days')),
 (18, 'plays per week, Asia/Kolkata',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '30 days', now(), 'week', time_zone => 'Asia/Kolkata', project_id => 'p001')$$,
  pg_temp.series('count(*)', $$project_id = 'p001' AND event_type = 'play'$$, 'week', 'Asia/Kolkata', '30 days')),
 (19, 'plays per month, Asia/Kolkata',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '30 days', now(), 'month', time_zone => 'Asia/Kolkata', project_id => 'p001')$$,
  pg_temp.series('count(*)', $$project_id = 'p001' AND event_type = 'play'$$, 'month', 'Asia/Kolkata', '30 days')),
 (20, 'watch time per day, America/New_York',
  $$SELECT * FROM analytics.timeseries('watch-time', now() - interval '30 days', now(), 'day', time_zone => 'America/New_York', project_id => 'p001')$$,
  pg_temp.series('sum(value)', $$project_id = 'p001' AND event_type = 'watch'$$, 'day', 'America/New_York', '30 days')),
 (21, 'plays per week, America/New_York',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '30 days', now(), 'week', time_zone => 'America/New_York', project_id => 'p001')$$,
  pg_temp.series('count(*)', $$project_id = 'p001' AND event_type = 'play'$$, 'week', 'America/New_York', '30 days')),
 (22, 'plays per month, America/New_York',
  $$SELECT * FROM analytics.timeseries('play', now() - interval '30 days', now(), 'month', time_zone => 'America/New_York', project_id => 'p001')$$,
  pg_temp.series('count(*)', $$project_id = 'p001' AND event_type = 'play'$$, 'month', 'America/New_York', '30 days')),
 (23, 'plays by referrer',
  $$SELECT * FROM analytics.breakdown('play', 'referrer', now() - interval '30 days', now(), project_id => 'p001')$$,
  $$SELECT referrer, count(*)::float8 FROM analytics.events WHERE event_type = 'play' AND $$ || :'p' || ' GROUP BY 1 ORDER BY 2 DESC, 1'),
 (24, 'watch time by referrer, phones (api_request)',
  -- as an API server calls it (README "Querying: the JSON API"): the page's rows
  $$SELECT d->>'dimensionValue', (d->>'metricValue')::float8 FROM analytics.api_request(format(
      '/data/buckets/watch-time/referrer?from=%s&to=%s&filterBy[deviceType]=phone&pageSize=100',
      to_char((now() - interval '30 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')), 'p001') r,
    -- a status other than 200 (e.g. the 503 of analytics.max_call_time) fails the
    -- question (ERR; the warning's "invalid input syntax" quotes the status and
    -- the problem's detail), never an empty answer
    jsonb_array_elements(CASE WHEN r.status = 200 THEN r.body->'data'
                              ELSE to_jsonb(('status ' || r.status || ': ' || coalesce(r.body->>'detail', ''))::int) END) d$$,
  $$SELECT referrer, sum(value) FROM analytics.events WHERE event_type = 'watch' AND device_type = 'phone' AND $$ || :'p' || ' GROUP BY 1 ORDER BY 2 DESC, 1');
\o :answers
SELECT n, pg_temp.answer(plain) FROM questions WHERE n < 10 ORDER BY n;
\o
-- the equivalence test at full size: every question's API answer with the
-- rollups and from raw events only (counts identical, floats within 1e-9)
CREATE FUNCTION pg_temp.rows_with(q text, rollups text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE r json; BEGIN
  PERFORM set_config('analytics.use_rollups', rollups, false);
  r := pg_temp.rows(q);
  PERFORM set_config('analytics.use_rollups', 'on', false);
  RETURN r;
END $$;
\o :equiv
SELECT count(*) FILTER (WHERE pg_temp.same(a, b))
       || ' of ' || count(*) || ' questions give the same answer with and without rollups'
  FROM (SELECT pg_temp.rows_with(api, 'on') AS a, pg_temp.rows_with(api, 'off') AS b FROM questions) x;
\o
-- the tenant: a role given p001 (all-project questions read only p001 for it)
CREATE ROLE bench_tenant LOGIN;
SELECT analytics.grant_project('bench_tenant', 'p001') \g /dev/null
-- the off-rollup shapes' answers: API = plain SQL (whole answers), and on the
-- one-project questions the tenant's API answer = the owner's
\o :check
SELECT n, CASE WHEN n < 10 THEN '-' WHEN a IS NULL OR p IS NULL THEN 'ERR' WHEN pg_temp.same(a, p) THEN 'OK'
               ELSE 'DIFF' END,
       CASE WHEN api NOT LIKE '%p001%' THEN '-' WHEN t IS NULL THEN 'ERR' WHEN pg_temp.same(a, t) THEN 'OK' ELSE 'DIFF' END,
       CASE WHEN n >= 10 AND NOT coalesce(pg_temp.same(a, p), false)
            THEN left(coalesce(a::text, 'error'), 300) || ' <> ' || left(coalesce(p::text, 'error'), 300) END
  FROM (SELECT n, api, pg_temp.rows(api) AS a, CASE WHEN n >= 10 THEN pg_temp.rows(plain) END AS p,
               pg_temp.rows_as('bench_tenant', api) AS t FROM questions) x ORDER BY n;
\o
SELECT n, question, pg_temp.pct(a, 0.5), pg_temp.pct(a, 0.95), pg_temp.pct(p, 0.5), pg_temp.pct(p, 0.95),
       pg_temp.pct(t, 0.5), pg_temp.pct(t, 0.95)
  FROM (SELECT n, question, pg_temp.bench(api, :runs, :budget) AS a, pg_temp.bench(plain, :runs, :budget) AS p,
               pg_temp.bench_as('bench_tenant', api, :runs, :budget) AS t FROM questions ORDER BY n) r
 ORDER BY n;
SQL

res "questions timed (UTC, hh:mm)" "$QSTART-$(date -u +%H:%M)"
res "equivalence at full size (API, rollups on vs off)" "$(cat "$WORK/equiv")"

# ---- 3b. freshness: a late event and a new one are in the very next answer ------
PERIOD="'$($PSQL -At -c "SELECT now() - interval '29 days'")', '$($PSQL -At -c "SELECT now() + interval '1 minute'")'"
FRESH=$($PSQL -At -c "SELECT analytics.metric('play', 'count', $PERIOD, project_id => 'p001')" \
  -c "INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id) VALUES
        ('p001', now() - interval '20 days', 'play', 'late'), ('p001', now() - interval '1 second', 'play', 'new')" \
  -c "SELECT analytics.metric('play', 'count', $PERIOD, project_id => 'p001')" |
  awk 'NR == 1 { a = $1 } NR == 2 { b = $1 } END { print (b - a == 2) ? "yes" : "NO (" a " -> " b ")" }')
res "a late and a new event counted in the next query (no refresh)" "$FRESH"
# with steady ingest the hours written since the last maintenance run are
# pending and read raw: the current hour (and a late one) now are
$PSQL -At -F $'\t' -v runs="$R" -v live="$LIVE" -c "$P50_FN" -f - > "$WORK/pending.tsv" <<'SQL'
SELECT 'API p50 with the current hour pending: play count, 1 project, 30 d',
       pg_temp.p50($$SELECT analytics.metric('play', 'count', now() - interval '30 days', now(), project_id => 'p001')$$, :runs) || ' ms';
SELECT 'API p50 with the current hour pending: plays by country, 1 project',
       pg_temp.p50($$SELECT * FROM analytics.breakdown('play', 'country', now() - interval '30 days', now(), project_id => 'p001') LIMIT 25$$, :runs) || ' ms';
SELECT 'API p50 with the current hour pending: ccv peak, 1 live stream',
       pg_temp.p50(format($$SELECT analytics.metric('ccv', 'peak', now() - interval '1 day', now(), '{"mediaId": "%s"}', project_id => 'p001')$$, :'live'), :runs) || ' ms';
SQL
while IFS=$'\t' read -r k v; do res "$k" "$v"; done < "$WORK/pending.tsv"

# ---- 4. ingest_ping rate, table sizes ----------------------------------------
say "ingest_ping: pgbench, 2 clients, 10 s"
cat > "$WORK/ping.sql" <<'SQL'
\set s random(1, 200000)
SELECT analytics.ingest_ping(jsonb_build_object(
  'emitted_at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  'session', jsonb_build_object('loaded_at', to_char(date_trunc('hour', now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                'video_id', 'vi' || (:s % 500), 'referrer', 'https://blog.example/post',
                                'session_id', md5(:s::text)::uuid),
  'events', CASE WHEN :s % 10 = 0
                 THEN jsonb_build_array(jsonb_build_object('emitted_at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'type', 'play', 'at', 0))
                 ELSE '[]'::jsonb END),
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/' || (100 + :s % 30) || '.0.0.0 Safari/537.36',
  'FR', ('192.0.2.' || (:s % 250))::inet, 'p001');
SQL
"$PG_BINDIR/pgbench" -n -f "$WORK/ping.sql" -c 2 -j 2 -T 10 postgres > "$WORK/pgbench.log" 2>&1 || grep -m3 -iE "error|tps" "$WORK/pgbench.log" >&2
TPS=$(awk '/^tps/ { printf "%.0f", $3 }' "$WORK/pgbench.log")
res "ingest_ping, 2 clients, with user agent + IP" "${TPS:-?} pings/s"
# derived data = every analytics.* table (and materialized view, and their
# partitions) but the events' partitions and the source tables below, so any
# new derived table (a cube, rollup_*) is counted without naming it here
SOURCE="'settings', 'secrets', 'media', 'play_totals', 'project_grants', 'ping_sessions', 'events_out_of_range'"
$PSQL -At -F $'\t' -c "
  CREATE TEMP VIEW derived AS
    SELECT c.oid FROM pg_class c
     WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'm')
       AND c.oid NOT IN (SELECT relid FROM pg_partition_tree('analytics.events'))
       AND c.relname NOT IN ($SOURCE)
       AND NOT EXISTS (SELECT FROM pg_partition_ancestors(c.oid) a JOIN pg_class t ON t.oid = a.relid
                        WHERE t.relnamespace = 'analytics'::regnamespace AND t.relname IN ($SOURCE))" -c "
  SELECT 'size: analytics.events (' || count(*) || ' partitions)', pg_size_pretty(sum(pg_total_relation_size(partition)))
    FROM analytics.partitions()
  UNION ALL
  SELECT * FROM (SELECT 'size: ' || c.oid::regclass, pg_size_pretty(s) FROM pg_class c,
      LATERAL (SELECT CASE WHEN c.relkind = 'p' THEN (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t)
                           ELSE pg_total_relation_size(c.oid) END AS s) t
    WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'm', 'p') AND NOT c.relispartition
      AND c.oid <> 'analytics.events'::regclass
    ORDER BY s DESC) d
  UNION ALL SELECT 'size: plain_events (no index)', pg_size_pretty(pg_total_relation_size('plain_events'))
  UNION ALL
  SELECT 'size: derived data (' || (SELECT count(*) FROM derived) || ' tables + BRIN) / raw events', round(100.0 * (
           (SELECT sum(pg_total_relation_size(oid)) FROM derived)
           + (SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'brin' AND i.indrelid IN (SELECT partition FROM analytics.partitions())))
         / (SELECT sum(pg_table_size(partition)) FROM analytics.partitions()), 1) || ' %'
  UNION ALL
  SELECT 'size: derived tables counted', (SELECT string_agg(oid::regclass::text, ' ' ORDER BY oid::regclass::text) FROM derived)" |
  while IFS=$'\t' read -r k v; do res "$k" "$v"; done

fi   # questions (sections 3-4)

# ---- 4b. sustained ingest: COPY at full speed while maintenance runs -----------
# One client COPYs batches of generated events of the last minute (test/gen
# -e now, a new seed each batch) back to back for $I seconds, while another
# runs run_maintenance() in a loop (README "Retention and maintenance": the
# background worker or a scheduler does the same); every ~30 s: the events/s
# written since the last line and the backlog in analytics.rollup_pending.
# The events' clock is shifted ahead (by less than an hour) so that an hour
# changes a third into the run, whatever minute the run starts at (a
# 10-minute run on the real clock crosses an hour one time in six): the
# hour that ends keeps receiving events for a minute (batches of the last
# minute), then should be refreshed. A probe every 2 s counts the hours
# pending that ended over a minute before (on the shifted clock); the report
# gives how many probes saw one and the longest stretch. BENCH_SHIFT=0: the
# real clock.
if [ "$I" -gt 0 ]; then
  say "sustained ingest: COPY for $I s, run_maintenance in a loop"
  BATCH=$(( N >= 2000000 ? 200000 : 20000 )) EVERY=$(( I >= 120 ? 30 : 5 ))
  # what earlier steps left pending (the pings, the late event) refreshed
  # first: the probes count only this run's hours
  $PSQL -At -c "SET analytics.maintenance_in_worker = off" -c "SELECT analytics.run_maintenance()" >/dev/null
  s0=$(date +%s) OFF=0
  [ "${BENCH_SHIFT:-1}" = 1 ] && OFF=$(( ( (s0 / 3600 + 1) * 3600 - s0 - I / 3 + 7200 ) % 3600 ))
  res "sustained ingest: the events' clock" "+$OFF s (an hour changes at t = $(( ( (s0 + OFF) / 3600 + 1) * 3600 - s0 - OFF )) s)"
  # now on the events' clock; a pending hour that ended over a minute before it
  CLOCK="(now() + interval '$OFF s')"
  ENDED="hour + interval '1 hour' < $CLOCK - interval '1 minute'"
  backlog() {   # rows hours old-hours oldest-age-s
    $PSQL -At -F ' ' -c "SELECT count(*), count(DISTINCT hour),
        count(DISTINCT hour) FILTER (WHERE $ENDED),
        coalesce(round(extract(epoch FROM $CLOCK - min(hour))), 0) FROM analytics.rollup_pending"
  }
  ( while [ ! -e "$WORK/ingest.stop" ]; do
      # in this session (the worker looks for an extension named analytics, this is analytics_bench)
      m0=$(date +%s.%N)
      $PSQL -At -c "SET analytics.maintenance_in_worker = off" \
            -c "SELECT analytics.run_maintenance()->>'rollup_hours_refreshed'" >> "$WORK/maint.log" 2>&1 || true
      awk -v a="$m0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >> "$WORK/maint.secs"
      sleep 1
    done ) &
  MPID=$!
  ( while [ ! -e "$WORK/ingest.stop" ]; do
      $PSQL -At -c "SELECT count(DISTINCT hour) FROM analytics.rollup_pending WHERE $ENDED" >> "$WORK/ended.log" 2>/dev/null || true
      sleep 2
    done ) &
  PPID2=$!
  # questions of 30 days ending now (on the events' clock), asked while the
  # current hour fills (then pending) and once it is refreshed, with the
  # same questions ending at the hour's start: the partial hour at the end
  # of a period is read from raw events, and under ingest the hour is
  # pending (read raw whole); one run after a warm-up, no max_call_time
  heavy_questions() {   # label end-expression
    $PSQL -At -F $'\t' -v e="$2" -c "SET analytics.max_call_time = 0" -c "$P50_FN" -f - <<'SQL' |
SELECT 'plays by country, 1 project / unique viewers, 1 project / plays by media, all projects',
       pg_temp.p50(format($$SELECT count(*) FROM analytics.breakdown('play', 'country', %1$s - interval '30 days', %1$s, project_id => 'p001')$$, :'e'), 1)
       || ' / ' || pg_temp.p50(format($$SELECT analytics.metric('view', 'count', %1$s - interval '30 days', %1$s, unique_viewers => true, project_id => 'p001')$$, :'e'), 1)
       || ' / ' || pg_temp.p50(format($$SELECT count(*) FROM analytics.breakdown('play', 'media-id', %1$s - interval '30 days', %1$s)$$, :'e'), 1) || ' ms';
SQL
      while IFS=$'\t' read -r k v; do res "$1: $k" "$v"; done
  }
  HOUR_E="date_trunc('hour', $CLOCK)"
  t0=$(date +%s.%N) tl=$t0 total=0 last=0 seed=100 QPID=""
  while :; do
    now=$(date +%s.%N)
    awk -v a="$t0" -v b="$now" -v i="$I" 'BEGIN { exit !(b - a >= i) }' && break
    if [ -z "$QPID" ] && awk -v a="$t0" -v b="$now" -v i="$I" 'BEGIN { exit !(b - a >= i / 2) }'; then
      heavy_questions "sustained ingest, questions asked at t = $(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.0f", b - a }') s, ending now (the hour pending)" "$CLOCK" &
      QPID=$!
    fi
    ./test/gen -n "$BATCH" -d 0.000694 -e "$(( $(date +%s) + OFF ))" -p "$P" -m 500 -s $((seed++)) |
      $PSQL -c "\\copy analytics.events FROM pstdin"
    total=$((total + BATCH))
    now=$(date +%s.%N)
    if awk -v a="$tl" -v b="$now" -v e="$EVERY" 'BEGIN { exit !(b - a >= e) }'; then
      read -r rows hours old age <<< "$(backlog)"
      res "sustained ingest, t = $(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.0f", b - a }') s" \
        "$(awk -v n=$((total - last)) -v a="$tl" -v b="$now" 'BEGIN { printf "%.0f", n / (b - a) }') events/s; pending: $rows rows, $hours hours ($old ended > 1 min ago), oldest $age s old"
      tl=$now last=$total
    fi
  done
  t1=$(date +%s.%N)
  res "sustained ingest: COPY, $I s, batches of $BATCH" "$(rate "$total" "$t0" "$t1")"
  # how long the backlog takes to drain once the COPY stops
  while :; do
    read -r rows hours old age <<< "$(backlog)"
    [ "$hours" -eq 0 ] && break
    awk -v a="$t1" -v b="$(date +%s.%N)" -v i="$I" 'BEGIN { exit !(b - a >= (i > 60 ? i : 60)) }' && break
    sleep 1
  done
  res "sustained ingest: backlog after the COPY stopped" "$rows rows, $hours hours after $(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
  touch "$WORK/ingest.stop"; wait "$MPID" || true; wait "$PPID2" || true
  [ -n "$QPID" ] && { wait "$QPID" || true; }
  heavy_questions "sustained ingest, after it, ending now ($($PSQL -At -c "SELECT count(*) FROM analytics.events WHERE emitted_at >= $HOUR_E") events in the hour)" "$CLOCK"
  heavy_questions "sustained ingest, after it, ending at the hour's start" "$HOUR_E"
  res "sustained ingest: maintenance runs / hours refreshed" "$(grep -c '^[0-9]' "$WORK/maint.log" || true) / $(awk '/^[0-9]+$/ { h += $1 } END { print h + 0 }' "$WORK/maint.log")"
  res "sustained ingest: maintenance run, median / longest" "$(sort -n "$WORK/maint.secs" | awk '{ a[NR] = $1 } END { printf "%.1f / %.1f s", a[int((NR + 1) / 2)], a[NR] }')"
  res "sustained ingest: probes (2 s) seeing an hour that ended > 1 min ago pending" \
    "$(awk '$1 > 0 { n++; run++; if (run > m) m = run; next } { run = 0 } END { printf "%d of %d, longest stretch %d probes (~%d s)", n, NR, m, 2 * m }' "$WORK/ended.log")"
fi

# ---- 5. ClickHouse -----------------------------------------------------------
: > "$WORK/ch.tsv"
if [ "$Q" -eq 1 ] && [ -x "$CH_SERVER" ] && command -v clickhouse-client >/dev/null && id "$CH_USER" >/dev/null 2>&1; then
  say "ClickHouse: private server on 127.0.0.1:$CH_PORT"
  C="$WORK/ch"; mkdir -p "$C/data" "$C/tmp" "$C/log"
  cat > "$C/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$C/log/server.log</log><errorlog>$C/log/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$CH_PORT</tcp_port>
  <http_port>$CH_HTTP</http_port>
  <path>$C/data/</path>
  <tmp_path>$C/tmp/</tmp_path>
  <user_files_path>$C/data/user_files/</user_files_path>
  <format_schema_path>$C/data/format_schemas/</format_schema_path>
  <users_config>$C/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>1073741824</mark_cache_size>
  <timezone>UTC</timezone>
</yandex>
XML
  cat > "$C/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
  chown -R "$CH_USER:" "$C"
  runuser -u "$CH_USER" -- "$CH_SERVER" --config-file="$C/config.xml" --pid-file="$C/ch.pid" --daemon
  CH="clickhouse-client --host 127.0.0.1 --port $CH_PORT"
  for _ in $(seq 60); do $CH -q "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
  $CH -q "SELECT 1" >/dev/null || { tail -5 "$C/log/error.log" >&2; echo "ClickHouse did not start" >&2; exit 1; }
  # 18.16 has no DateTime64 and cannot parse "....mmm+00" (nor "022" as UInt16): emitted_at (s) + emitted_ms
  $CH -q "CREATE TABLE events (project_id String, emitted_at DateTime, emitted_ms UInt16, event_type String,
            value Nullable(Float64), media_id String, media_type String, session_id Nullable(UUID),
            viewer_id Nullable(Int64), referrer String, continent Nullable(String), country Nullable(String),
            device_type String, operating_system String, browser String)
          ENGINE = MergeTree PARTITION BY toDate(emitted_at) ORDER BY (project_id, event_type, emitted_at)"
  t0=$(date +%s.%N)
  awk -F '\t' -v OFS='\t' '{ $2 = substr($2, 1, 19) OFS substr($2, 21, 3) + 0; print }' "$WORK/events.copy" |
    $CH -q "INSERT INTO events FORMAT TabSeparated"
  t1=$(date +%s.%N)
  res "ClickHouse INSERT (TSV, incl. awk conversion)" "$(rate "$N" "$t0" "$t1")"
  $CH -q "OPTIMIZE TABLE events FINAL" 2>/dev/null || true
  res "size: ClickHouse events (on disk)" "$($CH -q "SELECT formatReadableSize(sum(bytes_on_disk)) FROM system.parts WHERE table = 'events' AND active")"
  w="project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - INTERVAL 30 DAY AND emitted_at < now()"
  w2="emitted_at >= now() - INTERVAL 30 DAY AND emitted_at < now()"
  # watch interval [start, end) in ms, clamped to the last day, as the PostgreSQL baseline
  e="toInt64(toUInt32(emitted_at)) * 1000 + emitted_ms" lo="(toInt64(toUInt32(now())) - 86400) * 1000" hi="toInt64(toUInt32(now())) * 1000"
  CHQ=(
    "SELECT count() FROM events WHERE $w"
    "SELECT count() FROM events WHERE country IN ('US', 'FR', 'DE') AND $w"
    "SELECT countIf(event_type = 'play') / countIf(event_type = 'impression') FROM events WHERE project_id = 'p001' AND event_type IN ('play', 'impression') AND $w2"
    "SELECT ifNull(country, 'unknown') AS c, count() AS n FROM events WHERE $w GROUP BY c ORDER BY n DESC, c LIMIT 25"
    "SELECT media_id, count() AS n FROM events WHERE event_type = 'play' AND $w2 GROUP BY media_id ORDER BY n DESC, media_id LIMIT 25"
    "SELECT toStartOfDay(emitted_at) AS d, count() FROM events WHERE $w GROUP BY d ORDER BY d"
    "SELECT toStartOfHour(emitted_at) AS h, count() FROM events WHERE project_id = 'p001' AND event_type = 'play' AND emitted_at >= now() - INTERVAL 2 DAY AND emitted_at < now() GROUP BY h ORDER BY h"
    "SELECT sumIf(value, event_type = 'watch') / countIf(event_type = 'play') FROM events WHERE project_id = 'p001' AND media_id = '$VIDEO' AND event_type IN ('watch', 'play') AND $w2"
    "SELECT arrayReduce('max', arrayCumSum(arrayMap(x -> x.2, arraySort(groupArray((t, d)))))) FROM (
       SELECT arrayJoin([(greatest($e - toInt64(value * 1000), $lo), 1), (least($e, $hi), -1)]) AS p, p.1 AS t, p.2 AS d
         FROM events WHERE project_id = 'p001' AND media_id = '$LIVE' AND event_type = 'watch'
          AND emitted_at >= now() - INTERVAL 1 DAY AND emitted_at < now() + INTERVAL 1 HOUR AND $e - toInt64(value * 1000) < $hi)"
    # 10-24: the off-rollup shapes (series without empty buckets: 18.16 has no WITH FILL)
    "SELECT toStartOfDay(emitted_at) AS d, count() FROM events WHERE browser = 'chrome' AND device_type = 'phone' AND $w GROUP BY d ORDER BY d"
    "SELECT device_type, count() AS n FROM events WHERE country = 'FR' AND $w GROUP BY device_type ORDER BY n DESC, device_type"
    "SELECT ifNull(country, 'unknown') AS c, sum(value) AS s FROM events WHERE event_type = 'watch' AND media_type = 'live-stream' AND $w2 GROUP BY c ORDER BY s DESC, c"
    "SELECT avg(value) FROM events WHERE project_id = 'p001' AND event_type = 'impression' AND continent = 'EU' AND device_type = 'computer' AND $w2"
    "SELECT uniqExact(viewer_id) FROM events WHERE project_id = 'p001' AND event_type = 'view' AND value = 5 AND $w2"
    "SELECT ifNull(country, 'unknown') AS c, uniqExact(viewer_id) AS n FROM events WHERE project_id = 'p001' AND event_type = 'view' AND value = 5 AND $w2 GROUP BY c ORDER BY n DESC, c"
    "SELECT arrayReduce('max', arrayCumSum(arrayMap(x -> x.2, arraySort(groupArray((t, d)))))) FROM (
       SELECT arrayJoin([(greatest($e - toInt64(value * 1000), $lo), 1), (least($e, $hi), -1)]) AS p, p.1 AS t, p.2 AS d
         FROM events WHERE project_id = 'p001' AND event_type = 'watch'
          AND emitted_at >= now() - INTERVAL 1 DAY AND emitted_at < now() + INTERVAL 1 HOUR AND $e - toInt64(value * 1000) < $hi)"
    "SELECT toDate(emitted_at, 'Asia/Kolkata') AS d, count() FROM events WHERE $w GROUP BY d ORDER BY d"
    "SELECT toMonday(emitted_at, 'Asia/Kolkata') AS d, count() FROM events WHERE $w GROUP BY d ORDER BY d"
    "SELECT toStartOfMonth(emitted_at, 'Asia/Kolkata') AS d, count() FROM events WHERE $w GROUP BY d ORDER BY d"
    "SELECT toDate(emitted_at, 'America/New_York') AS d, sum(value) FROM events WHERE project_id = 'p001' AND event_type = 'watch' AND $w2 GROUP BY d ORDER BY d"
    "SELECT toMonday(emitted_at, 'America/New_York') AS d, count() FROM events WHERE $w GROUP BY d ORDER BY d"
    "SELECT toStartOfMonth(emitted_at, 'America/New_York') AS d, count() FROM events WHERE $w GROUP BY d ORDER BY d"
    "SELECT referrer, count() AS n FROM events WHERE $w GROUP BY referrer ORDER BY n DESC, referrer"
    "SELECT referrer, sum(value) AS s FROM events WHERE project_id = 'p001' AND event_type = 'watch' AND device_type = 'phone' AND $w2 GROUP BY referrer ORDER BY s DESC, referrer"
  )
  say "timing the questions on ClickHouse ($R runs each after a warm-up)"
  for i in "${!CHQ[@]}"; do
    $CH -q "${CHQ[$i]}" > "$WORK/ch.answer"
    case $((i + 1)) in 1|3|8|9) res "answer of $((i + 1)): plain SQL / ClickHouse" "$(sed -n "$((i + 1))p" "$WORK/answers" | cut -f2) / $(head -c 20 "$WORK/ch.answer")" ;; esac
    for _ in $(seq "$R"); do $CH --time -q "${CHQ[$i]}" 2>&1 >/dev/null | tail -1; done |
      sort -g | awk -v n=$((i + 1)) '{ a[NR] = $1 * 1000 }
        END { printf "%d\t%.1f\t%.1f\n", n, a[int((NR + 1) / 2)], a[int(NR * 0.95 + 0.999)] }' >> "$WORK/ch.tsv"
  done
  ch_stop
elif [ "$Q" -eq 1 ]; then
  res "ClickHouse" "skipped: clickhouse-server not installed (apt-get install clickhouse-server)"
fi

# ---- 6. report ---------------------------------------------------------------
echo
echo "analytics benchmark: $N events, $D days, $P projects, $R runs (ms; API = analytics.metric/breakdown/timeseries,"
echo "SQL = the same question as a plain GROUP BY over analytics.events, CH = ClickHouse $( (clickhouse-client --version 2>/dev/null || echo -) | grep -oE '[0-9]+(\.[0-9]+)+' | head -1) MergeTree)"
echo
awk -F '\t' 'FILENAME == ARGV[1] { ch50[$1] = $2; ch95[$1] = $3; next }
  FILENAME == ARGV[2] { ok[$1] = $2; tok[$1] = $3; next }
  function v(x) { return x == "" ? "-" : x }
  FNR == 1 { printf "%-2s %-46s %8s %8s %8s %8s %7s %8s %8s %8s %8s %7s %7s %7s\n", "#", "question", "API p50", "API p95", "SQL p50", "SQL p95",
                    "API/SQL", "ten p50", "ten p95", "CH p50", "CH p95", "API/CH", "API=SQL", "ten=own" }
  { r = ($3 != "" && $5 > 0) ? sprintf("%.2f", $3 / $5) : "-"
    rc = ($3 != "" && $1 in ch50 && ch50[$1] > 0) ? sprintf("%.3f", $3 / ch50[$1]) : "-"
    printf "%-2s %-46s %8s %8s %8s %8s %7s %8s %8s %8s %8s %7s %7s %7s\n", $1, $2, v($3), v($4), v($5), v($6), r, v($7), v($8),
           ($1 in ch50) ? ch50[$1] : "-", ($1 in ch95) ? ch95[$1] : "-", rc, v(ok[$1]), v(tok[$1]) }' "$WORK/ch.tsv" "$WORK/check.tsv" "$WORK/pg.tsv"
awk -F '\t' '$4 != "" { print "DIFF " $1 ": " $4 }' "$WORK/check.tsv"
echo
cat "$WORK/summary"
