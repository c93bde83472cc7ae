#!/bin/bash
# Build Citus (the distributed engine for PostgreSQL) from source and install
# it into the PostgreSQL that pg_config names, for `make test-citus` and the
# Citus benchmark (README "Scaling out"). Citus is not a Debian package here.
#   CITUS_SRC=/path/to/citus test/citus_build.sh
# CITUS_SRC: a git repository of github.com/citusdata/citus (bare or not; e.g.
# `git clone https://github.com/citusdata/citus`) or an unpacked source tree.
# CITUS_VERSION (default v13.2.2) is the tag checked out of a repository.
# The build happens in a cache outside the repository ($ANALYTICS_PG_CACHE,
# else /var/cache/analytics-pg as root, else ~/.cache/analytics-pg); nothing
# of Citus enters this repository. An installed Citus of that version is
# kept (FORCE=1 rebuilds).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${CITUS_VERSION:-v13.2.2}
PG_CONFIG=${PG_CONFIG:-pg_config}
JOBS=${JOBS:-2}
if [ -n "${ANALYTICS_PG_CACHE:-}" ]; then CACHE=$ANALYTICS_PG_CACHE
elif [ "$(id -u)" -eq 0 ]; then CACHE=/var/cache/analytics-pg
else CACHE=$HOME/.cache/analytics-pg; fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

pkglib=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
want=${VERSION#v}
if [ -z "${FORCE:-}" ] && [ -f "$pkglib/citus.so" ] && [ -f "$sharedir/extension/citus.control" ] \
   && grep -q "default_version = '${want%.*}" "$sharedir/extension/citus.control"; then
  echo "citus $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$sharedir/extension/citus.control") is installed in $pkglib"
  exit 0
fi

[ -n "${CITUS_SRC:-}" ] || {
  echo "CITUS_SRC is not set: give a copy of https://github.com/citusdata/citus" >&2
  echo "  (git clone https://github.com/citusdata/citus; CITUS_SRC=\$PWD/citus $0)" >&2
  exit 2; }

# what Citus's configure looks for (lz4, zstd, libcurl), and the build tools
need=()
for p in build-essential liblz4-dev libzstd-dev libcurl4-openssl-dev libkrb5-dev libssl-dev \
         libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev zlib1g-dev flex bison autoconf; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

src="$CACHE/citus-$want"
rm -rf "$src"; mkdir -p "$src"
if git --git-dir="$CITUS_SRC" rev-parse --git-dir >/dev/null 2>&1; then
  git --git-dir="$CITUS_SRC" archive --format=tar "$VERSION" | tar -x -C "$src"
elif git -C "$CITUS_SRC" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$CITUS_SRC" archive --format=tar "$VERSION" | tar -x -C "$src"
else
  cp -a "$CITUS_SRC"/. "$src"/
fi

# PostgreSQL 15.20 exports have_createdb_privilege() (commands/dbcommands.h);
# Citus 13.2.2 still defines a static copy of it for servers below 16
# (src/include/pg_version_compat.h), which then conflicts with the server's
# declaration: rename the copy, and its callers use the server's function.
compat="$src/src/include/pg_version_compat.h"
if grep -q 'extern bool have_createdb_privilege' "$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h" 2>/dev/null; then
  sed -i 's/^have_createdb_privilege(void)/citus_compat_have_createdb_privilege(void)/' "$compat"
fi

cd "$src"
echo "configuring citus $want in $src (log: $src/configure.log)"
./configure PG_CONFIG="$PG_CONFIG" >configure.log 2>&1 || { tail -30 configure.log; exit 1; }
echo "building (log: $src/build.log)"
make -j"$JOBS" >build.log 2>&1 || { grep -m20 -E 'error|Error' build.log; exit 1; }
$SUDO make install >install.log 2>&1 || { tail -30 install.log; exit 1; }
echo "citus $want installed into $pkglib"
