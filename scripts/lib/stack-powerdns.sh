# shellcheck shell=bash
# scripts/stack component: PowerDNS Authoritative 4.7 (gsqlite3 backend, HTTP API).
# Zone example.test. with ns1 A 127.0.0.1 and www 60 A 127.0.0.2 (region us-east).

powerdns_dir() { printf '%s' "$DIR/powerdns"; }

powerdns_prepare() {
  want_ports 127.0.0.1 0 PDNS_API_PORT
  want_ports 127.0.0.1 1 PDNS_DNS_PORT
  secret_file pdns_api_key >/dev/null
}

powerdns_api() {  # METHOD PATH [curl args...] -> prints the HTTP status code
  local method=$1 path=$2; shift 2
  curl -s -o "$(powerdns_dir)/last_api_response" -w '%{http_code}' --max-time 5 -X "$method" \
    -H "X-API-Key: $(secret pdns_api_key)" -H 'Accept: application/json' \
    "$@" "http://127.0.0.1:$PDNS_API_PORT$path" 2>/dev/null || true
}

powerdns_ready() { [[ $(powerdns_api GET /api/v1/servers/localhost) == 200 ]]; }
powerdns_alive() { pidfile_alive "$(powerdns_dir)/pdns_server.pid" pdns_server; }
powerdns_any_running() { powerdns_alive; }
powerdns_running() { powerdns_alive && powerdns_ready; }

powerdns_dig() {  # NAME TYPE
  dig @127.0.0.1 -p "$PDNS_DNS_PORT" "$1" "$2" +short +time=1 +tries=1 2>/dev/null
}

powerdns_start() {
  local d
  d=$(powerdns_dir)
  mkdir -p "$d"
  if [[ ! -s $d/pdns.sqlite3 ]]; then
    local schema=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
    [[ -f $schema ]] || die "powerdns: $schema missing (run scripts/setup)"
    rm -f "$d/pdns.sqlite3.tmp"
    sqlite3 "$d/pdns.sqlite3.tmp" <"$schema" || die "powerdns: cannot create the sqlite database"
    mv -f "$d/pdns.sqlite3.tmp" "$d/pdns.sqlite3"
  fi
  require_port_free powerdns 127.0.0.1 "$PDNS_API_PORT"
  require_port_free powerdns 127.0.0.1 "$PDNS_DNS_PORT"
  cat >"$d/pdns.conf" <<EOF
# Written by scripts/stack on every start of this component.
launch=gsqlite3
gsqlite3-database=$d/pdns.sqlite3
gsqlite3-pragma-synchronous=0
api=yes
api-key=$(secret pdns_api_key)
webserver=yes
webserver-address=127.0.0.1
webserver-port=$PDNS_API_PORT
webserver-allow-from=127.0.0.0/8
local-address=127.0.0.1
local-port=$PDNS_DNS_PORT
socket-dir=$d
EOF
  cat "$ROOT/scripts/lib/pdns-tuning.conf" >>"$d/pdns.conf"
  log "powerdns: starting (api 127.0.0.1:$PDNS_API_PORT, dns 127.0.0.1:$PDNS_DNS_PORT)"
  launch "$d/pdns.log" "$d/pdns_server.pid" pdns_server --config-dir="$d"
  local pid=$LAUNCHED_PID
  wait_until "powerdns: HTTP API" "$pid" "$d/pdns.log" powerdns_ready

  local body code
  body='{"name":"example.test.","kind":"Native","nameservers":["ns1.example.test."],"rrsets":[
    {"name":"ns1.example.test.","type":"A","ttl":60,"records":[{"content":"127.0.0.1","disabled":false}]},
    {"name":"www.example.test.","type":"A","ttl":60,"records":[{"content":"127.0.0.2","disabled":false}]}]}'
  code=$(powerdns_api POST /api/v1/servers/localhost/zones -H 'Content-Type: application/json' --data "$body")
  case $code in
    201)
      log "powerdns: created zone example.test."
      wait_until "powerdns: www.example.test A 127.0.0.2 over DNS" "$pid" "$d/pdns.log" \
        powerdns_answers www.example.test A 127.0.0.2
      ;;
    409)
      log "powerdns: zone example.test. exists, left as it is"
      wait_until "powerdns: example.test SOA over DNS" "$pid" "$d/pdns.log" \
        powerdns_answers example.test SOA ''
      ;;
    *)
      cat "$d/last_api_response" >&2 2>/dev/null || true
      die "powerdns: creating zone example.test. answered HTTP $code"
      ;;
  esac
}

powerdns_answers() {  # NAME TYPE EXPECTED ('' = any non-empty answer)
  local got
  got=$(powerdns_dig "$1" "$2")
  if [[ -n $3 ]]; then [[ $got == "$3" ]]; else [[ -n $got ]]; fi
}

powerdns_stop() { stop_pidfile powerdns "$(powerdns_dir)/pdns_server.pid" pdns_server TERM; }

powerdns_exports() {
  emit PDNS_API_URL "http://127.0.0.1:$PDNS_API_PORT"
  emit PDNS_API_KEY "$(secret pdns_api_key)"
  emit PDNS_API_KEY_FILE "$(secret_file pdns_api_key)"
  emit PDNS_DNS_ADDR "127.0.0.1:$PDNS_DNS_PORT"
}

powerdns_status() {
  printf 'api=http://127.0.0.1:%s dns=127.0.0.1:%s pid=%s' "${PDNS_API_PORT:-?}" \
    "${PDNS_DNS_PORT:-?}" "$(pid_from "$(powerdns_dir)/pdns_server.pid" || echo -)"
}
