#!/bin/bash
# test/dev_install.sh NAME
# Build this source tree and install it as the extension "analytics_NAME"
# (library analytics_NAME.so, control file analytics_NAME.control), so that
# several working trees can be developed and tested side by side, each in its
# own private cluster, without overwriting the real "analytics" install.
# The schema is still "analytics": use one cluster per NAME.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: $0 NAME" >&2; exit 2; }
name="analytics_$1"
make -s MODULE_big="$name" all   # the library and the generated SQL scripts (build/sql)
install -m 755 "$name.so" "$(pg_config --pkglibdir)/"
sed "s|\$libdir/analytics'|\$libdir/$name'|" analytics.control > "$(pg_config --sharedir)/extension/$name.control"
for f in src/sql/released/analytics--*.sql build/sql/analytics--*.sql; do cp "$f" "$(pg_config --sharedir)/extension/$name--${f#*/analytics--}"; done
rm -f "$name.so"
echo "installed extension $name"
