#!/usr/bin/env bash
# ctest package_deb (label "package"): the Debian package as a user meets it.
#   1. scripts/package builds failover_<version>_<arch>.deb (lintian: no errors);
#   2. dpkg -i installs it on this machine (the user `failover` is created, the units are
#      installed but not enabled, /etc/failover/* are conffiles readable by the group);
#   3. /usr/bin/failover_exporter --version and --config.check on the installed examples
#      (as the user failover, from /etc/failover, as the units run them);
#   4. systemd-analyze verify on the installed units;
#   5. the installed exporter starts with TLS from a web config (a certificate made here,
#      loopback, a free port) and answers /metrics over https in both formats;
#   6. dpkg -r leaves nothing but the conffiles; dpkg --purge removes those too.
# It changes the machine's package database, so it runs only as root (CI runs as root on
# a throwaway machine); otherwise it is skipped (exit 77). Usage: deb_test.sh <build dir>
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: deb_test.sh <build dir>}
if [[ $(id -u) != 0 ]]; then
  echo "SKIP: the package test installs a .deb and needs root"
  exit 77
fi
if dpkg-query -W -f='${db:Status-Status}' failover 2>/dev/null | grep -qv '^not-installed$'; then
  echo "FAIL: a package named failover is already on this machine ($(dpkg-query -W -f='${Version} ${db:Status-Status}' failover));" \
       "this test would replace it: remove it first (dpkg --purge failover)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/failover-deb-test.XXXXXX)
chmod 0755 "$work"
pid=
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  if dpkg-query -W -f='${db:Status-Status}' failover 2>/dev/null | grep -qv '^not-installed$'; then
    dpkg --purge failover >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "1. build the package"
deb=$("$src/scripts/package" --build-dir "$build" --out "$work" | tail -n 1)
[[ -f "$deb" ]] || fail "scripts/package printed no package"
arch=$(dpkg --print-architecture)
[[ $(basename "$deb") =~ ^failover_[0-9][^_]*_${arch}\.deb$ ]] || fail "unexpected name $(basename "$deb")"
dpkg-deb -f "$deb" Depends | grep -q 'libc6' || fail "Depends lacks the libraries (dpkg-shlibdeps): $(dpkg-deb -f "$deb" Depends)"
echo "$deb: Depends: $(dpkg-deb -f "$deb" Depends)"

step "2. dpkg -i"
dpkg -i "$deb"
[[ $(dpkg-query -W -f='${db:Status-Status}' failover) == installed ]] || fail "not installed"
getent passwd failover >/dev/null || fail "postinst did not create the user failover"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' failover | awk 'NF {print $1}' | sort)
for f in /etc/failover/exporter.yml /etc/failover/actuator.yml /etc/failover/web-config.yml; do
  grep -qx "$f" <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
[[ $(stat -c '%U:%G %a' /etc/failover/exporter.yml) == "root:failover 640" ]] ||
  fail "/etc/failover/exporter.yml is $(stat -c '%U:%G %a' /etc/failover/exporter.yml), not root:failover 640"
for unit in failover-exporter.service failover-actuator.service; do
  [[ -f /lib/systemd/system/$unit ]] || fail "$unit not installed"
  state=$(systemctl --root=/ is-enabled "$unit" 2>/dev/null || true)
  [[ "$state" == disabled ]] || fail "$unit is \"$state\", not disabled"
done
[[ -f /usr/share/failover/rules/failover.rules.yml && -f /usr/share/failover/dashboards/failover.json ]] ||
  fail "rules or dashboard missing under /usr/share/failover"

step "3. --version and --config.check of the installed files"
version=$(/usr/bin/failover_exporter --version)
echo "$version"
grep -Eq '^failover_exporter, version [0-9][^ ]* \(branch: [^,]+, revision: [0-9a-f]{12}\)$' <<<"$version" ||
  fail "--version: unexpected first line"
for field in "build user" "build date" compiler platform; do
  grep -q "^  $field: " <<<"$version" || fail "--version lacks \"$field\""
done
/usr/bin/failover_actuator --version | grep -q '^failover_actuator, version ' || fail "actuator --version"
(cd /etc/failover && runuser -u failover -- /usr/bin/failover_exporter --config.check \
  --config.file=/etc/failover/exporter.yml --web.config.file=/etc/failover/web-config.yml)
(cd /etc/failover && runuser -u failover -- /usr/bin/failover_actuator --config.check \
  --config.file=/etc/failover/actuator.yml)

step "4. systemd-analyze verify on the installed units"
out=$(systemd-analyze verify /lib/systemd/system/failover-exporter.service \
  /lib/systemd/system/failover-actuator.service 2>&1) || fail "systemd-analyze verify: $out"
[[ -z "$out" ]] || fail "systemd-analyze verify warns: $out"
grep -q '^ExecStart=/usr/bin/failover_exporter ' /lib/systemd/system/failover-exporter.service ||
  fail "the installed unit does not run /usr/bin/failover_exporter"

step "5. the installed exporter with TLS from a web config"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/server.key" -out "$work/server.crt" 2>/dev/null
chown failover "$work/server.key"
cat > "$work/web.yml" <<YML
tls_server_config:
  cert_file: $work/server.crt
  key_file: $work/server.key
YML
(cd /etc/failover && exec runuser -u failover -- /usr/bin/failover_exporter \
  --config.file=/etc/failover/exporter.yml --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:0) 2> "$work/exporter.log" &
pid=$!
address=
for _ in $(seq 1 100); do
  address=$(sed -n 's/.*msg=listening address=\([0-9.:]*\).*/\1/p' "$work/exporter.log" | head -n 1)
  [[ -n "$address" ]] && break
  kill -0 "$pid" 2>/dev/null || fail "the exporter exited: $(cat "$work/exporter.log")"
  sleep 0.1
done
[[ -n "$address" ]] || fail "the exporter did not log its address: $(cat "$work/exporter.log")"
metrics=$(curl -sS --fail --max-time 10 --cacert "$work/server.crt" "https://$address/metrics")
grep -q '^failover_exporter_build_info{' <<<"$metrics" || fail "no build_info over https"
om=$(curl -sS --fail --max-time 10 --cacert "$work/server.crt" --compressed \
  -H 'Accept: application/openmetrics-text; version=1.0.0' "https://$address/metrics")
[[ $(tail -n 1 <<<"$om") == "# EOF" ]] || fail "OpenMetrics answer does not end with # EOF"
if curl -s --max-time 5 "http://$address/metrics" >/dev/null 2>&1; then
  fail "plain http answered on a TLS listener"
fi
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

step "6. dpkg -r leaves only the conffiles, dpkg --purge removes them"
dpkg -r failover
[[ $(dpkg-query -W -f='${db:Status-Status}' failover) == config-files ]] || fail "not in config-files state"
while read -r path; do
  [[ -d "$path" ]] && continue
  if grep -qx "$path" <<<"$conffiles"; then
    [[ -e "$path" ]] || fail "conffile $path removed by dpkg -r"
  else
    [[ ! -e "$path" ]] || fail "$path left after dpkg -r"
  fi
done < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|; /\/$/d')
dpkg --purge failover
[[ ! -e /etc/failover/exporter.yml ]] || fail "conffiles left after purge"
echo "PASS"
