#!/bin/bash
# make test: the upgrade from the last release equals a fresh install
# (src/sql/README.md). One database gets 0.5 from its released scripts
# (CREATE EXTENSION analytics VERSION '0.5'), is populated
# (test/dump_restore/populate.sql: events over several days, rollups by
# run_maintenance, tenants by grant_project, a ping, play totals, a partition
# made by hand, a stray row) and updated with ALTER EXTENSION analytics
# UPDATE; another gets a fresh 0.6 install and the same data. Compared:
#   (a) the catalogue of the extension (test/upgrade/catalog.sql: every
#       member with its definition, the relations, columns, constraints,
#       indexes, triggers, policies, privileges, initial privileges) and a
#       schema-only pg_dump of each database (which leaves out the
#       extension's members but dumps the partitions, the tenants' grants
#       that differ from pg_init_privs, the policies of the partitions);
#   (b) the answers of the API (test/dump_restore/answers.sql: metric,
#       breakdown, timeseries, api_request, what each tenant sees), before
#       and after maintenance, and a tenant's read of events_out_of_range.
# Prints the differences and exits 1 on any. Needs a running cluster with
# the library preloaded (PGHOST, PGPORT, PGUSER set, as test/run_tests.sh
# does). ANALYTICS_UP_KEEP=1 keeps the outputs in /tmp/analytics-upgrade.*.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${PG_BINDIR:-$(pg_config --bindir)}
PSQL="$BIN/psql -X -q -v ON_ERROR_STOP=1"
FROM=0.5
TO=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" analytics.control)
W=$(mktemp -d /tmp/analytics-upgrade.XXXXXX)
chmod 755 "$W"
OLD=analytics_up_old NEW=analytics_up_new
ACME=analytics_up_acme GLOBEX=analytics_up_globex

cleanup() {
  for db in $OLD $NEW; do $PSQL -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; done
  $PSQL -d postgres -c "DROP ROLE IF EXISTS $ACME" -c "DROP ROLE IF EXISTS $GLOBEX" >/dev/null 2>&1
  [ -n "${ANALYTICS_UP_KEEP:-}" ] || rm -rf "$W"
}
fail() { echo "upgrade: FAILED: $*"; cleanup; exit 1; }
trap cleanup EXIT
cleanup; mkdir -p "$W"; chmod 755 "$W"

T0=$($PSQL -At -d postgres -c "SELECT date_trunc('day', now() AT TIME ZONE 'UTC') || '+00'")
A=$($PSQL -At -d postgres -c "SELECT date_trunc('second', now() - interval '60 seconds')")
VARS=(-v t0="$T0" -v a="$A" -v ip=203.0.113.7 -v acme=$ACME -v globex=$GLOBEX
      -v ua='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')
$PSQL -d postgres -c "CREATE ROLE $ACME" -c "CREATE ROLE $GLOBEX" \
      -c "CREATE DATABASE $OLD" -c "CREATE DATABASE $NEW" >/dev/null || fail "setup"

# the same data into both; the old one installs the released version first
sed "s/^CREATE EXTENSION analytics;/CREATE EXTENSION analytics VERSION '$FROM';/" test/dump_restore/populate.sql >"$W/populate_old.sql"
grep -q "VERSION '$FROM'" "$W/populate_old.sql" || fail "populate.sql has no CREATE EXTENSION line to rewrite"
$PSQL -At "${VARS[@]}" -d $OLD -f "$W/populate_old.sql" >"$W/populate.$OLD" 2>&1 \
  || { cat "$W/populate.$OLD"; fail "populating $OLD (version $FROM)"; }
[ "$($PSQL -At -d $OLD -c "SELECT extversion FROM pg_extension WHERE extname = 'analytics'")" = "$FROM" ] \
  || fail "$OLD is not at version $FROM"
$PSQL -d $OLD -c "SET client_min_messages = warning" -c "ALTER EXTENSION analytics UPDATE" >"$W/update.out" 2>&1 \
  || { cat "$W/update.out"; fail "ALTER EXTENSION analytics UPDATE"; }
[ "$($PSQL -At -d $OLD -c "SELECT extversion FROM pg_extension WHERE extname = 'analytics'")" = "$TO" ] \
  || fail "$OLD is not at version $TO after the update"
# the upgrade adds the range check NOT VALID on a database with events (it
# moves the rows out of range aside first); validating it is the operator's
# step the README describes ("Upgrading to 0.6: rows out of range")
$PSQL -d $OLD -c "ALTER TABLE analytics.events VALIDATE CONSTRAINT events_emitted_at_range" >/dev/null \
  || fail "VALIDATE CONSTRAINT after the update"
$PSQL -At "${VARS[@]}" -d $NEW -f test/dump_restore/populate.sql >"$W/populate.$NEW" 2>&1 \
  || { cat "$W/populate.$NEW"; fail "populating $NEW (version $TO)"; }

diffs=0
compare() { # compare NAME FILE-PREFIX
  if ! diff -u "$W/$2.$OLD" "$W/$2.$NEW" >"$W/$2.diff"; then
    echo "upgrade: $1 differ between $FROM -> $TO ($OLD) and a fresh $TO ($NEW):"; head -100 "$W/$2.diff"; diffs=$((diffs + 1))
  fi
}
# the answers; left out: what is random or stamped per database (the viewer
# id key and the viewer ids derived from it, the times grants, play totals
# and ping sessions were written)
answers() { # answers FILE-PREFIX
  for db in $OLD $NEW; do
    { $PSQL -At "${VARS[@]}" -d $db -f test/dump_restore/answers.sql \
      && $PSQL -At -d $db -c "SET ROLE $ACME" \
           -c "SELECT 'acme reads events_out_of_range', count(*) FROM analytics.events_out_of_range" \
           -c "SELECT 'acme api total ' || r.status, r.body->'data' FROM analytics.api_request('/data/metrics/play/total') r"; } 2>&1 \
      | grep -vE '^(secrets|project_grants|play_totals|events|viewers of acme.s ping sessions)\|' >"$W/$1.$db" \
      || fail "answers of $db"
    grep -q ERROR "$W/$1.$db" && { cat "$W/$1.$db"; fail "answers of $db"; }
  done
}
catalogue() { # catalogue FILE-PREFIX
  for db in $OLD $NEW; do
    $PSQL -d $db -f test/upgrade/catalog.sql >"$W/$1.$db" 2>&1 || { cat "$W/$1.$db"; fail "catalogue of $db"; }
    "$BIN/pg_dump" -s -d $db 2>&1 | grep -vE '^(--|$|\\(un)?restrict )' >"$W/$1-dump.$db" || fail "pg_dump -s $db"
  done
}

catalogue catalog
compare "catalogues" catalog
compare "schema-only dumps" catalog-dump
answers answers1
compare "answers" answers1

# maintenance in both, until nothing is pending: the same rollups
for db in $OLD $NEW; do
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
catalogue catalog2
compare "catalogues after maintenance" catalog2
compare "schema-only dumps after maintenance" catalog2-dump

if [ "$diffs" -ne 0 ]; then fail "$diffs comparisons differ"; fi
members=$($PSQL -At -d $NEW -c "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
                                 WHERE e.extname = 'analytics' AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'")
n=$(( $(wc -l <"$W/answers1.$NEW") + $(wc -l <"$W/answers2.$NEW") ))
echo "upgrade: $FROM -> $TO equals a fresh install: catalogue ($members members, $(wc -l <"$W/catalog.$NEW") lines, schema dump $(wc -l <"$W/catalog-dump.$NEW") lines) and $n answers identical"
