"""The real servers of the lab, each started inside its site's namespace, with its pid
recorded under the state dir (pids/NAME.json). `stop_all` ends every process that lives in
a folab- namespace (`ip netns pids`), so a crashed run leaves nothing behind either."""
import base64
import json
import os
import shutil
import signal
import subprocess
import time

import net
from common import (ETCD_SITES, EXPORTER_SITES, INITIAL_TTL, LEASE, LIB, PORT, PROFILES, PY,
                    REGIONS, ROOT, SEMISYNC_TIMEOUT_MS, SERVER_ID, SHOP_NAME, SITES, ZONE, LabError,
                    addr, http, log, mysql, need, ns, run, secret, secret_value, state_path,
                    wait_until, write)


def bin_dir():
    d = os.environ.get("FAILOVER_LAB_BUILD_DIR", os.path.join(ROOT, "build"))
    for b in ("failover_exporter", "failover_actuator"):
        if not os.access(os.path.join(d, "bin", b), os.X_OK):
            raise LabError(f"{d}/bin/{b} not found: build it (cmake --build build --target {b}) "
                           "or set FAILOVER_LAB_BUILD_DIR")
    return os.path.join(d, "bin")


def spawn(site, name, cmd, cwd=None):
    """Starts cmd inside the site, in its own session, output to logs/NAME.log."""
    os.makedirs(state_path("logs"), exist_ok=True)
    os.makedirs(state_path("pids"), exist_ok=True)
    logf = open(state_path("logs", name + ".log"), "ab")
    p = subprocess.Popen(["ip", "netns", "exec", ns(site)] + cmd, stdin=subprocess.DEVNULL, stdout=logf,
                         stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd or "/")
    logf.close()
    with open(state_path("pids", name + ".json"), "w") as f:
        json.dump({"pid": p.pid, "site": site, "cmd": cmd}, f)
    return p


