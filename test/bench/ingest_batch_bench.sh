#!/bin/bash
# ingest_pings throughput (README: Performance figures): CLIENTS pgbench
# clients, each sending BATCHES batches of BATCH pings to
# analytics.ingest_pings (one call, one transaction each), with
# synchronous_commit = on; then, for comparison, the same pings one by one
# through analytics.ingest_ping (SINGLE=0 skips that part).
#   test/bench/ingest_batch_bench.sh [BATCH] [BATCHES] [CLIENTS]   defaults: 500 200 2
# Realistic pings, made before the clock starts (as text: the timed calls
# parse them, as they would a collector's request): each client has
# PLAYBACKS playbacks (default 10000, so with the defaults each playback
# gets 10 pings, 10 s apart, and 10% of the pings open a new playback);
# a playback's first ping carries ready + play, its later ones are
# heartbeats of a playing playback (watch time, start, views), 10% of them
# with a pause and a resume; user agents of 8 browsers, client IPs (viewer
# ids), countries, 5 projects. PERF=1 records the server with perf during
# the batch run and prints the top of the report.
set -euo pipefail
cd "$(dirname "$0")/../.."
BATCH=${1:-500}
BATCHES=${2:-200}
CLIENTS=${3:-2}
PLAYBACKS=${PLAYBACKS:-10000}
PORT=${ANALYTICS_BENCH_PORT:-54336}
. test/pgenv.sh
pgenv_prepare ingbatch
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '1GB'" "synchronous_commit = on" "max_wal_size = '4GB'" \
  "analytics.max_batch_pings = 100000" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
$PSQL -c "CREATE EXTENSION analytics" -c "SELECT analytics.run_maintenance()" >/dev/null

echo "making $((BATCHES * BATCH)) pings per client ($CLIENTS clients, $PLAYBACKS playbacks each)..."
$PSQL <<SQL
CREATE TABLE bench_pings (client int, seq int, ping text, PRIMARY KEY (client, seq));
CREATE TABLE bench_batches (client int, seq int, pings text, PRIMARY KEY (client, seq));
INSERT INTO bench_pings
SELECT c, n,
       format('{"payload": {"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "vi%s", "referrer": "https://blog.example/post%s", "session_id": "%s"}, "events": %s}, "user_agent": "%s", "country": "%s", "client_ip": "192.0.%s.%s", "project_id": "p00%s"}',
              to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
              to_char(l AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
              j % 500, j % 7, md5(c || '/' || j)::uuid,
              CASE WHEN k = 0 THEN format('[{"emitted_at": "%s", "type": "ready", "at": 0}, {"emitted_at": "%s", "type": "play", "at": 0}]',
                                          to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                          to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                   WHEN j % 10 = k % 10 THEN format('[{"emitted_at": "%s", "type": "pause"}, {"emitted_at": "%s", "type": "resume"}]',
                                          to_char((t - interval '2 s') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                          to_char((t - interval '1 s') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                   ELSE '[]' END,
              (ARRAY['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
                     'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
                     'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
                     'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
                     'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
                     'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0',
                     'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
                     'Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'])[1 + j % 8],
              (ARRAY['FR', 'US', 'DE', 'BR', 'IN', 'JP', 'GB', 'fr'])[1 + j % 8],
              j % 250, j / 250 % 250, 1 + j % 5)
  FROM generate_series(1, $CLIENTS) c, generate_series(0, $BATCHES * $BATCH - 1) n,
       LATERAL (SELECT n % $PLAYBACKS AS j, n / $PLAYBACKS AS k) jk,
       LATERAL (SELECT date_trunc('minute', now()) - interval '50 minutes' + j * interval '1 ms' AS l) ll,
       LATERAL (SELECT l + interval '1 s' + k * interval '10 s' AS t) tt;
INSERT INTO bench_batches
SELECT client, seq / $BATCH, '[' || string_agg(ping, ', ' ORDER BY seq) || ']'
  FROM bench_pings GROUP BY client, seq / $BATCH;
VACUUM ANALYZE bench_pings, bench_batches;
SQL
$PSQL -At -c "SELECT 'batch text: ' || pg_size_pretty(avg(length(pings))::bigint) || ' per batch' FROM bench_batches"

# CPU seconds used by the cluster so far: the postmaster, its live children
# and the children it has reaped (backends that ended), in clock ticks
server_ticks() {
  local pm
  pm=$(head -1 "$WORK/pg/data/postmaster.pid")
  { awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"
    for c in $(pgrep -P "$pm"); do awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || true; done; } | awk '{s += $1} END {print s}'
}
run() { # label script transactions-per-client pings-per-transaction
  local out t0 t1
  t0=$(server_ticks)
  out=$("$PG_BINDIR/pgbench" -n -D n=-1 -f "$2" -c "$CLIENTS" -j "$CLIENTS" -t "$3" postgres 2>&1)
  sleep 0.5
  t1=$(server_ticks)
  echo "$out" | grep -E "ERROR|error" | head -3 || true
  echo "$out" | awk -v label="$1" -v per="$4" '/^tps/ {printf "%-34s %8.1f calls/s  %9.0f pings/s\n", label, $3, $3 * per}
                                            /latency average/ {print "  latency average " $4 " ms"}'
  # the figure that does not depend on what else runs on the machine
  awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n=$(($3 * $4 * CLIENTS)) \
    'BEGIN {us = t / hz * 1e6 / n; printf "  server CPU: %.1f s, %.1f us per ping = %.0f pings/s per core\n", t / hz, us, 1e6 / us}'
}

echo "== ingest_pings, $BATCH pings per call, $CLIENTS clients, synchronous_commit = on"
cat > "$WORK/batch.sql" <<'SQL'
\set n :n + 1
SELECT jsonb_array_length(analytics.ingest_pings(pings::jsonb)) FROM bench_batches WHERE client = :client_id + 1 AND seq = :n;
SQL
if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  perf record -a -g -o "$WORK/perf.data" -- sleep 1000000 >/dev/null 2>&1 &
  PERFPID=$!
fi
run "ingest_pings x$BATCH" "$WORK/batch.sql" "$BATCHES" "$BATCH"
if [ -n "${PERFPID:-}" ]; then
  kill -INT "$PERFPID"; wait "$PERFPID" || true
  perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40
fi
$PSQL -At -c "SELECT 'events stored: ' || sum(c) || ', by type: ' || string_agg(t || ' ' || c, ', ') FROM (SELECT event_type::text t, count(*) c FROM analytics.events GROUP BY 1 ORDER BY 2 DESC) x" \
  -c "SELECT 'playbacks: ' || count(*) FROM analytics.ping_sessions"

if [ "${SINGLE:-1}" = 1 ]; then
  echo "== the same pings one by one through ingest_ping, $CLIENTS clients, synchronous_commit = on"
  $PSQL -c "TRUNCATE analytics.ping_sessions" -c "DELETE FROM analytics.events"
  cat > "$WORK/single.sql" <<'SQL'
\set n :n + 1
SELECT analytics.ingest_ping(p->'payload', p->>'user_agent', p->>'country', (p->>'client_ip')::inet, p->>'project_id')
  FROM (SELECT ping::jsonb p FROM bench_pings WHERE client = :client_id + 1 AND seq = :n * 10) x;
SQL
  N1=$(( BATCHES * BATCH / 10 ))
  run "ingest_ping (every 10th ping)" "$WORK/single.sql" "$N1" 1
fi
