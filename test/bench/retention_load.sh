#!/bin/bash
# The measuring half of test/bench/retention_bench.sh, usable on its own
# against a loaded database (PGHOST, PGPORT, PGUSER, PGDATABASE as for psql;
# a superuser, the server must be able to read files in WORKDIR):
#   test/bench/retention_load.sh WORKDIR [EXPIRE] [SECONDS]   defaults: 2 240
# Sets the retention so that the EXPIRE oldest day partitions are past it,
# then, while concurrent clients write and read analytics.events, runs
# run_maintenance() (a background worker, each step committed) until they
# are dropped, and prints:
#  - max_parent_lock_ms of the reports (ACCESS EXCLUSIVE on analytics.events,
#    from the grant to the end of the commit of the drop step);
#  - an independent measure: a sampler reading pg_locks every ~2 ms for a
#    granted ACCESS EXCLUSIVE on analytics.events (longest run of samples that
#    saw it, bounded by the samples just before and after);
#  - what the clients felt: the longest transaction of a probe (a query on
#    analytics.events, 100 per second: waiting for the lock plus holding it),
#    of the COPY client (2,000 current events per COPY, one after the other)
#    and of the API clients (two, API questions about random projects);
#  - whether play_totals grew by exactly the plays of the dropped partitions.
# Prints figures; asserts nothing (the play check prints OK or DIFFERS).
set -euo pipefail
cd "$(dirname "$0")/../.."
W=$1
EXPIRE=${2:-2}
SECS=${3:-240}
WARM=5
PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}
PSQL="psql -X -q -At -v ON_ERROR_STOP=1"
[ -x test/gen ] || make -s test/gen
mkdir -p "$W" && chmod 755 "$W"

# retention: just past the upper bound of the EXPIRE-th oldest day partition
UPPER=$($PSQL -c "SELECT to_ts FROM analytics.partitions() WHERE NOT is_default ORDER BY from_ts OFFSET $EXPIRE - 1 LIMIT 1")
$PSQL -c "SELECT analytics.set_retention(make_interval(mins => floor(extract(epoch FROM now() - '$UPPER'::timestamptz) / 60)::int - 1))" >/dev/null
EXPIRED_SQL="FROM analytics.partitions() WHERE NOT is_default AND to_ts <= now() - analytics.retention()"
EXPIRED=$($PSQL -c "SELECT string_agg(partition::text, ' ' ORDER BY from_ts) $EXPIRED_SQL")
ROWS_EXPIRED=0; PLAYS_EXPIRED=0
for t in $EXPIRED; do
  read -r r p < <($PSQL -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE event_type = 'play') FROM $t")
  ROWS_EXPIRED=$((ROWS_EXPIRED + r)); PLAYS_EXPIRED=$((PLAYS_EXPIRED + p))
done
echo "retention $($PSQL -c "SELECT analytics.retention()"): expiring $EXPIRED ($ROWS_EXPIRED rows, $PLAYS_EXPIRED plays)"
TOTAL0=$($PSQL -c "SELECT coalesce(sum(plays), 0) FROM analytics.play_totals")
$PSQL -c "CHECKPOINT"

# the clients' work
# a COPY of 2,000 events of the last 15 minutes (so that the rollup refresh
# after the drops has only the current hour or two to re-aggregate)
./test/gen -n 2000 -d 0.01 -e "$(date +%s)" -p 20 -m 500 -s 11 > "$W/chunk.copy"
chmod 644 "$W/chunk.copy"
echo "COPY analytics.events FROM '$W/chunk.copy';" > "$W/copy.sql"
cat > "$W/api.sql" <<'SQL'
\set p random(1, 20)
SELECT analytics.metric('play', 'count', now() - interval '1 day', now(), project_id => 'p' || lpad(:p::text, 3, '0'));
SELECT count(*) FROM analytics.breakdown('play', 'country', now() - interval '2 hours', now(), project_id => 'p' || lpad(:p::text, 3, '0'));
SQL
echo "SELECT 1 FROM analytics.events WHERE false;" > "$W/probe.sql"
$PSQL -c "DROP TABLE IF EXISTS bench_flag" -c "CREATE UNLOGGED TABLE bench_flag (done boolean)"
rm -f "$W"/log_*

# the sampler: pg_locks every ~2 ms until the flag is set
$PSQL > "$W/sampler.out" 2>&1 <<'SQL' &
DO $$
DECLARE
  rel oid := 'analytics.events'::regclass;
  t0 timestamptz := clock_timestamp();
  prev_t timestamptz := clock_timestamp();   -- the sample before
  t timestamptz;
  held boolean;
  run_from timestamptz;                      -- last sample without the lock before a run
  run_first timestamptz;                     -- first sample with it
  best_hi interval := '0';
  best_lo interval := '0';
  runs int := 0;
  n int := 0;
  gap interval := '0';