def pid_of(name):
    try:
        with open(state_path("pids", name + ".json")) as f:
            return json.load(f)["pid"]
    except (OSError, ValueError, KeyError):
        return None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def ns_pids(n):
    out = run(["ip", "netns", "pids", n], check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def signal_name(name, sig):
    pid = pid_of(name)
    if pid and alive(pid):
        os.kill(pid, sig)
        return pid
    return None


def stop_all(limit=10):
    """SIGTERM to every process in a lab namespace, SIGKILL after `limit` seconds (an etcd
    member whose peers are gone waits to hand its leadership over; the lab keeps no data)."""
    names = net.namespaces()
    pids = [p for n in names for p in ns_pids(n)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.time() + limit
    while time.time() < end and any(alive(p) for p in pids):
        time.sleep(0.1)
    left = [p for n in names for p in ns_pids(n) if alive(p)]
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    end = time.time() + 10
    while time.time() < end and any(alive(p) for p in left):
        time.sleep(0.1)
    return len(pids)


# ---- MariaDB -----------------------------------------------------------------------------

MYSQL_ARGS = ["--log-bin=mysql-bin", "--binlog-format=ROW", "--gtid-strict-mode=1", "--skip-name-resolve",
              "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M", "--innodb-use-native-aio=0",
              "--relay-log=relay-bin", "--log-slave-updates"]


def mysql_install():
    t = state_path("mysql-template")
    if os.path.exists(os.path.join(t, "mysql")):
        return t
    shutil.rmtree(t, ignore_errors=True)
    os.makedirs(t)
    run(["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={t}",
         "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
         "--innodb-log-file-size=16M", "--innodb-use-native-aio=0"], timeout=300)
    return t


def mysql_start(site, design, fresh_from=None):
    """With the lease design both servers always start read_only=ON (also a restart after a
    crash): the region agent decides when a database may take writes (docs/writer-lease.md).
    Today's design: only the fresh eu-west replica starts read-only."""
    d = state_path(site, "mysql")
    if fresh_from:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        shutil.copytree(fresh_from, os.path.join(d, "data"), symlinks=True)
    args = ["mariadbd", "--no-defaults", "--user=root", f"--datadir={d}/data", "--bind-address=0.0.0.0",
            f"--port={PORT['mysql']}", f"--socket={d}/mysqld.sock", f"--pid-file={d}/mariadbd.pid",
            f"--log-error={d}/error.log", f"--server-id={SERVER_ID[site]}"] + MYSQL_ARGS
    if design == "lease" or (site == "eu-west" and fresh_from):
        args.append("--read-only=1")
    spawn(site, f"mariadb-{site}", args)


def mysql_ready(site):
    return mysql(site, "SELECT 1", timeout=5, check=False) == [["1"]]


def mysql_setup():
    """Schema and users on the us-east primary; eu-west replicates from it (GTID)."""
    pw = {u: secret_value(f"mysql-{u}.password") for u in ("repl", "monitor", "failover", "app")}
    sql = ("CREATE DATABASE shop;"
           "CREATE TABLE shop.orders (id VARCHAR(64) PRIMARY KEY, region VARCHAR(16) NOT NULL,"
           " server_id INT NOT NULL, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));"
           f"CREATE USER repl@'%' IDENTIFIED BY '{pw['repl']}'; GRANT REPLICATION SLAVE ON *.* TO repl@'%';"
           f"CREATE USER monitor@'%' IDENTIFIED BY '{pw['monitor']}';"
           " GRANT PROCESS, SELECT, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO monitor@'%';"
           f"CREATE USER failover@'%' IDENTIFIED BY '{pw['failover']}';"
           " GRANT ALL PRIVILEGES ON *.* TO failover@'%' WITH GRANT OPTION;"
           f"CREATE USER app@'%' IDENTIFIED BY '{pw['app']}'; GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO app@'%';")
    mysql("us-east", sql)
    mysql("eu-west", f"CHANGE MASTER TO MASTER_HOST='{addr('us-east')}', MASTER_PORT={PORT['mysql']},"
                     f" MASTER_USER='repl', MASTER_PASSWORD='{pw['repl']}', MASTER_USE_GTID=slave_pos,"
                     " MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1; START SLAVE;")
    wait_until("eu-west replicated the shop's schema and users", lambda: mysql(
        "eu-west", "SELECT COUNT(*) FROM mysql.global_priv WHERE User='app'") == [["1"]], 120)


def semisync_on(design):
    """MariaDB 10.11's built-in semi-synchronous replication: us-east waits for eu-west. With
    the lease design its timeout (SEMISYNC_TIMEOUT_MS) is longer than the agent's fence_after
    + fence_timeout: a cut-off us-east blocks its commits until its agent fences it, instead
    of falling back to asynchronous replication and acknowledging orders eu-west never got.
    Today's design keeps MariaDB's default (10 s)."""
    mysql("us-east", f"SET GLOBAL rpl_semi_sync_master_timeout={SEMISYNC_TIMEOUT_MS[design]};"
                     " SET GLOBAL rpl_semi_sync_master_enabled=ON")
    mysql("eu-west", "SET GLOBAL rpl_semi_sync_slave_enabled=ON; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD")
    wait_until("semi-sync active on us-east", lambda: mysql(
        "us-east", "SHOW STATUS LIKE 'Rpl_semi_sync_master_status'") == [["Rpl_semi_sync_master_status", "ON"]], 60)


# ---- the shop and nginx ------------------------------------------------------------------

def shop_start(site):
    spawn(site, f"shop-{site}", [PY, os.path.join(LIB, "shop.py"), "--region", site,
                                 "--listen", f"127.0.0.1:{PORT['shop']}", "--db", f"127.0.0.1:{PORT['mysql']}",
                                 "--password-file", secret("mysql-app.password")])


def nginx_start(site):
    d = state_path(site, "nginx")
    for sub in ("tmp", "logs"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    write(os.path.join(d, "nginx.conf"), f"""# scripts/lab: the {site} region's web server, in front of its shop.
daemon off; worker_processes 1; user root root; pid {d}/nginx.pid; error_log {d}/logs/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off; default_type text/plain;
  client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy; fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;
  server {{
    listen {addr(site)}:{PORT['nginx']};
    location / {{
      proxy_pass http://127.0.0.1:{PORT['shop']};
      proxy_connect_timeout 2s; proxy_read_timeout 10s;
    }}
  }}
}}
""")
    spawn(site, f"nginx-{site}", ["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf")])


# ---- etcd --------------------------------------------------------------------------------

def etcd_start(site):
    """One member per site. --pre-vote (the default from etcd 3.5 on; Debian's 3.4 needs it):
    a member that comes back from a partition with a higher term must not depose the leader
    of the majority. Without it every heal cost the writer region its lease renewals for
    ~5 s (an election), and a holder whose renewals fail for fence_after fences itself."""
    cluster = ",".join(f"{s}=http://{addr(s)}:{PORT['etcd_peer']}" for s in ETCD_SITES)
    spawn(site, f"etcd-{site}", [
        "etcd", "--name", site, "--data-dir", state_path(site, "etcd"), "--logger=zap", "--log-outputs=stderr",
        "--listen-client-urls", f"http://{addr(site)}:{PORT['etcd_client']},http://127.0.0.1:{PORT['etcd_client']}",
        "--advertise-client-urls", f"http://{addr(site)}:{PORT['etcd_client']}",
        "--listen-peer-urls", f"http://{addr(site)}:{PORT['etcd_peer']}",
        "--initial-advertise-peer-urls", f"http://{addr(site)}:{PORT['etcd_peer']}",
        "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", "folab", "--pre-vote"])


def etcd_health(site):
    code, body = http(site, f"http://127.0.0.1:{PORT['etcd_client']}/health", timeout=3)
    return code == 200 and '"true"' in body


def etcd_members(site):
    code, body = http(site, f"http://127.0.0.1:{PORT['etcd_client']}/v3/cluster/member/list", method="POST",
                      data="{}", timeout=3)
    return len(json.loads(body).get("members", [])) if code == 200 else 0


# ---- control: PowerDNS, Alertmanager, Prometheus, the actuator ---------------------------

def pdns_start():
    d = state_path("control", "pdns")
    os.makedirs(d, exist_ok=True)
    db = os.path.join(d, "pdns.sqlite3")
    if not os.path.exists(db):
        with open("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql") as f:
            run(["sqlite3", db], input=f.read())
    with open(os.path.join(ROOT, "scripts", "lib", "pdns-tuning.conf")) as f:
        tuning = f.read()  # shared with scripts/lib/stack-powerdns.sh
    write(os.path.join(d, "pdns.conf"), f"""launch=gsqlite3
gsqlite3-database={db}
gsqlite3-pragma-synchronous=0
api=yes
api-key={secret_value('pdns-api.key')}
webserver=yes
webserver-address=127.0.0.1
webserver-port={PORT['pdns_api']}
webserver-allow-from=127.0.0.0/8
local-address={addr('control')}, 127.0.0.1
local-port={PORT['dns']}
socket-dir={d}
""" + tuning, 0o600)
    spawn("control", "pdns", ["pdns_server", f"--config-dir={d}"])


def pdns_api(method, path, data=None):
    return http("control", f"http://127.0.0.1:{PORT['pdns_api']}{path}", method=method, data=data,
                headers=[f"X-API-Key: {secret_value('pdns-api.key')}"])


def pdns_zone():
    body = json.dumps({"name": ZONE, "kind": "Native", "nameservers": ["ns1." + ZONE], "rrsets": [
        {"name": "ns1." + ZONE, "type": "A", "ttl": 3600, "records": [{"content": addr("control"), "disabled": False}]},
        {"name": SHOP_NAME + ".", "type": "A", "ttl": INITIAL_TTL,
         "records": [{"content": addr("us-east"), "disabled": False}]}]})
    code, out = pdns_api("POST", "/api/v1/servers/localhost/zones", body)
    if code != 201:
        raise LabError(f"PowerDNS: creating zone {ZONE} answered {code}: {out[:300]}")


def alertmanager_start():
    d = state_path("control", "alertmanager")
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    write(os.path.join(d, "token"), secret_value("webhook.token"), 0o600)
    write(os.path.join(d, "alertmanager.yml"), f"""# scripts/lab: RegionDown goes to the actuator (as deploy/alertmanager.yml).
route:
  receiver: nobody
  routes:
    - matchers: ['alertname="RegionDown"']
      receiver: failover-actuator
      group_by: [alertname, region]
      group_wait: 0s
      group_interval: 5s
      repeat_interval: 1h
receivers:
  - name: nobody
  - name: failover-actuator
    webhook_configs:
      - url: http://127.0.0.1:{PORT['actuator']}/webhook
        http_config: {{authorization: {{credentials_file: {d}/token}}}}
""")
    spawn("control", "alertmanager", [
        "prometheus-alertmanager", f"--config.file={d}/alertmanager.yml", f"--storage.path={d}/data",
        f"--web.listen-address=0.0.0.0:{PORT['alertmanager']}", "--cluster.listen-address="])


def prometheus_start(profile):
    p = PROFILES[profile]
    d = state_path("control", "prometheus")
    os.makedirs(os.path.join(d, "rules"), exist_ok=True)
    shutil.copy(os.path.join(ROOT, p["rules"]), os.path.join(d, "rules", "failover.rules.yml"))
    exporters = ", ".join(f"'{addr(s)}:{PORT['exporter']}'" for s in EXPORTER_SITES)
    write(os.path.join(d, "prometheus.yml"), f"""# scripts/lab, profile {profile}: the control site's Prometheus.
global: {{scrape_interval: {p['scrape']}, evaluation_interval: {p['scrape']}}}
rule_files: ['{d}/rules/*.yml']
alerting:
  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{PORT['alertmanager']}']}}]}}]
scrape_configs:
  - job_name: failover_exporter
    static_configs: [{{targets: [{exporters}]}}]
  - job_name: failover_actuator
    static_configs: [{{targets: ['127.0.0.1:{PORT['actuator']}']}}]
""")
    spawn("control", "prometheus", [
        "prometheus", f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/data",
        f"--web.listen-address=0.0.0.0:{PORT['prometheus']}", "--web.enable-lifecycle",
        "--rules.alert.resend-delay=1s"])


def exporter_start(site, profile):
    p = PROFILES[profile]
    d = state_path(site, "exporter")
    us, eu = addr("us-east"), addr("eu-west")
    mon = secret("mysql-monitor.password")
    write(os.path.join(d, "exporter.yml"), f"""# scripts/lab: the {site} site's exporter (probes as deploy/exporter.yml).
defaults: {{interval: {p['interval']}, timeout: {p['timeout']}}}
regions:
  us-east: {{addresses: [{us}]}}
  eu-west: {{addresses: [{eu}]}}
probes:
  - {{name: us-east-web, region: us-east, http: {{url: "http://{us}/healthz", fail_if_body_not_matches_regexp: ["ok"]}}}}
  - {{name: eu-west-web, region: eu-west, http: {{url: "http://{eu}/healthz", fail_if_body_not_matches_regexp: ["ok"]}}}}
  - {{name: www-dns, dns: {{name: {SHOP_NAME}, type: A, nameservers: ["{addr('control')}:{PORT['dns']}"], expect_region: us-east}}}}
  - {{name: us-east-db, region: us-east, mysql: {{address: "{us}:{PORT['mysql']}", user: monitor, password_file: "{mon}"}}}}
  - {{name: eu-west-db, region: eu-west, mysql: {{address: "{eu}:{PORT['mysql']}", user: monitor, password_file: "{mon}"}}}}
""")
    spawn(site, f"exporter-{site}", [os.path.join(bin_dir(), "failover_exporter"), f"--config.file={d}/exporter.yml",
                                     f"--web.listen-address=0.0.0.0:{PORT['exporter']}"])


def actuator_config(design, semisync=False):
    """The control site's actuator.yml. Today's design: deploy/actuator.yml as it was in issue 15
    (db_fence on_unreachable: continue, db_promote, dns_update). The lease design: as
    deploy/actuator.yml now (writer_lease, then db_promote under the lease, then dns_update),
    plus the bootstrap runbook that gives us-east the lease at `up`; `semisync` adds
    require_semisync to db_promote (region-isolated-semisync)."""
    d = state_path("control", "actuator")
    fo = secret("mysql-failover.password")
    us, eu, ctl = addr("us-east"), addr("eu-west"), addr("control")
    etcd = ", ".join(f'"http://{addr(s)}:{PORT["etcd_client"]}"' for s in ("control", "us-east", "eu-west"))
    if design == "lease":
        head = f"""# scripts/lab, design lease: the writer lease first (deploy/actuator.yml, docs/writer-lease.md).
writer_lease: {{etcd: {{endpoints: [{etcd}], prefix: /failover/}}, ttl: {LEASE['ttl']}}}
"""
        first = f"""      # The lease for eu-west: a live us-east agent hands it over once its database is
      # read-only; a cut-off one has fenced itself before its lease expires. No db_fence:
      # nothing here needs an answer from us-east.
      - writer_lease: {{acquire: eu-west, handover: true, timeout: 60s}}
      - db_promote: {{database: eu-west-db, region: eu-west, max_lag: 30s, catch_up_timeout: 30s, timeout: 90s{', require_semisync: true' if semisync else ''}}}
"""
        extra = """  # At `scripts/lab up`: us-east becomes the writer region (its agent opens its database).
  - name: bootstrap-us-east
    match: {alertname: BootstrapUsEast}
    steps:
      - writer_lease: {acquire: us-east, timeout: 30s}
""" + failback_runbook()
    else:
        head = "# scripts/lab, design today: issue 15's runbook shape (db_fence, db_promote, dns_update).\n"
        first = """      - db_fence: {database: us-east-db, on_unreachable: continue}
      - db_promote: {database: eu-west-db, max_lag: 30s, catch_up_timeout: 30s, timeout: 90s}
"""
        extra = ""
    return head + f"""webhook: {{bearer_token_file: {secret('webhook.token')}}}
api: {{bearer_token_file: {secret('admin.token')}}}
prometheus: {{url: "http://127.0.0.1:{PORT['prometheus']}", timeout: 5s}}
journal: {d}/journal.db
brake: {{max_executions: 1, window: 1h}}
providers:
  pdns: {{powerdns: {{url: "http://127.0.0.1:{PORT['pdns_api']}", api_key_file: {secret('pdns-api.key')}, server_id: localhost}}}}
databases:
  us-east-db: {{mysql: {{address: "{us}:{PORT['mysql']}", user: failover, password_file: {fo}}}}}
  eu-west-db: {{mysql: {{address: "{eu}:{PORT['mysql']}", user: failover, password_file: {fo}}}}}
runbooks:
  - name: failover-us-east
    match: {{alertname: RegionDown, region: us-east}}
    on: firing
    mode: auto
    cooldown: 30m
    guards:
      - promql: 'ALERTS{{alertname="RegionDown", region="us-east", alertstate="firing"}}'
        message: RegionDown for us-east is no longer firing
      - promql: 'min(failover_probe_success{{region="eu-west", kind!~"mysql|postgres"}}) == 1'
        message: eu-west is not healthy, failing over there would not help
      - promql: 'max(max_over_time(failover_replication_lag_seconds{{probe="eu-west-db"}}[5m])) < 30'
        message: the eu-west replica was more than 30s behind, promoting it loses more than the RPO
    steps:
{first}      - dns_update:
          provider: pdns
          zone: {ZONE}
          name: {SHOP_NAME}.
          type: A
          records: ["{eu}"]
          ttl: 30
          verify_nameserver: "{ctl}:{PORT['dns']}"
          verify_timeout: 30s
          retries: 3
      - wait_for:
          promql: 'count(failover_dns_record_target{{probe="www-dns", target_region="eu-west"}}) == count(failover_dns_record_target{{probe="www-dns"}})'
          timeout: 2m
{extra}"""


def failback_runbook():
    """The way back to us-east, as deploy/actuator.yml's failback-us-east (scenario round-trip,
    docs/partitions.md): divergence report, rejoin, caught up, switchover moving the writer
    lease, DNS back, verified. Started only through the API (its alert is never sent).
    `errant: discard` where deploy/actuator.yml refuses: the lab cannot re-clone us-east and
    its order ids are unique strings (no key taken on both sides); discard undoes the errant
    orders on us-east, the report stays their record, and the lab compares it with its own
    list of lost orders."""
    repl = secret("mysql-repl.password")
    return f"""  - name: failback-us-east
    match: {{alertname: FailbackUsEast}}
    guards:
      - promql: 'min(failover_probe_success{{region="us-east", kind!~"mysql|postgres"}}) == 1'
        message: us-east is not healthy
    steps:
      - db_divergence: {{old_primary: us-east-db, new_primary: eu-west-db, timeout: 120s}}
      - db_rejoin:
          database: us-east-db
          source: eu-west-db
          errant: discard
          replication_user: repl
          replication_password_file: {repl}
          catch_up_timeout: 60s
          timeout: 90s
      - wait_for:
          promql: 'max(failover_replication_lag_seconds{{probe="us-east-db"}}) < 1 and on () min(failover_replication_running{{probe="us-east-db"}}) == 1'
          timeout: 2m
      - db_switchover:
          primary: eu-west-db
          target: us-east-db
          primary_region: eu-west
          region: us-east
          replication_user: repl
          replication_password_file: {repl}
          catch_up_timeout: 30s
          lease_timeout: 30s
          timeout: 2m
      - dns_update:
          provider: pdns
          zone: {ZONE}
          name: {SHOP_NAME}.
          type: A
          records: ["{addr('us-east')}"]
          ttl: 30
          verify_nameserver: "{addr('control')}:{PORT['dns']}"
          verify_timeout: 30s
          retries: 3
      - wait_for:
          promql: 'min(failover_dns_record_matches_expected{{probe="www-dns"}}) == 1'
          timeout: 2m
"""


def run_failback():
    """Starts failback-us-east through the actuator's API (a run a human asks for starts at
    once: no cooldown, no brake, no approval); returns the execution's id."""
    code, body = http("control", f"http://127.0.0.1:{PORT['actuator']}/api/v1/runbooks/failback-us-east/run",
                      method="POST", data='{"labels": {"region": "us-east"}}',
                      headers=[f"Authorization: Bearer {secret_value('admin.token')}"], timeout=10)
    if code not in (200, 201, 202):
        raise LabError(f"failback-us-east: HTTP {code}: {body[:300]}")
    return json.loads(body)["id"]


def actuator_start(design):
    d = state_path("control", "actuator")
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "actuator.yml"), actuator_config(design))
    spawn("control", "actuator", [os.path.join(bin_dir(), "failover_actuator"), f"--config.file={d}/actuator.yml",
                                  f"--web.listen-address=0.0.0.0:{PORT['actuator']}"])


