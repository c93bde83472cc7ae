#!/bin/bash
# make test-citus: the extension distributed on Citus (README "Scaling out").
# Starts a coordinator and two workers (test/citus_cluster.sh) and a
# single-node cluster, loads the same events into both, distributes the
# coordinator's tables (analytics.distribute()) and checks, each printed as
# PASS or FAIL: the layout, one viewer-id secret, ingest through the
# coordinator (INSERT, COPY, events_import, ingest_ping), freshness (every
# written hour marked pending in the co-located shard), tenancy on the
# workers, maintenance (the rollup refresh, retention with play totals, each
# equal to the single node's), and every compared answer equal to the single
# node's.
# Needs Citus installed into the PostgreSQL of pg_config (test/citus_build.sh);
# without it, says how to get it and exits 2.
#   ANALYTICS_CITUS_PORT (default 55720): coordinator; +1, +2 the workers,
#   +3 the single node.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/pgenv.sh
. test/citus_cluster.sh

if ! citus_installed; then
  echo "citus is not installed into $(pg_config --pkglibdir)." >&2
  echo "Build it from source: git clone https://github.com/citusdata/citus;" >&2
  echo "  CITUS_SRC=\$PWD/citus test/citus_build.sh   (then: make test-citus)" >&2
  exit 2
fi
BASE=${ANALYTICS_CITUS_PORT:-55720}
pgenv_prepare citus || exit 1
ROOT=$WORK
trap 'citus_stop; pgenv_stop; rm -rf "$ROOT"' EXIT

citus_start "$ROOT/citus" "$BASE" 2 || exit 1
C="-h 127.0.0.1 -p $BASE"
pgenv_start "$ROOT/single" "$((BASE + 3))" "shared_preload_libraries = 'analytics'" >/dev/null || exit 1
S="-h $ROOT/single -p $((BASE + 3))"

passed=0; failed=0
check() { # NAME EXPECTED ACTUAL (an error only where EXPECTED is one: two equal errors are no answer)
  if [ "$2" == "$3" ] && { [[ "$2" == ERROR* ]] || [[ "$3" != *ERROR:* ]]; }; then echo "PASS  $1"; passed=$((passed + 1))
  else echo "FAIL  $1"; echo "      expected: $2" | head -c 2000; echo; echo "      got:      $3" | head -c 2000; echo
       failed=$((failed + 1)); fi
}
q() { # CONN SQL: one value
  # shellcheck disable=SC2086
  psql -X -q -At $1 -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2" 2>&1
}

for conn in "$C" "$S"; do
  q "$conn" "CREATE EXTENSION analytics" >/dev/null
  q "$conn" "SELECT analytics.run_maintenance()" >/dev/null
done

# ---- layout -------------------------------------------------------------
d1=$(q "$C" "SELECT analytics.distribute()")
check "distribute(): every table" \
  '{"reference_tables": ["settings", "secrets", "project_grants"], "distributed_tables": ["events", "events_out_of_range", "media", "ping_sessions", "play_totals", "rollup_5min", "rollup_ccv", "rollup_cube_day", "rollup_cube_hour", "rollup_cube_w4", "rollup_cube_week", "rollup_day", "rollup_devcube_day", "rollup_devcube_hour", "rollup_devcube_w4", "rollup_devcube_week", "rollup_hour", "rollup_pending", "rollup_refcube_day", "rollup_refcube_hour", "rollup_refcube_w4", "rollup_refcube_week", "rollup_viewers_day", "rollup_viewers_hour", "rollup_w4", "rollup_watch_max", "rollup_week"], "distributed_functions": ["analytics.project_request(text, text)"]}' \
  "$(echo "$d1" | grep reference_tables)"
check "distribute() again: nothing to do" '{"reference_tables": [], "distributed_tables": [], "distributed_functions": []}' \
  "$(q "$C" "SELECT analytics.distribute()")"
check "distribute(): 1 shard per worker (2 workers: 2)" "2" \
  "$(q "$C" "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'analytics.rollup_hour'::regclass")"
