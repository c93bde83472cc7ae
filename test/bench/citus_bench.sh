#!/bin/bash
# The extension on Citus against a single node (README "Scaling out"): the
# same generated events (test/gen) COPYed into a single node and through a
# Citus coordinator with two workers (all on this machine), the rollups
# built, then the p50 of each question on both, side by side (the lowest of
# three rounds), with the answers compared.
# COPY is timed on both (three rounds in turn, Citus with and without TLS
# between its nodes), with the CPU time each node spent on it.
#   test/bench/citus_bench.sh [-n EVENTS] [-d DAYS] [-p PROJECTS] [-r RUNS]
#   defaults: 2000000 events, 7 days, 20 projects, 9 runs
# Needs Citus installed (test/citus_build.sh). Ports: ANALYTICS_CITUS_BENCH_PORT
# (default 55780) for the coordinator, +1 and +2 the workers, +3 the single
# node. Everything lives in one /tmp folder, removed on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
N=2000000 D=7 P=20 R=9
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift ;;
    -d) D=$2; shift ;;
    -p) P=$2; shift ;;
    -r) R=$2; shift ;;
    *) echo "usage: $0 [-n EVENTS] [-d DAYS] [-p PROJECTS] [-r RUNS]" >&2; exit 2 ;;
  esac
  shift
done
. test/pgenv.sh
. test/citus_cluster.sh
citus_installed || { echo "citus is not installed: see test/citus_build.sh" >&2; exit 2; }
BASE=${ANALYTICS_CITUS_BENCH_PORT:-55780}
pgenv_prepare citusbench gen || exit 1
ROOT=$WORK
# every node's shared buffers in 2 MB huge pages, or none (a node that got
# them against one that did not measures the VM's page faults, not Citus):
# four nodes' worth (pgenv_hugepages; CITUS_BENCH_HUGE_PAGES=0: none); the
# report says what each node got
pgenv_hugepages 4600 CITUS_BENCH_HUGE_PAGES
trap 'citus_stop; pgenv_stop; pgenv_hugepages_restore; rm -rf "$ROOT"' EXIT
say() { echo "== $*" >&2; }

END=$(( $(date +%s) / 60 * 60 ))
say "generating $N events over $D days, $P projects"
./test/gen -n "$N" -d "$D" -e "$END" -p "$P" -m 500 -s 11 > "$ROOT/events.copy"
chmod 644 "$ROOT/events.copy"

conf=("shared_buffers = '2GB'" "work_mem = '64MB'" "synchronous_commit = off" "max_wal_size = '4GB'" "jit = off"
      "autovacuum = off" "huge_pages = $([ -n "$PGENV_HP_OLD" ] && echo try || echo off)")
CITUS_CONF=("${conf[@]}")
citus_start "$ROOT/citus" "$BASE" 2 || exit 1
# (PGENV_DIR: the trap's pgenv_stop stops it; before, the single node kept
# running after the script, its folder removed)
PGENV_DIR="$ROOT/single"
pgenv_cluster "$ROOT/single" "$((BASE + 3))" "shared_preload_libraries = 'analytics'" "${conf[@]}" || exit 1
hp=""
for n in "$ROOT/citus/n0" "$ROOT/citus/n1" "$ROOT/citus/n2" "$ROOT/single"; do
  hp="$hp $(awk '/^HugetlbPages:/ { print $2 }' "/proc/$(head -1 "$n/data/postmaster.pid")/status")"
