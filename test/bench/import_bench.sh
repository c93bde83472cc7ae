#!/bin/bash
# COPY through analytics.events_import against a direct COPY (README,
# Tenancy: "COPY for tenants").
#   test/bench/import_bench.sh [ROWS] [RUNS]      defaults: 1000000 3
# Starts a private cluster, generates ROWS events over 3 days (partitions
# made first), then RUNS times, each into emptied tables: COPY into
# analytics.events (the owner), into analytics.events_import as the owner,
# and into analytics.events_import as a tenant granted every generated
# project (row-level security applies): wall time, and the CPU time of the
# backend that ran the COPY. Prints figures only; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-1000000}
RUNS=${2:-3}
PORT=${ANALYTICS_BENCH_PORT:-54333}

. test/pgenv.sh
pgenv_prepare import gen
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '1GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'" \
  "synchronous_commit = off" "analytics.maintenance_interval = '1h'" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"

END=$(( $(date +%s) / 60 * 60 ))
./test/gen -n "$ROWS" -d 3 -e "$END" -p 5 -m 200 -s 11 > "$WORK/events.copy"
chmod 644 "$WORK/events.copy"
$PSQL -c "CREATE EXTENSION analytics" \
      -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, 3) d" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
$PSQL -c "CREATE ROLE bench_tenant" >/dev/null
cut -f1 "$WORK/events.copy" | sort -u | while read -r p; do
  $PSQL -c "SELECT analytics.grant_project('bench_tenant', '$p')" >/dev/null
done

copy_into() { # label target [role]
  local t0 t1 n set_role=""
  [ -n "${3:-}" ] && set_role="SET ROLE $3;"
  $PSQL -c "TRUNCATE analytics.events" -c "CHECKPOINT"
  t0=$(date +%s.%N)
  # the backend's CPU time (user + system, /proc ticks) around the COPY: a
  # figure the other processes of a shared machine disturb less than time
  $PSQL >/dev/null <<SQL
SELECT pg_backend_pid() AS pid \\gset
\\setenv BENCH_PID :pid
\\! awk '{print \$14 + \$15}' /proc/\$BENCH_PID/stat > $WORK/cpu0
$set_role
\\copy $2 FROM '$WORK/events.copy'
\\! awk '{print \$14 + \$15}' /proc/\$BENCH_PID/stat > $WORK/cpu1
SQL
  t1=$(date +%s.%N)
  n=$($PSQL -At -c "SELECT count(*) FROM analytics.events")
  [ "$n" -eq "$ROWS" ] || { echo "$1: $n rows stored, expected $ROWS"; exit 1; }
  echo "$t0 $t1 $(cat "$WORK/cpu0") $(cat "$WORK/cpu1") $(getconf CLK_TCK)" | awk -v r="$ROWS" -v t="$1" \
    '{s=$2-$1; c=($4-$3)/$5; printf "%-34s %7.2f s  %9.0f rows/s   backend CPU %6.2f s\n", t, s, r/s, c}'
}
echo "== COPY of $ROWS events, $RUNS runs"
for i in $(seq 1 "$RUNS"); do
  copy_into "analytics.events (owner)" analytics.events
  copy_into "analytics.events_import (owner)" analytics.events_import
  copy_into "analytics.events_import (tenant)" analytics.events_import bench_tenant
done
