#!/bin/bash
# Run the regression and isolation tests against a server running under
# valgrind (memcheck), then report the errors whose stack goes through the
# analytics library. Slow (minutes); not part of make test.
#   test/valgrind.sh [pg_regress test names...]
set -uo pipefail
cd "$(dirname "$0")/.."
make -s all && make -s install >/dev/null || exit 1
. test/pgenv.sh
WORK=$(mktemp -d /tmp/analytics-vg.XXXXXX); chmod 755 "$WORK"
PORT=${ANALYTICS_VG_PORT:-54332}
mkdir -p "$WORK/pg"; chown postgres: "$WORK/pg"
runuser -u postgres -- "$PG_BINDIR/initdb" -D "$WORK/pg/data" -U postgres -A trust --no-sync >/dev/null
cat >> "$WORK/pg/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK/pg'
shared_preload_libraries = 'analytics'
analytics.maintenance_interval = '1s'
max_worker_processes = 16
fsync = off
CONF
runuser -u postgres -- bash -c "valgrind --quiet --trace-children=yes --leak-check=no --error-limit=no \
  --num-callers=30 --log-file=$WORK/pg/vg.%p.log \
  $PG_BINDIR/postgres -D $WORK/pg/data >$WORK/pg/server.log 2>&1 &"
for i in $(seq 1 120); do
  psql -h "$WORK/pg" -p "$PORT" -U postgres -Atc 'select 1' postgres >/dev/null 2>&1 && break; sleep 1
done
export PGHOST=$WORK/pg PGPORT=$PORT PGUSER=postgres
if [ $# -gt 0 ]; then
  "$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress" --inputdir=. --outputdir="$WORK/out" --dbname=contrib_regression "$@"
else
  make -s installcheck
fi
rc=$?
runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$WORK/pg/data" -m fast -w -t 300 stop >/dev/null
total=$(cat "$WORK"/pg/vg.*.log | grep -c '^==[0-9]*== [A-Z]' || true)
ours=$(cat "$WORK"/pg/vg.*.log | awk '/^==[0-9]+== [A-Z]/{blk=""} {blk=blk"\n"$0} /^==[0-9]+== *$/{ if (blk ~ /analytics\.so|[( ](analytics|maintenance|worker|api|uri|stats|ccv|timebucket|ping|useragent|ua_yaml|ua_prefilter|iso8601|import|geoip|ingest|enrich|rollup|tenancy|continent|siphash|brinskip|cover|plan|keptquery|query|catalog|callbound|rest|ccvrollup|viewers|refresh|refreshpar|refreshdelta|valuesums|citus)\.c:/) print blk; blk=""}' )
echo "valgrind: tests rc=$rc; error reports in all processes: $total"
if [ -n "$ours" ]; then echo "errors through the analytics library:"; echo "$ours" | head -200; else echo "no error through the analytics library"; fi
kinds=$(cat "$WORK"/pg/vg.*.log | grep -A1 "^==[0-9]*== [A-Z]" | grep -v "^--" | sed "s/^==[0-9]*== //" | sort | uniq -c | sort -rn | head -20)
echo "kinds of reports (first frame):"; echo "$kinds"
if [ -n "$ours" ]; then echo "logs kept in $WORK/pg"; else rm -rf "$WORK"; fi