BEGIN
  LOOP
    t := clock_timestamp();
    held := EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.locktype = 'relation' AND l.relation = rel
                      AND l.mode = 'AccessExclusiveLock' AND l.granted);
    n := n + 1;
    gap := greatest(gap, t - prev_t);
    IF held AND run_first IS NULL THEN
      run_first := t; run_from := prev_t; runs := runs + 1;
    ELSIF NOT held AND run_first IS NOT NULL THEN
      best_hi := greatest(best_hi, t - run_from);
      best_lo := greatest(best_lo, prev_t - run_first);
      run_first := NULL;
    END IF;
    prev_t := t;
    EXIT WHEN n % 50 = 0 AND (EXISTS (SELECT 1 FROM bench_flag) OR t > t0 + interval '15 minutes');
    PERFORM pg_catalog.pg_sleep(0.002);
  END LOOP;
  RAISE NOTICE 'sampler % % % % %', runs, round(extract(epoch FROM best_lo) * 1000, 1),
    round(extract(epoch FROM best_hi) * 1000, 1), round(extract(epoch FROM gap) * 1000, 1), n;
END $$;
SQL
SAMPLER=$!
sleep 1
"$PG_BINDIR/pgbench" -n -f "$W/copy.sql" -c 1 -j 1 -T "$SECS" -l --log-prefix="$W/log_copy" > "$W/copy.out" 2>&1 &
C1=$!
"$PG_BINDIR/pgbench" -n -f "$W/api.sql" -c 2 -j 2 -T "$SECS" -l --log-prefix="$W/log_api" > "$W/api.out" 2>&1 &
C2=$!
"$PG_BINDIR/pgbench" -n -f "$W/probe.sql" -c 1 -j 1 -R 100 -T "$SECS" -l --log-prefix="$W/log_probe" > "$W/probe.out" 2>&1 &
C3=$!
LOAD_START=$(date +%s)
LOAD_END=$(( LOAD_START + SECS ))
sleep "$WARM"

# maintenance under load, until the expired partitions are gone (8 runs at most)
t0=$(date +%s.%N)
for i in 1 2 3 4 5 6 7 8; do
  r0=$(date +%s.%N)
  $PSQL -c "SELECT analytics.run_maintenance()" >> "$W/reports.json"
  r1=$(date +%s.%N)
  $PSQL -c "SELECT 'run $i at ' || round($r0 - $LOAD_START) || ' s of the load, ' || round($r1 - $r0, 1) || ' s: dropped '
                   || (r->'partitions_dropped')::text || ', max_parent_lock_ms ' || (r->>'max_parent_lock_ms')
                   || ', drops deferred ' || (SELECT count(*) FROM jsonb_array_elements(r->'deferred') d WHERE d->>'step' = 'drop')
                   || CASE WHEN $r1 < $LOAD_END THEN '' ELSE ' (NOT under load: give more SECONDS)' END
              FROM (SELECT '$(tail -n 1 "$W/reports.json" | sed "s/'/''/g")'::jsonb AS r) x"
  [ "$($PSQL -c "SELECT count(*) $EXPIRED_SQL")" -eq 0 ] && break
done
t1=$(date +%s.%N)
LEFT=$(( LOAD_END - ${t1%.*} ))
wait $C1 $C2 $C3 || true
$PSQL -c "INSERT INTO bench_flag VALUES (true)"
wait $SAMPLER || true

# figures
$PSQL -v f="$W/reports.json" <<'SQL'
CREATE TEMP TABLE r (j jsonb);
\set content `cat :f`
SELECT 'maintenance runs: ' || count(*) || ', dropped ' || sum(jsonb_array_length(j->'partitions_dropped'))
    || ', plays archived ' || sum((j->>'plays_archived')::bigint)
    || ', drops deferred ' || sum((SELECT count(*) FROM jsonb_array_elements(j->'deferred') d WHERE d->>'step' = 'drop'))
    || ', max_parent_lock_ms ' || max((j->>'max_parent_lock_ms')::float8)
  FROM (SELECT jsonb_array_elements(('[' || replace(trim(:'content'), E'\n', ',') || ']')::jsonb) AS j) x;
SQL
echo "maintenance under load: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }') ($([ "$LEFT" -gt 0 ] && echo "the load went on $LEFT s after it" || echo "LONGER than the load: give more SECONDS"))"
awk '/sampler/ { printf "pg_locks sampler: %d ACCESS EXCLUSIVE grant(s) on analytics.events seen, longest held %s-%s ms (samples %d, largest gap %s ms)\n", $3, $4, $5, $7, $6 }' "$W/sampler.out"
grep -E "ERROR|FATAL" "$W/sampler.out" "$W"/*.out | head -5 || true
for c in probe copy api; do
  cat "$W"/log_"$c"* | awk '{ printf "%.1f\n", $3 / 1000 }' | sort -n |
    awk -v c="$c" '{ a[NR] = $1 } END { printf "client %-5s: %6d transactions, p50 %7.1f ms, p99 %7.1f ms, max %7.1f ms\n", c, NR, a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1], a[NR] }'
done
TOTAL1=$($PSQL -c "SELECT coalesce(sum(plays), 0) FROM analytics.play_totals")
LEFTOVER=$($PSQL -c "SELECT count(*) $EXPIRED_SQL")
echo "play_totals grew by $((TOTAL1 - TOTAL0)), plays in the expired partitions: $PLAYS_EXPIRED: $([ $((TOTAL1 - TOTAL0)) -eq "$PLAYS_EXPIRED" ] && echo OK || echo DIFFERS); expired partitions left: $LEFTOVER"
