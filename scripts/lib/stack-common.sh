# shellcheck shell=bash
# Shared helpers for scripts/stack (sourced, not executed). See docs/stack.md.
# Conventions: progress and errors go to stderr; stdout is reserved for `export` lines.
# Every daemon is started with stdin from /dev/null, stdout/stderr to its log file and
# fd 9 (the state-dir lock) closed, so it holds no caller pipe and no lock.

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
  printf 'stack: error: %s\n' "$*" >&2
  exit 1
}

# Prints the last lines of a log file to stderr (for failure reports).
show_log() {
  local f=$1
  [[ -f $f ]] || return 0
  printf 'stack: --- last lines of %s ---\n' "$f" >&2
  tail -n 25 "$f" >&2 || true
  printf 'stack: ---\n' >&2
}

# ---- state file: "$DIR/env", NAME=value lines (ports and paths chosen once, then reused)

state_load() {
  [[ -f $DIR/env ]] || return 0
  local line name value
  while IFS= read -r line; do
    [[ $line =~ ^([A-Z0-9_]+)=(.*)$ ]] || continue
    name=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    printf -v "$name" '%s' "$value"
  done <"$DIR/env"
}

state_set() {  # NAME value
  local name=$1 value=$2 tmp="$DIR/env.tmp.$$"
  printf -v "$name" '%s' "$value"
  {
    echo "# Ports and paths chosen by scripts/stack on first start, reused by every later"
    echo "# start. For clients, 'scripts/stack env' prints the export lines."
    if [[ -f $DIR/env ]]; then grep -E '^[A-Z0-9_]+=' "$DIR/env" | grep -v "^$name=" || true; fi
    echo "$name=$value"
  } >"$tmp"
  mv -f "$tmp" "$DIR/env"
}

state_unset() {  # NAME...
  [[ -f $DIR/env ]] || return 0
  local name tmp="$DIR/env.tmp.$$"
  cp "$DIR/env" "$tmp"
  for name in "$@"; do
    grep -v "^$name=" "$tmp" >"$tmp.2" || true
    mv -f "$tmp.2" "$tmp"
    unset "$name"
  done
  mv -f "$tmp" "$DIR/env"
}

# want_ports ADDRS UDP NAME... : queues NAMEs that need a port free for TCP (and UDP when
# UDP=1) on every address in the comma-separated ADDRS; alloc_ports then picks them all
# with one python3 run. Names already in the state file keep their port. Ports come from
# below the kernel's ephemeral range (outgoing connections never take them) and differ
# from every port already recorded, in this stack and in every other stack on the
# machine: a port is free when picked, but a server binds it only seconds later (after
# mariadb-install-db, say), and a stack started meanwhile by a parallel test must not
# pick it too. The stacks' ports are listed in $FAILOVER_STACK_PORTS (default
# /tmp/failover-stack-ports-$UID, "PORT DIR" lines, changed under an flock); a line whose
# stack directory is gone (`scripts/stack stop --clean`) no longer counts.
PORT_WANTS=()
want_ports() {
  local addrs=$1 udp=$2 name; shift 2
  for name in "$@"; do
    [[ -n ${!name:-} ]] || PORT_WANTS+=("$name:$addrs:$udp")
  done
}

