#!/usr/bin/env bash
# test/indent.sh [--check] FILE...
#
# Indent C files of the extension the way PostgreSQL's pgindent does, with
# pg_bsd_indent (Debian/Ubuntu package pg-bsd-indent, /usr/bin/pg_bsd_indent;
# override with PG_BSD_INDENT).  One style per kind of file:
#
#   PostgreSQL-linked C (src/*.c that include postgres.h, src/analytics.h,
#   ...; also the small plain-C helpers continent.*, siphash.*, cover.*,
#   written in the same style): pgindent style -- pgindent's pg_bsd_indent options (PostgreSQL 15:
#   -bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1 -i4 -l79
#   -lp -lpl -nip -npro -sac -tpg -ts4), tabs of width 4, and pgindent's
#   post-processing step "a single space before '*' in function return
#   types".
#
#   the plain-C parsers, no PostgreSQL, unit-tested and fuzzed on their own
#   (uri.c/.h, ping.c/.h, useragent.c/.h, ua_*.c/.h, iso8601.c/.h,
#   parseutil.h):
#   the same options plus -nut, i.e. pgindent's layout with 4 spaces instead
#   of tabs (ping.c is the reference: it is unchanged by this script).  The
#   kind is chosen by the file's name (the list above), not by its content.
#   Not for headers with an extern "C" block (useragent.h, uri.h, ping.h):
#   pg_bsd_indent indents their whole body.
#
# Typedefs: pg_bsd_indent must know every type name to lay out declarations.
# PostgreSQL's own typedefs.list is not installed by the Debian packages (it
# lives in the PostgreSQL source tree, src/tools/pgindent/typedefs.list), so
# this script generates one: every name defined by a top-level typedef in
# the server headers (pg_config --includedir-server), in src/*.h and
# src/*.c, plus the libc and PCRE2 types the plain-C files use.  Set
# TYPEDEFS=/path/to/typedefs.list to use another list (it is then extended
# with the project's own types).
#
# --check: change nothing; list the files that are not indented, exit 1 if
# any.  Without it the files are rewritten in place (only when they change).
#
# Not run over the whole tree by make test; run it on the files you edit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
indent=${PG_BSD_INDENT:-pg_bsd_indent}
PG_CONFIG=${PG_CONFIG:-pg_config}

check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi
if [ $# -eq 0 ]; then
    echo "usage: $0 [--check] FILE..." >&2
    exit 2
fi
command -v "$indent" >/dev/null 2>&1 || {
    echo "$indent not found (apt-get install pg-bsd-indent, or set PG_BSD_INDENT)" >&2
    exit 2
}

work=$(mktemp -d /tmp/analytics-indent.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- typedefs ---------------------------------------------------------------
typedefs=$work/typedefs.list
{
    [ -n "${TYPEDEFS:-}" ] && cat "$TYPEDEFS"
    incdir=$("$PG_CONFIG" --includedir-server 2>/dev/null || true)
    {
        if [ -z "${TYPEDEFS:-}" ] && [ -n "$incdir" ] && [ -d "$incdir" ]; then
            find "$incdir" -name '*.h' -print0 | xargs -0 cat
        fi
        cat "$repo"/src/*.h "$repo"/src/*.c
    } | perl -ne '
        if (/^\s*typedef\b[^;{]*?\(\s*\*\s*(\w+)\s*\)/) { print "$1\n" }
        elsif (/^\s*typedef\b[^{(]*?\b(\w+)\s*(\[[^\]]*\])?\s*;/) { print "$1\n" }
        elsif (/^}\s*(\w+)\s*;/) { print "$1\n" }'
    printf '%s\n' size_t ssize_t int8_t int16_t int32_t int64_t uint8_t \
        uint16_t uint32_t uint64_t intptr_t uintptr_t FILE va_list bool \
        pcre2_code pcre2_match_data pcre2_match_context PCRE2_SIZE \
        PCRE2_SPTR PCRE2_UCHAR
} | sort -u >"$typedefs"

opts=(-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1 -i4 -l79
      -lp -lpl -nip -npro -sac -tpg -ts4 "-U$typedefs")

plain_c() {
    case "$(basename "$1")" in
        uri.[ch]|ping.[ch]|useragent.[ch]|ua_*.[ch]|iso8601.[ch]|parseutil.h)
            return 0 ;;
    esac
    return 1
}

rc=0
for f in "$@"; do
    [ -f "$f" ] || { echo "no such file: $f" >&2; rc=2; continue; }
    out=$work/out.c
    if plain_c "$f"; then
        "$indent" "${opts[@]}" -nut "$f" "$out"
    else
        "$indent" "${opts[@]}" "$f" "$out"
    fi
    # pgindent: a single space before '*' in function return types
    perl -pi -e 's/^([A-Za-z_]\S*)\s+\*$/$1 */' "$out"
    if cmp -s "$f" "$out"; then
        continue
    fi
    if [ $check -eq 1 ]; then
        echo "not indented: $f"
        rc=1
    else
        cat "$out" >"$f"
        echo "indented: $f"
    fi
done
exit $rc
