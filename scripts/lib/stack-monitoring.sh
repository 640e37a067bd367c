# shellcheck shell=bash
# scripts/stack components: Alertmanager 0.25 and Prometheus 2.42.
# Both configs are regenerated whenever `start` (re)starts the server; tests may rewrite
# them afterwards and POST /-/reload.

# ---- alertmanager

alertmanager_dir() { printf '%s' "$DIR/alertmanager"; }
alertmanager_prepare() { want_ports 127.0.0.1 0 ALERTMANAGER_PORT; }
alertmanager_alive() { pidfile_alive "$(alertmanager_dir)/alertmanager.pid" prometheus-aler; }
alertmanager_ready() { http_ok "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready"; }
alertmanager_any_running() { alertmanager_alive; }
alertmanager_running() { alertmanager_alive && alertmanager_ready; }

alertmanager_start() {
  local d
  d=$(alertmanager_dir)
  mkdir -p "$d/data"
  require_port_free alertmanager 127.0.0.1 "$ALERTMANAGER_PORT"
  cat >"$d/alertmanager.yml" <<'EOF'
# Initial configuration written by scripts/stack; tests rewrite it and POST /-/reload.
route:
  receiver: default
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: default
EOF
  log "alertmanager: starting (127.0.0.1:$ALERTMANAGER_PORT)"
  launch "$d/alertmanager.log" "$d/alertmanager.pid" prometheus-alertmanager \
    --config.file="$d/alertmanager.yml" --storage.path="$d/data" \
    --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address=
  wait_until "alertmanager: /-/ready" "$LAUNCHED_PID" "$d/alertmanager.log" alertmanager_ready
}

alertmanager_stop() {
  stop_pidfile alertmanager "$(alertmanager_dir)/alertmanager.pid" prometheus-aler TERM
}

alertmanager_exports() {
  emit ALERTMANAGER_URL "http://127.0.0.1:$ALERTMANAGER_PORT"
  emit ALERTMANAGER_CONFIG "$(alertmanager_dir)/alertmanager.yml"
}

alertmanager_status() {
  printf 'url=http://127.0.0.1:%s pid=%s' "${ALERTMANAGER_PORT:-?}" \
    "$(pid_from "$(alertmanager_dir)/alertmanager.pid" || echo -)"
}

# ---- prometheus

prometheus_dir() { printf '%s' "$DIR/prometheus"; }
prometheus_prepare() { want_ports 127.0.0.1 0 PROMETHEUS_PORT; }
prometheus_alive() { pidfile_alive "$(prometheus_dir)/prometheus.pid" prometheus; }
prometheus_ready() { http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"; }
prometheus_any_running() { prometheus_alive; }
prometheus_running() { prometheus_alive && prometheus_ready; }

prometheus_start() {
  local d
  d=$(prometheus_dir)
  mkdir -p "$d/data" "$d/rules"
  require_port_free prometheus 127.0.0.1 "$PROMETHEUS_PORT"

  local targets=() t
  if [[ -n ${FAILOVER_STACK_SCRAPE:-} ]]; then
    IFS=',' read -r -a targets <<<"$FAILOVER_STACK_SCRAPE"
    for t in "${targets[@]}"; do
      [[ $t =~ ^(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|localhost):[0-9]{1,5}$ ]] ||
        die "prometheus: FAILOVER_STACK_SCRAPE entry '$t' is not a loopback host:port"
    done
  fi
  {
    echo "# Initial configuration written by scripts/stack; tests may rewrite it and"
    echo "# POST \$PROMETHEUS_URL/-/reload."
    echo "global:"
    echo "  scrape_interval: 1s"
    echo "  evaluation_interval: 1s"
    if alertmanager_running; then
      echo "alerting:"
      echo "  alertmanagers:"
      echo "    - static_configs:"
      echo "        - targets: ['127.0.0.1:$ALERTMANAGER_PORT']"
    fi
    echo "rule_files:"
    echo "  - '$d/rules/*.yml'"
    echo "scrape_configs:"
    echo "  - job_name: prometheus"
    echo "    static_configs:"
    echo "      - targets: ['127.0.0.1:$PROMETHEUS_PORT']"
    if [[ ${#targets[@]} -gt 0 ]]; then
      echo "  - job_name: failover"
      echo "    static_configs:"
      echo "      - targets: [$(printf "'%s'," "${targets[@]}" | sed 's/,$//')]"
    fi
  } >"$d/prometheus.yml"
  log "prometheus: starting (127.0.0.1:$PROMETHEUS_PORT)"
  launch "$d/prometheus.log" "$d/prometheus.pid" prometheus \
    --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle \
    --rules.alert.resend-delay=1s
  wait_until "prometheus: /-/ready" "$LAUNCHED_PID" "$d/prometheus.log" prometheus_ready
}

prometheus_stop() { stop_pidfile prometheus "$(prometheus_dir)/prometheus.pid" prometheus TERM; }

prometheus_exports() {
  emit PROMETHEUS_URL "http://127.0.0.1:$PROMETHEUS_PORT"
  emit PROMETHEUS_CONFIG "$(prometheus_dir)/prometheus.yml"
}

prometheus_status() {
  printf 'url=http://127.0.0.1:%s pid=%s' "${PROMETHEUS_PORT:-?}" \
    "$(pid_from "$(prometheus_dir)/prometheus.pid" || echo -)"
}
