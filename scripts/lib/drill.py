#!/usr/bin/env python3
"""The failover drill behind scripts/demo: gives us-east the writer lease (bootstrap-us-east
through the API), injects the failure, watches every stage from the exporter's probes to the
authoritative DNS answer (with the writer lease's handover by us-east's region agent),
prints the timeline, then runs the way back (the failback-us-east runbook through the
actuator's API: divergence report, rejoin, caught up, switchover with the writer lease,
DNS back) and prints its timeline. A shop writes orders throughout, to the database of the
region DNS points at; at the end every order it got acknowledged must be on us-east.
Standard library only; every wait is bounded."""
import base64
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab"))
from dnsq import query_a  # noqa: E402

env = os.environ
WORK, EXPORTER, ACTUATOR, TOKEN = env["DEMO_WORK"], env["DEMO_EXPORTER"], env["DEMO_ACTUATOR"], env["DEMO_TOKEN"]
PROM, PDNS_DNS = env["PROMETHEUS_URL"], env["PDNS_DNS_ADDR"]
US, EU = env["REGION_US_EAST_ADDR"], env["REGION_EU_WEST_ADDR"]
DB_US, DB_EU = env["MARIADB_PRIMARY_ADDR"], env["MARIADB_REPLICA_ADDR"]
# How long the drill waits for the DNS switch (the default rules profile needs ~1.5 min).
LIMIT = float(env.get("DEMO_DRILL_LIMIT", "120"))
AGENT_US = env["DEMO_AGENT_US_EAST"]
AGENT_EU = env["DEMO_AGENT_EU_WEST"]
ETCD = env["ETCD_ENDPOINTS"].split(",")[0]


def get(url, token=None, data=None):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def dns_a(server, name="www.example.test"):
    """One A query straight to the authoritative server (no resolver, no cache); [] when
    it does not answer with A records."""
    try:
        return query_a(server, name)[0]
    except OSError:
        return []


def marker(t_start, seen, timeline=None):
    """mark(key, text, at): prints `text` once per `key`, at `at` seconds (default: now)
    since `t_start`, and adds it to `timeline` when given."""
    def mark(key, text, at=None):
        if key not in seen:
            seen.add(key)
            at = time.time() - t_start if at is None else at
            if timeline is not None:
                timeline.append((at, text))
            print(f"  +{at:6.2f}s  {text}", flush=True)
    return mark


class DnsWatch:
    """Watches the DNS answer on its own every 10 ms until it is [address], so a switch
    time does not depend on the length of a poll round: `t` is then the seconds since
    `t_start`, else None."""

    def __init__(self, address, t_start):
        self.address, self.t_start, self.t = address, t_start, None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            if dns_a(PDNS_DNS) == [self.address]:
                self.t = time.time() - self.t_start
                return
            self.stop.wait(0.01)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)


def expect_writable(what, addr, note, failure, failures):
    """An INSERT as the application into `addr` must succeed; else `failure: <error>`."""
    ok, out = app_insert(addr, note)
    print(f"drill: {what} ({addr}) " + ("writable: INSERT as app succeeded" if ok else "NOT writable: " + out))
    if not ok:
        failures.append(f"{failure}: {out}")


def expect_read_only(what, addr, note, taken, refused, failure, failures):
    """An INSERT as the application into `addr` must be refused (printed after `refused`);
    else `taken` is printed and `failure` added."""
    ok, out = app_insert(addr, note)
    print(f"drill: {what} ({addr}) " + (taken if ok else refused + out.splitlines()[-1]))
    if ok:
        failures.append(failure)


def check_lease(region, failures):
    """Prints who holds the writer lease; a failure unless it is `region`."""
    holder = lease_holder()
    print(f"drill: writer lease held by {holder}")
    if holder != region:
        failures.append(f"the writer lease is held by {holder}, not {region}")


