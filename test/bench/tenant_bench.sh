#!/bin/bash
# Cost of the tenant policy (README: Tenancy).
#   test/bench/tenant_bench.sh [EVENTS] [DAYS] [RUNS]     defaults: 2000000 3 15
# Starts a private cluster, loads EVENTS generated events over DAYS days in
# 2 projects (p001, p002: about half each), builds the rollups, then times
# a few questions (median of RUNS runs, after one warm-up) as the owner (no
# row-level security), as a tenant with one project and as a tenant with
# two projects (p001 and a project without rows), first under the 0.5
# policy (CASE on _my_scope(), recreated on every table for the comparison)
# and then under the 0.6 policies (tenant_rows / admin_rows).
# Prints figures only; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2000000} D=${2:-3} R=${3:-15}
PORT=${ANALYTICS_BENCH_PORT:-54332}

. test/pgenv.sh
pgenv_prepare tenantbench gen
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "shared_preload_libraries = 'analytics'" "shared_buffers = '512MB'" \
  "max_wal_size = '4GB'" "synchronous_commit = off" "work_mem = '64MB'" "autovacuum = off" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
END=$(( $(date +%s) / 60 * 60 ))

$PSQL -c "CREATE EXTENSION analytics" -c "SET analytics.maintenance_in_worker = off" \
      -c "INSERT INTO analytics.events (emitted_at, event_type, media_id)
          SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, $D + 1) d" \
      -c "SELECT analytics.run_maintenance()" -c "DELETE FROM analytics.events" >/dev/null
echo "generating $N events over $D days, 2 projects..."
./test/gen -n "$N" -d "$D" -e "$END" -p 2 -m 500 -s 5 > "$WORK/events.copy"
chmod 644 "$WORK/events.copy"
$PSQL -c "\\copy analytics.events FROM '$WORK/events.copy'"
$PSQL -c "SET analytics.maintenance_in_worker = off" -c "SELECT analytics.run_maintenance()" >/dev/null
$PSQL -c "VACUUM ANALYZE" >/dev/null
$PSQL -At -c "SELECT 'events per project: ' || string_agg(project_id || ' ' || n, ', ') FROM (SELECT project_id, count(*) n FROM analytics.events GROUP BY 1 ORDER BY 1) x"
$PSQL -c "CREATE ROLE bench_one; CREATE ROLE bench_two" \
      -c "SELECT analytics.grant_project('bench_one', 'p001'), analytics.grant_project('bench_two', 'p001'),
                 analytics.grant_project('bench_two', 'p_empty')" >/dev/null

$PSQL <<SQL
CREATE FUNCTION public.bench_time(q text, runs int) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; ms numeric[] := '{}'; i int;
BEGIN
  EXECUTE q;                                   -- warm-up
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp(); EXECUTE q;
    ms := ms || extract(epoch FROM clock_timestamp() - t0)::numeric * 1000;
  END LOOP;
  RETURN (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY m), 1) FROM unnest(ms) m);
END \$\$;
GRANT EXECUTE ON FUNCTION public.bench_time(text, int) TO PUBLIC;
-- the 0.5 policy on every table that has tenant_rows, or back to 0.6
CREATE FUNCTION public.bench_policy(old boolean) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE r regclass; p text;
BEGIN
  FOR r IN SELECT DISTINCT polrelid::regclass FROM pg_policy WHERE polname = 'tenant_rows' LOOP
    EXECUTE format('DROP POLICY IF EXISTS tenant_rows ON %s', r);
    EXECUTE format('DROP POLICY IF EXISTS admin_rows ON %s', r);
    IF old THEN
      p := 'CASE (SELECT analytics._my_scope()) WHEN 0 THEN true WHEN 1 THEN project_id = (SELECT analytics._my_project())'
           ' ELSE project_id = ANY (CAST((SELECT analytics._my_projects()) AS text[])) END';
      EXECUTE format('CREATE POLICY tenant_rows ON %s USING (%s) WITH CHECK (%s)', r, p, p);
    ELSE
      PERFORM analytics._secure_table(r);
    END IF;
  END LOOP;
END \$\$;
SQL

run() { # label
  local f t
  f="to_timestamp($END) - interval '$D days'" t="to_timestamp($END)"
  for who in postgres bench_one bench_two; do
    $PSQL -At -F ' | ' <<SQL
SET ROLE $who;
SELECT '$1', '$who',
  bench_time(\$q\$SELECT analytics.metric('play', 'count', $f, $t, project_id => 'p001')\$q\$, $R) AS metric_ms,
  bench_time(\$q\$SELECT count(*) FROM analytics.breakdown('play', 'country', $f, $t, project_id => 'p001')\$q\$, $R) AS breakdown_ms,
  bench_time(\$q\$SELECT count(*) FROM analytics.timeseries('play', $f, $t, 'hour', project_id => 'p001')\$q\$, $R) AS series_ms,
  bench_time(\$q\$SELECT count(*) FROM analytics.events WHERE project_id = 'p001' AND emitted_at >= $f\$q\$, $R) AS count_ms,
  bench_time(\$q\$SELECT count(*) FROM analytics.rollup_hour WHERE dim = 0\$q\$, $R) AS rollup_ms;
SQL
  done
}
echo "policy | role | metric play count | breakdown play by country | timeseries play by hour | count(*) of the project's events | count(*) of rollup_hour dim 0  (median ms)"
$PSQL -c "SELECT public.bench_policy(true)" >/dev/null
run "0.5 CASE"
$PSQL -c "SELECT public.bench_policy(false)" >/dev/null
run "0.6 ANY"
