#!/bin/bash
# make test: the dump and restore round trip (README "Backup and restore").
# Populates a database (test/dump_restore/populate.sql), dumps it as a plain
# script and in the custom format, restores the first with
# `psql -v ON_ERROR_STOP=1` and the second with
# `pg_restore --single-transaction --exit-on-error`, each into a new database
# of the same cluster whose maintenance the background worker runs
# (analytics.maintenance_databases), and compares a fixed set of answers
# between the source and each restored database: right after the restore
# (once the worker has placed the stray row of each restored database),
# then after new pings and a maintenance run in every database. Prints the
# differences and exits 1 on any.
#
# Needs a running cluster with the library preloaded (PGHOST, PGPORT,
# PGUSER set, as test/run_tests.sh does) and a short
# analytics.maintenance_interval (make test: 1s). The plain restore pauses
# 3 s after CREATE EXTENSION, so that the worker certainly comes by while
# the database is half restored, and asks for maintenance from another
# session there, which must be refused. ANALYTICS_DR_KEEP=1 keeps the dumps
# and answers in /tmp/analytics-dump.*.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${PG_BINDIR:-$(pg_config --bindir)}
PSQL="$BIN/psql -X -q -v ON_ERROR_STOP=1"
W=$(mktemp -d /tmp/analytics-dump.XXXXXX)
chmod 755 "$W"
SRC=analytics_dr_src PLAIN=analytics_dr_plain CUSTOM=analytics_dr_custom
ACME=analytics_dr_acme GLOBEX=analytics_dr_globex

cleanup() {
  $PSQL -d postgres -c "ALTER SYSTEM RESET analytics.maintenance_databases" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
  for db in $SRC $PLAIN $CUSTOM; do $PSQL -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; done
  $PSQL -d postgres -c "DROP ROLE IF EXISTS $ACME" -c "DROP ROLE IF EXISTS $GLOBEX" >/dev/null 2>&1
  [ -n "${ANALYTICS_DR_KEEP:-}" ] || rm -rf "$W"
}
fail() { echo "dump_restore: FAILED: $*"; cleanup; exit 1; }
trap cleanup EXIT
cleanup; mkdir -p "$W"; chmod 755 "$W"

T0=$($PSQL -At -d postgres -c "SELECT date_trunc('day', now() AT TIME ZONE 'UTC') || '+00'")
A=$($PSQL -At -d postgres -c "SELECT date_trunc('second', now() - interval '60 seconds')")
VARS=(-v t0="$T0" -v a="$A" -v ip=203.0.113.7 -v acme=$ACME -v globex=$GLOBEX
      -v ua='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')

# the source
$PSQL -d postgres -c "CREATE ROLE $ACME" -c "CREATE ROLE $GLOBEX" -c "CREATE DATABASE $SRC" >/dev/null || fail "setup"
$PSQL -At "${VARS[@]}" -d $SRC -f test/dump_restore/populate.sql >"$W/populate.out" 2>&1 \
  || { cat "$W/populate.out"; fail "populating $SRC"; }
# the dumps
"$BIN/pg_dump" -d $SRC -f "$W/plain.sql" || fail "pg_dump (plain)"
"$BIN/pg_dump" -d $SRC -Fc -f "$W/custom.dump" || fail "pg_dump (custom)"

# the worker maintains the restored databases, from the moment they exist
$PSQL -d postgres -c "ALTER SYSTEM SET analytics.maintenance_databases = '$PLAIN, $CUSTOM'" -c "SELECT pg_reload_conf()" >/dev/null
$PSQL -d postgres -c "CREATE DATABASE $PLAIN" -c "CREATE DATABASE $CUSTOM" >/dev/null || fail "creating the targets"

# plain: the script through psql, stopping at the first error; it pauses
# after CREATE EXTENSION while another session asks for maintenance there
awk '{ print } /^CREATE EXTENSION IF NOT EXISTS analytics / { print "SELECT pg_catalog.pg_sleep(4);" }' "$W/plain.sql" \
  | $PSQL -d $PLAIN >"$W/plain.out" 2>&1 &
restore=$!
for i in $(seq 1 100); do
  [ "$($PSQL -At -d $PLAIN -c "SELECT count(*) FROM pg_extension WHERE extname = 'analytics'")" = 1 ] && break
  sleep 0.1
