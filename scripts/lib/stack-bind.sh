# shellcheck shell=bash
# scripts/stack component: BIND 9.18 (named) as the primary of zone example.test., which
# takes RFC 2136 dynamic updates signed with TSIG key failover-key (hmac-sha256) or
# failover-key-sha512 (hmac-sha512).
# Zone example.test. with ns1 A 127.0.0.1 and www 60 A 127.0.0.2 (region us-east), like
# the powerdns component.

BIND_ZONE_NAME=example.test.
BIND_TSIG_KEY_NAME=failover-key
BIND_TSIG_KEY512_NAME=failover-key-sha512

bind_dir() { printf '%s' "$DIR/bind"; }

bind_prepare() {
  want_ports 127.0.0.1 1 BIND_DNS_PORT
}

# bind_secret_file [512]: path of a TSIG secret (base64, no newline) in $DIR/secrets,
# from tsig-keygen on first use: bind_tsig_key (hmac-sha256) or bind_tsig_key_sha512.
bind_secret_file() {
  local f="$DIR/secrets/bind_tsig_key" alg=hmac-sha256 name=$BIND_TSIG_KEY_NAME secret
  if [[ ${1:-} == 512 ]]; then
    f="$DIR/secrets/bind_tsig_key_sha512" alg=hmac-sha512 name=$BIND_TSIG_KEY512_NAME
  fi
  if [[ ! -s $f ]]; then
    mkdir -p "$DIR/secrets"
    chmod 0700 "$DIR/secrets"
    secret=$(tsig-keygen -a "$alg" "$name" | sed -n 's/^[[:space:]]*secret "\(.*\)";$/\1/p')
    [[ -n $secret ]] || die "bind: tsig-keygen printed no secret"
    (umask 077 && printf '%s' "$secret" >"$f.tmp" && mv -f "$f.tmp" "$f")
  fi
  printf '%s' "$f"
}

# bind_write_key_conf FILE NAME ALGORITHM SECRET_FILE: a key statement, for named.conf
# and `nsupdate -k FILE` (which takes one key per file).
bind_write_key_conf() {
  local f=$1 name=$2 alg=$3 secret_file=$4
  (umask 077 && {
    echo "key \"$name\" {"
    echo "  algorithm $alg;"
    echo "  secret \"$(cat "$secret_file")\";"
    echo "};"
  } >"$f.tmp" && mv -f "$f.tmp" "$f")
}

bind_dig() {  # NAME TYPE
  dig @127.0.0.1 -p "$BIND_DNS_PORT" "$1" "$2" +short +time=1 +tries=1 2>/dev/null
}
# Ready: this state dir's named holds the TCP port and answers the zone's SOA. The answer
# alone is not enough: when two stacks (parallel test processes) drew the same free port,
# the second named fails to bind and the first one's answers would pass for it (then
# vanish when the first stack stops).
bind_owns_port() {
  local pid
  pid=$(pid_from "$(bind_dir)/named.pid") || return 1
  ss -Hltnp "sport = :$BIND_DNS_PORT" 2>/dev/null | grep -q "pid=$pid,"
}
bind_ready() { bind_owns_port && [[ -n $(bind_dig "$BIND_ZONE_NAME" SOA) ]]; }
bind_alive() { pidfile_alive "$(bind_dir)/named.pid" named; }
bind_any_running() { bind_alive; }
bind_running() { bind_alive && bind_ready; }

bind_start() {
  local d
  d=$(bind_dir)
  mkdir -p "$d"
  require_port_free bind 127.0.0.1 "$BIND_DNS_PORT"
  bind_write_key_conf "$d/tsig.key" "$BIND_TSIG_KEY_NAME" hmac-sha256 "$(bind_secret_file)"
  bind_write_key_conf "$d/tsig-sha512.key" "$BIND_TSIG_KEY512_NAME" hmac-sha512 \
    "$(bind_secret_file 512)"
  # The zone file is written once; named keeps later updates in example.test.zone.jnl (and
  # syncs them into the file), so a restart keeps what the tests changed.
  if [[ ! -s $d/example.test.zone ]]; then
    cat >"$d/example.test.zone.tmp" <<'EOF'
$TTL 60
@    IN SOA ns1.example.test. hostmaster.example.test. 1 60 60 3600 60
@    IN NS  ns1.example.test.
ns1  IN A   127.0.0.1
www  IN A   127.0.0.2
EOF
    mv -f "$d/example.test.zone.tmp" "$d/example.test.zone"
  fi
  cat >"$d/named.conf" <<EOF
// Written by scripts/stack on every start of this component.
options {
  directory "$d";
  pid-file none;
  session-keyfile "$d/session.key";
  managed-keys-directory "$d";
  listen-on port $BIND_DNS_PORT { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  allow-query { 127.0.0.1; };
  notify no;
};
controls { };
include "$d/tsig.key";
include "$d/tsig-sha512.key";
zone "example.test" {
  type primary;
  file "$d/example.test.zone";
  allow-update { key "$BIND_TSIG_KEY_NAME"; key "$BIND_TSIG_KEY512_NAME"; };
};
EOF
  named-checkconf "$d/named.conf" >"$d/checkconf.log" 2>&1 || {
    show_log "$d/checkconf.log"
    die "bind: named-checkconf failed"
  }
  log "bind: starting (dns 127.0.0.1:$BIND_DNS_PORT, UDP and TCP)"
  # -g: foreground, logging to stderr (the log file); as root without -u it stays root and
  # can write the zone journal in the state dir.
  launch "$d/named.log" "$d/named.pid" named -g -n 1 -c "$d/named.conf"
  wait_until "bind: example.test SOA over DNS" "$LAUNCHED_PID" "$d/named.log" bind_ready
}

bind_stop() { stop_pidfile bind "$(bind_dir)/named.pid" named TERM; }

bind_exports() {
  emit BIND_ADDR "127.0.0.1:$BIND_DNS_PORT"
  emit BIND_ZONE "$BIND_ZONE_NAME"
  emit BIND_KEY_NAME "$BIND_TSIG_KEY_NAME"
  emit BIND_KEY_FILE "$(bind_secret_file)"
  emit BIND_KEY_CONF "$(bind_dir)/tsig.key"
  emit BIND_KEY_SHA512_NAME "$BIND_TSIG_KEY512_NAME"
  emit BIND_KEY_SHA512_FILE "$(bind_secret_file 512)"
}

bind_status() {
  printf 'dns=127.0.0.1:%s zone=%s key=%s pid=%s' "${BIND_DNS_PORT:-?}" "$BIND_ZONE_NAME" \
    "$BIND_TSIG_KEY_NAME" "$(pid_from "$(bind_dir)/named.pid" || echo -)"
}