check "co-located with analytics.events, on project_id" "0" \
  "$(q "$C" "SELECT count(*) FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
              WHERE c.relnamespace = 'analytics'::regnamespace AND p.partmethod = 'h'
                AND (p.colocationid <> (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'analytics.events'::regclass)
                     OR column_to_column_name(p.logicalrelid, p.partkey) <> 'project_id')")"
check "one viewer-id secret on every node" "1" \
  "$(q "$C" "SELECT count(DISTINCT v) FROM (SELECT md5(value::text) v FROM analytics.secrets
              UNION ALL SELECT result FROM run_command_on_workers(\$\$SELECT md5(value::text) FROM analytics.secrets\$\$)) x")"
check "without Citus: a clear error" "ERROR:  citus is not installed in this database" \
  "$(q "$S" "SELECT analytics.distribute()" | head -1)"

# ---- the same events into both -----------------------------------------
load="INSERT INTO analytics.events (project_id, event_type, emitted_at, session_id, viewer_id, media_id, media_type, country, device_type, browser, value)
SELECT 'p' || (i % 7), (ARRAY['impression','play','start','end','watch','view'])[1 + i % 6]::analytics.event_type,
       date_trunc('hour', now()) - interval '3 days' + (i * 37 % 4300) * interval '1 minute',
       md5('s' || (i % 400))::uuid, (i % 150)::bigint, 'm' || (i % 11),
       (CASE WHEN i % 11 = 3 THEN 'live-stream' ELSE 'video' END)::analytics.media_type,
       (ARRAY['FR','US','DE',NULL])[1 + i % 4], (ARRAY['computer','phone','tv'])[1 + i % 3]::analytics.device_type,
       (ARRAY['Chrome','Firefox','Safari'])[1 + i % 3], CASE WHEN i % 6 = 4 THEN 10 + i % 50 END
  FROM generate_series(1, 20000) i"
for conn in "$C" "$S"; do q "$conn" "$load" >/dev/null; done
check "INSERT through the coordinator" "20000" "$(q "$C" "SELECT count(*) FROM analytics.events")"
copyrows="COPY (SELECT project_id, event_type, emitted_at + interval '1 second', session_id, viewer_id, media_id, media_type, country FROM analytics.events WHERE project_id = 'p3' AND emitted_at < now() - interval '2 days') TO STDOUT"
for conn in "$C" "$S"; do
  # shellcheck disable=SC2086
  psql -X -q $S -U postgres -d postgres -c "$copyrows" |
    psql -X -q $conn -U postgres -d postgres -c "COPY analytics.events (project_id, event_type, emitted_at, session_id, viewer_id, media_id, media_type, country) FROM STDIN"
done
check "COPY through the coordinator" "$(q "$S" "SELECT count(*) FROM analytics.events")" "$(q "$C" "SELECT count(*) FROM analytics.events")"
imp="INSERT INTO analytics.events_import (project_id, event_type, emitted_at, session_id, media_id, media_type)
     SELECT 'p' || (i % 3), 'play', date_trunc('hour', now()) - interval '90 minutes' + i * interval '1 second', md5('i' || i)::uuid, 'm1', 'video'
       FROM generate_series(1, 50) i"
