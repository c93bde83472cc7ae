#!/bin/bash
# Retention drop under load: how long maintenance holds ACCESS EXCLUSIVE on
# analytics.events while it drops expired day partitions and clients keep
# copying into current partitions and asking API questions.
#   test/bench/retention_bench.sh [ROWS] [DAYS] [EXPIRE] [SECONDS]
#   defaults: 2000000 4 2 240
# Starts a private cluster (fsync on, as in production; FSYNC=off to skip),
# loads ROWS generated events over the DAYS days before today, builds the
# rollups, then runs test/bench/retention_load.sh: EXPIRE day partitions
# expire and are dropped by run_maintenance() while the load runs for
# SECONDS. Prints figures only; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-2000000}
DAYS=${2:-4}
EXPIRE=${3:-2}
SECS=${4:-240}
PORT=${ANALYTICS_BENCH_PORT:-54337}

. test/pgenv.sh
pgenv_prepare retbench gen
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "fsync = ${FSYNC:-on}" "shared_buffers = '1GB'" "max_wal_size = '4GB'" \
  "work_mem = '64MB'" "maintenance_work_mem = '512MB'" >/dev/null
export PGDATABASE=postgres PG_BINDIR
PSQL="psql -X -q -At -v ON_ERROR_STOP=1"

# day partitions for the DAYS days before today (and today + 7 ahead)
END=$(( $(date +%s) / 86400 * 86400 ))
$PSQL -c "CREATE EXTENSION analytics" -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(1, $DAYS) d" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
echo "generating and loading $ROWS events over $DAYS days..."
./test/gen -n "$ROWS" -d "$DAYS" -e "$END" -p 20 -m 500 -s 7 > "$WORK/events.copy"
chmod 644 "$WORK/events.copy"
$PSQL -c "COPY analytics.events FROM '$WORK/events.copy'"
rm -f "$WORK/events.copy"
t0=$(date +%s)
$PSQL -c "SELECT analytics.run_maintenance()" >/dev/null
$PSQL -c "VACUUM ANALYZE"
echo "rollups built in $(( $(date +%s) - t0 )) s; $($PSQL -c "SELECT pg_size_pretty(sum(pg_total_relation_size(partition))) FROM analytics.partitions()") of events"
./test/bench/retention_load.sh "$WORK/load" "$EXPIRE" "$SECS"
