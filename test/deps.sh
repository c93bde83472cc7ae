#!/bin/bash
# Install the Debian packages the extension needs to build, test and demo,
# when they are missing. Needs root (or sudo) only when something is missing.
#   test/deps.sh        what make test and make demo need
#   test/deps.sh deb    also what make deb needs (Debian packaging tools)
set -euo pipefail

PACKAGES=(
  build-essential          # gcc, make
  postgresql-15            # the server the tests and the demo run
  postgresql-server-dev-15 # PGXS, server headers, pg_regress, pg_isolation_regress
  postgresql-contrib       # standard contrib modules
  tzdata                   # iso3166.tab, used by the continent unit test
  libpcre2-dev             # PCRE2 (with JIT): evaluates the ua-parser regexes
  uap-core                 # the ua-parser project's regexes.yaml and test corpus
  libmaxminddb-dev         # libmaxminddb headers and library: geoip_country (src/geoip.c) reads MaxMind DB files
  libmaxmind-db-writer-perl # MaxMind::DB::Writer: the geoip test writes its databases (test/geoip/make_test_mmdb.pl)
)
# make deb: dpkg-buildpackage, dh, and pg_buildext with its dh add-on
DEB_PACKAGES=(
  dpkg-dev                  # dpkg-buildpackage, dpkg-source
  debhelper                 # dh
  postgresql-server-dev-all # pg_buildext and dh --with pgxs_loop
)
if [ "${1:-}" = deb ]; then PACKAGES+=("${DEB_PACKAGES[@]}"); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
