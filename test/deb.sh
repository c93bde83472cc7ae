#!/bin/bash
# make deb: build the Debian package postgresql-<version>-analytics the Debian
# way (debian/, dh with pg_buildext's pgxs_loop) for every PostgreSQL version
# of debian/pgversions installed here, from a clean copy of the tree outside
# the repository (the files git knows or would add: tracked and untracked,
# not ignored, as they are in the work tree), so that no build product lands
# in the repository.
# Builds the source package (3.0 quilt: an orig tarball without debian/, and
# the debian/ directory) and the binary packages, unsigned.
#   ANALYTICS_DEB_DIR (default /tmp/analytics-deb): where the .deb, .dsc,
#   tarballs, .changes and the build log are left (emptied first)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${ANALYTICS_DEB_DIR:-/tmp/analytics-deb}

./test/deps.sh deb

src=$(dpkg-parsechangelog -S Source)
version=$(dpkg-parsechangelog -S Version)
upstream=${version%-*}
W=$(mktemp -d /tmp/analytics-debbuild.XXXXXX)
trap 'rm -rf "$W"' EXIT

# the tree: what git tracks or would add, without build products (outside a
# git checkout, e.g. an unpacked release tarball: all but what .gitignore lists)
mkdir "$W/$src-$upstream"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -x -C "$W/$src-$upstream"
else
  tar --exclude-vcs --exclude-vcs-ignores -cf - . | tar -x -C "$W/$src-$upstream"
fi
tar -C "$W" --exclude="$src-$upstream/debian" -czf "$W/${src}_$upstream.orig.tar.gz" "$src-$upstream"

echo "building $src $version in $W"
if ! (cd "$W/$src-$upstream" && dpkg-buildpackage -us -uc) >"$W/build.log" 2>&1; then
  tail -60 "$W/build.log"; echo "deb: dpkg-buildpackage failed (log above)"; exit 1
fi

rm -rf "$OUT"; mkdir -p "$OUT"
cp "$W/build.log" "$W"/*.deb "$W"/*.dsc "$W"/*.tar.* "$W"/*.changes "$OUT"/
for deb in "$OUT"/*.deb; do
  echo "== $deb ($(stat -c %s "$deb") bytes)"
  dpkg-deb -f "$deb" Package Version Architecture Depends Installed-Size
  dpkg-deb -c "$deb" | awk '{print $6}' | grep -vE '/$'
done
