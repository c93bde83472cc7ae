#!/bin/bash
# ingest_ping throughput: pgbench clients sending realistic pings (a play
# ping, then heartbeats) of random playbacks to analytics.ingest_ping.
#   test/bench/ingest_bench.sh [SECONDS] [CLIENTS]     defaults: 20 2
# ENRICH=0 sends no user agent and no client IP (no enrichment work).
# Batches of pings (ingest_pings): test/bench/ingest_batch_bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-20}
CLIENTS=${2:-2}
PORT=${ANALYTICS_BENCH_PORT:-54335}
. test/pgenv.sh
pgenv_prepare ingbench
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '1GB'" "synchronous_commit = off" >/dev/null
psql -X -q -d postgres -c "CREATE EXTENSION analytics" -c "SELECT analytics.run_maintenance()" >/dev/null
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
  CASE WHEN :enrich = 1 THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/' || (100 + :s % 30) || '.0.0.0 Safari/537.36' END,
  'FR', CASE WHEN :enrich = 1 THEN ('192.0.2.' || (:s % 250))::inet END, 'p001');
SQL
"$PG_BINDIR/pgbench" -n -D enrich="${ENRICH:-1}" -f "$WORK/ping.sql" -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" postgres 2>&1 | grep -E "tps|latency average|number of transactions|ERROR|error" | head -5
psql -X -q -At -d postgres -c "SELECT 'events stored: ' || count(*) FROM analytics.events" \
  -c "SELECT 'playbacks: ' || count(*) FROM analytics.ping_sessions"
