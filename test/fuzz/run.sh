#!/usr/bin/env bash
# test/fuzz/run.sh [SECONDS] [TARGET...]
#
# Build the libFuzzer targets (uri, ping, useragent, iso8601; default: all) with
# ASan + UBSan into a temporary directory (never into the repository), run
# each one for SECONDS (default 60) on a writable copy of its seed corpus
# test/fuzz/corpus/<target>/, and print per target: executions, exec/s,
# coverage (cov, ft), corpus size, and crash files.  Exit status 1 when any
# target crashed (or failed to build), else 0.
#
# Environment:
#   FUZZ_WORKDIR  build/run directory (default: a new mktemp -d under /tmp);
#                 kept after the run: <dir>/<target>/{fuzz_<target>,corpus/,
#                 crashes/,fuzz.log}
#   FUZZ_JOBS     targets run at the same time (default 1)
#   FUZZ_ARGS     extra libFuzzer options (e.g. "-max_len=8192")
#   CC            compiler (default clang)
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dur=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(uri ping useragent iso8601)
CC=${CC:-clang}
jobs=${FUZZ_JOBS:-1}

case "$dur" in ''|*[!0-9]*) echo "usage: $0 [SECONDS] [uri|ping|useragent|iso8601 ...]" >&2; exit 2;; esac
for t in "${targets[@]}"; do
    case "$t" in uri|ping|useragent|iso8601) ;; *) echo "unknown target: $t" >&2; exit 2;; esac
done

# --- toolchain -------------------------------------------------------------
need_pkgs=()
command -v "$CC" >/dev/null 2>&1 || need_pkgs+=(clang)
if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 &&
   ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
    need_pkgs+=(libclang-rt-14-dev)
fi
for t in "${targets[@]}"; do
    if [ "$t" = useragent ]; then
        [ -f /usr/include/pcre2.h ] || need_pkgs+=(libpcre2-dev)
        [ -f /usr/share/uap-core/regexes.yaml ] || [ -n "${UAP_REGEXES:-}" ] || need_pkgs+=(uap-core)
    fi
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing: ${need_pkgs[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null ||
            { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null; } ||
            { echo "cannot install ${need_pkgs[*]}" >&2; exit 2; }
    else
        echo "missing: ${need_pkgs[*]} (install them, or run as root to have them installed)" >&2
        exit 2
    fi
fi

work=${FUZZ_WORKDIR:-$(mktemp -d /tmp/analytics-fuzz.XXXXXX)}
mkdir -p "$work"
case "$work" in "$repo"|"$repo"/*) echo "FUZZ_WORKDIR must be outside the repository" >&2; exit 2;; esac
echo "work dir: $work   (${dur}s per target: ${targets[*]})"

CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$repo/src"

build_target() {
    local t=$1 d=$work/$1
    local src libs
    case "$t" in
        uri)       src="$repo/src/uri.c";       libs="" ;;
        ping)      src="$repo/src/ping.c";      libs="-lm" ;;
        iso8601)   src="$repo/src/iso8601.c";   libs="" ;;
        useragent) src="$repo/src/useragent.c $repo/src/ua_yaml.c $repo/src/ua_prefilter.c"; libs="-lpcre2-8" ;;
    esac
    mkdir -p "$d/corpus" "$d/crashes"
    # shellcheck disable=SC2086
    $CC $CFLAGS -o "$d/fuzz_$t" "$here/fuzz_$t.c" $src $libs >"$d/build.log" 2>&1
}

run_target() {
    local t=$1 d=$work/$1
    local dict=()
    if ! build_target "$t"; then
        echo "build failed" >"$d/status"
        return
    fi
    if [ -d "$here/corpus/$t" ]; then
        cp -R "$here/corpus/$t/." "$d/corpus/"
    fi
    chmod -R u+w "$d/corpus"
    [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
    (
        cd "$d" || exit 1
        # shellcheck disable=SC2086
        ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "./fuzz_$t" -max_total_time="$dur" -print_final_stats=1 \
            -timeout=30 -artifact_prefix="$d/crashes/" "${dict[@]}" \
            ${FUZZ_ARGS:-} corpus >fuzz.log 2>&1
        echo $? >status
    )
}

summary() {
    local t=$1 d=$work/$1 st execs eps cov ft corp ncorp kb crashes
    st=$(cat "$d/status" 2>/dev/null || echo "?")
    echo "== $t"
    if [ "$st" = "build failed" ]; then
        echo "   BUILD FAILED (see $d/build.log)"; sed 's/^/   | /' "$d/build.log" | head -20
        return 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/fuzz.log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/fuzz.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$d/fuzz.log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$d/fuzz.log" | tail -1 | cut -d' ' -f2)
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$d/fuzz.log" | tail -1 | cut -d' ' -f2)
    ncorp=$(find "$d/corpus" -type f | wc -l)
    kb=$(du -sk "$d/corpus" | cut -f1)
    echo "   executions: ${execs:-?}   exec/s: ${eps:-?}   cov: ${cov:-?}   ft: ${ft:-?}"
    echo "   corpus: ${ncorp} files, ${kb} KB on disk (libFuzzer corp: ${corp:-?})   dir: $d/corpus"
    crashes=$(find "$d/crashes" -type f 2>/dev/null)
    if [ -n "$crashes" ] || [ "$st" != 0 ]; then
        echo "   CRASH (libFuzzer exit status $st); log: $d/fuzz.log"
        grep -m3 -E '^==[0-9]+==ERROR|runtime error|invariant violated|deadly signal|ERROR: libFuzzer' "$d/fuzz.log" | sed 's/^/   | /'
        for f in $crashes; do echo "   reproducer: $f"; done
        echo "   replay: $d/fuzz_$t <reproducer>"
        return 1
    fi
    echo "   no crash   log: $d/fuzz.log"
    return 0
}

running=0
for t in "${targets[@]}"; do
    run_target "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n 2>/dev/null || wait
        running=$((running - 1))
    fi
done
wait

rc=0
for t in "${targets[@]}"; do
    summary "$t" || rc=1
done
echo "work dir kept: $work"
exit $rc
