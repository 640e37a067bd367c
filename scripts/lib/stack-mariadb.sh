# shellcheck shell=bash
# scripts/stack component: MariaDB 10.11 primary + GTID replica (read_only, log-slave-updates).
# Users (created on the primary for 127.0.0.1 and localhost, replicated): repl, monitor,
# failover, app. Root has no password and is reachable over TCP on 127.0.0.1.

mariadb_dir() { printf '%s' "$DIR/mariadb"; }
mariadb_prepare() {
  want_ports 127.0.0.1 0 MARIADB_PRIMARY_PORT MARIADB_REPLICA_PORT
  local u
  for u in repl monitor failover app; do secret_file "mariadb_$u.password" >/dev/null; done
}

mariadb_port() { if [[ $1 == primary ]]; then echo "$MARIADB_PRIMARY_PORT"; else echo "$MARIADB_REPLICA_PORT"; fi; }
mariadb_sql() {  # ROLE SQL... (as root over TCP)
  local role=$1; shift
  mariadb --no-defaults -uroot -h127.0.0.1 --protocol=tcp -P"$(mariadb_port "$role")" \
    --connect-timeout=2 -N -B -e "$*"
}
mariadb_ping() {
  mariadb-admin --no-defaults -uroot -h127.0.0.1 --protocol=tcp -P"$(mariadb_port "$1")" \
    --connect-timeout=2 ping >/dev/null 2>&1
}
mariadb_alive() { pidfile_alive "$(mariadb_dir)/$1/mariadbd.pid" mariadbd; }
mariadb_node_running() { mariadb_alive "$1" && mariadb_ping "$1"; }
mariadb_any_running() { mariadb_alive primary || mariadb_alive replica; }
mariadb_running() { mariadb_node_running primary && mariadb_node_running replica; }

mariadb_launch() {  # ROLE
  local role=$1 d port
  d="$(mariadb_dir)/$role"
  port=$(mariadb_port "$role")
  require_port_free "mariadb $role" 127.0.0.1 "$port"
  local args=(--no-defaults --user=root --datadir="$d/data" --bind-address=127.0.0.1
    --port="$port" --socket="$d/mysqld.sock" --pid-file="$d/mariadbd.pid"
    --log-error="$d/error.log" --log-bin=mysql-bin --binlog-format=ROW
    --gtid-strict-mode=1 --skip-name-resolve --innodb-buffer-pool-size=64M
    --innodb-log-file-size=16M --innodb-use-native-aio=0
    --relay-log=relay-bin --log-slave-updates)
  if [[ $role == primary ]]; then
    args+=(--server-id=1)
  else
    args+=(--server-id=2 --read-only=1)
  fi
  log "mariadb: starting $role (127.0.0.1:$port)"
  rm -f "$d/mariadbd.pid"
  launch "$d/error.log" "" mariadbd "${args[@]}"
  MARIADB_LAUNCHED[$role]=$LAUNCHED_PID
}

