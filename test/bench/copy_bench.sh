#!/bin/bash
# Ingest and lifecycle benchmark (issue: core store).
#   test/bench/copy_bench.sh [ROWS] [DAYS]      defaults: 10000000 30
# Starts a private cluster, then measures:
#  1. COPY of ROWS generated events over DAYS days into analytics.events
#     (day partitions already there) vs into an unpartitioned table with the
#     same columns and constraints;
#  2. maintenance moving 1M stray rows out of the default partition;
#  3. maintenance dropping expired partitions: how long it holds its
#     strongest lock (ACCESS EXCLUSIVE on analytics.events) per partition.
#  4. with ROUNDS=N (default 3): N alternating rounds of COPY of the same rows
#     into analytics.events (emptied before each round) and into a table
#     of text columns (no types, no constraints: what COPY costs without
#     any validation), with the cluster's CPU time of each COPY; prints the
#     medians and the ratio (README: Performance figures). COPY_ONLY=1 stops
#     after it (no maintenance part); PERF=1 records the COPY backends with
#     perf and prints the top of the report for each table.
# Prints figures only; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-10000000}
DAYS=${2:-30}
PORT=${ANALYTICS_BENCH_PORT:-54331}

. test/pgenv.sh
pgenv_prepare bench gen
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '2GB'" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'" \
  "synchronous_commit = off" "work_mem = '64MB'" "maintenance_work_mem = '1GB'" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"

END=$(( $(date +%s) / 60 * 60 ))
$PSQL -c "CREATE EXTENSION analytics" \
      -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, $DAYS) d" \
      -c "SELECT analytics.run_maintenance()" >/dev/null
$PSQL -c "DELETE FROM analytics.events" \
      -c "CREATE UNLOGGED TABLE IF NOT EXISTS bench_dummy ()" \
      -c "CREATE TABLE plain_events (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
NPART=$($PSQL -At -c "SELECT count(*) FROM analytics.partitions() WHERE NOT is_default")

echo "generating $ROWS events over $DAYS days..."
./test/gen -n "$ROWS" -d "$DAYS" -e "$END" -p 20 -m 500 -s 7 > "$WORK/events.copy"
ls -l "$WORK/events.copy" | awk '{printf "input: %.0f MB\n", $5/1048576}'
chmod 644 "$WORK/events.copy"

copy_into() { # table
  local t0 t1
  $PSQL -c "CHECKPOINT"
  t0=$(date +%s.%N)
  $PSQL -c "\\copy $1 FROM '$WORK/events.copy'"
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk -v r="$ROWS" -v t="$1" '{s=$2-$1; printf "COPY into %-18s %8.2f s  %10.0f rows/s\n", t, s, r/s}'
}
echo "== COPY ($NPART day partitions)"
copy_into analytics.events
copy_into plain_events
$PSQL -c "SELECT 'analytics.events', pg_size_pretty(sum(pg_total_relation_size(partition))) FROM analytics.partitions()
          UNION ALL SELECT 'plain_events', pg_size_pretty(pg_total_relation_size('plain_events'))"

