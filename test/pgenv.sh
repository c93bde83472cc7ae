# Source this: functions to run a private, throwaway PostgreSQL cluster.
#   pgenv_prepare NAME [make targets...]  install missing packages, build and
#                                         install the extension, and set WORK
#                                         to a new /tmp/analytics-NAME.* folder
#   pgenv_start DIR PORT [extra postgresql.conf lines...]
#   pgenv_cluster DIR PORT [lines...]     the same cluster, PGHOST/PGPORT untouched
#   pgenv_stop
# The cluster runs as the postgres user when we are root (PostgreSQL refuses
# to run as root), listens only on a Unix socket in DIR, on PORT.

PG_BINDIR=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

pgenv_prepare() {
  local name=$1; shift
  ./test/deps.sh || return 1
  make -s all "$@" || return 1
  if [ "$(id -u)" -eq 0 ]; then make -s install >/dev/null || return 1
  else sudo make -s install >/dev/null || return 1; fi
  PG_BINDIR=$(pg_config --bindir)
  WORK=$(mktemp -d "/tmp/analytics-$name.XXXXXX") && chmod 755 "$WORK"
}

_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# initdb, the settings (later lines win), start: a cluster in DIR on PORT,
# its Unix socket in DIR
pgenv_cluster() {
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  _pg_as "$PG_BINDIR/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log"; return 1; }
  {
    echo "port = $port"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    echo "fsync = off"
    echo "max_worker_processes = 16"
    for line in "$@"; do echo "$line"; done
  } | _pg_as tee -a "$dir/data/postgresql.conf" >/dev/null
  _pg_as "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log"; return 1; }
}

pgenv_start() {
  PGENV_DIR=$1; local port=$2; shift 2
  pgenv_cluster "$PGENV_DIR" "$port" "$@" || return 1
  export PGHOST=$PGENV_DIR PGPORT=$port PGUSER=postgres
}

pgenv_stop() {
  if [ -n "${PGENV_DIR:-}" ] && [ -d "$PGENV_DIR/data" ]; then
    _pg_as "$PG_BINDIR/pg_ctl" -D "$PGENV_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PGENV_DIR"
  fi
}

# Huge pages for the benchmarks' shared buffers (README "Benchmark"): on the
# VMs measured, every first touch of a 4 kB page of shared memory is a costly
# page fault. As root, pgenv_hugepages PAGES reserves at least PAGES 2 MB
# pages (vm.nr_hugepages) unless the environment variable named by its
# second argument is 0, and sets PGENV_HP_OLD to the value before;
# pgenv_hugepages_restore gives it back (after the clusters stopped). The
# clusters then take huge_pages = try: 4 kB pages where none can be had.
PGENV_HP_OLD=""
pgenv_hugepages() {
  local pages=$1 optout=${2:-}
  [ -n "$optout" ] && [ "${!optout:-1}" = 0 ] && return 0
  [ -w /proc/sys/vm/nr_hugepages ] || return 0
  PGENV_HP_OLD=$(cat /proc/sys/vm/nr_hugepages)
  if [ "$PGENV_HP_OLD" -lt "$pages" ]; then echo "$pages" > /proc/sys/vm/nr_hugepages 2>/dev/null || true; fi
}
pgenv_hugepages_restore() {
  if [ -n "$PGENV_HP_OLD" ]; then echo "$PGENV_HP_OLD" > /proc/sys/vm/nr_hugepages 2>/dev/null || true; fi
}
