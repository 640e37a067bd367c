# shellcheck shell=bash
# scripts/stack component: PostgreSQL 15 primary + streaming standby (pg_basebackup -R).
# initdb/pg_ctl refuse root: as root they run as the `postgres` OS user in a directory it
# owns ($DIR/postgres, or a /tmp directory recorded as PG_ROOT in $DIR/env when the
# postgres user cannot reach the state directory or the socket path would be too long).
# Roles: postgres (superuser, trust on loopback), monitor (pg_monitor), failover (superuser).

pg_bin() {
  local b
  for b in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [[ -x $b/pg_ctl ]] && { printf '%s' "$b"; return 0; }
  done
  die "postgres: no /usr/lib/postgresql/*/bin/pg_ctl (run scripts/setup)"
}

as_pg() {  # CMD...: runs as the postgres OS user when we are root
  if [[ $(id -u) -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# Chooses PG_ROOT (once) and makes sure it exists with the right owner.
postgres_root() {
  if [[ -z ${PG_ROOT:-} ]]; then
    local root="$DIR/postgres" ok=1
    # The unix socket path ($root/.s.PGSQL.NNNNN) must stay under 107 bytes.
    ((${#root} <= 80)) || ok=0
    if ((ok)) && [[ $(id -u) -eq 0 ]]; then
      chmod 0711 "$DIR"
      runuser -u postgres -- test -x "$DIR" 2>/dev/null || ok=0
    fi
    if ((!ok)); then
      root=$(mktemp -d /tmp/failover-stack-pg-XXXXXX)
      log "postgres: using $root (the postgres user cannot use $DIR/postgres)"
    fi
    state_set PG_ROOT "$root"
  fi
  mkdir -p "$PG_ROOT"
  if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$PG_ROOT"; fi
  chmod 0700 "$PG_ROOT"
}

postgres_prepare() {
  postgres_root
  want_ports 127.0.0.1 0 PG_PRIMARY_PORT PG_STANDBY_PORT
  secret_file pg_monitor.password >/dev/null
  secret_file pg_failover.password >/dev/null
}

postgres_port() { if [[ $1 == primary ]]; then echo "$PG_PRIMARY_PORT"; else echo "$PG_STANDBY_PORT"; fi; }
postgres_psql() {  # ROLE DB SQL
  "$(pg_bin)/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(postgres_port "$1")" \
    -U postgres -d "$2" -c "$3"
}
postgres_alive() { [[ -n ${PG_ROOT:-} ]] && pidfile_alive "$PG_ROOT/$1/postmaster.pid" postgres; }
postgres_ready() {
  "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$(postgres_port "$1")" -t 2 >/dev/null 2>&1
}
postgres_node_running() { postgres_alive "$1" && postgres_ready "$1"; }
postgres_any_running() { postgres_alive primary || postgres_alive standby; }
postgres_running() { postgres_node_running primary && postgres_node_running standby; }

postgres_launch() {  # ROLE
  local role=$1 port opts
  port=$(postgres_port "$role")
  require_port_free "postgres $role" 127.0.0.1 "$port"
  # fsync=off: throw-away test data; saves seconds of syncing at checkpoints and when a
  # standby starts from a base backup. A killed server still recovers (the OS has the data).
  # pg_rewind (db_rejoin) needs wal_log_hints=on (or data checksums) and the old primary's
  # WAL back to the last checkpoint before the divergence: a stopped server's shutdown
  # checkpoint would remove it, wal_keep_size keeps it.
  opts="-p $port -k $PG_ROOT -c listen_addresses=127.0.0.1 -c fsync=off -c wal_log_hints=on"
  opts+=" -c wal_keep_size=256MB"
  [[ $role == standby ]] && opts+=" -c wal_receiver_status_interval=1s"
  log "postgres: starting $role (127.0.0.1:$port)"
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_ROOT/$role" -l "$PG_ROOT/$role.log" -w -t "$STACK_TIMEOUT" \
    -o "$opts" start </dev/null >>"$PG_ROOT/pg_ctl.log" 2>&1 9>&- || {
    show_log "$PG_ROOT/$role.log"
    die "postgres: pg_ctl start failed for the $role"
  }
}

postgres_streaming() {
  [[ $(postgres_psql standby postgres "SELECT pg_is_in_recovery()") == t ]] &&
    [[ $(postgres_psql primary postgres \
      "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") -ge 1 ]]
}

postgres_start() {
  local bin
  bin=$(pg_bin)
  if [[ ! -f $PG_ROOT/initialized ]]; then
    # First start (or an earlier one failed half-way): build both servers from scratch.
    postgres_stop_nodes
    rm -rf "${PG_ROOT:?}/primary" "${PG_ROOT:?}/standby"
    log "postgres: initdb"
    as_pg "$bin/initdb" -D "$PG_ROOT/primary" -U postgres --auth=trust -E UTF8 \
      --locale=C.UTF-8 --no-sync --no-instructions </dev/null >"$PG_ROOT/initdb.log" 2>&1 || {
      show_log "$PG_ROOT/initdb.log"
      die "postgres: initdb failed"
    }
    postgres_launch primary
    local pw_mon pw_fo
    pw_mon=$(secret pg_monitor.password)
    pw_fo=$(secret pg_failover.password)
    postgres_psql primary postgres "CREATE ROLE monitor LOGIN PASSWORD '$pw_mon' IN ROLE pg_monitor;
      CREATE ROLE failover LOGIN SUPERUSER PASSWORD '$pw_fo';" >/dev/null ||
      die "postgres: creating roles monitor and failover failed"
    postgres_psql primary postgres "CREATE DATABASE shop;" >/dev/null ||
      die "postgres: creating database shop failed"
    postgres_psql primary shop \
      "CREATE TABLE orders (id SERIAL PRIMARY KEY, note VARCHAR(100));" >/dev/null ||
      die "postgres: creating shop.orders failed"
    log "postgres: pg_basebackup for the standby"
    as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres \
      -D "$PG_ROOT/standby" -R -X stream -c fast --no-sync </dev/null >"$PG_ROOT/basebackup.log" 2>&1 || {
      show_log "$PG_ROOT/basebackup.log"
      die "postgres: pg_basebackup failed"
    }
    postgres_launch standby
    wait_until "postgres: standby streaming" "" "$PG_ROOT/standby.log" postgres_streaming
    touch "$PG_ROOT/initialized"
    log "postgres: standby streams from the primary"
    return 0
  fi
  local role
  for role in primary standby; do
    postgres_node_running "$role" || postgres_launch "$role"
  done
}

postgres_stop_node() {  # ROLE: pg_ctl -m fast stop as postgres
  local role=$1 pid
  [[ -n ${PG_ROOT:-} ]] || return 0
  pid=$(pid_from "$PG_ROOT/$role/postmaster.pid") || return 0
  proc_alive "$pid" postgres || return 0
  log "postgres: stopping $role (pid $pid)"
  stop_gracefully "postgres: $role" "$pid" QUIT postgres_shutdown "$role"
}
postgres_shutdown() {  # ROLE
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_ROOT/$1" -m fast -w -t "$STACK_TIMEOUT" stop \
    </dev/null >>"$PG_ROOT/pg_ctl.log" 2>&1 9>&-
}
postgres_stop_nodes() { postgres_stop_node standby; postgres_stop_node primary; }
postgres_stop() { postgres_stop_nodes; }

postgres_exports() {
  emit PG_PRIMARY_ADDR "127.0.0.1:$PG_PRIMARY_PORT"
  emit PG_STANDBY_ADDR "127.0.0.1:$PG_STANDBY_PORT"
  emit PG_SOCKET_DIR "$PG_ROOT"
  emit PG_MONITOR_PASSWORD_FILE "$(secret_file pg_monitor.password)"
  emit PG_FAILOVER_PASSWORD_FILE "$(secret_file pg_failover.password)"
}

postgres_status() { printf '%s data=%s' "$(nodes_status postgres primary standby)" "${PG_ROOT:-?}"; }