# CPU seconds used by the cluster so far (postmaster, live and reaped
# children), in clock ticks
server_ticks() {
  local pm
  pm=$(head -1 "$WORK/pg/data/postmaster.pid")
  { awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"
    for c in $(pgrep -P "$pm"); do awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || true; done; } | awk '{s += $1} END {print s}'
}
round() { # table -> "wall_s cpu_s"
  local t0 t1 c0 c1 pp= tag
  tag=$(echo "$1" | tr -c 'a-z\n' _)
  $PSQL -c "CHECKPOINT"
  if [ "${PERF:-0}" = 1 ]; then
    perf record -a -o "$WORK/perf.$tag" >/dev/null 2>&1 & pp=$!
    sleep 0.5
  fi
  c0=$(server_ticks); t0=$(date +%s.%N)
  $PSQL -At -c "SELECT pg_backend_pid()" -c "\\copy $1 FROM '$WORK/events.copy'" > "$WORK/pid.$tag"
  t1=$(date +%s.%N)
  if [ -n "$pp" ]; then kill -INT "$pp"; wait "$pp" || true; fi
  sleep 0.3; c1=$(server_ticks)
  echo "$t0 $t1 $c0 $c1" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f %.2f\n", $2 - $1, ($4 - $3) / hz}'
}
ROUNDS=${ROUNDS:-3}
if [ "$ROUNDS" -gt 0 ]; then
  echo "== COPY of the same $ROUNDS times, alternating: analytics.events vs a table of text columns"
  $PSQL -c "CREATE TABLE text_events (project_id text, emitted_at text, event_type text, value text, media_id text,
              media_type text, session_id text, viewer_id text, referrer text, continent text, country text,
              device_type text, operating_system text, browser text)"
  : > "$WORK/rounds"
  for r in $(seq 1 "$ROUNDS"); do
    $PSQL -c "TRUNCATE analytics.events" -c "TRUNCATE text_events"
    echo "events $(round analytics.events)" >> "$WORK/rounds"
    echo "text $(round text_events)" >> "$WORK/rounds"
    tail -2 "$WORK/rounds" | awk -v r="$r" '{printf "round %d  %-7s %7.2f s wall  %7.2f s CPU\n", r, $1, $2, $3}'
  done
  for k in events text; do
    grep "^$k " "$WORK/rounds" | sort -k2 -n | awk -v k="$k" '{w[NR] = $2} END {print k, w[int((NR + 1) / 2)]}'
  done > "$WORK/wall"
  for k in events text; do
    grep "^$k " "$WORK/rounds" | sort -k3 -n | awk -v k="$k" '{c[NR] = $3} END {print k, c[int((NR + 1) / 2)]}'
  done > "$WORK/cpu"
  awk -v rows="$ROWS" 'NR == FNR {w[$1] = $2; next} {c[$1] = $2}
       END {printf "median  events %.2f s (%.0f rows/s), text %.2f s (%.0f rows/s): events/text speed %.2fx wall, %.2fx CPU\n",
                   w["events"], rows / w["events"], w["text"], rows / w["text"], w["text"] / w["events"], c["text"] / c["events"]}' \
      "$WORK/wall" "$WORK/cpu"
  if [ "${PERF:-0}" = 1 ]; then
    for tag in analytics_events text_events; do
      echo "-- perf of the COPY backend (last round): $tag"
      perf report -i "$WORK/perf.$tag" --pid "$(head -1 "$WORK/pid.$tag")" --percentage relative \
        --no-children --sort dso,symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -30 || true
    done
  fi
fi
[ "${COPY_ONLY:-0}" = 1 ] && exit 0

echo "== maintenance: move 1M strays out of the default partition"
$PSQL -c "CREATE TABLE strays AS SELECT * FROM analytics.events LIMIT 0"
head -n 1000000 "$WORK/events.copy" > "$WORK/strays.copy"
# shift them 100 days ahead so that they find no partition
$PSQL -c "\\copy strays FROM '$WORK/strays.copy'" \
      -c "INSERT INTO analytics.events SELECT project_id, emitted_at + interval '100 days', event_type, value, media_id, media_type,
          session_id, viewer_id, referrer, continent, country, device_type, operating_system, browser FROM strays"
$PSQL -At -c "\\timing on" -c "SELECT jsonb_build_object('rows_moved', r->'rows_moved', 'created', jsonb_array_length(r->'partitions_created'), 'deferred', r->'deferred') FROM analytics.run_maintenance() r"

echo "== maintenance: drop the 10 oldest day partitions (retention $((DAYS-10)) days)"
$PSQL -c "SELECT analytics.set_retention('$((DAYS-10)) days')" >/dev/null
$PSQL -At -c "\\timing on" -c "SELECT jsonb_build_object('dropped', jsonb_array_length(r->'partitions_dropped'), 'plays_archived', r->'plays_archived', 'max_parent_lock_ms', r->'max_parent_lock_ms', 'deferred', r->'deferred') FROM analytics.run_maintenance() r"
