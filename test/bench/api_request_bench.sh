#!/bin/bash
# Cost of analytics.api_request (the REST entry point) on typical calls.
#   test/bench/api_request_bench.sh [EVENTS] [CALLS]      defaults: 1000000 200
# Starts a private cluster (test/pgenv.sh), loads EVENTS generated events
# (test/gen, fixed seed, 3 days ending at today's 00:00 UTC, 4 projects),
# runs maintenance (partitions, rollups), then times CALLS calls of each of
# five URIs as the owner with project p001 (after 5 warm-up calls): p50 and
# p95 in ms, and an md5 over every body and status (the same data and code
# give the same md5: compare it before/after a change of the API code).
# BENCH_BODIES=file also writes those bodies to file (to diff two runs).
# Prints figures only; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000} C=${2:-200}
PORT=${ANALYTICS_BENCH_PORT:-54332}

. test/pgenv.sh
pgenv_prepare apibench gen
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "shared_preload_libraries = 'analytics'" "shared_buffers = '256MB'" \
  "max_wal_size = '4GB'" "synchronous_commit = off" "work_mem = '64MB'" "autovacuum = off" \
  "analytics.maintenance_databases = ''" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
END=$(( $(date +%s) / 86400 * 86400 ))          # today 00:00 UTC: same data all day
$PSQL -c "CREATE EXTENSION analytics" -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, 4) d" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
./test/gen -n "$N" -d 3 -e "$END" -p 4 -m 200 -s 7 > "$WORK/events.copy"
$PSQL -c "\\copy analytics.events FROM '$WORK/events.copy'"
$PSQL -c "SET analytics.maintenance_in_worker = off" -c "SELECT analytics.run_maintenance()" >/dev/null
$PSQL -c "VACUUM ANALYZE" >/dev/null
F=$(date -u -d "@$((END - 3 * 86400))" +%Y-%m-%dT%H:%M:%SZ) T=$(date -u -d "@$END" +%Y-%m-%dT%H:%M:%SZ)
echo "events: $($PSQL -At -c 'SELECT count(*) FROM analytics.events'), period $F .. $T"

$PSQL -At -F ' | ' <<SQL
CREATE VIEW public.bench_bodies AS SELECT u.n, r.status || ' ' || r.body::text AS b
  FROM unnest(ARRAY['/data/metrics/play/count?from=$F&to=$T',
                    '/data/buckets/play/country?from=$F&to=$T&pageSize=5&currentPage=2',
                    '/data/timeseries/impression?from=$F&to=$T&interval=day',
                    '/data/buckets/play/browser?from=$F&to=$T&filterBy[deviceType][]=phone&filterBy[deviceType][]=tablet&filterBy[continent]=EU&sortBy=dimensionValue&sortOrder=asc',
                    '/data/buckets/play/planet?from=$F&to=$T',
                    '/data/timeseries/play?from=$F&to=$T&interval=hour&timeZone=Europe/Paris&pageSize=10&currentPage=3',
                    '/data/metrics/ccv/peak?from=$F&to=$T',
                    '/data/metrics/view/count?from=$F&to=$T&unique=true&viewDuration=10s',
                    '/data/buckets/play-total/media-id?from=$F&to=$T&pageSize=3',
                    '/data/metrics/play/rate?from=$F&to=$T&filterBy={"country":["FR","DE"]}',
                    '/data/buckets/play/country?pageSize=0',
                    '/data/metrics/play/count?from=2024-13-01T00:00:00Z',
                    '/data/nothing']) WITH ORDINALITY u(uri, n),
       LATERAL analytics.api_request(u.uri, 'p001') r;
CREATE FUNCTION pg_temp.bench(label text, uri text, calls int) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; ms float8[] := '{}'; r record; bodies text := ''; i int;
BEGIN
  FOR i IN 1..5 LOOP PERFORM * FROM analytics.api_request(uri, 'p001'); END LOOP;
  FOR i IN 1..calls LOOP
    t0 := clock_timestamp();
    SELECT * INTO r FROM analytics.api_request(uri, 'p001');
    ms := ms || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
    IF i = 1 THEN bodies := r.status || ' ' || r.body::text; END IF;
  END LOOP;
  RETURN format('%-28s p50 %8s ms  p95 %8s ms  status %s  body md5 %s', label,
    (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY m)::numeric, 3) FROM unnest(ms) m),
    (SELECT round(percentile_disc(0.95) WITHIN GROUP (ORDER BY m)::numeric, 3) FROM unnest(ms) m),
    r.status, md5(bodies));
END \$\$;
SELECT pg_temp.bench('metrics play/count', '/data/metrics/play/count?from=$F&to=$T', $C);
SELECT pg_temp.bench('buckets country, page 2', '/data/buckets/play/country?from=$F&to=$T&pageSize=5&currentPage=2', $C);
SELECT pg_temp.bench('timeseries day', '/data/timeseries/impression?from=$F&to=$T&interval=day', $C);
SELECT pg_temp.bench('buckets with filters', '/data/buckets/play/browser?from=$F&to=$T&filterBy[deviceType][]=phone&filterBy[deviceType][]=tablet&filterBy[continent]=EU&sortBy=dimensionValue&sortOrder=asc', $C);
SELECT pg_temp.bench('bad request (400)', '/data/buckets/play/planet?from=$F&to=$T', $C);
SELECT 'md5 of all bodies: ' || md5(string_agg(b, E'\n' ORDER BY n)) FROM public.bench_bodies;
SQL
if [ -n "${BENCH_BODIES:-}" ]; then $PSQL -At -c "SELECT b FROM public.bench_bodies ORDER BY n" > "$BENCH_BODIES" 2>/dev/null || true; fi