done
$PSQL -At -d $PLAIN -c "SELECT analytics.run_maintenance()->>'reason'" >"$W/during.out" 2>&1
wait $restore || { cat "$W/plain.out"; fail "psql -v ON_ERROR_STOP=1 < plain dump"; }
if [ "$(cat "$W/during.out")" != "a dump is being restored into this database" ]; then
  cat "$W/during.out"; fail "maintenance ran on the half-restored database"
fi
# custom: pg_restore in one transaction, stopping at the first error
"$BIN/pg_restore" --single-transaction --exit-on-error -d $CUSTOM "$W/custom.dump" >"$W/custom.out" 2>&1 \
  || { cat "$W/custom.out"; fail "pg_restore --single-transaction --exit-on-error"; }

# the worker's first run in each restored database places the stray (a new
# partition 30 days ahead, the row moved into it out of the default
# partition, in one transaction): wait for it. A query that starts while that
# transaction runs waits for the default partition's lock, was planned with
# the partitions as they were, and reads the default partition after the
# commit: it misses the row (one event fewer in one answer, at random).
for db in $PLAIN $CUSTOM; do
  ok=
  for i in $(seq 1 120); do
    n=$($PSQL -At -d $db -c "SELECT count(*) FROM analytics.events_default") || fail "reading the default partition of $db"
    [ "$n" = 0 ] && { ok=1; break; }
    sleep 0.25
  done
  [ -n "$ok" ] || fail "the worker never placed the stray of $db"
done

diffs=0
compare() { # compare NAME FILE-PREFIX: diff the source's answers with each restored database's
  for db in $PLAIN $CUSTOM; do
    if ! diff -u "$W/$2.$SRC" "$W/$2.$db" >"$W/$2.$db.diff"; then
      echo "dump_restore: $1 differ between $SRC and $db:"; cat "$W/$2.$db.diff"; diffs=$((diffs + 1))
    fi
  done
}
answers() { # answers FILE-PREFIX [psql args]: the answers of every database
  local out=$1; shift
  for db in $SRC $PLAIN $CUSTOM; do
    $PSQL -At "${VARS[@]}" "$@" -d $db -f test/dump_restore/answers.sql >"$W/$out.$db" 2>&1 || { cat "$W/$out.$db"; fail "answers of $db"; }
  done
}

# 1. right after the restore (and the worker's placement of the stray; the
# hours restored pending until the worker has refreshed them: raw events)
answers answers1 -v phase1=1
compare "answers after the restore" answers1

# 2. new pings: the session state and the viewer id key came along
for db in $SRC $PLAIN $CUSTOM; do
  $PSQL -At "${VARS[@]}" -d $db -f test/dump_restore/pings_after.sql >"$W/pings.$db" 2>&1 || { cat "$W/pings.$db"; fail "pings into $db"; }
done
compare "new pings" pings

# 3. maintenance everywhere (the worker stops first), until nothing is pending
$PSQL -d postgres -c "ALTER SYSTEM RESET analytics.maintenance_databases" -c "SELECT pg_reload_conf()" >/dev/null
for db in $SRC $PLAIN $CUSTOM; do
  ok=
  for i in $(seq 1 60); do
    r=$($PSQL -At -d $db -c "SELECT r ? 'skipped' OR jsonb_array_length(r->'deferred') > 0
                                    OR EXISTS (SELECT 1 FROM analytics.rollup_pending) FROM analytics.run_maintenance() r") || fail "maintenance of $db"
    [ "$r" = f ] && { ok=1; break; }
    sleep 0.5
  done
  [ -n "$ok" ] || fail "maintenance of $db never completed"
done
answers answers2
compare "answers after maintenance" answers2
for db in $SRC $PLAIN $CUSTOM; do
  $PSQL -At -d $db -f test/dump_restore/catalog.sql >"$W/catalog.$db" 2>&1 || { cat "$W/catalog.$db"; fail "catalog of $db"; }
done
compare "partitions, indexes, privileges, policies, rollups" catalog

lines=$(wc -l <"$W/answers2.$SRC")
if [ "$diffs" -ne 0 ]; then fail "$diffs comparisons differ"; fi
echo "dump_restore: plain and custom format restored; $lines answers, the pings and the catalogue identical"