def actuator_reload(design, semisync):
    """Rewrites the control actuator's configuration (e.g. require_semisync) and reloads it."""
    write(state_path("control", "actuator", "actuator.yml"), actuator_config(design, semisync))
    code, body = http("control", f"http://127.0.0.1:{PORT['actuator']}/-/reload", method="POST",
                      headers=[f"Authorization: Bearer {secret_value('admin.token')}"], timeout=10)
    if code != 200:
        raise LabError(f"actuator reload: HTTP {code}: {body[:300]}")


def agent_start(site):
    """The region agent of `site` (lease design): failover_actuator with region_agent:, next to
    its database, its own SQLite journal, the local etcd member first (deploy/region-agent-*.yml).
    No fence_steps: the lab's shop has no maintenance switch; a read-only database already
    makes it answer 503 to every order."""
    d = state_path(site, "agent")
    os.makedirs(d, exist_ok=True)
    etcd = ", ".join(f'"http://{addr(s)}:{PORT["etcd_client"]}"'
                     for s in [site] + [o for o in ETCD_SITES if o != site])
    write(os.path.join(d, "agent.yml"), f"""# scripts/lab, design lease: the region agent of {site} (docs/writer-lease.md).
api: {{bearer_token_file: {secret('admin.token')}}}
journal: {d}/journal.db
databases:
  {site}-db: {{mysql: {{address: "127.0.0.1:{PORT['mysql']}", user: failover, password_file: {secret('mysql-failover.password')}}}}}
region_agent:
  region: {site}
  etcd: {{endpoints: [{etcd}], prefix: /failover/}}
  database: {site}-db
  ttl: {LEASE['ttl']}
  renew_every: {LEASE['renew_every']}
  fence_after: {LEASE['fence_after']}
  fence_timeout: {LEASE['fence_timeout']}
""")
    spawn(site, f"agent-{site}", [os.path.join(bin_dir(), "failover_actuator"), f"--config.file={d}/agent.yml",
                                  f"--web.listen-address=0.0.0.0:{PORT['agent']}"])


