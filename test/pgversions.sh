#!/bin/bash
# Build a PostgreSQL server of another major version from Debian's source
# package and run the whole suite (test/run_tests.sh) against it.
#   test/pgversions.sh 17 [18 ...]
# Everything built (sources, the server, apt's lists) goes into a cache outside
# the repository: $ANALYTICS_PG_CACHE, else /var/cache/analytics-pg when we are
# root, else ~/.cache/analytics-pg. The system's apt sources are not touched:
# a temporary source list names Debian trixie's deb-src (DEBIAN_SUITE=sid for
# 18, which trixie does not have). A server already
# installed in the cache is reused. The suite runs on ANALYTICS_TEST_PORT
# (default 54337) and the script prints its result line per version.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

if [ -n "${ANALYTICS_PG_CACHE:-}" ]; then CACHE=$ANALYTICS_PG_CACHE
elif [ "$(id -u)" -eq 0 ]; then CACHE=/var/cache/analytics-pg
else CACHE=$HOME/.cache/analytics-pg; fi
mkdir -p "$CACHE"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
JOBS=${JOBS:-2}
SUITE=${DEBIAN_SUITE:-trixie}

[ $# -gt 0 ] || { echo "usage: $0 MAJOR [MAJOR...]" >&2; exit 2; }

# build tools the source needs (bison and flex only when a Debian patch
# touches a grammar; dpkg-dev for dpkg-source)
need=()
for p in dpkg-dev bison flex build-essential libssl-dev zlib1g-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# the Debian mirror the system already uses (the first URI of its main archive)
mirror() {
  { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } \
    | grep -E '/debian/?$' | head -1 | sed 's,/$,,'
}

fetch_source() { # MAJOR: download and unpack postgresql-MAJOR's Debian source into $CACHE/src-MAJOR
  local major=$1 apt="$CACHE/apt" src="$CACHE/src-$1" pkg="postgresql-$1" m
  m=$(mirror); [ -n "$m" ] || { echo "no Debian mirror in the apt sources" >&2; return 1; }
  mkdir -p "$apt/lists/partial" "$src"
  echo "deb-src $m $SUITE main" >"$apt/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=-"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "APT::Sandbox::User=root")
  mkdir -p "$apt/cache"
  apt-get "${opts[@]}" -qq update
  if ! (cd "$src" && apt-get "${opts[@]}" -qq source --download-only "$pkg"); then
    # the index can name a version the mirror does not serve yet (or no longer):
    # take the newest of the previous point releases there is, from the same pool
    # directory; dpkg-source checks the files against the .dsc's checksums
    local ver dir minor tries=0
    ver=$(apt-cache "${opts[@]}" showsrc "$pkg" | awk '/^Version:/{print $2; exit}')
    dir=$(apt-cache "${opts[@]}" showsrc "$pkg" | awk '/^Directory:/{print $2; exit}')
    minor=${ver#"$major".}; minor=${minor%%-*}
    local rev=${ver#*-}
    while [ "$minor" -gt 0 ] && [ $tries -lt 6 ]; do
      minor=$((minor - 1)); tries=$((tries + 1))
      local dsc="${pkg}_$major.$minor-$rev.dsc"
      echo "$pkg $ver not on the mirror, trying $major.$minor-$rev"
      if curl -fsS -m 60 -o "$src/$dsc" "$m/$dir/$dsc" 2>/dev/null; then
        local f ok=1
        for f in $(sed -n '/^Checksums-Sha256:/,/^[A-Z-]*:/{/^ /p}' "$src/$dsc" | awk '{print $3}'); do
          curl -fsS -m 600 -o "$src/$f" "$m/$dir/$f" || { ok=0; break; }
        done
        [ $ok -eq 1 ] && break
      fi
      rm -f "$src/$dsc"
    done
  fi
  local dsc
  dsc=$(ls -v "$src"/"$pkg"_*.dsc 2>/dev/null | tail -1)
  [ -n "$dsc" ] || { echo "no source of $pkg could be downloaded" >&2; return 1; }
  rm -rf "$src/tree"
  # upstream's source as it is: Debian's patches put the server's library
  # directory under /usr/lib/postgresql, outside the cache
  dpkg-source --skip-patches -x "$dsc" "$src/tree" >/dev/null
}

build_server() { # MAJOR: configure, build, install into $CACHE/MAJOR
  local major=$1 prefix="$CACHE/$1"
  [ -x "$prefix/bin/pg_config" ] &&
    [ -x "$(dirname "$("$prefix/bin/pg_config" --pgxs)")/../test/isolation/pg_isolation_regress" ] && return 0
  [ -d "$CACHE/src-$major/tree" ] || fetch_source "$major"
  cd "$CACHE/src-$major/tree"
  ./configure --prefix="$prefix" --without-icu --without-readline \
    --without-llvm --without-zstd --without-lz4 --without-libxml --with-zlib \
    --enable-debug >"$CACHE/src-$major/configure.log" 2>&1 \
    || { tail -30 "$CACHE/src-$major/configure.log"; return 1; }
  make -s -j"$JOBS" >"$CACHE/src-$major/build.log" 2>&1 || { tail -30 "$CACHE/src-$major/build.log"; return 1; }
  make -s install >>"$CACHE/src-$major/build.log" 2>&1
  # pg_isolation_regress and isolationtester, installed beside pg_regress in pgxs
  make -s -C src/test/isolation -j"$JOBS" >>"$CACHE/src-$major/build.log" 2>&1
  make -s -C src/test/isolation install >>"$CACHE/src-$major/build.log" 2>&1
  cd "$REPO"
}

rc=0
for major in "$@"; do
  start=$(date +%s)
  built="reused"
  [ -x "$CACHE/$major/bin/pg_config" ] || built="built"
  build_server "$major" || { echo "postgresql $major: build failed"; rc=1; continue; }
  [ "$built" = built ] && built="built in $(( $(date +%s) - start ))s"
  echo "postgresql $major: $("$CACHE/$major/bin/pg_config" --version) in $CACHE/$major ($built)"
  make -s clean >/dev/null 2>&1 || true
  log="$CACHE/suite-$major.log"
  if PATH="$CACHE/$major/bin:$PATH" ANALYTICS_TEST_PORT=${ANALYTICS_TEST_PORT:-54337} \
       ./test/run_tests.sh >"$log" 2>&1; then :; else rc=1; fi
  make -s clean >/dev/null 2>&1 || true
  echo "postgresql $major: $(grep -E '^analytics: [0-9]+ passed' "$log" | tail -1 || echo 'no result line') (log: $log)"
done
exit $rc
