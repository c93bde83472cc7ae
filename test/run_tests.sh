#!/bin/bash
# make test: install what is missing, build, install, start a private cluster
# (with the library preloaded, so the background worker runs), run every
# regression and isolation test and the plain-C unit tests, stop the cluster.
set -uo pipefail
cd "$(dirname "$0")/.."

. test/pgenv.sh
pgenv_prepare test || exit 1
TMPDIR_TEST=$WORK
trap 'pgenv_stop; rm -rf "$TMPDIR_TEST"' EXIT
pgenv_start "$TMPDIR_TEST/pg" "${ANALYTICS_TEST_PORT:-54329}" \
  "shared_preload_libraries = 'analytics'" \
  "analytics.maintenance_interval = '1s'" \
  "log_min_messages = log" || exit 1

passed=0; failed=0
count() { # count pg_regress result lines of a log (PostgreSQL 16 and later print TAP lines)
  local p f
  p=$(grep -cE '^(ok|test|    | )?.* \.\.\. +ok|^ok [0-9]+ +[-+] ' "$1" 2>/dev/null || true)
  f=$(grep -cE '\.\.\. +FAILED|^not ok [0-9]+ +[-+] ' "$1" 2>/dev/null || true)
  passed=$((passed + p)); failed=$((failed + f))
}

rm -rf results output_iso regression.diffs regression.out
make -s installcheck 2>&1 | tee "$TMPDIR_TEST/installcheck.log"
rc=${PIPESTATUS[0]}
count "$TMPDIR_TEST/installcheck.log"
if [ "$rc" -ne 0 ]; then
  [ -f regression.diffs ] && cat regression.diffs
  failed=$((failed > 0 ? failed : 1))
fi

# the dump and restore round trip (plain and custom format) on the same cluster
if PG_BINDIR="$PG_BINDIR" ./test/dump_restore.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
# the upgrade from the last release equals a fresh install (catalogue and answers)
if PG_BINDIR="$PG_BINDIR" ./test/upgrade.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# the Grafana dashboard's queries, macros expanded as Grafana does, on known data
if PG_BINDIR="$PG_BINDIR" ./test/dashboard_test.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# plain-C unit tests (parsers), no server needed
if [ -d test/unit ] && ls test/unit/test_*.c >/dev/null 2>&1; then
  for t in test/unit/test_*.c; do
    name=$(basename "$t" .c)
    if make -s "test/unit/$name" && "./test/unit/$name"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
fi

# the uap-core test corpus through the user-agent parser (browser families >= 99%)
if make -s test/ua_corpus && ./test/ua_corpus | tail -12; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "analytics: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
