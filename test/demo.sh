#!/bin/bash
# make demo: install what is missing, build and install the extension, start a
# throwaway PostgreSQL cluster, load a few days of generated player events and
# print real answers. The cluster is stopped and removed at the end.
#   DEMO_ROWS (default 500000), DEMO_DAYS (default 3), DEMO_KEEP=1 keeps it running
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${DEMO_ROWS:-500000}
DAYS=${DEMO_DAYS:-3}
PORT=${ANALYTICS_DEMO_PORT:-54330}

./test/deps.sh
make -s all gen
if [ "$(id -u)" -eq 0 ]; then make -s install >/dev/null; else sudo make -s install >/dev/null; fi

. test/pgenv.sh
WORK=$(mktemp -d /tmp/analytics-demo.XXXXXX); chmod 755 "$WORK"
if [ -z "${DEMO_KEEP:-}" ]; then trap 'pgenv_stop; rm -rf "$WORK"' EXIT; fi
pgenv_start "$WORK/pg" "$PORT" "shared_preload_libraries = 'analytics'" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres -P pager=off"

section() { printf '\n== %s\n' "$*"; }

section "CREATE EXTENSION analytics; first maintenance run"
$PSQL -c "CREATE EXTENSION analytics" -At -c "SELECT jsonb_pretty(analytics.run_maintenance() - 'started_at' - 'cutoff')"

section "COPY $ROWS generated events over the last $DAYS days"
t0=$(date +%s.%N)
./test/gen -n "$ROWS" -d "$DAYS" -p 3 -m 100 -s 42 | $PSQL -c "COPY analytics.events FROM STDIN"
t1=$(date +%s.%N)
echo "$t0 $t1" | awk -v r="$ROWS" '{printf "loaded %d rows in %.2f s (%.0f rows/s)\n", r, $2-$1, r/($2-$1)}'

section "maintenance: past days found no partition; their rows move into new day partitions"
$PSQL -At -c "SELECT jsonb_pretty(analytics.run_maintenance() - 'started_at' - 'cutoff')"
$PSQL -c "SELECT partition, from_ts, to_ts FROM analytics.partitions() ORDER BY from_ts NULLS LAST"

section "events per type"
$PSQL -c "SELECT event_type, count(*) AS events FROM analytics.events GROUP BY 1 ORDER BY 1"

section "events per UTC day"
$PSQL -c "SET TimeZone = 'UTC'" -c "SELECT date_trunc('day', emitted_at)::date AS day,
            count(*) FILTER (WHERE event_type = 'impression') AS impressions,
            count(*) FILTER (WHERE event_type = 'play') AS plays,
            count(*) FILTER (WHERE event_type = 'start') AS starts,
            count(*) FILTER (WHERE event_type = 'end') AS ends,
            round(sum(value) FILTER (WHERE event_type = 'watch') / 3600) AS watch_hours
       FROM analytics.events GROUP BY 1 ORDER BY 1"

section "top 5 countries by plays (last 24 h)"
$PSQL -c "SELECT coalesce(country, 'unknown') AS country, count(*) AS plays FROM analytics.events
           WHERE event_type = 'play' AND emitted_at >= now() - interval '1 day'
           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"

section "play rate and average view duration per project (last 24 h)"
$PSQL -c "SELECT project_id,
                 round(count(*) FILTER (WHERE event_type = 'play')::numeric
                       / nullif(count(*) FILTER (WHERE event_type = 'impression'), 0), 3) AS play_rate,
                 round((sum(value) FILTER (WHERE event_type = 'watch')
                       / nullif(count(*) FILTER (WHERE event_type = 'play'), 0))::numeric, 1) AS avg_watch_s
            FROM analytics.events WHERE emitted_at >= now() - interval '1 day'
           GROUP BY 1 ORDER BY 1"

if [ -n "${DEMO_KEEP:-}" ]; then
  echo; echo "cluster left running: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=postgres psql postgres"
fi
