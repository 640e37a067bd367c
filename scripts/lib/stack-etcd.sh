# shellcheck shell=bash
# scripts/stack component: etcd 3.4, one member on 127.0.0.1, v3 API and its JSON gateway
# (the actuator's HA journal and execution lock). ETCD_ENDPOINTS is its client URL.

etcd_dir() { printf '%s' "$DIR/etcd"; }
etcd_prepare() { want_ports 127.0.0.1 0 ETCD_CLIENT_PORT ETCD_PEER_PORT; }
etcd_url() { printf 'http://127.0.0.1:%s' "$ETCD_CLIENT_PORT"; }
etcd_alive() { pidfile_alive "$(etcd_dir)/etcd.pid" etcd; }
etcd_ready() { http_ok "$(etcd_url)/health"; }
etcd_any_running() { etcd_alive; }
etcd_running() { etcd_alive && etcd_ready; }

etcd_start() {
  local d state=new
  d=$(etcd_dir)
  mkdir -p "$d"
  [[ -d $d/data/member ]] && state=existing
  require_port_free etcd 127.0.0.1 "$ETCD_CLIENT_PORT"
  require_port_free etcd 127.0.0.1 "$ETCD_PEER_PORT"
  log "etcd: starting (client http://127.0.0.1:$ETCD_CLIENT_PORT)"
  launch "$d/etcd.log" "$d/etcd.pid" etcd --name n1 --data-dir "$d/data" \
    --logger=zap --log-outputs=stderr \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "n1=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state "$state"
  wait_until "etcd: /health" "$LAUNCHED_PID" "$d/etcd.log" etcd_ready
}

etcd_stop() { stop_pidfile etcd "$(etcd_dir)/etcd.pid" etcd; }

etcd_exports() {
  emit ETCD_ENDPOINTS "$(etcd_url)"
  emit ETCD_PID "$(pid_from "$(etcd_dir)/etcd.pid" || true)"
}

etcd_status() {
  printf 'client=%s pid=%s' "$(etcd_url)" "$(pid_from "$(etcd_dir)/etcd.pid" || echo -)"
}