done
HUGE="shared memory in huge pages (kB, coordinator, workers, single node):$hp"
# the client reaches both through their Unix sockets (over TCP, psql and
# the coordinator would also encrypt and decrypt the COPY stream: Citus turns
# ssl on)
C=(-h "$ROOT/citus/n0" -p "$BASE"); S=(-h "$ROOT/single" -p "$((BASE + 3))")
q() { local -n conn=$1; psql -X -q -At "${conn[@]}" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2"; }

setup="SELECT analytics.set_retention('$(( (D > 30 ? D : 30) + 2 )) days');
SET analytics.maintenance_in_worker = off;
INSERT INTO analytics.events (emitted_at, event_type, media_id)
  SELECT to_timestamp($END) - d * interval '1 day', 'error', 'x' FROM generate_series(0, $D) d;
SELECT analytics.run_maintenance();
DELETE FROM analytics.events;"
for side in S C; do
  q $side "CREATE EXTENSION analytics" >/dev/null
  [ $side = C ] && q C "SELECT analytics.distribute()" >/dev/null
  q $side "$setup" >/dev/null
done

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
declare -A COPY BUILD CPU0 CPU
# CPU time (clock ticks) of a cluster so far: its postmaster and children,
# live and reaped
ticks() {
  local pm c
  pm=$(head -1 "$1/data/postmaster.pid")
  { awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"
    for c in $(pgrep -P "$pm"); do awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || true; done; } | awk '{s += $1} END {print s}'
}
declare -A NODES=([S]="$ROOT/single" [C]="$ROOT/citus/n0 $ROOT/citus/n1 $ROOT/citus/n2" [P]="$ROOT/citus/n0 $ROOT/citus/n1 $ROOT/citus/n2")
# three rounds, in turn: the single node, Citus as it comes (TLS between
# the nodes: citus.node_conninfo 'sslmode=require'), Citus without TLS
# between the nodes ('sslmode=disable'); the fastest of each, with the CPU
# time of that run; the last round's events stay
tls() { q C "ALTER SYSTEM SET citus.node_conninfo = 'sslmode=$1'" >/dev/null; q C "SELECT pg_reload_conf()" >/dev/null; sleep 0.5; }
for round in 1 2 3; do
  for side in S C P; do
    say "COPY ($side, round $round)"
    if [ $side = S ]; then conn=S; else conn=C; tls "$([ $side = C ] && echo require || echo disable)"; fi
    [ "$round" -gt 1 ] && q $conn "TRUNCATE analytics.events, analytics.rollup_pending" >/dev/null 2>&1
    # the dirty pages of the previous rounds written out first (fsync is
    # off: else the kernel's writeback throttles whichever COPY runs next)
    q $conn "CHECKPOINT" >/dev/null; sync
    declare -A T0=()
    for n in ${NODES[$side]}; do T0[$n]=$(ticks "$n"); done
    t0=$(date +%s.%N)
    q $conn "\\copy analytics.events FROM '$ROOT/events.copy'" >/dev/null
    t1=$(date +%s.%N); t=$(secs "$t0" "$t1")
    sleep 0.5
    if [ -z "${COPY[$side]:-}" ] || awk -v a="$t" -v b="${COPY[$side]}" 'BEGIN { exit !(a < b) }'; then
      COPY[$side]=$t
      for n in ${NODES[$side]}; do CPU[$side:$n]=$(awk -v a="${T0[$n]}" -v b="$(ticks "$n")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }'); done
    fi
  done
done
tls require
for side in S C; do
  say "rollups ($side)"
  t0=$(date +%s.%N)
  q $side "SET analytics.maintenance_in_worker = off; SELECT analytics.run_maintenance()" >/dev/null
  t1=$(date +%s.%N); BUILD[$side]=$(secs "$t0" "$t1")
  # statistics (autovacuum is off): Citus passes VACUUM ANALYZE on to the shards
  q $side "VACUUM ANALYZE" >/dev/null
done

# the questions: one project (routed to its worker on Citus) and all projects
# (the sums of watch time compared to 1e-6 and in that order: two countries
# whose sums are equal come in the API's order of their float sums, which
# the order of the additions decides — a 2026-12-08 run had SE and MY at
# 101250.6 each, SE first on one node, MY first on Citus)
mapfile -t QS <<EOF
play count, 1 project, ${D} d|SELECT analytics.metric('play', 'count', now() - interval '$D days', now(), project_id => 'p001')
plays by country, 1 project|SELECT string_agg(b::text, ',') FROM analytics.breakdown('play', 'country', now() - interval '$D days', now(), project_id => 'p001') b
plays per day, 1 project|SELECT string_agg(t::text, ',') FROM analytics.timeseries('play', now() - interval '$D days', now(), 'day', project_id => 'p001') t
plays by device, country FR (cube), 1 project|SELECT string_agg(b::text, ',') FROM analytics.breakdown('play', 'device-type', now() - interval '$D days', now(), '{"country": "FR"}', project_id => 'p001') b
watch time, 1 media, 1 project|SELECT analytics.metric('watch-time', 'sum', now() - interval '$D days', now(), '{"mediaId": "p001-v1"}', project_id => 'p001')
plays by media top 25, all projects|SELECT string_agg(b::text, ',') FROM (SELECT * FROM analytics.breakdown('play', 'media-id', now() - interval '$D days', now()) LIMIT 25) b
plays per day, all projects|SELECT string_agg(t::text, ',') FROM analytics.timeseries('play', now() - interval '$D days', now(), 'day') t
plays by country, all projects|SELECT string_agg(b::text, ',') FROM analytics.breakdown('play', 'country', now() - interval '$D days', now()) b
watch time by country (to 1e-6), all projects|SELECT string_agg(b.dimension_value || ':' || round(b.metric_value::numeric, 6), ',' ORDER BY round(b.metric_value::numeric, 6) DESC, b.dimension_value COLLATE "C") FROM analytics.breakdown('watch-time', 'country', now() - interval '$D days', now(), aggregation => 'sum') b
unique viewers, all projects|SELECT analytics.metric('view', 'count', now() - interval '$D days', now(), unique_viewers => true)
JSON API, plays by country, 1 project|SELECT (analytics.api_request('/data/buckets/play/country?from=' || to_char((now() - interval '$D days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'p001')).body->'data'
EOF
# the same one-project questions through analytics.project_request, which
# Citus runs whole on the project's worker (function call delegation)
FROM="from=$(date -u -d "@$((END - D * 86400))" +%Y-%m-%dT%H:%M:%SZ)"
for entry in "play count|/data/metrics/play/count?$FROM" "plays by country|/data/buckets/play/country?$FROM" \
             "plays per day|/data/timeseries/play?interval=day&$FROM" \
             "plays by device, country FR (cube)|/data/buckets/play/device-type?filterBy[country]=FR&$FROM" \
             "watch time, 1 media|/data/metrics/watch-time/sum?filterBy[mediaId]=p001-v1&$FROM"; do
  QS+=("routed: ${entry%%|*}|SELECT a.status || ' ' || (a.body->'data')::text FROM analytics.project_request('p001', '${entry#*|}') a")
done
p50() { # CONN SQL: the p50 of R runs in ms (after one warm-up)
  local -n conn=$1
  { echo "\\timing on"; for ((i = 0; i <= R; i++)); do echo "$2;"; done; } |
    psql -X -q -At "${conn[@]}" -U postgres -d postgres 2>&1 | awk '/^Time:/ { print $2 }' | tail -n "$R" |
    sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] }'
}
say "timing ($R runs each)"
printf '\n%-45s %10s %10s %8s %s\n' "question (events: $N, $D days, $P projects)" "single" "citus" "ratio" "answer"
for entry in "${QS[@]}"; do
  name=${entry%%|*}; sql=${entry#*|}
  a=$(q S "$sql"); b=$(q C "$sql")
  # three rounds, the two sides in turn; the lowest p50 of each side (the
  # machine is shared: a busy moment then weighs on one round, not the figure)
  s=; c=
  for _ in 1 2 3; do
    s="$s $(p50 S "$sql")"; c="$c $(p50 C "$sql")"
  done
  s=$(echo $s | tr ' ' '\n' | sort -n | head -1); c=$(echo $c | tr ' ' '\n' | sort -n | head -1)
  printf '%-45s %10s %10s %8s %s\n' "$name" "$s" "$c" "$(awk -v a="$s" -v b="$c" 'BEGIN { printf "%.2f", b / a }')" \
    "$([ "$a" == "$b" ] && echo same || echo DIFF)"
done
cpu() { awk -v a="${CPU[$1:$ROOT/citus/n0]}" -v b="${CPU[$1:$ROOT/citus/n1]}" -v c="${CPU[$1:$ROOT/citus/n2]}" 'BEGIN { printf "%.1f", a + b + c }'; }
for side in C P; do
  label=$([ $side = C ] && echo "TLS between nodes" || echo "no TLS between nodes")
  printf '\n%-45s %10s %10s %8s\n' "COPY (s), $label" "${COPY[S]}" "${COPY[$side]}" \
    "$(awk -v a="${COPY[S]}" -v b="${COPY[$side]}" 'BEGIN { printf "%.2f", b / a }')"
  printf '%-45s %10s %10s %8s\n' "  its CPU time, every node (s)" "${CPU[S:$ROOT/single]}" "$(cpu $side)" \
    "$(awk -v s="${CPU[S:$ROOT/single]}" -v c="$(cpu $side)" 'BEGIN { printf "%.2f", c / s }')"
  echo "  of which the coordinator ${CPU[$side:$ROOT/citus/n0]} s, the workers ${CPU[$side:$ROOT/citus/n1]} and ${CPU[$side:$ROOT/citus/n2]} s"
done
echo "(COPY: the fastest of three rounds, the three in turn; speed relative to the single node = 1 / ratio)"
printf '%-45s %10s %10s %8s\n' "building the rollups (s)" "${BUILD[S]}" "${BUILD[C]}" \
  "$(awk -v a="${BUILD[S]}" -v b="${BUILD[C]}" 'BEGIN { printf "%.2f", b / a }')"
echo "(coordinator and two workers on this one machine: Citus's figures include its round trips, not more cores)"
echo "$HUGE"
