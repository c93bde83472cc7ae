# Source this (after test/pgenv.sh): a throwaway Citus cluster of a
# coordinator and N workers, each a private PostgreSQL cluster on 127.0.0.1,
# as the postgres user when we are root.
#   citus_start DIR BASEPORT [NWORKERS]   coordinator on BASEPORT, workers on
#                                         BASEPORT+1 .. BASEPORT+N; exports
#                                         PGHOST/PGPORT of the coordinator
#   citus_stop                            stops every node, removes DIR
# CITUS_CONF (an array): more postgresql.conf lines for every node.
# Needs Citus installed into the PostgreSQL of pg_config (test/citus_build.sh).

citus_installed() {
  [ -f "$(pg_config --pkglibdir)/citus.so" ] && [ -f "$(pg_config --sharedir)/extension/citus.control" ]
}

citus_start() {
  [ -n "${CITUS_CONF+x}" ] || CITUS_CONF=()
  CITUS_DIR=$1; local base=$2 n=${3:-2} i port dir
  CITUS_PORTS=()
  mkdir -p "$CITUS_DIR"; [ "$(id -u)" -eq 0 ] && chown postgres: "$CITUS_DIR"
  for ((i = 0; i <= n; i++)); do
    port=$((base + i)); dir="$CITUS_DIR/n$i"
    pgenv_cluster "$dir" "$port" "listen_addresses = '127.0.0.1'" "max_worker_processes = 32" \
      "max_connections = 200" "shared_preload_libraries = 'citus,analytics'" "wal_level = logical" \
      "${CITUS_CONF[@]}" || return 1
    CITUS_PORTS+=("$port")
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE EXTENSION citus" >/dev/null || return 1
  done
  export PGHOST=127.0.0.1 PGPORT=$base PGUSER=postgres
  psql -X -q -d postgres -c "SELECT citus_set_coordinator_host('127.0.0.1', $base)" >/dev/null || return 1
  for ((i = 1; i <= n; i++)); do
    psql -X -q -d postgres -c "SELECT citus_add_node('127.0.0.1', $((base + i)))" >/dev/null || return 1
  done
}

citus_stop() {
  local d
  [ -n "${CITUS_DIR:-}" ] || return 0
  for d in "$CITUS_DIR"/n*; do
    [ -d "$d/data" ] && _pg_as "$PG_BINDIR/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null 2>&1
  done
  rm -rf "$CITUS_DIR"
}