alloc_ports() {
  [[ ${#PORT_WANTS[@]} -gt 0 ]] || return 0
  local taken=() out line
  if [[ -f $DIR/env ]]; then
    mapfile -t taken < <(grep -E '^[A-Z0-9_]+_PORT=' "$DIR/env" | cut -d= -f2)
  fi
  out=$(python3 - "${FAILOVER_STACK_PORTS:-/tmp/failover-stack-ports-$UID}" "$DIR" "${taken[*]:-}" \
    "${PORT_WANTS[@]}" <<'PY'
import fcntl, os, random, socket, sys
registry, mine = sys.argv[1], os.path.realpath(sys.argv[2])
own = {int(p) for p in sys.argv[3].split()}
wants = sys.argv[4:]
others = []  # (port, dir) of the other stacks that still exist
try:
    lock = open(registry + ".lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # released when this process exits
    with open(registry) as f:
        for line in f:
            port, _, d = line.rstrip("\n").partition(" ")
            if port.isdigit() and d != mine and os.path.isdir(d):
                others.append((int(port), d))
except OSError:  # no list yet (or not ours to read): this stack is the first
    pass
taken = own | {p for p, _ in others}
picked = []
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
lo, hi = (20000, min(low, 32000)) if low > 21000 else (10000, low)
def free(port, addrs, udp):
    for addr in addrs:
        for kind in [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else []):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((addr, port))
            except OSError:
                return False
            finally:
                s.close()
    return True
for want in wants:
    name, addrs, udp = want.split(":")
    candidates = [p for p in range(lo, hi) if p not in taken]
    random.shuffle(candidates)
    for p in candidates[:2000]:
        if free(p, addrs.split(","), udp == "1"):
            taken.add(p)
            picked.append(p)
            print(f"{name}={p}")
            break
    else:
        sys.exit(f"no free port for {name} on {addrs}")
tmp = "%s.%d" % (registry, os.getpid())
try:
    with open(tmp, "w") as f:
        for p, d in others + [(p, mine) for p in sorted(own) + picked]:
            f.write(f"{p} {d}\n")
    os.replace(tmp, registry)
except OSError as e:
    print(f"stack: warning: cannot record the ports in {registry}: {e}", file=sys.stderr)
PY
  ) || die "cannot find free ports"
  while IFS= read -r line; do state_set "${line%%=*}" "${line#*=}"; done <<<"$out"
  PORT_WANTS=()
}

# port_taken ADDR PORT: something accepts TCP connections on ADDR:PORT.
port_taken() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# require_port_free NAME ADDR PORT: before (re)starting a server on a remembered port.
require_port_free() {
  ! port_taken "$2" "$3" ||
    die "$1: port $2:$3 (remembered in $DIR/env) is taken by another process; stop it or use 'scripts/stack stop --clean'"
}

# ---- secrets

random_secret() { od -An -tx1 -N18 /dev/urandom | tr -d ' \n'; }

# secret_file NAME: path of $DIR/secrets/NAME, created with a random value if missing.
secret_file() {
  local f="$DIR/secrets/$1"
  if [[ ! -s $f ]]; then
    mkdir -p "$DIR/secrets"
    chmod 0700 "$DIR/secrets"
    (umask 077 && random_secret >"$f.tmp" && mv -f "$f.tmp" "$f")
  fi
  printf '%s' "$f"
}
secret() { cat "$(secret_file "$1")"; }

# ---- processes

# pid_from FILE: first line of a pid file (postgres' postmaster.pid has more lines).
pid_from() {
  local f=$1 pid
  [[ -f $f ]] || return 1
  pid=$(head -n1 "$f" 2>/dev/null | tr -dc '0-9')
  [[ -n $pid ]] || return 1
  printf '%s' "$pid"
}

# proc_alive PID [COMM]: the process exists, is not a zombie and (if given) its command
# name is COMM, so a recycled pid is not mistaken for our server.
proc_alive() {
  local pid=$1 comm=${2:-} stat state name
  [[ -n $pid && -r /proc/$pid/stat ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  state=${stat##*) }
  state=${state%% *}
  [[ $state != Z && $state != X ]] || return 1
  if [[ -n $comm ]]; then
    name=${stat#*(}
    name=${name%)*}
    [[ $name == "$comm"* ]] || return 1
  fi
  return 0
}

pidfile_alive() {  # FILE [COMM]
  local pid
  pid=$(pid_from "$1") || return 1
  proc_alive "$pid" "${2:-}"
}

# launch LOG PIDFILE CMD...: runs CMD in its own session in the background; PIDFILE
# gets its pid (empty PIDFILE: the daemon writes its own).
LAUNCHED_PID=
launch() {
  local logf=$1 pidf=$2; shift 2
  setsid "$@" </dev/null >>"$logf" 2>&1 9>&- &
  LAUNCHED_PID=$!
  if [[ -n $pidf ]]; then echo "$LAUNCHED_PID" >"$pidf"; fi
}

# wait_until DESC PID LOG CMD...: polls CMD (every 0.1 s) until it succeeds, up to
# $STACK_TIMEOUT seconds; fails early when PID (if not empty) dies. On failure prints
# the log tail and exits.
wait_until() {
  local desc=$1 pid=$2 logf=$3; shift 3
  local deadline=$((SECONDS + STACK_TIMEOUT))
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ -n $pid ]] && ! proc_alive "$pid"; then
      show_log "$logf"
      die "$desc: the process exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$logf"
      die "$desc: not ready after ${STACK_TIMEOUT}s"
    fi
    sleep 0.1
  done
}

# wait_gone PID [LIMIT]: waits until PID exits (or is a zombie); 1 if it does not.
wait_gone() {
  local pid=$1 limit=${2:-$STACK_TIMEOUT}
  local deadline=$((SECONDS + limit))
  while proc_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
  return 0
}

# stop_pidfile NAME PIDFILE COMM [SIGNAL]: signals the process named in PIDFILE (only if
# it is alive and is COMM), waits for it to exit, escalating to SIGKILL after the limit.
stop_pidfile() {
  local name=$1 pidf=$2 comm=$3 sig=${4:-TERM} pid
  pid=$(pid_from "$pidf") || return 0
  proc_alive "$pid" "$comm" || return 0
  log "$name: stopping (pid $pid, SIG$sig)"
  kill -s "$sig" "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$STACK_TIMEOUT"; then
    log "$name: still running after ${STACK_TIMEOUT}s, sending SIGKILL"
    kill -s KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$name: pid $pid does not exit"
  fi
}

# stop_gracefully NAME PID SIGNAL CMD...: runs CMD (a clean shutdown), SIGTERM when it
# fails; waits for PID to exit, escalating to SIGNAL after the limit.
stop_gracefully() {
  local name=$1 pid=$2 sig=$3
  shift 3
  "$@" || kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$STACK_TIMEOUT"; then
    log "$name still running after ${STACK_TIMEOUT}s, sending SIG$sig"
    kill -s "$sig" "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$name: pid $pid does not exit"
  fi
}

# ---- output

# emit NAME VALUE: one `export` line on stdout, single-quoted when needed.
emit() {
  local name=$1 value=$2
  if [[ $value =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
    printf 'export %s=%s\n' "$name" "$value"
  else
    printf "export %s='%s'\n" "$name" "${value//\'/\'\\\'\'}"
  fi
}

http_code() {  # URL [curl args...]
  local url=$1; shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true
}
http_ok() { [[ $(http_code "$@") == 200 ]]; }

# start_pair SERVICE DIR LOG: launches SERVICE's primary and replica where they are not
# running (SERVICE_node_running, SERVICE_launch), then waits until each answers
# (SERVICE_ping ROLE; the log DIR/ROLE/LOG, the pid from the array ${SERVICE^^}_LAUNCHED).
start_pair() {
  local svc=$1 d=$2 logname=$3 role
  local -n launched="${svc^^}_LAUNCHED"
  for role in primary replica; do
    "${svc}_node_running" "$role" || "${svc}_launch" "$role"
  done
  for role in primary replica; do
    wait_until "$svc $role: ping" "${launched[$role]:-}" "$d/$role/$logname" "${svc}_ping" "$role"
  done
}

# nodes_status SERVICE ROLE...: "primary=127.0.0.1:PORT(running) replica=..." from
# SERVICE_node_running and SERVICE_port.
nodes_status() {
  local svc=$1 role out=""
  shift
  for role in "$@"; do
    local st=stopped
    "${svc}_node_running" "$role" && st="running"
    out+="$role=127.0.0.1:$("${svc}_port" "$role")($st) "
  done
  printf '%s' "${out% }"
}
