# shellcheck shell=bash
# scripts/stack component: Redis 7 primary + replica (REPLICAOF), sessions and carts of the
# seed shops. The primary also listens with TLS (a self-signed certificate for 127.0.0.1
# and localhost, made here with openssl). The default user has no password (replication
# and redis-cli need nothing); the ACL user `failover` (password in
# $DIR/secrets/redis_failover.password) may run INFO and PING only.

redis_dir() { printf '%s' "$DIR/redis"; }
redis_prepare() {
  want_ports 127.0.0.1 0 REDIS_PRIMARY_PORT REDIS_REPLICA_PORT REDIS_PRIMARY_TLS_PORT
  secret_file redis_failover.password >/dev/null
}

redis_port() { if [[ $1 == primary ]]; then echo "$REDIS_PRIMARY_PORT"; else echo "$REDIS_REPLICA_PORT"; fi; }
redis_cli() {  # ROLE ARGS...
  local role=$1; shift
  redis-cli -h 127.0.0.1 -p "$(redis_port "$role")" "$@"
}
redis_alive() { pidfile_alive "$(redis_dir)/$1/redis.pid" redis-server; }
redis_ping() { [[ $(redis_cli "$1" ping 2>/dev/null) == PONG ]]; }
redis_node_running() { redis_alive "$1" && redis_ping "$1"; }
redis_any_running() { redis_alive primary || redis_alive replica; }
redis_running() { redis_node_running primary && redis_node_running replica; }
redis_link_up() { redis_cli replica info replication 2>/dev/null | grep -q '^master_link_status:up'; }

redis_cert() {
  local d
  d=$(redis_dir)
  [[ -s $d/tls/cert.pem && -s $d/tls/key.pem ]] && return 0
  mkdir -p "$d/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
    -keyout "$d/tls/key.pem" -out "$d/tls/cert.pem" >"$d/tls/openssl.log" 2>&1 ||
    {
      show_log "$d/tls/openssl.log"
      die "redis: making the TLS certificate failed"
    }
}

redis_launch() {  # ROLE
  local role=$1 d port pw
  d="$(redis_dir)/$role"
  port=$(redis_port "$role")
  mkdir -p "$d"
  require_port_free "redis $role" 127.0.0.1 "$port"
  pw=$(secret redis_failover.password)
  {
    echo "bind 127.0.0.1"
    echo "port $port"
    echo "dir $d"
    echo "pidfile $d/redis.pid"
    echo "daemonize no"
    echo "save \"\""
    echo "appendonly no"
    echo "protected-mode no"
    echo "repl-ping-replica-period 1"
    echo "user failover on >$pw -@all +info +ping"
    if [[ $role == primary ]]; then
      require_port_free "redis primary (TLS)" 127.0.0.1 "$REDIS_PRIMARY_TLS_PORT"
      echo "tls-port $REDIS_PRIMARY_TLS_PORT"
      echo "tls-cert-file $(redis_dir)/tls/cert.pem"
      echo "tls-key-file $(redis_dir)/tls/key.pem"
      echo "tls-auth-clients no"
    else
      echo "replicaof 127.0.0.1 $REDIS_PRIMARY_PORT"
    fi
  } >"$d/redis.conf"
  chmod 0600 "$d/redis.conf"
  log "redis: starting $role (127.0.0.1:$port)"
  rm -f "$d/redis.pid"
  launch "$d/redis.log" "$d/redis.pid" redis-server "$d/redis.conf"
  REDIS_LAUNCHED[$role]=$LAUNCHED_PID
}

redis_start() {
  local d
  d=$(redis_dir)
  declare -gA REDIS_LAUNCHED=()
  mkdir -p "$d"
  redis_cert
  start_pair redis "$d" redis.log
  wait_until "redis replica: link to the primary up" "${REDIS_LAUNCHED[replica]:-}" \
    "$d/replica/redis.log" redis_link_up
}

redis_stop() {
  stop_pidfile "redis replica" "$(redis_dir)/replica/redis.pid" redis-server
  stop_pidfile "redis primary" "$(redis_dir)/primary/redis.pid" redis-server
}

redis_exports() {
  emit REDIS_PRIMARY_ADDR "127.0.0.1:$REDIS_PRIMARY_PORT"
  emit REDIS_REPLICA_ADDR "127.0.0.1:$REDIS_REPLICA_PORT"
  emit REDIS_PRIMARY_TLS_ADDR "127.0.0.1:$REDIS_PRIMARY_TLS_PORT"
  emit REDIS_TLS_CA_FILE "$(redis_dir)/tls/cert.pem"
  emit REDIS_FAILOVER_PASSWORD_FILE "$(secret_file redis_failover.password)"
  emit REDIS_PRIMARY_PID "$(pid_from "$(redis_dir)/primary/redis.pid" || true)"
  emit REDIS_REPLICA_PID "$(pid_from "$(redis_dir)/replica/redis.pid" || true)"
}

redis_status() { nodes_status redis primary replica; }
