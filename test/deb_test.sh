#!/bin/bash
# make deb-test: test the built Debian package outside the build tree.
#  1. apt-get --simulate install of the .deb: every declared dependency is
#     satisfied by this machine's installed packages (nothing else to install);
#  2. a clean root: the files of the installed postgresql-15 and
#     postgresql-client-15 packages only (no `make install` leftovers), with
#     the .deb unpacked over it (dpkg -x); PostgreSQL is relocatable, so the
#     server of that root loads the extension from it;
#  3. a throwaway cluster of that server (as postgres, private port and
#     socket, test/pgenv.sh) with the library preloaded: CREATE EXTENSION
#     analytics, a maintenance run, a few events and a player ping (its user
#     agent parsed with uap-core's regexes), and analytics.metric answers
#     compared with the known values; the cluster is stopped and removed.
#   ANALYTICS_DEB_DIR (default /tmp/analytics-deb): where make deb left the
#   package (built first when missing); ANALYTICS_DEB_TEST_PORT (default 54339)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${ANALYTICS_DEB_DIR:-/tmp/analytics-deb}
PORT=${ANALYTICS_DEB_TEST_PORT:-54339}
PGV=$(cat debian/pgversions | head -1)
version=$(dpkg-parsechangelog -S Version)
deb=$OUT/postgresql-$PGV-analytics_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || ./test/deb.sh
[ -f "$deb" ] || { echo "deb-test: $deb not found"; exit 1; }

fail() { echo "deb-test: FAILED: $*"; exit 1; }

# 1. the declared dependencies are installed here
sim=$(apt-get install -s --no-install-recommends "$deb" 2>&1) || { echo "$sim"; fail "apt-get -s install"; }
insts=$(echo "$sim" | grep '^Inst ' || true)
if [ "$(echo "$insts" | wc -l)" -ne 1 ] || ! echo "$insts" | grep -q "^Inst postgresql-$PGV-analytics "; then
  echo "$sim"; fail "installing the package would need more packages"
fi
echo "deb-test: Depends: $(dpkg-deb -f "$deb" Depends)"

# 2. a clean root: the server's own package files, then the .deb
W=$(mktemp -d /tmp/analytics-debtest.XXXXXX)
chmod 755 "$W"
ROOT=$W/root
mkdir -p "$ROOT"
. test/pgenv.sh
trap 'pgenv_stop; rm -rf "$W"' EXIT
dpkg -L "postgresql-$PGV" "postgresql-client-$PGV" \
  | grep -E "^/usr/(lib|share)/postgresql/$PGV/" \
  | while read -r f; do [ -f "$f" ] || [ -L "$f" ] && echo "${f#/}"; done \
  | tar -C / -cf - -T - | tar -C "$ROOT" -xf -
[ -e "$ROOT/usr/lib/postgresql/$PGV/lib/analytics.so" ] && fail "the clean root already has analytics.so"
dpkg -x "$deb" "$ROOT"
PG_BINDIR=$ROOT/usr/lib/postgresql/$PGV/bin
"$PG_BINDIR/pg_config" --pkglibdir | grep -q "^$ROOT/" || fail "the server of $ROOT is not relocated"

# 3. a throwaway cluster of that server
pgenv_start "$W/pg" "$PORT" "shared_preload_libraries = 'analytics'" || fail "starting the cluster"
PSQL="$PG_BINDIR/psql -X -q -At -v ON_ERROR_STOP=1 -d postgres"
got=$($PSQL <<'SQL'
SET TimeZone = 'UTC';
CREATE EXTENSION analytics;
SELECT extversion FROM pg_extension WHERE extname = 'analytics';
SELECT analytics.run_maintenance() IS NOT NULL;
SELECT 'day partitions ' || count(*) FROM analytics.partitions() WHERE from_ts IS NOT NULL;
SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR';
-- 4 impressions (load 100, 200, 300, 400 ms), 3 plays, 2 watch stretches (30 s, 50 s)
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, session_id)
SELECT 'smoke', now() - interval '1 hour' + i * interval '1 second', t::analytics.event_type, v, 'vi-smoke',
       ('00000000-0000-4000-8000-00000000000' || s)::uuid
  FROM (VALUES (1, 'impression', 100, 1), (2, 'impression', 200, 2), (3, 'impression', 300, 3),
               (4, 'impression', 400, 4), (5, 'play', NULL, 1), (6, 'play', NULL, 2), (7, 'play', NULL, 3),
               (40, 'watch', 30, 1), (60, 'watch', 50, 2)) e(i, t, v, s);
SELECT 'play count ' || analytics.metric('play', 'count', project_id => 'smoke');
SELECT 'play rate ' || analytics.metric('play', 'rate', project_id => 'smoke');
SELECT 'impression-time average ' || analytics.metric('impression-time', 'average', project_id => 'smoke');
SELECT 'watch-time sum ' || analytics.metric('watch-time', 'sum', project_id => 'smoke');
-- a player's ping: its user agent parsed with uap-core's regexes.yaml
SELECT analytics.ingest_ping(jsonb_build_object(
         'emitted_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         'session', jsonb_build_object('loaded_at', to_char((now() - interval '5 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                       'video_id', 'vi-ping', 'session_id', '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6'),
         'events', jsonb_build_array(jsonb_build_object('emitted_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                                        'type', 'play', 'at', 0))),
       user_agent => 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
       country => 'FR', project_id => 'ping') IS NOT NULL;
SELECT 'ping ' || string_agg(event_type || ' ' || browser || ' ' || operating_system || ' ' || device_type || ' ' || continent, ', ')
  FROM analytics.events WHERE project_id = 'ping';
SELECT 'play count all ' || analytics.metric('play', 'count');
SQL
) || { echo "$got"; tail -20 "$W/pg/server.log"; fail "the smoke queries"; }
echo "$got" | sed 's/^/  /'
expected="0.6
t
day partitions 8
$ROOT/usr/lib/postgresql/$PGV/lib
play count 3
play rate 0.75
impression-time average 250
watch-time sum 80
t
ping play firefox linux computer EU
play count all 4"
if [ "$got" != "$expected" ]; then
  diff <(echo "$expected") <(echo "$got") || true
  fail "unexpected answers"
fi
echo "deb-test: postgresql-$PGV-analytics $version installed into a clean root, CREATE EXTENSION and the smoke queries OK"
