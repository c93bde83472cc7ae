#!/bin/bash
# Concurrent viewers over many watch events: the minute series of one day.
#
#   test/bench/ccv_bench.sh [-n EVENTS] [-r RUNS]
#
#   defaults      -n 5000000 -r 5
#   environment   BENCH_PG_PORT (55512)
#
# What it does (everything in one /tmp/analytics-ccvbench.* folder, removed on exit):
#  1. installs this tree as extension analytics_ccvbench (test/dev_install.sh)
#     into a private cluster and writes EVENTS watch events of one project into
#     yesterday (UTC): EVENTS/50 sessions of 50 heartbeats of 10 s each, which
#     start anywhere in the day (20 live streams, 2 sessions per viewer), then
#     runs maintenance (the rollups; timed);
#  2. times, RUNS times after a warm-up (p50 and min, ms):
#     - analytics.timeseries('ccv-peak', day, 'minute') (1,440 buckets), and
#       its unique-viewer and ccv-average forms, and the same series through
#       api_request (the JSON body of the first page): from rollup_ccv;
#     - the same with analytics.use_rollups = off: one sweep of the raw
#       events (analytics._ccv_series), and with the current hour pending
#       (rollup rows for 23 hours, raw events for one);
#     - the same peak series as plain SQL: the start/end points of every
#       watch interval and of every minute sorted once by a window function
#       (a running sum), the maximum per minute;
#  3. checks that the API and the plain SQL give the same 1,440 values.
# Prints figures only; asserts nothing but that equality.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=5000000 R=5
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift ;;
    -r) R=$2; shift ;;
    *) sed -n '2,7p' "$0" >&2; exit 2 ;;
  esac
  shift
done
PORT=${BENCH_PG_PORT:-55512}

. test/pgenv.sh
WORK=$(mktemp -d /tmp/analytics-ccvbench.XXXXXX) && chmod 755 "$WORK"
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
say() { echo "== $*" >&2; }

./test/dev_install.sh ccvbench >/dev/null
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '1GB'" "work_mem = '256MB'" "max_wal_size = '8GB'" \
  "synchronous_commit = off" "jit = off" "autovacuum = off" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
DAY=$($PSQL -At -c "SELECT date_trunc('day', now() AT TIME ZONE 'UTC') - interval '1 day'")
S=$(( N / 50 ))
say "writing $N watch events ($S sessions) into $DAY UTC"
$PSQL -c "CREATE EXTENSION analytics_ccvbench" -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id) VALUES ('$DAY'::timestamptz + interval '1 hour', 'error', 'x')" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
t0=$(date +%s)
$PSQL <<SQL
SET TimeZone = 'UTC';
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id, viewer_id)
SELECT 'p1',
       '$DAY'::timestamptz + ((s * 7919) % 85900) * interval '1 second' + (s % 1000) * interval '1 millisecond'
         + k * 10 * interval '1 second',
       'watch', 10, 'live' || s % 20, 'live-stream',
       md5(s::text)::uuid, s / 2
  FROM generate_series(1, $S) s, generate_series(1, 50) k;
SQL
say "written in $(( $(date +%s) - t0 )) s"
t0=$(date +%s)
$PSQL -c "SET analytics.maintenance_in_worker = off" -c "SELECT analytics.run_maintenance()" -c "VACUUM ANALYZE" >/dev/null
MAINT=$(( $(date +%s) - t0 ))

# time a statement RUNS times after one warm-up: "p50 min" in ms
timeit() {
  local q=$1 i
  $PSQL -c "SET TimeZone = 'UTC'" -c "$q" >/dev/null
  for i in $(seq "$R"); do
    $PSQL -At -c "SET TimeZone = 'UTC'" -c '\timing on' -c "$q" | awk '/^Time:/ { print $2 }'
  done | sort -n | awk '{ a[NR] = $1 } END { printf "p50 %.1f ms, min %.1f ms", a[int((NR + 1) / 2)], a[1] }'
}
D0="'$DAY'::timestamptz"
D1="'$DAY'::timestamptz + interval '1 day'"
API="SELECT count(*) FROM analytics.timeseries('ccv-peak', $D0, $D1, 'minute', project_id => 'p1')"
APIU="SELECT count(*) FROM analytics.timeseries('ccv-peak', $D0, $D1, 'minute', unique_viewers => true, project_id => 'p1')"
APIA="SELECT count(*) FROM analytics.timeseries('ccv-average', $D0, $D1, 'minute', project_id => 'p1')"
REST="SELECT status FROM analytics.api_request('/data/timeseries/ccv-peak?interval=minute&from=' || to_char($D0, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || '&to=' || to_char($D1, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'p1')"
PLAIN="WITH iv AS (SELECT greatest(e.emitted_at - e.value * interval '1 second', $D0) AS s, least(e.emitted_at, $D1) AS e
                FROM analytics.events e
               WHERE e.project_id = 'p1' AND e.event_type = 'watch' AND e.value > 0
                 AND e.emitted_at > $D0 AND e.emitted_at < $D1 + interval '1 hour'
                 AND e.emitted_at - e.value * interval '1 second' < $D1),
     pts AS (SELECT s AS t, 1 AS d FROM iv WHERE s < e UNION ALL SELECT e, -1 FROM iv WHERE s < e
             UNION ALL SELECT g, 0 FROM generate_series($D0, $D1 - interval '1 minute', interval '1 minute') g),
     steps AS (SELECT t, sum(sum(d)) OVER (ORDER BY t) AS n FROM pts GROUP BY t)
SELECT date_bin('1 minute', t, $D0) AS minute, max(n) AS peak FROM steps WHERE t < $D1 GROUP BY 1"

echo "ccv over one day of $N watch events, one project, minute buckets ($R runs after a warm-up; $(nproc) cores)"
printf '%-52s %s\n' "maintenance (rollups of the day)" "$MAINT s"
printf '%-52s %s\n' "timeseries ccv-peak (API)" "$(timeit "$API")"
printf '%-52s %s\n' "timeseries ccv-peak, unique viewers (API)" "$(timeit "$APIU")"
printf '%-52s %s\n' "timeseries ccv-average (API)" "$(timeit "$APIA")"
printf '%-52s %s\n' "api_request /data/timeseries/ccv-peak?interval=minute" "$(timeit "$REST")"
printf '%-52s %s\n' "timeseries ccv-peak, use_rollups = off (raw sweep)" "$(timeit "SET analytics.max_call_time = 0; SET analytics.use_rollups = off; $API")"
printf '%-52s %s\n' "  the same, unique viewers" "$(timeit "SET analytics.max_call_time = 0; SET analytics.use_rollups = off; $APIU")"
PEND="SET analytics.max_call_time = 0; BEGIN; INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id) VALUES ('p1', $D1 - interval '30 minutes', 'watch', 1, 'live1', 'live-stream', gen_random_uuid()); $API; ROLLBACK"
printf '%-52s %s\n' "timeseries ccv-peak, last hour pending (raw)" "$(timeit "$PEND")"
printf '%-52s %s\n' "plain SQL (window running sum, max per minute)" "$(timeit "SELECT count(*) FROM ($PLAIN) x")"
SAME=$($PSQL -At -c "SET TimeZone = 'UTC'" -c "
  SELECT count(*) FILTER (WHERE a.metric_value IS DISTINCT FROM p.peak::float8) || ' differ of ' || count(*)
    FROM analytics.timeseries('ccv-peak', $D0, $D1, 'minute', project_id => 'p1') a
    FULL JOIN ($PLAIN) p ON p.minute = a.emitted_at")
printf '%-52s %s\n' "API vs plain SQL, minute peaks" "$SAME"
