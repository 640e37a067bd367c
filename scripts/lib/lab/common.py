"""Names, addresses, ports and small helpers shared by the partition lab (scripts/lab).

Everything the lab makes carries the prefix `folab-`: the namespaces folab-hub (holding
the bridge folab-br), folab-us-east, folab-eu-west, folab-control and folab-shoppers. The
lab's addresses are 10.77.0.0/24 and exist only inside those namespaces (docs/partitions.md).
Every wait is bounded."""
import json
import os
import shutil
import subprocess
import sys
import time

PREFIX = "folab-"
HUB = PREFIX + "hub"
BRIDGE = PREFIX + "br"
SUBNET = "10.77.0.0/24"
SITES = {  # site -> (address, short id used in link names)
    "us-east": ("10.77.0.11", "use"),
    "eu-west": ("10.77.0.12", "euw"),
    "control": ("10.77.0.13", "ctl"),
    "shoppers": ("10.77.0.14", "shp"),
}
REGIONS = ("us-east", "eu-west")
ETCD_SITES = ("us-east", "eu-west", "control")
EXPORTER_SITES = ("us-east", "eu-west", "control")
SERVER_ID = {"us-east": 1, "eu-west": 2}

# Ports inside the namespaces (each site has its own network stack, so these never meet a
# port of the machine's own servers).
PORT = {
    "nginx": 80, "shop": 8080, "mysql": 3306, "exporter": 9100, "prometheus": 9090,
    "alertmanager": 9093, "actuator": 8090, "dns": 53, "pdns_api": 8081,
    "etcd_client": 2379, "etcd_peer": 2380, "agent": 9809,
}
ZONE = "shop.test."
SHOP_NAME = "www.shop.test"
INITIAL_TTL = 60  # the shop's A record before any failover (the runbook writes ttl 30)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LIB = os.path.join(ROOT, "scripts", "lib", "lab")
PY = "/usr/bin/python3"  # Debian's interpreter: it has python3-pymysql
STATE = os.environ.get("FAILOVER_LAB_DIR", "/tmp/failover-lab")
RUNS = os.environ.get("FAILOVER_LAB_RUNS", "/tmp/failover-lab-runs")
LOCK = STATE.rstrip("/") + ".lock"

# The failover designs the lab can run (`--design`, docs/partitions.md):
#   lease: a region agent (failover_actuator with region_agent:) in us-east and eu-west, both
#          databases started read_only=ON, us-east bootstrapped as the writer lease's holder;
#          the runbook takes the lease, then promotes, then moves DNS (docs/writer-lease.md).
#   today: issue 15's measurement: no agents, db_fence (on_unreachable: continue), db_promote,
#          dns_update; the primary starts writable.
DESIGNS = ("lease", "today")
DEFAULT_DESIGN = "lease"
# The writer lease's timing, the same in both agents and the control actuator's writer_lease:
# fence_after + fence_timeout + ttl/10 <= ttl (docs/writer-lease.md, "Timing assumptions").
LEASE = {"ttl": "10s", "renew_every": "2s", "fence_after": "6s", "fence_timeout": "2s"}
# region-isolated-semisync: how long a semi-synchronous commit waits for eu-west before
# MariaDB falls back to asynchronous replication. Longer than fence_after + fence_timeout
# with the lease design, so the cut-off primary blocks its commits until its agent fences it.
SEMISYNC_TIMEOUT_MS = {"lease": 30000, "today": 10000}

PROFILES = {
    # probe interval, probe timeout, scrape/evaluation interval, rules file
    "fast": {"interval": "1s", "timeout": "900ms", "scrape": "1s", "rules": "rules/profiles/fast.rules.yml"},
    "default": {"interval": "5s", "timeout": "4s", "scrape": "5s", "rules": "rules/failover.rules.yml"},
}


def ns(site):
    return PREFIX + site


def addr(site):
    return SITES[site][0]


def log(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


class LabError(Exception):
    pass


def run(cmd, check=True, timeout=30, capture=True, input=None):
    """Runs a command (list), bounded in time. Returns stdout (str)."""
    try:
        r = subprocess.run(cmd, input=input, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError(f"timed out after {timeout}s: {' '.join(cmd)}")
    if check and r.returncode != 0:
        raise LabError(f"failed ({r.returncode}): {' '.join(cmd)}: {r.stderr.strip()[-500:]}")
    return r.stdout if capture else ""


def in_ns(site, cmd, **kw):
    return run(["ip", "netns", "exec", ns(site)] + cmd, **kw)


def wait_until(what, cond, limit, every=0.2):
    """Polls cond() until it is true, at most `limit` seconds; raises LabError otherwise."""
    end = time.time() + limit
    last = None
    while time.time() < end:
        try:
            if cond():
                return
        except Exception as exc:  # a server still starting
            last = exc
        time.sleep(every)
    raise LabError(f"not ready after {limit:g}s: {what}" + (f" (last error: {last})" if last else ""))


def state_path(*parts):
    return os.path.join(STATE, *parts)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def secret(name):
    """A random secret kept in the state dir (created on first use)."""
    p = state_path("secrets", name)
    if not os.path.exists(p):
        write(p, os.urandom(18).hex(), 0o600)
    return p


def secret_value(name):
    return open(secret(name)).read()


def need(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        raise LabError(f"missing: {', '.join(missing)} (run scripts/setup as root)")


def mysql(site, sql, timeout=10, check=True):
    """Runs SQL as root on the site's MariaDB from inside the site; rows as lists of str."""
    out = in_ns(site, ["mariadb", "--no-defaults", "-uroot", "-h127.0.0.1", "--protocol=tcp",
                       f"-P{PORT['mysql']}", "--connect-timeout=3", "-N", "-B", "-e", sql],
                timeout=timeout, check=check)
    return [line.split("\t") for line in out.splitlines() if line]


def http(site, url, timeout=5, headers=(), method="GET", data=None):
    """GET/POST from inside a site with curl; returns (status, body)."""
    cmd = ["curl", "-s", "-m", str(timeout), "-o", "-", "-w", "\n%{http_code}", "-X", method]
    for h in headers:
        cmd += ["-H", h]
    if data is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary", data]
    out = in_ns(site, cmd + [url], timeout=timeout + 5, check=False)
    body, _, code = out.rpartition("\n")
    return (int(code) if code.isdigit() else 0), body