def metric(text, name, **labels):
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait(what, cond, limit=120):
    end = time.time() + limit
    while time.time() < end:
        try:
            if cond():
                return True
        except Exception:
            pass
        time.sleep(0.05)
    print(f"drill: gave up waiting for: {what}", file=sys.stderr)
    return False


def info_trigger(ev):
    return ev.get("event_action") == "trigger" and ev.get("payload", {}).get("severity") == "info"


def pagerduty_events(done, limit=5.0):
    """The events the PagerDuty fake has printed. The fake prints what it accepted every 50 ms,
    so a step that just got its answer may not be in the log yet: read again until `done`
    holds or `limit` seconds pass, and return what is there."""
    end = time.time() + limit
    while True:
        with open(os.path.join(WORK, "pagerduty.log")) as f:
            events = [json.loads(l) for l in f if l.startswith("{")]
        if done(events) or time.time() >= end:
            return events
        time.sleep(0.05)


def app_insert(addr, note):
    """INSERT as the stack's `app` user (no SUPER: read_only stops it). Returns (ok, output)."""
    pw = open(env["MARIADB_APP_PASSWORD_FILE"]).read()
    r = subprocess.run(["mariadb", "--no-defaults", "-h" + addr.rsplit(":", 1)[0], "-P" + addr.rsplit(":", 1)[1],
                        "-uapp", "-p" + pw, "shop", "-e", f"INSERT INTO orders (note) VALUES ('{note}')"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    return r.returncode == 0, r.stdout.strip()


def app_notes(addr, like):
    """The notes of shop.orders matching `like`, read as `app` (None: the query failed)."""
    pw = open(env["MARIADB_APP_PASSWORD_FILE"]).read()
    r = subprocess.run(["mariadb", "--no-defaults", "-N", "-B", "-h" + addr.rsplit(":", 1)[0],
                        "-P" + addr.rsplit(":", 1)[1], "-uapp", "-p" + pw, "shop", "-e",
                        f"SELECT note FROM orders WHERE note LIKE '{like}'"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    return set(r.stdout.split()) if r.returncode == 0 else None


class Shop(threading.Thread):
    """The application: takes an order every ~100 ms and writes it to the database of the
    region www.example.test points at (us-east's app writes to us-east-db, eu-west's to
    eu-west-db). A refused INSERT (read-only: fenced) is not an order taken; every INSERT
    the server acknowledged is, and is remembered with the drill's phase."""

    def __init__(self):
        super().__init__(daemon=True)
        self.phase = "before"
        self.acked, self.refused = [], {}
        self.stop = threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            answer = dns_a(PDNS_DNS)
            addr = DB_US if answer == [US] else DB_EU if answer == [EU] else None
            if addr:
                n += 1
                note = f"drill-order-{n}"
                ok, _ = app_insert(addr, note)
                if ok:
                    self.acked.append((note, self.phase, "us-east" if addr == DB_US else "eu-west"))
                else:
                    self.refused[self.phase] = self.refused.get(self.phase, 0) + 1
            self.stop.wait(0.1)

    def summary(self):
        out = {}
        for _, phase, region in self.acked:
            out.setdefault(phase, {}).setdefault(region, 0)
            out[phase][region] += 1
        return out


def lease_holder(prefix="/failover/"):
    """The region the writer lease names in etcd (None: nobody), via etcd's JSON gateway."""
    body = json.dumps({"key": base64.b64encode((prefix + "writer").encode()).decode()}).encode()
    kvs = json.loads(get(ETCD + "/v3/kv/range", data=body)).get("kvs") or []
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def agent_records(agent):
    """The region agent's journal records (fence, unfence, release), oldest first."""
    out = json.loads(get(agent + "/api/v1/executions?runbook=region_agent", TOKEN))["executions"]
    return sorted(out, key=lambda e: e.get("created_at") or 0)


def bootstrap():
    """us-east becomes the writer region: the bootstrap-us-east runbook takes the lease, then
    us-east's agent makes its primary writable (eu-west's keeps its replica read-only)."""
    run = json.loads(get(ACTUATOR + "/api/v1/runbooks/bootstrap-us-east/run", TOKEN, b'{"labels":{"region":"us-east"}}'))
    done = {}

    def finished():
        e = json.loads(get(ACTUATOR + "/api/v1/executions/" + run["id"], TOKEN))
        done.update(e)
        return e["state"] in ("succeeded", "failed", "refused")
    if not wait("bootstrap-us-east finished", finished, 60) or done["state"] != "succeeded":
        print(f"drill: FAILED — bootstrap-us-east: {done.get('state')} {done.get('message')}", file=sys.stderr)
        return False
    if not wait("us-east-db writable under the lease", lambda: app_insert(DB_US, "written-before-drill")[0], 30):
        print("drill: FAILED — us-east's agent did not open us-east-db", file=sys.stderr)
        return False
    step = next((s for s in done.get("steps", []) if s["kind"] == "writer_lease"), {})
    print(f"drill: writer lease: {step.get('message', '?')} (bootstrap-us-east); us-east-db writable, "
          f"eu-west-db {'read-only' if not app_insert(DB_EU, 'probe')[0] else 'WRITABLE'}")
    return True


def executions():
    return json.loads(get(ACTUATOR + "/api/v1/executions", TOKEN))["executions"]


class Screenshots(threading.Thread):
    """With DEMO_SCREENSHOTS=DIR (scripts/screenshots): headless Chromium (python3-selenium,
    chromium-driver) saves the console's overview and the failover's execution page while
    that execution runs, as DIR/console-overview.png and DIR/console-execution.png. It
    watches on its own thread, so the drill's timing does not wait for the browser."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        import shutil
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.dir, self.stop, self.result = directory, threading.Event(), None
        opts = webdriver.ChromeOptions()
        for o in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1300", "--hide-scrollbars"):
            opts.add_argument(o)
        if shutil.which("chromium"):
            opts.binary_location = shutil.which("chromium")
        self.driver = webdriver.Chrome(options=opts, service=Service(executable_path=shutil.which("chromedriver")))
        self.driver.set_page_load_timeout(20)
        # The console takes the API's bearer token (the user "api", an operator).
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Bearer " + TOKEN}})

    def state(self):
        return self.driver.execute_script(
            "var s=document.getElementById('state');return s?s.getAttribute('data-state'):null")

    def run(self):
        try:
            while not self.stop.is_set():
                live = [e for e in executions() if e["runbook"] == "failover-us-east"
                        and e["state"] in ("queued", "running", "pending_approval")]
                if live:
                    break
                self.stop.wait(0.05)
            else:
                return
            self.driver.get(ACTUATOR + "/")
            self.driver.save_screenshot(os.path.join(self.dir, "console-overview.png"))
            self.driver.get(ACTUATOR + "/executions/" + live[0]["id"])
            seen = self.state()
            self.driver.save_screenshot(os.path.join(self.dir, "console-execution.png"))
            self.result = f"saved in {self.dir} (the execution page shows it {seen})"
        except Exception as exc:  # noqa: BLE001 - reported, the drill goes on
            self.result = f"FAILED: {type(exc).__name__}: {exc}"
        finally:
            self.driver.quit()


def rfc3339_epoch(text):
    """'2026-11-22T04:00:15.123456789Z' (Prometheus' activeAt) -> epoch seconds."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text or "")
    if not m:
        return None
    tz = datetime.timezone.utc if m.group(3) == "Z" else datetime.datetime.strptime(
        m.group(3).replace(":", ""), "%z").tzinfo
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=tz).timestamp()
    return t + (float("0." + m.group(2)) if m.group(2) else 0.0)


def region_down_rule():
    """(for seconds, group evaluation interval seconds) of RegionDown, from Prometheus."""
    for g in json.loads(get(PROM + "/api/v1/rules"))["data"]["groups"]:
        for r in g["rules"]:
            if r.get("name") == "RegionDown" and r.get("type") == "alerting":
                return float(r.get("duration", 0)), float(g.get("interval", 0))
    return None, None


def print_phases(t0, timeline, switched, runs, active_at):
    """Machine-readable lines for bench/drill.py: `drill: phase <name> <seconds>` (the phases add
    up to the detection-to-switch time) and `drill: step <n> <kind> <seconds>`. Pending is
    Prometheus' activeAt (the evaluation that made the alert pending); firing is the first
    evaluation `for` later on the group's grid; the webhook's receipt is the execution's
    created_at: all exact, on the same wall clock. The first failed probe is seen by this
    script's polling (every ~50 ms plus the time of one poll round)."""
    at = {}
    for t, text in timeline:
        for key, prefix in (("probe", "first failed probe"), ("pending", "RegionDown{region=us-east} pending"),
                            ("firing", "RegionDown{region=us-east} firing")):
            if text.startswith(prefix) and key not in at:
                at[key] = t
    if not runs or not {"probe", "pending", "firing"} <= set(at):
        print("drill: phases unavailable (a stage was not observed)")
        return
    e = json.loads(get(ACTUATOR + "/api/v1/executions/" + runs[0]["id"], TOKEN))
    received = e["created_at"] - t0
    pending, firing = at["pending"], at["firing"]
    try:
        for_s, every = region_down_rule()
        t_active = rfc3339_epoch(active_at)
        if t_active is not None and for_s is not None:
            pending = t_active - t0
            steps = -(-for_s // every) if every > 0 else 0  # evaluations until for: has passed
            firing = pending + (steps * every if every > 0 else for_s)
    except Exception as exc:  # fall back to the marks the poll saw
        print(f"drill: exact alert times unavailable ({exc}); using the polled marks")
    firing = min(firing, received)
    pending = min(pending, firing)
    probe = min(at["probe"], pending)
    dns_step = next((s for s in e["steps"] if s["kind"] == "dns_update"), None)
    phases = [
        ("probe", probe),                    # next probe run + its failure (probe interval, timeout)
        ("evaluation", pending - probe),     # scrape + rule evaluation to pending
        ("for", firing - pending),           # the alert's for: on the evaluation grid
        ("alertmanager", received - firing),  # group_wait + webhook delivery + journal
        ("runbook", switched - received),    # steps before dns_update, then its read + write
    ]
    for name, secs in phases:
        print(f"drill: phase {name} {secs:.3f}")
    if dns_step and dns_step.get("finished_at"):
        # After the answer changed: read back and verify_nameserver until the step is done.
        print(f"drill: phase verify {max(0.0, dns_step['finished_at'] - t0 - switched):.3f}")
    print(f"drill: phase total {switched:.3f}")
    for s in e["steps"]:
        if s.get("started_at") and s.get("finished_at"):
            print(f"drill: step {s['index'] + 1} {s['kind']} {s['finished_at'] - s['started_at']:.3f}")


def main():
    # Ready: us-east holds the writer lease, both regions healthy as Prometheus sees them,
    # DNS on us-east.
    if not bootstrap():
        return 1
    ok = wait("both regions healthy in Prometheus", lambda: len(json.loads(get(
        PROM + "/api/v1/query?query=" + urllib.parse.quote("failover_probe_success{kind=\"http\"} == 1")))["data"]["result"]) == 2)
    ok = ok and wait("www.example.test on us-east", lambda: dns_a(PDNS_DNS) == [US])
    if not ok:
        return 1
    print(f"drill: ready — www.example.test A {dns_a(PDNS_DNS)[0]} (us-east), both regions healthy")
    shop = Shop()
    shop.start()
    if not wait("the shop takes orders on us-east", lambda: len(shop.acked) >= 3, 30):
        return 1

    shots = Screenshots(env["DEMO_SCREENSHOTS"]) if env.get("DEMO_SCREENSHOTS") else None
    if shots:
        shots.start()
    t0 = time.time()
    timeline = [(0.0, "failure injected: us-east answers 503 (scripts/stack region-down us-east)")]
    subprocess.run(["scripts/stack", "region-down", US], check=True, stdout=subprocess.DEVNULL)
    shop.phase = "failover"
    seen = set()
    active_at = {}  # Prometheus' activeAt of the alert: the evaluation that made it pending
    mark = marker(t0, seen, timeline)
    dns_switched = DnsWatch(EU, t0)

    print(f"  +  0.00s  {timeline[0][1]}")
    steps_seen = 0
    end = t0 + LIMIT
    while time.time() < end:
        try:
            m = get(EXPORTER + "/metrics")
            if metric(m, "failover_probe_success", probe="us-east-web") == 0:
                mark("probe", "first failed probe: us-east-web (" + (re.search(
                    r'failover_probe_failure_info\{probe="us-east-web"[^}]*reason="([^"]+)"', m) or [None, "?"])[1] + ")")
            alerts = json.loads(get(PROM + "/api/v1/alerts"))["data"]["alerts"]
            for a in alerts:
                if a["labels"].get("alertname") == "RegionDown" and a["labels"].get("region") == "us-east":
                    active_at.setdefault("t", a.get("activeAt"))
                    mark("pending", "RegionDown{region=us-east} pending in Prometheus")
                    if a["state"] == "firing":
                        mark("firing", "RegionDown{region=us-east} firing, sent to Alertmanager")
            ex = [e for e in executions() if e["runbook"] == "failover-us-east"]
            if ex:
                e = json.loads(get(ACTUATOR + "/api/v1/executions/" + ex[0]["id"], TOKEN))
                mark("webhook", f"webhook received by the actuator: execution {e['id']}")
                for ev in e["events"]:
                    if ev["kind"] == "guard":
                        mark("guard", "guard evaluated: " + ev["message"])
                done = [s for s in e["steps"] if s["state"] in ("ok", "failed")]
                for s in done[steps_seen:]:
                    mark(f"step{s['index']}", f"step {s['index'] + 1} ({s['kind']}) {s['state']}: {s['message']}")
                    if s["kind"] == "db_promote" and s["state"] == "ok":
                        lag = (s.get("details") or {}).get("promotion_lag_seconds")
                        mark("promoted", f"replica promoted: eu-west-db is the primary (lag at promotion "
                                         f"{'unknown' if lag is None else f'{lag:g}s'})")
                steps_seen = len(done)
                if e["state"] in ("succeeded", "failed", "refused"):
                    mark("finished", f"execution {e['state']}")
            for r in agent_records(AGENT_US):
                if r["labels"].get("reason") != "handover" or r["state"] != "succeeded":
                    continue
                action = r["labels"].get("action")
                if action in ("fence", "release"):
                    mark("agent-" + action, "us-east agent: " + r["message"], (r.get("finished_at") or time.time()) - t0)
            if dns_switched.t is not None:
                mark("dns", f"authoritative DNS answers {EU} (eu-west)", dns_switched.t)
            if metric(m, "failover_dns_record_target", probe="www-dns", target=EU) == 1:
                mark("exporter-dns", "the exporter's DNS probe sees the new target")
        except Exception:  # a server still starting: keep polling
            pass
        if {"dns", "finished", "exporter-dns"} <= seen:
            break
        time.sleep(0.05)
    dns_switched.close()
    shop.phase = "in-dr"
    if shots:
        shots.stop.set()
        shots.join(timeout=60)
        print(f"drill: screenshots {shots.result or 'not taken: the execution was never seen running'}")

    switched = next((t for t, text in timeline if "authoritative DNS answers" in text), None)
    print()
    if switched is None:
        print(f"drill: FAILED — the DNS answer did not switch within {LIMIT:g} s", file=sys.stderr)
        print(open(os.path.join(WORK, "actuator.log")).read()[-3000:], file=sys.stderr)
        return 1
    first_fail = next((t for t, text in timeline if text.startswith("first failed probe")), 0.0)
    print(f"drill: detection-to-switch {switched:.2f}s from the injected failure "
          f"({switched - first_fail:.2f}s from the first failed probe)")
    runs = [e for e in executions() if e["runbook"] == "failover-us-east"]
    print_phases(t0, timeline, switched, runs, active_at.get("t"))
    print(f"drill: executions of failover-us-east: {len(runs)} ({', '.join(e['state'] for e in runs)})")
    pd = pagerduty_events(lambda evs: any(info_trigger(ev) for ev in evs))
    for ev in pd:
        print(f"drill: PagerDuty got {ev['event_action']} ({ev['payload']['severity']}): {ev['payload']['summary']}")
    # What the e2e test holds the drill to.
    failures = []
    if dns_a(PDNS_DNS) != [EU]:
        failures.append(f"DNS answers {dns_a(PDNS_DNS)}, not the DR address {EU}")
    if len(runs) != 1 or runs[0]["state"] != "succeeded":
        failures.append(f"expected exactly one succeeded execution, got {[e['state'] for e in runs]}")
    if not any(info_trigger(ev) for ev in pd):
        failures.append("PagerDuty did not get the info event")
    if "promoted" not in seen:
        failures.append("the runbook did not report the replica promoted")
    if "agent-release" not in seen:
        failures.append("us-east's agent did not hand the writer lease over (no handover release)")
    check_lease("eu-west", failures)
    # The DR database takes the application's writes; the fenced old primary refuses them.
    expect_writable("DR database eu-west-db", DB_EU, "written-in-dr-after-failover",
                    f"the DR database {DB_EU} refuses writes after the failover", failures)
    expect_read_only("old primary us-east-db", DB_US, "written-in-fenced-primary", "still takes writes", "fenced: ",
                     f"the old primary {DB_US} still takes writes after the handover fence", failures)
    for f in failures:
        print("drill: FAILED — " + f, file=sys.stderr)
    if failures:
        return 1

    return failback(shop)


def failback(shop):
    """The way back: us-east recovers, an operator runs failback-us-east through the API
    (approve mode in the config; a run requested through the API is the human's decision and
    starts at once). Prints its timeline the way the failover's is printed, then checks the
    end state and the shop's orders."""
    time.sleep(1.0)  # a few orders in eu-west first
    print("\ndrill: failback — us-east recovers; an operator runs failback-us-east through the API: "
          "divergence report, rejoin us-east-db, caught up, switchover (the writer lease moves back), "
          "DNS back")
    subprocess.run(["scripts/stack", "region-up", US], check=True, stdout=subprocess.DEVNULL)
    if not wait("us-east healthy again", lambda: metric(get(EXPORTER + "/metrics"), "failover_probe_success",
                                                          probe="us-east-web") == 1, 30):
        return 1
    tf = time.time()
    shop.phase = "failback"
    run = json.loads(get(ACTUATOR + "/api/v1/runbooks/failback-us-east/run", TOKEN, b'{"labels":{"region":"us-east"}}'))
    seen = set()
    mark = marker(tf, seen)
    print(f"  +  0.00s  failback-us-east requested through the API: execution {run['id']}")
    dns_back = DnsWatch(US, tf)
    e, steps_seen, report = {}, 0, None
    end = tf + 90
    while time.time() < end:
        try:
            e = json.loads(get(ACTUATOR + "/api/v1/executions/" + run["id"], TOKEN))
            done = [st for st in e["steps"] if st["state"] in ("ok", "failed")]
            for st in done[steps_seen:]:
                mark(f"step{st['index']}", f"step {st['index'] + 1} ({st['kind']}) {st['state']}: {st['message']}",
                     (st.get("finished_at") or time.time()) - tf)
                if st["kind"] == "db_divergence" and st["state"] == "ok":
                    report = st.get("details") or {}
            steps_seen = len(done)
            for agent, region in ((AGENT_EU, "eu-west"), (AGENT_US, "us-east")):
                for r in agent_records(agent):
                    if (r.get("created_at") or 0) < tf or r["state"] != "succeeded":
                        continue
                    action = r["labels"].get("action")
                    if action in ("fence", "release", "unfence"):
                        mark(f"{region}-{action}", f"{region} agent: {r['message']}",
                             (r.get("finished_at") or time.time()) - tf)
            holder = lease_holder()
            mark(f"lease-{holder}", f"writer lease: {'held by ' + holder if holder else 'released (nobody holds it)'}")
            if dns_back.t is not None:
                mark("dns", f"authoritative DNS answers {US} (us-east) again", dns_back.t)
            if e["state"] in ("succeeded", "failed", "refused"):
                mark("finished", f"execution {e['state']}")
        except Exception:  # keep polling
            pass
        if "finished" in seen and ("dns" in seen or e.get("state") != "succeeded"):
            break
        time.sleep(0.05)
    dns_back.close()
    took = time.time() - tf
    shop.phase = "back"
    time.sleep(1.0)  # a few orders in us-east again
    shop.stop.set()
    shop.join(timeout=35)
    print()
    failures = []
    if e.get("state") != "succeeded":
        failures.append(f"failback-us-east {e.get('state')}: {e.get('message')}")
    for st in e.get("steps", []):
        if st.get("started_at") and st.get("finished_at"):
            print(f"drill: failback step {st['index'] + 1} {st['kind']} {st['finished_at'] - st['started_at']:.3f}")
    if report is not None:
        errant = report.get("errant_gtids") or []
        print(f"drill: divergence report: {len(errant)} transaction(s) only on us-east-db"
              + (f" ({', '.join(errant)})" if errant else " (the handover fenced us-east before eu-west was promoted)"))
    check_lease("us-east", failures)
    if dns_a(PDNS_DNS) != [US]:
        failures.append(f"DNS answers {dns_a(PDNS_DNS)}, not us-east's {US}")
    expect_writable("us-east-db", DB_US, "written-after-failback",
                    "us-east-db refuses writes after the failback", failures)
    expect_read_only("eu-west-db", DB_EU, "written-in-eu-west-after-failback", "STILL TAKES WRITES", "read-only: ",
                     "eu-west-db still takes writes after the failback", failures)
    # Every order the shop got acknowledged, in either region, is on us-east.
    on_us = app_notes(DB_US, "drill-order-%")
    acked = [note for note, _, _ in shop.acked]
    lost = [n for n in acked if on_us is None or n not in on_us]
    phases = shop.summary()
    names = (("before", "before the failure"), ("failover", "during the failover"), ("in-dr", "served from eu-west"),
             ("failback", "during the failback"), ("back", "after the failback"))
    print("drill: orders acknowledged: " + "; ".join(
        f"{text} {sum(phases.get(p, {}).values())} ("
        + ", ".join(f"{n} in {r}" for r, n in sorted(phases.get(p, {}).items())) + ")"
        for p, text in names) + f"; refused while fenced: {sum(shop.refused.values())}")
    print(f"drill: orders on us-east-db: {len(acked) - len(lost)} of {len(acked)} acknowledged")
    if not acked or not phases.get("in-dr") or not phases.get("back"):
        failures.append(f"the shop did not take orders in every phase: {phases}")
    if lost:
        failures.append(f"{len(lost)} acknowledged order(s) are not on us-east-db: {', '.join(lost[:10])}")
    for f in failures:
        print("drill: FAILED — " + f, file=sys.stderr)
    if failures:
        print(open(os.path.join(WORK, "actuator.log")).read()[-3000:], file=sys.stderr)
        return 1
    print(f"drill: round trip complete — failback {took:.2f}s, us-east-db the writable primary, "
          f"eu-west-db a read-only replica, all {len(acked)} acknowledged orders on us-east")
    return 0


if __name__ == "__main__":
    sys.exit(main())