def agent_state(site):
    """(held, fenced reason or "") from the agent's own metrics."""
    code, body = http(site, f"http://127.0.0.1:{PORT['agent']}/metrics", timeout=3)
    if code != 200:
        raise LabError(f"agent-{site} /metrics: HTTP {code}")
    held, reason = False, ""
    for line in body.splitlines():
        if line.startswith("failover_actuator_writer_lease_held{") and line.split()[-1] in ("1", "1.0"):
            held = True
        if line.startswith("failover_actuator_region_fenced{") and line.split()[-1] in ("1", "1.0"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
    return held, reason


def lease_holder():
    """(holder or None, seconds left) of /failover/writer, asked of the first etcd member with
    a quorum (a linearizable read)."""
    key = base64.b64encode(b"/failover/writer").decode()
    last = None
    for s in ETCD_SITES:
        code, body = http(s, f"http://127.0.0.1:{PORT['etcd_client']}/v3/kv/range", method="POST",
                          data=json.dumps({"key": key}), timeout=3)
        if code != 200:
            last = f"HTTP {code} from {s}"
            continue
        kvs = json.loads(body).get("kvs") or []
        if not kvs:
            return None, None
        holder = base64.b64decode(kvs[0]["value"]).decode()
        code, body = http(s, f"http://127.0.0.1:{PORT['etcd_client']}/v3/lease/timetolive", method="POST",
                          data=json.dumps({"ID": kvs[0].get("lease", "0")}), timeout=3)
        ttl = json.loads(body).get("TTL") if code == 200 else None
        return holder, (int(ttl) if ttl is not None else None)
    raise LabError(f"no etcd member answered ({last})")


def bootstrap():
    """us-east becomes the writer region: the bootstrap-us-east runbook takes the lease through
    the actuator's API (as scripts/demo does), then us-east's agent opens its database."""
    code, body = http("control", f"http://127.0.0.1:{PORT['actuator']}/api/v1/runbooks/bootstrap-us-east/run",
                      method="POST", data='{"labels": {"region": "us-east"}}',
                      headers=[f"Authorization: Bearer {secret_value('admin.token')}"], timeout=10)
    if code not in (200, 201, 202):
        raise LabError(f"bootstrap-us-east: HTTP {code}: {body[:300]}")
    eid = json.loads(body)["id"]
    done = {}

    def finished():
        done.update(actuator_api("/api/v1/executions/" + eid))
        return done["state"] in ("succeeded", "failed", "refused")
    wait_until("bootstrap-us-east finished", finished, 60, 0.5)
    if done["state"] != "succeeded":
        raise LabError(f"bootstrap-us-east: {done['state']}: {done.get('message')}")
    wait_until("us-east's agent made its database writable (it holds the writer lease)",
               lambda: mysql("us-east", "SELECT @@read_only", timeout=5) == [["0"]], 60, 0.5)
    if mysql("eu-west", "SELECT @@read_only", timeout=5) != [["1"]]:
        raise LabError("eu-west's database is writable after the bootstrap")


def actuator_api(path):
    code, body = http("control", f"http://127.0.0.1:{PORT['actuator']}{path}",
                      headers=[f"Authorization: Bearer {secret_value('admin.token')}"])
    if code != 200:
        raise LabError(f"actuator {path}: HTTP {code}")
    return json.loads(body)


def prom_query(q):
    import urllib.parse
    code, body = http("control", f"http://127.0.0.1:{PORT['prometheus']}/api/v1/query?query=" + urllib.parse.quote(q))
    if code != 200:
        raise LabError(f"prometheus query: HTTP {code}")
    return json.loads(body)["data"]["result"]


# ---- up ----------------------------------------------------------------------------------

def up(profile, design):
    need("ip", "nft", "tc", "mariadbd", "mariadb-install-db", "mariadb", "nginx", "etcd", "pdns_server",
         "prometheus", "prometheus-alertmanager", "sqlite3", "curl")
    if not os.path.exists(PY):
        raise LabError(f"{PY} not found (run scripts/setup)")
    bin_dir()
    t0 = time.time()
    os.makedirs(state_path("logs"), exist_ok=True)
    net.create()
    for s in ETCD_SITES:
        etcd_start(s)
    pdns_start()
    alertmanager_start()
    log("mariadb: mariadb-install-db")
    tpl = mysql_install()
    for s in REGIONS:
        mysql_start(s, design, fresh_from=tpl)
    wait_until("MariaDB in us-east and eu-west", lambda: all(mysql_ready(s) for s in REGIONS), 180, 0.5)
    mysql_setup()
    for s in REGIONS:
        shop_start(s)
        nginx_start(s)
    wait_until("PowerDNS API", lambda: pdns_api("GET", "/api/v1/servers/localhost")[0] == 200, 60, 0.3)
    pdns_zone()
    actuator_start(design)
    if design == "lease":
        for s in REGIONS:
            agent_start(s)
    for s in EXPORTER_SITES:
        exporter_start(s, profile)
    prometheus_start(profile)
    write(state_path("up.json"), json.dumps({"profile": profile, "design": design, "started": t0, "fresh": True}))
    wait_until("both shops answer /healthz through nginx", lambda: all(
        http("shoppers", f"http://{addr(s)}/healthz", timeout=3)[0] == 200 for s in REGIONS), 90, 0.5)
    wait_until("etcd: 3 healthy members", lambda: all(etcd_health(s) for s in ETCD_SITES)
               and etcd_members("control") == 3, 90, 0.5)
    wait_until("the actuator answers", lambda: actuator_api("/api/v1/status") is not None, 60, 0.5)
    if design == "lease":
        wait_until("both region agents answer", lambda: all(agent_state(s) for s in REGIONS), 60, 0.5)
        bootstrap()
    wait_until("Prometheus sees both regions healthy from every exporter", lambda: len(prom_query(
        'failover_probe_success{kind="http"} == 1')) == 2 * len(EXPORTER_SITES), 120, 0.5)
    wait_until("Prometheus has the eu-west replication lag", lambda: len(prom_query(
        'failover_replication_lag_seconds{probe="eu-west-db"}')) > 0, 60, 0.5)
    log(f"up in {time.time() - t0:.1f}s (profile {profile}, design {design}, state in {state_path()})")



def status_lines():
    """One line per part of the lab: (name, ok, detail)."""
    lines = []
    names = net.namespaces()
    lines.append(("namespaces", len(names) == len(SITES) + 1, " ".join(names) or "none"))
    if not names:
        return lines
    cuts = net.load_cuts()
    lines.append(("cuts", True, " ".join(f"{a}<->{b}" for a, b in sorted(cuts)) or "none"))
    for d in sorted(os.listdir(state_path("pids"))) if os.path.isdir(state_path("pids")) else []:
        name = d[:-5]
        pid = pid_of(name)
        lines.append((name, bool(pid and alive(pid)), f"pid {pid}" + ("" if pid and alive(pid) else " (gone)")))
    try:
        h = {s: etcd_health(s) for s in ETCD_SITES}
        lines.append(("etcd-cluster", all(h.values()) and etcd_members("control") == 3,
                      f"{etcd_members('control')} members; healthy: " + " ".join(s for s in h if h[s])))
    except Exception as exc:
        lines.append(("etcd-cluster", False, str(exc)))
    if any(os.path.exists(state_path("pids", f"agent-{s}.json")) for s in REGIONS):
        try:
            holder, left = lease_holder()
            lines.append(("writer-lease", holder is not None,
                          f"held by {holder} ({left}s left)" if holder else "nobody holds it"))
        except Exception as exc:
            lines.append(("writer-lease", False, str(exc)[:120]))
        for s in REGIONS:
            try:
                held, reason = agent_state(s)
                lines.append((f"agent-{s}-state", True, "holds the lease, may write" if held
                              else f"fenced ({reason or 'not yet decided'})"))
            except Exception as exc:
                lines.append((f"agent-{s}-state", False, str(exc)[:120]))
    for s in REGIONS:
        try:
            ro = mysql(s, "SELECT @@read_only", timeout=5)
            lines.append((f"db-{s}", True, "read-only" if ro == [["1"]] else "writable"))
        except Exception as exc:
            lines.append((f"db-{s}", False, str(exc)[:120]))
    return lines
