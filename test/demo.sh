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

. test/pgenv.sh
pgenv_prepare demo gen
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

section "events per type (plain SQL)"
$PSQL -c "SELECT event_type, count(*) AS events FROM analytics.events GROUP BY 1 ORDER BY 1"

section "SQL API: aggregates over the last 24 hours"
$PSQL -c "SELECT m.metric, m.aggregation, round(analytics.metric(m.metric, m.aggregation)::numeric, 3) AS value
            FROM (VALUES ('impression', 'count'), ('play', 'count'), ('play', 'rate'), ('start', 'count'),
                         ('end', 'count'), ('impression-time', 'average'), ('watch-time', 'sum'),
                         ('watch-time', 'average'), ('view', 'count'), ('ccv', 'peak'), ('ccv', 'average'),
                         ('play', 'total')) m(metric, aggregation)"

section "SQL API: plays by country, top 5"
$PSQL -c "SELECT * FROM analytics.breakdown('play', 'country') LIMIT 5"

section "SQL API: watch time by device type (hours), project p001"
$PSQL -c "SELECT dimension_value AS device_type, round((metric_value / 3600)::numeric, 1) AS watch_hours
            FROM analytics.breakdown('watch-time', 'device-type', project_id => 'p001')"

section "SQL API: plays and concurrent viewers per day, Europe/Paris days"
$PSQL -c "SET TimeZone = 'Europe/Paris'" -c "SELECT p.emitted_at, p.metric_value AS plays, c.metric_value AS ccv_peak
            FROM analytics.timeseries('play', now() - interval '$DAYS days', now(), 'day', time_zone => 'Europe/Paris') p
            JOIN analytics.timeseries('ccv-peak', now() - interval '$DAYS days', now(), 'day', time_zone => 'Europe/Paris') c USING (emitted_at)"

section "ingest_ping: a player's pings (play, two heartbeats, pause) become events"
$PSQL -At <<'SQL'
CREATE TEMP TABLE base AS SELECT now() - interval '1 minute' AS b;
CREATE FUNCTION pg_temp.t(s double precision) RETURNS text LANGUAGE sql AS
  $$ SELECT to_char((b + s * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM base $$;
CREATE FUNCTION pg_temp.ping(s double precision, events jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT analytics.ingest_ping(jsonb_build_object('emitted_at', pg_temp.t(s),
           'session', jsonb_build_object('loaded_at', pg_temp.t(0), 'video_id', 'vi-demo',
                                         'session_id', '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6',
                                         'referrer', 'https://blog.example/launch'),
           'events', events),
         user_agent => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
         country => 'FR', client_ip => '192.0.2.1', project_id => 'demo') $$;
SELECT pg_temp.ping(2, jsonb_build_array(jsonb_build_object('emitted_at', pg_temp.t(1), 'type', 'ready', 'at', 0),
                                         jsonb_build_object('emitted_at', pg_temp.t(2), 'type', 'play', 'at', 0)));
SELECT pg_temp.ping(12, '[]');
SELECT pg_temp.ping(22, '[]');
SELECT pg_temp.ping(26, jsonb_build_array(jsonb_build_object('emitted_at', pg_temp.t(26), 'type', 'pause', 'at', 23.5)));
SQL
$PSQL -c "SELECT emitted_at, event_type, value, device_type, operating_system, browser, country, continent
            FROM analytics.events WHERE project_id = 'demo' ORDER BY emitted_at, event_type, value"

section "JSON API: GET /data/metrics/play/rate"
$PSQL -At -c "SELECT status, jsonb_pretty(body) FROM analytics.api_request('/data/metrics/play/rate')"

section "JSON API: GET /data/buckets/play/browser?filterBy[deviceType][]=phone&filterBy[deviceType][]=tablet&pageSize=3"
$PSQL -At -c "SELECT status, jsonb_pretty(body) FROM analytics.api_request('/data/buckets/play/browser?filterBy[deviceType][]=phone&filterBy[deviceType][]=tablet&pageSize=3')"

section "JSON API: GET /data/timeseries/view?interval=hour&pageSize=4&sortBy=metricValue&sortOrder=desc"
$PSQL -At -c "SELECT status, jsonb_pretty(body) FROM analytics.api_request('/data/timeseries/view?interval=hour&pageSize=4&sortBy=metricValue&sortOrder=desc')"

section "JSON API: a client mistake is a 400 problem body"
$PSQL -At -c "SELECT status, jsonb_pretty(body) FROM analytics.api_request('/data/buckets/play/planet')"

if [ -n "${DEMO_KEEP:-}" ]; then
  echo; echo "cluster left running: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=postgres psql postgres"
fi