mariadb_start() {
  local d
  d=$(mariadb_dir)
  declare -gA MARIADB_LAUNCHED=()
  mkdir -p "$d"
  if [[ ! -f $d/initialized ]]; then
    # First start (or an earlier one failed half-way): build both servers from scratch.
    mariadb_stop_nodes
    rm -rf "$d/primary" "$d/replica"
    # One mariadb-install-db (CPU-bound, seconds) and a copy for the replica: neither has
    # a binlog yet, so the replica then takes everything from the primary's first GTID.
    mkdir -p "$d/primary" "$d/replica"
    # Its bootstrap server gets a private tmpdir. Under heavy parallel load (ctest -j2
    # with several stacks starting at once) the bootstrap has been seen to crash (signal
    # 11, "Unknown table mysql.tmp_user_*"); a second attempt on a clean datadir passes.
    local attempt
    for attempt in 1 2 3; do
      rm -rf "$d/primary/data" "$d/primary/tmp"
      mkdir -p "$d/primary/tmp"
      log "mariadb: mariadb-install-db (attempt $attempt)"
      if (cd / && mariadb-install-db --no-defaults --user=root --datadir="$d/primary/data" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
        --innodb-log-file-size=16M --innodb-use-native-aio=0 --tmpdir="$d/primary/tmp" \
        </dev/null >"$d/primary/install.log" 2>&1 9>&-); then
        break
      fi
      # The tail of the log is mariadb-install-db's generic advice; the cause is above it.
      grep -i -m 10 -E '\[ERROR\]|error|fatal|abort' "$d/primary/install.log" >&2 || true
      if [[ $attempt == 3 ]]; then
        show_log "$d/primary/install.log"
        die "mariadb: mariadb-install-db failed 3 times"
      fi
      log "mariadb: mariadb-install-db failed; trying again on a clean datadir"
    done
    cp -a "$d/primary/data" "$d/replica/data"
  fi

  start_pair mariadb "$d" error.log
  [[ -f $d/initialized ]] && return 0

  local sql="" h pw_repl pw_mon pw_fo pw_app
  pw_repl=$(secret mariadb_repl.password)
  pw_mon=$(secret mariadb_monitor.password)
  pw_fo=$(secret mariadb_failover.password)
  pw_app=$(secret mariadb_app.password)
  sql+="CREATE DATABASE shop;"
  sql+="CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(100));"
  for h in 127.0.0.1 localhost; do
    sql+="CREATE USER 'repl'@'$h' IDENTIFIED BY '$pw_repl';"
    sql+="GRANT REPLICATION SLAVE ON *.* TO 'repl'@'$h';"
    sql+="CREATE USER 'monitor'@'$h' IDENTIFIED BY '$pw_mon';"
    sql+="GRANT PROCESS, SELECT, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO 'monitor'@'$h';"
    sql+="CREATE USER 'failover'@'$h' IDENTIFIED BY '$pw_fo';"
    sql+="GRANT ALL PRIVILEGES ON *.* TO 'failover'@'$h' WITH GRANT OPTION;"
    sql+="CREATE USER 'app'@'$h' IDENTIFIED BY '$pw_app';"
    sql+="GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO 'app'@'$h';"
  done
  mariadb_sql primary "$sql" || die "mariadb: creating users and shop.orders on the primary failed"
  mariadb_sql replica "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$MARIADB_PRIMARY_PORT,
    MASTER_USER='repl', MASTER_PASSWORD='$pw_repl', MASTER_USE_GTID=slave_pos,
    MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1; START SLAVE;" ||
    die "mariadb: configuring replication on the replica failed"
  # Everything above, not just its first statements: the users come after the table, and
  # a test that stops the replica's SQL thread at once must find them there.
  wait_until "mariadb replica: shop.orders and the users replicated" \
    "${MARIADB_LAUNCHED[replica]:-}" "$d/replica/error.log" mariadb_has_setup replica
  touch "$d/initialized"
  log "mariadb: replica replicates from the primary (GTID)"
}

mariadb_has_setup() {  # ROLE: the setup's table and its last statement (app@localhost's grant)
  [[ $(mariadb_sql "$1" "SELECT (SELECT COUNT(*) FROM information_schema.tables
    WHERE table_schema='shop' AND table_name='orders')
    + (SELECT COUNT(*) FROM mysql.db WHERE User='app' AND Host='localhost' AND Db='shop')") == 2 ]]
}

mariadb_stop_node() {  # ROLE: clean shutdown via mariadb-admin, signals as fallback
  local role=$1 d pid
  d="$(mariadb_dir)/$role"
  pid=$(pid_from "$d/mariadbd.pid") || return 0
  proc_alive "$pid" mariadbd || return 0
  log "mariadb: stopping $role (pid $pid)"
  stop_gracefully "mariadb: $role" "$pid" KILL mariadb_shutdown "$role"
}
mariadb_shutdown() {  # ROLE
  mariadb-admin --no-defaults -uroot -h127.0.0.1 --protocol=tcp -P"$(mariadb_port "$1")" \
    --connect-timeout=2 shutdown >/dev/null 2>&1
}
mariadb_stop_nodes() { mariadb_stop_node replica; mariadb_stop_node primary; }
mariadb_stop() { mariadb_stop_nodes; }

mariadb_exports() {
  emit MARIADB_PRIMARY_ADDR "127.0.0.1:$MARIADB_PRIMARY_PORT"
  emit MARIADB_REPLICA_ADDR "127.0.0.1:$MARIADB_REPLICA_PORT"
  emit MARIADB_MONITOR_PASSWORD_FILE "$(secret_file mariadb_monitor.password)"
  emit MARIADB_FAILOVER_PASSWORD_FILE "$(secret_file mariadb_failover.password)"
  emit MARIADB_APP_PASSWORD_FILE "$(secret_file mariadb_app.password)"
}

mariadb_status() { nodes_status mariadb primary replica; }
