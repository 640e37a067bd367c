"""scripts/lab: the partition lab (issue 15; docs/partitions.md).

  scripts/lab up [--profile fast|default] [--design lease|today]
  scripts/lab down
  scripts/lab status
  scripts/lab list
  scripts/lab run --scenario NAME [--profile fast|default] [--design lease|today] [--json FILE] [--keep]

--design lease (the default): region agents and the writer lease (docs/writer-lease.md);
--design today: issue 15's design (db_fence on_unreachable: continue, no agents), to
reproduce the figures of "Today's design, measured" in docs/partitions.md.
"""
import argparse
import fcntl
import json
import os
import shutil
import signal
import sys
import threading
import time

import checker
import cost
import net
import servers
from common import (DEFAULT_DESIGN, DESIGNS, LOCK, PY, LIB, PORT, REGIONS, RUNS, SHOP_NAME, STATE, LabError,
                    addr, http, log, mysql, read_json, secret_value, state_path, write)
from scenarios import BY_NAME, SCENARIOS, Nemesis


def lock(limit=1800):
    """The lab's lock (one lab at a time: the namespaces have fixed names). A blocking
    flock, so a waiter gets it as soon as the holder ends (no polling race with a loop of
    runs such as bench/partitions.py); at most `limit` seconds."""
    f = open(LOCK, "a")

    def expired(*_):
        raise LabError(f"another scripts/lab held {LOCK} for more than {limit}s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(limit)
    try:
        fcntl.flock(f, fcntl.LOCK_EX)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return f


def is_up():
    return bool(net.namespaces()) or os.path.exists(state_path("up.json"))


def down(quiet=False):
    had = net.namespaces()
    n = servers.stop_all()
    net.destroy()
    left = net.namespaces()
    if os.path.isdir(STATE):
        shutil.rmtree(STATE, ignore_errors=True)
    if left:
        raise LabError("namespaces still there after down: " + " ".join(left))
    if not quiet:
        log(f"down: {n} processes stopped, {len(had)} namespaces removed" if had else "down: nothing to remove")


def up(profile, design):
    if is_up():
        raise LabError("the lab is already up (scripts/lab status; scripts/lab down)")
    try:
        servers.up(profile, design)
    except BaseException:
        log("up failed: logs in " + state_path("logs") + "; cleaning up")
        if os.path.isdir(state_path("logs")):
            keep_logs = os.path.join(RUNS, time.strftime("failed-up-%Y%m%dT%H%M%S"))
            shutil.copytree(state_path("logs"), keep_logs, dirs_exist_ok=True)
            log(f"logs copied to {keep_logs}")
        down(quiet=True)
        raise


def cmd_status():
    lines = servers.status_lines()
    info = read_json(state_path("up.json"), {})
    if info:
        print(f"lab: up, profile {info.get('profile')}, design {info.get('design', 'today')}, state in {STATE}")
    ok = True
    for name, good, detail in lines:
        print(f"{name:<20} {'ok' if good else 'DOWN':<5} {detail}")
        ok = ok and good
    return 0 if (ok and info) else 3


class Run:
    def __init__(self, scenario, profile, design):
        self.scenario, self.profile, self.design = scenario, profile, design
        self.timeline = []
        self.t0 = None
        self.dir = os.path.join(RUNS, time.strftime("%Y%m%dT%H%M%S") + f"-{scenario.name}-{profile}-{design}")
        os.makedirs(self.dir, exist_ok=True)
        self.stop_watch = threading.Event()

    def mark(self, text, at=None):
        at = time.time() if at is None else at
        self.timeline.append((at, text))
        if self.t0 is not None:
            print(f"  {at - self.t0:+8.2f}s  {text}", flush=True)
        else:
            print(f"  (setup)    {text}", flush=True)
        with open(os.path.join(self.dir, "run.log"), "a") as f:
            f.write(f"{at:.3f} {text}\n")

    def sleep(self, secs):
        time.sleep(secs)

    def watch_alerts(self):
        """RegionDown as Prometheus sees it, polled every second (pending, firing, gone)."""
        state = {}
        while not self.stop_watch.is_set():
            try:
                code, body = servers.http("control", f"http://127.0.0.1:{PORT['prometheus']}/api/v1/alerts", timeout=2)
                now = {}
                if code == 200:
                    for a in json.loads(body)["data"]["alerts"]:
                        if a["labels"].get("alertname") in ("RegionDown", "AllRegionsDown"):
                            now[(a["labels"]["alertname"], a["labels"].get("region"))] = a["state"]
                    for k in set(state) | set(now):
                        if state.get(k) != now.get(k):
                            self.mark(f"prometheus: {k[0]}{{region={k[1]}}} {now.get(k, 'resolved')}")
                    state = now
            except Exception:
                pass
            self.stop_watch.wait(1.0)

    def start_workload(self):
        for site in REGIONS:
            servers.spawn(site, f"sampler-{site}", [PY, os.path.join(LIB, "sampler.py"), "--site", site,
                                                    "--db", f"127.0.0.1:{PORT['mysql']}",
                                                    "--out", os.path.join(self.dir, f"samples-{site}.jsonl")])
        servers.spawn("shoppers", "shoppers", [PY, os.path.join(LIB, "shoppers.py"), "--out", self.dir,
                                               "--dns", f"{addr('control')}:{PORT['dns']}", "--name", SHOP_NAME,
                                               "--rate", "40", "--workers", "8"])

    def acks(self):
        return len(checker.load_jsonl(os.path.join(self.dir, "acks.jsonl")))

    def executions(self):
        out = []
        try:
            for e in servers.actuator_api("/api/v1/executions")["executions"]:
                out.append(servers.actuator_api("/api/v1/executions/" + e["id"]))
        except Exception as exc:
            self.mark(f"checker: cannot read the actuator's executions: {exc}")
        return out

    def execute(self):
        sc = self.scenario
        if sc.semisync:
            servers.semisync_on(self.design)
            self.mark("MariaDB semi-synchronous replication on (us-east waits for eu-west, timeout "
                      f"{servers.SEMISYNC_TIMEOUT_MS[self.design]} ms)")
            if self.design == "lease":
                servers.actuator_reload(self.design, semisync=True)
                self.mark("actuator: db_promote with require_semisync: true")
        self.start_workload()
        start = time.time()
        servers.wait_until("the first orders acknowledged", lambda: self.acks() >= 40, 90, 0.5)
        time.sleep(10)  # steady state before the fault
        self.mark(f"workload steady: {self.acks()} orders acknowledged")
        watcher = threading.Thread(target=self.watch_alerts, daemon=True)
        watcher.start()
        self.t0 = time.time()
        nem = Nemesis(self.mark, self.sleep)
        try:
            sc.inject(nem)
        finally:
            nem.heal_all("end of the fault")
            if "mariadb-us-east" in nem.killed:
                servers.mysql_start("us-east", self.design)
                self.mark("nemesis: us-east MariaDB restarted")
                try:
                    servers.wait_until("us-east MariaDB back", lambda: servers.mysql_ready("us-east"), 120, 0.5)
                except LabError as exc:
                    self.mark(str(exc))
        time.sleep(20)  # the workload runs on after the heal
        end = time.time() + 150
        while time.time() < end:  # an execution still running finishes first (bounded)
            try:
                if not any(e["state"] in ("running", "pending", "queued")
                           for e in servers.actuator_api("/api/v1/executions")["executions"]):
                    break
            except Exception:
                pass
            time.sleep(1)
        fb = self.failback() if sc.failback else None
        servers.signal_name("shoppers", signal.SIGTERM)
        servers.wait_until("the workload ended", lambda: not servers.alive(servers.pid_of("shoppers")), 30, 0.2)
        stop = time.time()
        self.mark(f"workload stopped: {self.acks()} acknowledgements")
        self.stop_watch.set()
        watcher.join(timeout=5)
        checker.settle(self.mark)
        try:
            final_dns = query_answer()
        except Exception:
            final_dns = None
        writable_now = {}
        for site in REGIONS:
            try:
                writable_now[site] = mysql(site, "SELECT @@read_only", timeout=5) == [["0"]]
            except Exception:
                writable_now[site] = False
        for site in REGIONS:
            servers.signal_name(f"sampler-{site}", signal.SIGTERM)
        executions = self.executions()
        agent_records = self.agent_records()
        with open(os.path.join(self.dir, "agent-records.json"), "w") as f:
            json.dump(agent_records, f, indent=1)
        with open(os.path.join(self.dir, "executions.json"), "w") as f:
            json.dump(executions, f, indent=1)
        v = checker.verdict(self.dir, self.t0, (start, stop), executions, final_dns, writable_now, fb)
        self.add_events(v, executions)
        for site, recs in agent_records.items():
            for e in recs:
                lab = e.get("labels", {})
                self.timeline.append((e.get("created_at", 0), f"agent {site}: {lab.get('action')} "
                                      f"({lab.get('reason')}) {e.get('state')}: {e.get('message', '')}"[:220]))
        return v

    def failback(self):
        """Scenario round-trip, after the heal and the failover's execution: the checker's own
        list of the orders the failover lost (acknowledged, not on eu-west), then
        failback-us-east through the actuator's API, orders still flowing; bounded waits."""
        acked = {a["id"] for a in checker.load_jsonl(os.path.join(self.dir, "acks.jsonl"))}
        try:
            on_eu = {r[0] for r in mysql("eu-west", "SELECT id FROM shop.orders", timeout=60)}
            lost = sorted(acked - on_eu)
        except Exception as exc:
            self.mark(f"checker: cannot read eu-west's orders before the failback: {exc}")
            lost = None
        self.mark(f"checker: {len(acked)} orders acknowledged so far, "
                  f"{'?' if lost is None else len(lost)} of them not on eu-west (lost in the failover)")
        writable = []
        for site in REGIONS:
            try:
                if mysql(site, "SELECT @@read_only", timeout=5) == [["0"]]:
                    writable.append(site)
            except Exception:
                pass
        self.mark(f"checker: writable before the failback: {' '.join(writable) or 'none'}")
        started = time.time()
        fb = {"started": started, "ended": None, "execution": {}, "lost_at_failover": lost,
              "primary_before": writable[0] if len(writable) == 1 else ("none" if not writable else "both")}
        try:
            eid = servers.run_failback()
        except LabError as exc:
            self.mark(f"actuator: {exc}")
            return fb
        self.mark(f"actuator: failback-us-east requested through the API: execution {eid}", started)
        done = fb["execution"]

        def finished():
            try:
                done.update(servers.actuator_api("/api/v1/executions/" + eid))
            except LabError:
                return False
            return done.get("state") not in ("running", "pending", "queued", None)
        try:
            servers.wait_until("failback-us-east finished", finished, 360, 0.5)
        except LabError as exc:
            self.mark(str(exc))
        fb["ended"] = time.time()
        self.mark(f"actuator: failback-us-east {done.get('state')}: {done.get('message', '')}"[:220])
        # The shoppers keep eu-west's answer for its TTL (30 s) and get 503s from the fenced
        # eu-west meanwhile: orders in us-east again, then 10 s more of them (bounded).
        def us_east_acks():
            return [a for a in checker.load_jsonl(os.path.join(self.dir, "acks.jsonl"))
                    if a["ack"] >= fb["ended"] and a.get("region") == "us-east"]
        try:
            servers.wait_until("orders acknowledged by us-east after the failback", us_east_acks, 90, 0.5)
            self.mark("shoppers: orders acknowledged by us-east again")
        except LabError as exc:
            self.mark(str(exc))
        time.sleep(10)
        return fb

    def agent_records(self):
        """The region agents' journals (lease design): every fence, unfence and release."""
        out = {}
        if self.design != "lease":
            return out
        tok = [f"Authorization: Bearer {secret_value('admin.token')}"]
        for site in REGIONS:
            try:
                code, body = http(site, f"http://127.0.0.1:{PORT['agent']}/api/v1/executions", headers=tok)
                out[site] = []
                for e in json.loads(body)["executions"] if code == 200 else []:
                    c, b = http(site, f"http://127.0.0.1:{PORT['agent']}/api/v1/executions/{e['id']}", headers=tok)
                    out[site].append(json.loads(b) if c == 200 else e)
            except Exception as exc:
                self.mark(f"checker: cannot read agent-{site}'s journal: {exc}")
        return out

    def add_events(self, v, executions):
        """Events known only afterwards, with their own timestamps: the actuator's steps, the
        DNS answer's changes, each database's writability, the first and last ack per region."""
        for e in executions:
            self.timeline.append((e.get("created_at", 0), f"actuator: execution {e.get('id')} of "
                                  f"{e.get('runbook')} created ({e.get('state')})"))
            for s in e.get("steps", []):
                if s.get("finished_at"):
                    self.timeline.append((s["finished_at"], f"actuator: step {s.get('index', 0) + 1} "
                                          f"{s.get('kind')} {s.get('state')}: {s.get('message', '')}"[:220]))
        for d in v["_dns"]:
            self.timeline.append((d["t"], f"dns: {SHOP_NAME} answers {', '.join(d['answer'])}"))
        last = {}
        for s in sorted(v["_samples"], key=lambda s: s["t"]):
            if last.get(s["site"]) != s["writable"]:
                word = {1: "writable", 0: "read-only", -1: "unreachable"}[s["writable"]]
                self.timeline.append((s["t"], f"sampler: {s['site']} database {word}"))
                last[s["site"]] = s["writable"]
        prev = None
        for t, w in v["_ticks"]:
            if len(w) != prev:
                if prev is not None:
                    self.timeline.append((t, f"sampler: {len(w)} writable database(s) {' '.join(w)}"))
                prev = len(w)
        by_region = {}
        for a in sorted(v["_acks"], key=lambda a: a["ack"]):
            r = a.get("region")
            if r not in by_region:
                by_region[r] = [a["ack"], a["ack"]]
            by_region[r][1] = a["ack"]
        for r, (first, lastt) in by_region.items():
            if self.t0 and lastt > self.t0:
                self.timeline.append((lastt, f"shoppers: last order acknowledged by {r}"))
            if self.t0 and first > self.t0:
                self.timeline.append((first, f"shoppers: first order acknowledged by {r}"))


def query_answer():
    """The shop's A record as the shoppers see it (from inside the shoppers site)."""
    out = servers.run(["ip", "netns", "exec", "folab-shoppers", PY, "-c",
                       f"import sys; sys.path.insert(0, {LIB!r}); from dnsq import query_a; "
                       f"print(' '.join(query_a('{addr('control')}:{PORT['dns']}', '{SHOP_NAME}')[0]))"],
                      timeout=10)
    return out.split()


def cmd_run(a):
    sc = BY_NAME.get(a.scenario)
    if sc is None:
        raise LabError(f"unknown scenario '{a.scenario}' (scripts/lab list)")
    info = read_json(state_path("up.json"))
    if sc.failback and a.design != "lease":
        raise LabError(f"scenario {sc.name} needs --design lease (db_switchover moves the writer lease)")
    if is_up() and not (info and info.get("fresh") and info.get("profile") == a.profile
                        and info.get("design") == a.design):
        log("the lab is up but was used or has another profile or design: down, then up again")
        down()
    t_up = time.time()
    if not is_up():
        up(a.profile, a.design)
    up_seconds = round(time.time() - t_up, 1)
    meter = cost.CostMeter()
    meter.start()
    info = read_json(state_path("up.json"))
    info["fresh"] = False
    write(state_path("up.json"), json.dumps(info))
    r = Run(sc, a.profile, a.design)
    print(f"lab: scenario {sc.name} ({sc.description}), profile {a.profile}, design {a.design}; "
          f"run dir {r.dir}", flush=True)
    try:
        v = r.execute()
    finally:
        spent = meter.stop()
        shutil.copytree(state_path("logs"), os.path.join(r.dir, "logs"), dirs_exist_ok=True)
        t_down = time.time()
        if not a.keep:
            down()
        down_seconds = round(time.time() - t_down, 1)
    spent.update({"up_seconds": up_seconds, "down_seconds": down_seconds,
                  "total_seconds": round(up_seconds + spent["scenario_seconds"] + down_seconds, 1)})
    timeline = sorted(r.timeline)
    out = {k: v[k] for k in ("orders_acked", "orders_lost", "split_brain_writes", "writable_primaries_max",
                             "failovers", "failover_seconds", "unavailable_seconds", "final_primary")}
    if sc.failback:
        out.update({k: v[k] for k in ("failback_seconds", "switchover_orders_lost", "lost_order_ids",
                                      "lost_orders_reported")})
    result = {"scenario": sc.name, "profile": a.profile, "design": a.design, **out, "details": v["details"],
              "cost": spent,
              "fault_at": r.t0, "run_dir": r.dir,
              "timeline": [{"t": round(t - r.t0, 3), "event": text} for t, text in timeline]}
    print("\nlab: timeline (seconds from the fault)")
    for t, text in timeline:
        print(f"  {t - r.t0:+8.2f}s  {text}")
    print()
    for k, val in out.items():
        print(f"lab: {k} {json.dumps(val)}")
    print("lab: cost " + ", ".join(f"{k}={spent[k]}" for k in ("up_seconds", "scenario_seconds", "down_seconds",
                                                               "cpu_seconds_all_sites", "peak_rss_mb_all_sites",
                                                               "driver_cpu_seconds")))
    for site, c in spent["sites"].items():
        print(f"lab: cost {site}: cpu_seconds={c['cpu_seconds']} (cores {c['cores']}), peak_rss_mb={c['peak_rss_mb']}, "
              f"processes={c['processes']}; up: cpu_seconds={c['up_cpu_seconds']}, rss_mb={c['up_rss_mb']}")
    print(f"lab: verdict {sc.name} {a.profile} {a.design}: " + ", ".join(f"{k}={json.dumps(val)}" for k, val in out.items()))
    with open(os.path.join(r.dir, "verdict.json"), "w") as f:
        json.dump(result, f, indent=1)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


def main(argv):
    p = argparse.ArgumentParser(prog="scripts/lab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("--profile", choices=("fast", "default"), default="fast")
    u.add_argument("--design", choices=DESIGNS, default=DEFAULT_DESIGN)
    sub.add_parser("down")
    sub.add_parser("status")
    sub.add_parser("list")
    r = sub.add_parser("run")
    r.add_argument("--scenario", required=True)
    r.add_argument("--profile", choices=("fast", "default"), default="fast")
    r.add_argument("--design", choices=DESIGNS, default=DEFAULT_DESIGN)
    r.add_argument("--json")
    r.add_argument("--keep", action="store_true")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for s in SCENARIOS:
            print(f"{s.name:<26} {s.description}")
        return 0
    if a.cmd == "run" and a.scenario not in BY_NAME:
        raise LabError(f"unknown scenario '{a.scenario}' (scripts/lab list)")
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces)")
    if a.cmd == "status":
        return cmd_status()
    os.makedirs(os.path.dirname(LOCK) or "/", exist_ok=True)
    held = lock()
    try:
        if a.cmd == "down":
            down()
            return 0
        if a.cmd == "up":
            up(a.profile, a.design)
            return 0
        return cmd_run(a)
    finally:
        held.close()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        sys.exit(main(sys.argv[1:]))
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
