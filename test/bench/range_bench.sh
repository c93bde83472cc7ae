#!/bin/bash
# What the accepted range of emitted_at costs COPY (README: Data model).
#   test/bench/range_bench.sh [ROWS] [ROUNDS]      defaults: 1000000 3
# Starts a private cluster, generates ROWS events (test/gen, 3 days, 5
# projects) and, ROUNDS times in alternating order, COPYs them into a fresh
# database whose analytics.events has the check constraint
# events_emitted_at_range, and into one where it was dropped (everything else
# identical). Prints the wall time and the CPU time of the backend running
# the COPY (user + system, from /proc: on a shared VM the wall time moves
# with the neighbours' load, the CPU time much less), and the median of each.
# Prints figures only; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-1000000}
ROUNDS=${2:-3}
PORT=${ANALYTICS_BENCH_PORT:-54332}

. test/pgenv.sh
pgenv_prepare range gen
trap 'pgenv_stop; rm -rf "$WORK"' EXIT
pgenv_start "$WORK/pg" "$PORT" "synchronous_commit = off" "autovacuum = off" >/dev/null
chmod 755 "$WORK"
./test/gen -n "$ROWS" -d 3 -e $(( $(date +%s) + 4 * 86400 )) -p 5 > "$WORK/events.copy"
chmod 644 "$WORK/events.copy"
TICK=$(getconf CLK_TCK)

one() { # $1: with | without
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS range_bench" -c "CREATE DATABASE range_bench" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d range_bench -c "CREATE EXTENSION analytics" >/dev/null
  [ "$1" = without ] && psql -X -q -d range_bench -c "ALTER TABLE analytics.events DROP CONSTRAINT events_emitted_at_range"
  psql -X -q -d range_bench -c "SET analytics.maintenance_in_worker = off" -c "SELECT analytics.run_maintenance()" >/dev/null
  # one session: its pid, CPU before, COPY, CPU after
  coproc PS { psql -X -q -A -t -d range_bench 2>&1; }
  echo "SELECT pg_backend_pid();" >&"${PS[1]}"
  read -r pid <&"${PS[0]}"
  c0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); t0=$(date +%s.%N)
  echo "COPY analytics.events FROM '$WORK/events.copy'; SELECT 'done';" >&"${PS[1]}"
  read -r done <&"${PS[0]}"
  c1=$(awk '{print $14 + $15}' "/proc/$pid/stat"); t1=$(date +%s.%N)
  exec {PS[1]}>&-; wait "$PS_PID" 2>/dev/null || true
  [ "$done" = done ] || { echo "COPY failed: $done" >&2; exit 1; }
  printf '%s %.2f %.2f\n' "$1" "$(echo "$t1 - $t0" | bc)" "$(echo "($c1 - $c0) / $TICK" | bc -l)"
}

res=()
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then order="with without"; else order="without with"; fi
  for m in $order; do
    line=$(one "$m"); echo "round $r: $line" | awk '{printf "round %s %-8s wall %6.2f s  backend cpu %6.2f s\n", $2, $3, $4, $5}'
    res+=("$line")
  done
done
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
for m in without with; do
  w=$(printf '%s\n' "${res[@]}" | awk -v m="$m" '$1 == m {print $2}' | median)
  c=$(printf '%s\n' "${res[@]}" | awk -v m="$m" '$1 == m {print $3}' | median)
  printf 'median %-8s the constraint: wall %s s, backend cpu %s s (%s rows)\n' "$m" "$w" "$c" "$ROWS"
done
