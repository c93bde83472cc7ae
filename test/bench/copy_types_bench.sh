#!/bin/bash
# Where COPY's CPU goes, by what the target table does (README: Performance
# figures, the COPY row): the same generated events COPYed into tables that
# add one thing at a time, ROUNDS times in turn, each COPY backend's CPU time
# (user + system, in 1/100 s) printed per table:
#   text_events   14 text columns: no type input, no check
#   ts_only       only emitted_at typed (timestamptz)
#   enums_only    only the four enum columns typed
#   uuid_f8_i8    only session_id, value, viewer_id typed
#   typed_plain   every column typed as in analytics.events, no constraint
#   typed_check   the same with analytics.events' CHECK constraints
#   part_heap     typed_check partitioned by day like analytics.events (heap)
#   part_brin     part_heap with the BRIN index of analytics.events
#   analytics.events
#   test/bench/copy_types_bench.sh [ROWS] [DAYS]     defaults: 1000000 30
# ROUNDS (default 3), ANALYTICS_BENCH_PORT (default 54331). Prints figures only.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-1000000}
DAYS=${2:-30}
PORT=${ANALYTICS_BENCH_PORT:-54331}
. test/pgenv.sh
pgenv_prepare copytypes gen
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "shared_buffers = '2GB'" "max_wal_size = '8GB'" "synchronous_commit = off" \
  "autovacuum = off" "analytics.maintenance_in_worker = off" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
END=$(( $(date +%s) / 60 * 60 ))
$PSQL -c "CREATE EXTENSION analytics" -c "SELECT analytics.set_retention('$((DAYS + 10)) days')" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, $DAYS) d" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
cols() { # types of: emitted_at, the enums, session_id/value/viewer_id
  echo "project_id text, emitted_at $1, event_type $2, value $4, media_id text, media_type ${2/event_type/media_type},
        session_id ${3}, viewer_id ${5}, referrer text, continent ${2/event_type/continent}, country text,
        device_type ${2/event_type/device_type}, operating_system text, browser text"
}
E=analytics.event_type
$PSQL -c "CREATE TABLE text_events ($(cols text text text text text))" \
      -c "CREATE TABLE ts_only ($(cols timestamptz text text text text))" \
      -c "CREATE TABLE enums_only ($(cols text $E text text text))" \
      -c "CREATE TABLE uuid_f8_i8 ($(cols text text uuid float8 int8))" \
      -c "CREATE TABLE typed_plain (LIKE analytics.events INCLUDING DEFAULTS)" \
      -c "CREATE TABLE typed_check (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)" \
      -c "CREATE TABLE part_heap (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (emitted_at)" \
      -c "CREATE TABLE part_brin (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (emitted_at)" \
      -c "DO \$\$ DECLARE r record; BEGIN
            FOR r IN SELECT row_number() OVER () n, from_ts, to_ts FROM analytics.partitions() WHERE NOT is_default LOOP
              EXECUTE format('CREATE TABLE ph%s PARTITION OF part_heap FOR VALUES FROM (%L) TO (%L)', r.n, r.from_ts, r.to_ts);
              EXECUTE format('CREATE TABLE pb%s PARTITION OF part_brin FOR VALUES FROM (%L) TO (%L)', r.n, r.from_ts, r.to_ts);
            END LOOP; END \$\$" \
      -c "CREATE INDEX ON part_brin USING brin (emitted_at) WITH (pages_per_range = 16, autosummarize = on)" >/dev/null
./test/gen -n "$ROWS" -d "$DAYS" -e "$END" -p 20 -m 500 -s 7 > "$WORK/events.copy"
chmod 644 "$WORK/events.copy"
echo "COPY of $ROWS events: the COPY backend's CPU (1/100 s) per round"
for r in $(seq 1 "${ROUNDS:-3}"); do
  for t in text_events ts_only enums_only uuid_f8_i8 typed_plain typed_check part_heap part_brin analytics.events; do
    $PSQL -c "TRUNCATE $t" -c "CHECKPOINT"
    printf '%s\n' "\\copy $t FROM '$WORK/events.copy'" \
      "SELECT '$t', split_part(s, ' ', 14)::int + split_part(s, ' ', 15)::int FROM pg_read_file('/proc/' || pg_backend_pid() || '/stat') s" \
      > "$WORK/round.sql"
    $PSQL -At -F ' ' -f "$WORK/round.sql"
  done
done | awk '{ v[$1] = v[$1] " " $2; if (!($1 in o)) { o[$1] = ++n; k[n] = $1 } }
            END { for (i = 1; i <= n; i++) printf "%-18s%s\n", k[i], v[k[i]] }'
