# shellcheck shell=bash
# scripts/stack component: nginx playing two regions, one server block per address:
# us-east = 127.0.0.2, eu-west = 127.0.0.3, same port. GET /healthz answers 200 "ok\n",
# or 503 "maintenance\n" (for every path) while $NGINX_FLAG_DIR/<addr>.down exists.

NGINX_REGIONS=("us-east 127.0.0.2" "eu-west 127.0.0.3")

nginx_dir() { printf '%s' "$DIR/nginx"; }
nginx_prepare() { want_ports 127.0.0.2,127.0.0.3 0 NGINX_PORT; }
nginx_alive() { pidfile_alive "$(nginx_dir)/nginx.pid" nginx; }
nginx_ready() {
  local r code
  for r in "${NGINX_REGIONS[@]}"; do
    code=$(http_code "http://${r#* }:$NGINX_PORT/healthz")
    [[ $code == 200 || $code == 503 ]] || return 1
  done
}
nginx_any_running() { nginx_alive; }
nginx_running() { nginx_alive && nginx_ready; }

nginx_start() {
  local d r name addr
  d=$(nginx_dir)
  mkdir -p "$d/logs" "$d/tmp" "$d/flags"
  chmod 0755 "$d/flags"
  for r in "${NGINX_REGIONS[@]}"; do require_port_free nginx "${r#* }" "$NGINX_PORT"; done
  {
    echo "# Written by scripts/stack on every start of this component."
    echo "daemon off;"
    echo "worker_processes 1;"
    # Workers must read the flag files wherever the state dir lives.
    [[ $(id -u) -eq 0 ]] && echo "user root root;"
    echo "pid $d/nginx.pid;"
    echo "error_log $d/logs/error.log warn;"
    echo "events { worker_connections 256; }"
    echo "http {"
    echo "  access_log off;"
    echo "  client_body_temp_path $d/tmp/body;"
    echo "  proxy_temp_path $d/tmp/proxy;"
    echo "  fastcgi_temp_path $d/tmp/fastcgi;"
    echo "  uwsgi_temp_path $d/tmp/uwsgi;"
    echo "  scgi_temp_path $d/tmp/scgi;"
    echo "  default_type text/plain;"
    for r in "${NGINX_REGIONS[@]}"; do
      name=${r% *}
      addr=${r#* }
      cat <<EOF
  server {  # region $name
    listen $addr:$NGINX_PORT;
    if (-f $d/flags/$addr.down) { return 503 "maintenance\n"; }
    location = /healthz { return 200 "ok\n"; }
    location / { return 200 "region $name\n"; }
  }
EOF
    done
    echo "}"
  } >"$d/nginx.conf"
  nginx -t -q -p "$d/" -c "$d/nginx.conf" -e "$d/logs/error.log" </dev/null >"$d/logs/config-test.log" 2>&1 || {
    show_log "$d/logs/config-test.log"
    die "nginx: configuration test failed"
  }
  log "nginx: starting (127.0.0.2:$NGINX_PORT us-east, 127.0.0.3:$NGINX_PORT eu-west)"
  rm -f "$d/nginx.pid"
  launch "$d/logs/error.log" "" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/logs/error.log"
  wait_until "nginx: /healthz on both addresses" "$LAUNCHED_PID" "$d/logs/error.log" nginx_ready
}

nginx_stop() { stop_pidfile nginx "$(nginx_dir)/nginx.pid" nginx QUIT; }

nginx_exports() {
  emit NGINX_PORT "$NGINX_PORT"
  emit REGION_US_EAST_ADDR 127.0.0.2
  emit REGION_EU_WEST_ADDR 127.0.0.3
  emit NGINX_FLAG_DIR "$(nginx_dir)/flags"
}

nginx_status() {
  local r out="" flag
  for r in "${NGINX_REGIONS[@]}"; do
    flag=""
    [[ -f $(nginx_dir)/flags/${r#* }.down ]] && flag="(down)"
    out+="${r% *}=${r#* }:${NGINX_PORT:-?}$flag "
  done
  printf '%s pid=%s' "${out% }" "$(pid_from "$(nginx_dir)/nginx.pid" || echo -)"
}

# region-down / region-up ADDR|REGION
nginx_region_addr() {
  local r
  for r in "${NGINX_REGIONS[@]}"; do
    if [[ $1 == "${r#* }" || $1 == "${r% *}" ]]; then
      printf '%s' "${r#* }"
      return 0
    fi
  done
  die "unknown region '$1' (use 127.0.0.2, 127.0.0.3, us-east or eu-west)"
}