for conn in "$C" "$S"; do q "$conn" "$imp" >/dev/null; done
check "events_import through the coordinator" "50" "$(q "$C" "SELECT count(*) FROM analytics.events WHERE session_id IN (SELECT md5('i' || i)::uuid FROM generate_series(1, 50) i)")"
ping="SELECT analytics.ingest_ping(jsonb_build_object('emitted_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
        'session', jsonb_build_object('loaded_at', to_char(date_trunc('minute', now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                                      'video_id', 'vi1', 'session_id', '6f9619ff-8b86-d011-b42d-00c04fc964ff'),
        'events', jsonb_build_array(jsonb_build_object('emitted_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'type', 'play', 'at', 0))),
        NULL, 'FR', NULL, 'p9')->>'events'"
check "ingest_ping through the coordinator" "1" "$(q "$C" "$ping")"
q "$S" "$ping" >/dev/null
# view events with durations (unique viewers; some without a viewer id)
views="INSERT INTO analytics.events (project_id, event_type, emitted_at, session_id, viewer_id, media_id, media_type, country, value)
SELECT 'p' || (i % 5), 'view', date_trunc('hour', now()) - interval '3 days' + (i * 53 % 4300) * interval '1 minute',
       md5('v' || (i % 200))::uuid, CASE WHEN i % 13 <> 0 THEN (i % 90)::bigint END, 'm' || (i % 7), 'video',
       (ARRAY['FR','US',NULL])[1 + i % 3], (ARRAY[3,5,10,30])[1 + i % 4]
  FROM generate_series(1, 600) i"
for conn in "$C" "$S"; do q "$conn" "$views" >/dev/null; done

# ---- freshness: every written (project, hour) is pending ----------------
check "every written hour marked pending (in the co-located shards)" "0" \
  "$(q "$C" "SELECT count(*) FROM (SELECT DISTINCT project_id, date_bin('1 hour', emitted_at, '2000-01-01') h FROM analytics.events
              EXCEPT SELECT project_id, hour FROM analytics.rollup_pending) x")"

# ---- tenancy ------------------------------------------------------------
for conn in "$C" "$S"; do
  q "$conn" "CREATE ROLE citus_tenant LOGIN" >/dev/null
  q "$conn" "SELECT analytics.grant_project('citus_tenant', 'p2')" >/dev/null
done
check "a tenant reads its project's rows only (policies on the workers)" \
  "$(q "$S" "SET ROLE citus_tenant; SELECT count(*) || '/' || count(DISTINCT project_id) FROM analytics.events")" \
  "$(q "$C" "SET ROLE citus_tenant; SELECT count(*) || '/' || count(DISTINCT project_id) FROM analytics.events")"
check "a tenant cannot write another project's events" "ERROR" \
  "$(q "$C" "SET ROLE citus_tenant; INSERT INTO analytics.events (project_id, event_type, emitted_at, session_id, media_id, media_type) VALUES ('p3', 'play', now(), md5('x')::uuid, 'm1', 'video')" | head -1 | cut -c1-5)"

# ---- maintenance --------------------------------------------------------
check "maintenance refreshes every pending hour" "0" \
  "$(q "$C" "SELECT (analytics.run_maintenance()->>'rollup_hours_failed')")"
q "$S" "SELECT analytics.run_maintenance()" >/dev/null
rollups() { # CONN: each rollup table's rows, counted and hashed
  local t
  for t in rollup_5min rollup_hour rollup_day rollup_week rollup_w4 rollup_cube_hour rollup_cube_day rollup_cube_week \
           rollup_cube_w4 rollup_refcube_hour rollup_refcube_day rollup_refcube_week rollup_refcube_w4 rollup_devcube_hour rollup_devcube_day rollup_devcube_week rollup_devcube_w4 rollup_viewers_hour rollup_viewers_day rollup_ccv rollup_watch_max rollup_pending; do
    echo "$t $(q "$1" "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM analytics.$t x")"
  done
}
check "the refreshed rollups equal the single node's" "$(rollups "$S")" "$(rollups "$C")"

# ---- the same answers ---------------------------------------------------
# one end of every period for both servers (whole seconds: the JSON API's)
T=$(q "$S" "SELECT date_trunc('second', now())")
answers() { # CONN: one line per question
  q "$1" "SELECT 'metric plays p1 ' || analytics.metric('play', 'count', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, project_id => 'p1')
    UNION ALL SELECT 'metric plays all ' || analytics.metric('play', 'count', '$T'::timestamptz - interval '4 days', '$T'::timestamptz)
    UNION ALL SELECT 'breakdown country p2 ' || (SELECT string_agg(b::text, ',') FROM analytics.breakdown('play', 'country', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, project_id => 'p2') b)
    UNION ALL SELECT 'timeseries hour p4 ' || (SELECT string_agg(t::text, ',') FROM analytics.timeseries('play', '$T'::timestamptz - interval '2 days', '$T'::timestamptz, 'hour', project_id => 'p4') t)
    UNION ALL SELECT 'timeseries plays all ' || (SELECT string_agg(t::text, ',') FROM analytics.timeseries('play', '$T'::timestamptz - interval '2 days', '$T'::timestamptz, 'hour') t)
    UNION ALL SELECT 'timeseries sorted all ' || (SELECT string_agg(t::text, ',') FROM analytics.timeseries('play', '$T'::timestamptz - interval '3 days', '$T'::timestamptz, 'hour', sort_by => 'metricValue', sort_order => 'desc') t)
    UNION ALL SELECT 'timeseries average all (to 1e-6) ' || (SELECT string_agg(t.emitted_at || ':' || coalesce(round(t.metric_value::numeric, 6)::text, 'null'), ',') FROM analytics.timeseries('watch-time', '$T'::timestamptz - interval '8 days', '$T'::timestamptz, 'day', aggregation => 'average', sort_by => 'metricValue') t)
    UNION ALL SELECT 'timeseries kolkata all ' || (SELECT string_agg(t::text, ',') FROM analytics.timeseries('play', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, 'day', time_zone => 'Asia/Kolkata') t)
    UNION ALL SELECT 'timeseries minute all ' || (SELECT string_agg(t::text, ',') FROM analytics.timeseries('play', '$T'::timestamptz - interval '2 hours', '$T'::timestamptz, 'minute') t)
    UNION ALL SELECT 'breakdown media all ' || (SELECT string_agg(b::text, ',') FROM analytics.breakdown('play', 'media-id', '$T'::timestamptz - interval '4 days', '$T'::timestamptz) b)
    UNION ALL SELECT 'breakdown media byname ' || (SELECT string_agg(b::text, ',') FROM analytics.breakdown('play', 'media-id', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, sort_by => 'dimensionValue', sort_order => 'desc') b)
    UNION ALL SELECT 'breakdown country ascending ' || (SELECT string_agg(b::text, ',') FROM analytics.breakdown('start', 'country', '$T'::timestamptz - interval '3 days', '$T'::timestamptz, sort_by => 'metricValue', sort_order => 'asc') b)
    UNION ALL SELECT 'breakdown views all ' || (SELECT string_agg(b::text, ',') FROM analytics.breakdown('view', 'browser', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, view_duration => '10s') b)
    UNION ALL SELECT 'breakdown cube all ' || (SELECT string_agg(b::text, ',') FROM analytics.breakdown('play', 'device-type', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, '{\"country\": [\"FR\", \"US\"]}') b)
    UNION ALL SELECT 'metric uniq all ' || analytics.metric('view', 'count', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, unique_viewers => true)
    UNION ALL SELECT 'breakdown uniq all ' || (SELECT string_agg(b::text, ',') FROM analytics.breakdown('view', 'country', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, unique_viewers => true) b)
    UNION ALL SELECT 'timeseries uniq all ' || (SELECT string_agg(t::text, ',') FROM analytics.timeseries('view', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, 'day', unique_viewers => true) t)
    UNION ALL SELECT 'breakdown watch-time all (to 1e-6) ' || (SELECT string_agg(b.dimension_value || ':' || round(b.metric_value::numeric, 6), ',') FROM analytics.breakdown('watch-time', 'country', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, aggregation => 'sum') b)
    UNION ALL SELECT 'api country all ' || ((analytics.api_request('/data/buckets/play/country?from=' || to_char(('$T'::timestamptz - interval '4 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || '&to=' || to_char('$T'::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), NULL)).body->>'data')
    UNION ALL SELECT 'api breakdown media ' || analytics.api_request('/data/buckets/play/media-id?from=' || to_char(('$T'::timestamptz - interval '4 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || '&to=' || to_char('$T'::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'p5')::text"
}
want=$(answers "$S"); got=$(answers "$C")
while IFS= read -r line; do
  key=$(echo "$line" | cut -d' ' -f1-3)
  check "same answer: $key" "$line" "$(echo "$got" | grep -F -- "$key" | head -1)"
done <<<"$want"

# a question over every project: three statements over the shards (where
# rollup rows exist, the pending hours, the rows of every piece at once,
# merged and sorted by Citus: no intermediate result)
check "a breakdown over every project: three statements over the 2 shards, no intermediate result" "6 0" \
  "$(q "$C" "SET citus.log_remote_commands = on; SET client_min_messages = log;
             SELECT count(*) FROM analytics.breakdown('play', 'country', '$T'::timestamptz - interval '4 days', '$T'::timestamptz)" |
     awk '/issuing SELECT/ { s++ } /intermediate_result/ { r++ } END { print s + 0, r + 0 }')"
# a series over every project: the aggregate alone (the buckets joined in
# C), three statements over the shards, no intermediate result
check "a timeseries over every project: three statements over the 2 shards, no intermediate result" "6 0" \
  "$(q "$C" "SET citus.log_remote_commands = on; SET client_min_messages = log;
             SELECT count(*) FROM analytics.timeseries('play', '$T'::timestamptz - interval '2 days', '$T'::timestamptz, 'hour')" |
     awk '/issuing SELECT/ { s++ } /intermediate_result/ { r++ } END { print s + 0, r + 0 }')"
check "a count by a dimension over every project: each shard's groups in one value (_value_sums_merge in the shards' statement)" "2" \
  "$(q "$C" "SET citus.log_remote_commands = on; SET client_min_messages = log;
             SELECT count(*) FROM analytics.breakdown('play', 'media-id', '$T'::timestamptz - interval '4 days', '$T'::timestamptz)" |
     grep 'issuing SELECT' | grep -c '_value_sums_merge')"
check "unique viewers over every project: each project's ids united on its worker (_viewers_union in the shards' statement)" "2" \
  "$(q "$C" "SET citus.log_remote_commands = on; SET client_min_messages = log;
             SELECT count(*) FROM analytics.breakdown('view', 'country', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, unique_viewers => true)" |
     grep 'issuing SELECT' | grep -c '_viewers_union(y.ids)')"

check "watch time over every project: each project's statistics merged on its worker (event_stats_merge in the shards' statement)" "2" \
  "$(q "$C" "SET citus.log_remote_commands = on; SET client_min_messages = log;
             SELECT count(*) FROM analytics.breakdown('watch-time', 'country', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, aggregation => 'sum')" |
     grep 'issuing SELECT' | grep -c 'event_stats_merge(y.stats)')"

tq="SET ROLE citus_tenant; SELECT analytics.metric('play', 'count', now() - interval '4 days', now(), project_id => 'p2')
    || ' ' || analytics.metric('play', 'count', now() - interval '4 days', now())
    || ' ' || analytics.metric('play', 'count', now() - interval '4 days', now(), project_id => 'p3')
    || ' ' || ((analytics.api_request('/data/buckets/play/country', 'p2')).body->'data')::text"
check "a tenant's questions: its project's answers only" "$(q "$S" "$tq")" "$(q "$C" "$tq")"

# ---- routing: a question about one project runs on its worker ----------
# analytics.project_request(project, uri) is a distributed function: Citus
# sends a client's SELECT ... FROM project_request(...) whole to the worker
# holding the project, where the question reads the project's shards
F="from=$(q "$S" "SELECT to_char(('$T'::timestamptz - interval '4 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")"
p1port=$(q "$C" "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = get_shard_id_for_distribution_column('analytics.events', 'p1')")
check "project_request is delegated to the worker holding the project" "Node: host=127.0.0.1 port=$p1port dbname=postgres|Function Scan on project_request" \
  "$(q "$C" "EXPLAIN (COSTS OFF) SELECT * FROM analytics.project_request('p1', '/data/metrics/play/count?$F')" | grep -o "Node: .*\|Function Scan on project_request" | paste -sd'|')"
check "on that worker, the question reads the shards (no statement through Citus but the settings' read)" "1" \
  "$(psql -X -q -At -h 127.0.0.1 -p "$p1port" -U postgres -d postgres -c "SET citus.log_local_commands = on" \
       -c "SELECT analytics.metric('play', 'count', '$T'::timestamptz - interval '4 days', '$T'::timestamptz, project_id => 'p1')" 2>&1 |
     grep -c "executing the command locally")"
routed() { # CONN: project_request's answers (status, data) for one project
  local u
  for u in "/data/metrics/play/count?$F" "/data/buckets/play/country?$F" "/data/timeseries/play?interval=hour&$F" \
           "/data/buckets/play/device-type?filterBy[country]=FR&$F" "/data/metrics/watch-time/sum?filterBy[mediaId]=m3&$F" \
           "/data/buckets/play/media-id?filterBy[mediaType]=video&$F" "/data/metrics/play/total" \
           "/data/metrics/ccv/peak?$F" "/data/timeseries/ccv-peak?interval=hour&$F" "/data/metrics/view/count?unique=true&$F" \
           "/data/metrics/play/count?filterBy[planet]=x"; do
    q "$1" "SELECT a.status || ' ' || md5((a.body - 'context' - 'pagination')::text) FROM analytics.project_request('p4', '$u') a"
  done
}
check "project_request's answers equal the single node's" "$(routed "$S")" "$(routed "$C")"
check "a tenant's project_request: its project only, as on one node" \
  "$(q "$S" "SET ROLE citus_tenant; SELECT string_agg(a.status || ' ' || (a.body->'data')::text, ',') FROM (SELECT * FROM analytics.project_request('p2', '/data/metrics/play/count?$F') UNION ALL SELECT * FROM analytics.project_request('p3', '/data/metrics/play/count?$F')) a")" \
  "$(psql -X -q -At $C -U citus_tenant -d postgres -c "SELECT a.status || ' ' || (a.body->'data')::text FROM analytics.project_request('p2', '/data/metrics/play/count?$F') a" \
       -c "SELECT a.status || ' ' || (a.body->'data')::text FROM analytics.project_request('p3', '/data/metrics/play/count?$F') a" 2>&1 | paste -sd,)"
# a NULL project must never reach Citus's delegation (it would crash the
# coordinator's backend): STRICT, the call folds to NULL first
check "project_request with a NULL project: NULL, also prepared, the coordinator alive" "t|t|t|t|t|t|t|t|t|200" \
  "$(psql -X -q -At $C -U postgres -d postgres -c "SELECT analytics.project_request(NULL, '/data/metrics/play/count') IS NULL" \
       -c "SELECT status IS NULL FROM analytics.project_request(NULL, '/data/metrics/play/count')" \
       -c "PREPARE pr(text, text) AS SELECT status IS NULL FROM analytics.project_request(\$1, \$2)" \
       -c "EXECUTE pr(NULL, 'a')" -c "EXECUTE pr(NULL, 'a')" -c "EXECUTE pr(NULL, 'a')" -c "EXECUTE pr(NULL, 'a')" \
       -c "EXECUTE pr(NULL, 'a')" -c "EXECUTE pr(NULL, 'a')" -c "EXECUTE pr(NULL, 'a')" \
       -c "SELECT status FROM analytics.project_request('p1', '/data/metrics/play/count')" 2>&1 | paste -sd'|')"

# ---- a transaction's own writes in its questions -------------------------
# One project: its uncommitted event counted, as on one node (the router
# statement reading the project's pending hours runs _rollup_own_pending()
# on the worker, through the connection that wrote). Every project: the
# hours the transaction wrote are noted on the workers, not on the
# coordinator; an uncommitted event into an hour already refreshed (and not
# pending) is not in the answer, one into a pending or not yet refreshed
# hour is (the check pins what is seen).
own="BEGIN;
SELECT analytics.metric('play', 'count', date_trunc('hour', now()) - interval '3 days', date_trunc('hour', now()), project_id => 'p1')
    || ' ' || analytics.metric('play', 'count', date_trunc('hour', now()) - interval '3 days', date_trunc('hour', now()));
INSERT INTO analytics.events (project_id, event_type, emitted_at, session_id, media_id, media_type)
  VALUES ('p1', 'play', date_trunc('hour', now()) - interval '40 hours 30 minutes', md5('own')::uuid, 'm1', 'video');
SELECT analytics.metric('play', 'count', date_trunc('hour', now()) - interval '3 days', date_trunc('hour', now()), project_id => 'p1')
    || ' ' || analytics.metric('play', 'count', date_trunc('hour', now()) - interval '3 days', date_trunc('hour', now()));
SELECT a.body->'data' FROM analytics.project_request('p1', '/data/buckets/play/media-id?from=' || to_char((date_trunc('hour', now()) - interval '3 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || '&to=' || to_char(date_trunc('hour', now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) a;
ROLLBACK;"
ownS=$(q "$S" "$own" | grep -v '^BEGIN\|^INSERT\|^ROLLBACK'); ownC=$(q "$C" "$own" | grep -v '^BEGIN\|^INSERT\|^ROLLBACK')
check "a transaction's one-project questions count its uncommitted event, as on one node" \
  "$(echo "$ownS" | sed -n 1p | cut -d' ' -f1) $(echo "$ownS" | sed -n 2p | cut -d' ' -f1) $(echo "$ownS" | sed -n 3p)" \
  "$(echo "$ownC" | sed -n 1p | cut -d' ' -f1) $(echo "$ownC" | sed -n 2p | cut -d' ' -f1) $(echo "$ownC" | sed -n 3p)"
check "its every-project question: the event into a refreshed hour not counted (one node: counted)" \
  "$(echo "$ownS" | sed -n 1p | cut -d' ' -f2) $(echo "$ownS" | sed -n 2p | cut -d' ' -f2)" \
  "$(echo "$ownC" | sed -n 1p | cut -d' ' -f2) $(( $(echo "$ownC" | sed -n 2p | cut -d' ' -f2) + 1 ))"

# ---- freshness after the refresh: a late event in the next answer -------
late="INSERT INTO analytics.events (project_id, event_type, emitted_at, session_id, media_id, media_type)
      VALUES ('p1', 'play', date_trunc('hour', now()) - interval '47 hours 30 minutes', md5('late')::uuid, 'm1', 'video')"
plays="SELECT analytics.metric('play', 'count', date_trunc('hour', now()) - interval '3 days', date_trunc('hour', now()), project_id => 'p1')
          || ' ' || analytics.metric('play', 'count', date_trunc('hour', now()) - interval '3 days', date_trunc('hour', now()))"
for conn in "$S" "$C"; do q "$conn" "$late" >/dev/null; done
check "a late event into a refreshed hour: in the next answer" "$(q "$S" "$plays")" "$(q "$C" "$plays")"

# ---- retention: the oldest day's partition dropped, its plays archived --
for conn in "$S" "$C"; do q "$conn" "SELECT analytics.set_retention('2 days')" >/dev/null; done
keep="r->'partitions_dropped', r->'plays_archived', r->'deferred'"
want=$(q "$S" "SELECT $keep FROM analytics.run_maintenance() r")
check "retention drops the expired partition and archives its plays" "$want" \
  "$(q "$C" "SELECT $keep FROM analytics.run_maintenance() r")"
totals="SELECT count(*) || ' ' || sum(plays) || ' ' || md5(string_agg(project_id || '/' || media_id || '/' || media_type || '/' || plays, ',' ORDER BY project_id, media_id, media_type)) FROM analytics.play_totals"
check "play_totals grown by the dropped plays, as on one node" "$(q "$S" "$totals")" "$(q "$C" "$totals")"
check "the rollups after retention equal the single node's" "$(rollups "$S")" "$(rollups "$C")"

echo "citus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
