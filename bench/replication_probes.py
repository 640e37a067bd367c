#!/usr/bin/env python3
"""Benchmark: failover_exporter's mysql/postgres replication probes vs Debian's
prometheus-mysqld-exporter and prometheus-postgres-exporter.

Starts a MariaDB primary/replica and a PostgreSQL primary/standby with
scripts/stack (fresh state dir), then for each N in --counts:

  window A: failover_exporter with N mysql probes on the MariaDB replica
            + postgres_exporter on the standby, scraped N times per second
  window B: failover_exporter with N postgres probes on the standby
            + mysqld_exporter on the replica, scraped N times per second
  window C: mysqld_exporter with only --collect.slave_status (the part that
            does what the failover probe does), scraped N times per second
            (skip with --skip-minimal)

Each database sees exactly one exporter per window, so the server-side
counters can be attributed. Per exporter it prints CPU seconds per 1000 runs
(utime+stime from /proc/<pid>/stat over the window after --warmup), queries
and connections per run (server counters over the exporter's whole lifetime,
start to stop, minus the benchmark's own measuring queries and the idle
background rate), and the failover/peer ratios.

A "run" is one finished probe run (failover_exporter_probes_total) or one
answered scrape of the peer exporter (HTTP 200 on /metrics).

This is a benchmark, not a test: it prints figures and asserts nothing.
Everything listens on 127.0.0.1; everything it starts is stopped on exit
(including Ctrl-C / SIGTERM) and the stack is removed (stop --clean).
Python 3 standard library only. See bench/README.md.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time

from benchlib import (Procs, free_port, http_get, log, parse_duration,
                      proc_cpu_seconds, require_executables, Run, version_line,
                      wait_http)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
STACK = os.path.join(REPO, "scripts", "stack")


# --------------------------------------------------------------------------- utilities

def parse_counts(text):
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("--counts takes integers, e.g. 1,20")
    if not counts or any(c < 1 or c > 200 for c in counts):
        raise argparse.ArgumentTypeError("--counts: each N must be 1..200")
    return counts


def proc_cpu_ns(pid):
    """On-CPU nanoseconds summed over the process's threads (/proc/<pid>/task/*/schedstat).

    Finer than utime+stime (clock ticks, 10 ms) for the few ms a 1-probe window costs;
    a thread that exits inside the window takes its time with it (the exporters here
    keep their threads)."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def metric_sum(text, name, must=()):
    """Sum of samples of `name` whose label text contains every string in `must`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name and all(s in (m.group(2) or "") for s in must):
            total += float(m.group(3))
    return total


# --------------------------------------------------------------------------- processes

class Scraper:
    """N threads; thread i GETs /metrics at t0 + i/N + k seconds (N scrapes per second)."""

    def __init__(self, port, n):
        self.port, self.n = port, n
        self.ok = 0
        self.errors = 0
        self.last_error = ""
        self.mu = threading.Lock()
        self.stop_ev = threading.Event()
        self.threads = []

    def start(self, max_seconds):
        t0 = time.monotonic() + 0.05
        self.hard_deadline = t0 + max_seconds  # bound even if stop() is never called
        for i in range(self.n):
            t = threading.Thread(target=self._run, args=(t0 + i / self.n,), daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self, first):
        k = 0
        while not self.stop_ev.is_set():
            at = first + k
            k += 1
            if at >= self.hard_deadline:
                return
            delay = at - time.monotonic()
            if delay > 0 and self.stop_ev.wait(delay):
                return
            if delay < -1.0:
                continue  # more than one period late: skip this slot, like Prometheus would
            try:
                st, _, _ = http_get(self.port, "/metrics", timeout=5.0)
                ok = st == 200
                err = "" if ok else "HTTP %d" % st
            except OSError as e:
                ok, err = False, str(e)
            with self.mu:
                if ok:
                    self.ok += 1
                else:
                    self.errors += 1
                    self.last_error = err

    def count(self):
        with self.mu:
            return self.ok

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=10)


# --------------------------------------------------------------------------- databases

class MariaDB:
    """Reads the replica's global status with the mariadb client (one connection per read)."""

    name = "mysql"

    def __init__(self, addr, cnf):
        self.host, self.port = addr.rsplit(":", 1)
        self.cnf = cnf

    def read(self):
        sql = ("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions','Com_select','Connections')"
               " OR Variable_name LIKE 'Com\\_show\\_%'")
        p = subprocess.run(["mariadb", "--defaults-extra-file=" + self.cnf, "--protocol=TCP",
                            "-N", "-B", "-e", sql], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        if p.returncode != 0:
            raise RuntimeError("mariadb status read failed: %s" % p.stderr.decode().strip())
        v = {}
        for line in p.stdout.decode().splitlines():
            k, _, val = line.partition("\t")
            v[k] = int(val)
        time.sleep(0.2)
        return {"queries": v["Questions"],
                "select_show": v.get("Com_select", 0) + sum(x for k, x in v.items()
                                                            if k.startswith("Com_show_")),
                "connections": v["Connections"]}


class Postgres:
    """Reads the standby's pg_stat_database with psql (one session per read)."""

    name = "pg"

    def __init__(self, addr, password_file):
        self.host, self.port = addr.rsplit(":", 1)
        with open(password_file) as f:
            self.password = f.read().strip()

    def read(self):
        env = dict(os.environ, PGPASSWORD=self.password, PGCONNECT_TIMEOUT="10")
        sql = ("SELECT sum(xact_commit + xact_rollback)::bigint, sum(sessions)::bigint"
               " FROM pg_stat_database")
        p = subprocess.run(["psql", "-X", "-At", "-F", " ", "-h", self.host, "-p", self.port,
                            "-U", "monitor", "-d", "postgres", "-c", sql], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        if p.returncode != 0:
            raise RuntimeError("psql stats read failed: %s" % p.stderr.decode().strip())
        xacts, sessions = (int(x) for x in p.stdout.decode().split())
        # The reading session's own counts are flushed when its backend exits, just after
        # psql returns; give it time so they land before the next read (calibrated below).
        time.sleep(0.5)
        return {"queries": xacts, "connections": sessions}


def delta(a, b):
    return {k: b[k] - a[k] for k in a}


class Calibration:
    """Per-read overhead (back-to-back reads) and idle background rate of one database."""

    def __init__(self, db, idle_seconds, reads=3):
        vals = [db.read() for _ in range(reads + 1)]
        ds = [delta(vals[i], vals[i + 1]) for i in range(reads)]
        self.overhead = {k: min(d[k] for d in ds) for k in ds[0]}
        self.overhead_max = {k: max(d[k] for d in ds) for k in ds[0]}
        t0 = time.monotonic()
        a = db.read()
        time.sleep(idle_seconds)
        b = db.read()
        el = time.monotonic() - t0
        d = delta(a, b)
        self.rate = {k: max(0.0, (d[k] - self.overhead[k]) / el) for k in d}

    def correct(self, d, seconds):
        return {k: d[k] - self.overhead[k] - self.rate[k] * seconds for k in d}


# --------------------------------------------------------------------------- exporters

def start_failover(procs, tmp, args, tag, kind, n, env):
    port = free_port()
    cfg = os.path.join(tmp, "failover-%s.yml" % tag)
    with open(cfg, "w") as f:
        f.write("defaults: {interval: %s, timeout: %s}\nprobes:\n" % (args.interval_str,
                                                                       args.timeout_str))
        for i in range(n):
            if kind == "mysql":
                f.write("  - name: mysql-%d\n    mysql:\n      address: %s\n      user: monitor\n"
                        "      password_file: %s\n" % (i + 1, env["MARIADB_REPLICA_ADDR"],
                                                       env["MARIADB_MONITOR_PASSWORD_FILE"]))
            else:
                host, port_ = env["PG_STANDBY_ADDR"].rsplit(":", 1)
                f.write("  - name: pg-%d\n    postgres:\n      conninfo: \"host=%s port=%s "
                        "user=monitor dbname=postgres\"\n      password_file: %s\n"
                        % (i + 1, host, port_, env["PG_MONITOR_PASSWORD_FILE"]))
    p = procs.start("failover_exporter",
                    [args.failover_bin, "--config.file=" + cfg,
                     "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                    os.path.join(tmp, "failover-%s.log" % tag))
    wait_http(port, "/-/ready", p, "failover_exporter")
    return p, port


def failover_runs(port, kind):
    st, body, _ = http_get(port, "/metrics")
    if st != 200:
        raise RuntimeError("failover_exporter /metrics answered %d" % st)
    text = body.decode(errors="replace")
    kind_l = 'kind="%s"' % kind
    return (metric_sum(text, "failover_exporter_probes_total", (kind_l,)),
            metric_sum(text, "failover_exporter_probes_total", (kind_l, 'result="failure"')))


def start_mysqld_exporter(procs, tmp, args, tag, cnf, minimal):
    port = free_port()
    argv = [args.mysqld_exporter_bin, "--config.my-cnf=" + cnf,
            "--web.listen-address=127.0.0.1:%d" % port]
    if minimal:
        argv += ["--no-collect.global_status", "--no-collect.global_variables",
                 "--no-collect.info_schema.innodb_cmp", "--no-collect.info_schema.innodb_cmpmem",
                 "--no-collect.info_schema.query_response_time", "--collect.slave_status"]
    p = procs.start("mysqld_exporter", argv, os.path.join(tmp, "mysqld_exporter-%s.log" % tag))
    wait_http(port, "/metrics", p, "mysqld_exporter")
    return p, port


def start_postgres_exporter(procs, tmp, args, tag, env):
    port = free_port()
    with open(env["PG_MONITOR_PASSWORD_FILE"]) as f:
        pw = f.read().strip()
    pe = dict(os.environ, DATA_SOURCE_NAME="postgresql://monitor:%s@%s/postgres?sslmode=disable"
              % (pw, env["PG_STANDBY_ADDR"]))
    p = procs.start("postgres_exporter",
                    [args.postgres_exporter_bin, "--web.listen-address=127.0.0.1:%d" % port],
                    os.path.join(tmp, "postgres_exporter-%s.log" % tag), env=pe)
    wait_http(port, "/metrics", p, "postgres_exporter")
    return p, port


class Subject:
    """One exporter under measurement in a window."""

    def __init__(self, label, kind, db, proc, port, n, failover):
        self.label, self.kind, self.db, self.proc, self.port = label, kind, db, proc, port
        self.n, self.failover = n, failover
        self.scraper = None
        self.failures = 0

    def runs(self):
        if self.failover:
            total, failed = failover_runs(self.port, {"mysql": "mysql", "pg": "postgres"}[self.kind])
            self.failures = failed
            return total
        return self.scraper.count()


def run_window(procs, tmp, args, env, dbs, cal, n, plan, tag):
    """plan: list of (label, kind, starter(tag), failover?). Runs them together for one
    window."""
    subjects = []
    before = {}
    try:
        for label, kind, starter, is_fo in plan:
            db = dbs[kind]
            before[kind] = db.read()
            t_start = time.monotonic()
            proc, port = starter(tag)
            s = Subject(label, kind, db, proc, port, n, is_fo)
            s.t_start = t_start
            if not is_fo:
                s.scraper = Scraper(port, n)
                s.scraper.start(args.warmup + args.duration + 60)
            subjects.append(s)
            log("%s: %s pid %d on 127.0.0.1:%d" % (tag, label, proc.pid, port))
        time.sleep(args.warmup)
        for s in subjects:
            s.cpu0, s.ns0 = proc_cpu_seconds(s.proc.pid), proc_cpu_ns(s.proc.pid)
            s.runs0, s.w0 = s.runs(), time.monotonic()
        end = time.monotonic() + args.duration
        while time.monotonic() < end:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            for s in subjects:
                if s.proc.poll() is not None:
                    raise RuntimeError("%s exited (status %s) during the window; log in %s"
                                       % (s.label, s.proc.returncode, tmp))
        for s in subjects:
            s.cpu1, s.ns1 = proc_cpu_seconds(s.proc.pid), proc_cpu_ns(s.proc.pid)
            s.runs1, s.w1 = s.runs(), time.monotonic()
            if s.scraper:
                s.scraper.stop()
            s.runs_life = s.runs()
            procs.stop(s.proc)
            s.t_stop = time.monotonic()
        time.sleep(1.5)  # exiting PostgreSQL backends flush their statistics
        for s in subjects:
            life = time.monotonic() - s.t_start
            raw = delta(before[s.kind], s.db.read())
            s.db_raw = raw
            s.db = cal[s.kind].correct(raw, life)
            s.life = life
    finally:
        for s in subjects:
            if s.scraper:
                s.scraper.stop()
            procs.stop(s.proc)
    out = []
    for s in subjects:
        runs_w = s.runs1 - s.runs0
        win = s.w1 - s.w0
        r = {"label": s.label, "kind": s.kind, "n": n, "failover": s.failover,
             "runs_per_s": runs_w / win if win > 0 else 0.0,
             "cpu_per_1000": 1000.0 * (s.cpu1 - s.cpu0) / runs_w if runs_w else None,
             "sched_per_1000": 1000.0 * (s.ns1 - s.ns0) / runs_w if runs_w else None,
             "runs_life": s.runs_life,
             "queries_per_run": s.db["queries"] / s.runs_life if s.runs_life else None,
             "conns_per_run": s.db["connections"] / s.runs_life if s.runs_life else None,
             "select_show_per_run": (s.db["select_show"] / s.runs_life
                                     if s.runs_life and "select_show" in s.db else None),
             "failures": s.failures if s.failover else (s.scraper.errors if s.scraper else 0),
             "last_error": "" if s.failover else s.scraper.last_error,
             "raw": s.db_raw, "life": s.life}
        log("%s: %s %.1f runs/s, %s" % (tag, s.label, r["runs_per_s"],
                                        ", ".join("%s=%d" % kv for kv in s.db_raw.items())))
        out.append(r)
    return out


# --------------------------------------------------------------------------- output

def fmt(v, spec="%.3f"):
    return "n/a" if v is None else spec % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return "%.3f" % (a / b)


def render(results, args, markdown=False):
    lines = []
    head = ["N", "exporter", "runs/s", "CPU s/1000 runs", "(schedstat)", "queries/run", "conns/run",
            "failed runs"]
    rows = []
    by_n = {}
    for r in results:
        by_n.setdefault(r["n"], []).append(r)
    ratio_rows = []
    for n in sorted(by_n):
        for r in by_n[n]:
            rows.append([str(n), r["label"], "%.2f" % r["runs_per_s"], fmt(r["cpu_per_1000"]),
                         fmt(r["sched_per_1000"]),
                         fmt(r["queries_per_run"], "%.2f"), fmt(r["conns_per_run"], "%.4f"),
                         "%d" % r["failures"]])
        for kind in ("mysql", "pg"):
            fo = [r for r in by_n[n] if r["kind"] == kind and r["failover"]]
            for peer in [r for r in by_n[n] if r["kind"] == kind and not r["failover"]]:
                if not fo:
                    continue
                f = fo[0]
                ratio_rows.append([str(n), "%s / %s" % (f["label"], peer["label"]),
                                   ratio(f["cpu_per_1000"], peer["cpu_per_1000"]),
                                   ratio(f["sched_per_1000"], peer["sched_per_1000"]),
                                   ratio(f["queries_per_run"], peer["queries_per_run"]),
                                   ratio(f["conns_per_run"], peer["conns_per_run"])])
    lines += table(head, rows, markdown)
    lines.append("")
    lines += table(["N", "ratio", "CPU", "CPU (schedstat)", "queries", "connections"], ratio_rows,
                   markdown)
    return "\n".join(lines)


def table(head, rows, markdown):
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return out
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    fmt_row = lambda r: "  ".join(str(x).ljust(w[i]) if i < 2 else str(x).rjust(w[i])
                                  for i, x in enumerate(r))
    return [fmt_row(head), fmt_row(["-" * x for x in w])] + [fmt_row(r) for r in rows]


# --------------------------------------------------------------------------- main

def stack_start(stack_dir):
    env = dict(os.environ, FAILOVER_STACK_DIR=stack_dir)
    p = subprocess.run([STACK, "start", "mariadb", "postgres"], env=env, stdout=subprocess.PIPE,
                       timeout=300)
    if p.returncode != 0:
        raise RuntimeError("scripts/stack start mariadb postgres failed (status %d)" % p.returncode)
    out = {}
    for line in p.stdout.decode().splitlines():
        m = re.match(r"^export ([A-Z0-9_]+)=(.*)$", line)
        if m:
            v = m.group(2)
            if len(v) >= 2 and v[0] == v[-1] == "'":
                v = v[1:-1].replace("'\\''", "'")
            out[m.group(1)] = v
    for k in ("MARIADB_REPLICA_ADDR", "MARIADB_MONITOR_PASSWORD_FILE", "PG_STANDBY_ADDR",
              "PG_MONITOR_PASSWORD_FILE"):
        if k not in out:
            raise RuntimeError("scripts/stack start printed no %s" % k)
        if not out[k].startswith("127.") and k.endswith("_ADDR"):
            raise RuntimeError("%s=%s is not on 127.0.0.0/8" % (k, out[k]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--counts", type=parse_counts, default=[1, 20],
                    help="comma-separated N values: probes per kind / scrapes per second (1,20)")
    ap.add_argument("--duration", type=parse_duration, default=30.0, help="window (30s)")
    ap.add_argument("--warmup", type=parse_duration, default=5.0,
                    help="before the CPU window starts (5s)")
    ap.add_argument("--interval", type=parse_duration, default=1.0,
                    help="failover probe interval (1s); peers are scraped N/interval per second")
    ap.add_argument("--idle", type=parse_duration, default=10.0,
                    help="idle window measuring the databases' background counts (10s)")
    ap.add_argument("--failover-bin", default=os.path.join(REPO, "build-bench", "bin",
                                                           "failover_exporter"))
    ap.add_argument("--mysqld-exporter-bin", default="/usr/bin/prometheus-mysqld-exporter")
    ap.add_argument("--postgres-exporter-bin", default="/usr/bin/prometheus-postgres-exporter")
    ap.add_argument("--skip-minimal", action="store_true",
                    help="skip mysqld_exporter with only --collect.slave_status")
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables as markdown")
    ap.add_argument("--json", metavar="FILE",
                    help="also write every row as JSON (bench/run.py reads it)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep configs and logs")
    args = ap.parse_args()
    if not 1 <= args.duration <= 3600 or not 0 <= args.warmup <= 600 or not 1 <= args.idle <= 600:
        ap.error("--duration 1s..1h, --warmup 0..10m, --idle 1s..10m")
    if args.interval != 1.0:
        ap.error("only --interval 1s is supported (peers are scraped N times per second)")
    args.interval_str, args.timeout_str = "1s", "900ms"
    require_executables(ap, args.failover_bin, hint="build it: see bench/README.md")
    for b, pkg in ((args.mysqld_exporter_bin, "prometheus-mysqld-exporter"),
                   (args.postgres_exporter_bin, "prometheus-postgres-exporter")):
        require_executables(ap, b, hint="apt-get install -y " + pkg)
    require_executables(ap, STACK, hint="scripts/stack")
    for tool in ("mariadb", "psql"):
        if not shutil.which(tool):
            ap.error("%s client not found (scripts/setup installs it)" % tool)

    procs = Procs()
    stack_dir = None

    def stop_stack():
        if stack_dir is None:
            return
        env = dict(os.environ, FAILOVER_STACK_DIR=stack_dir)
        try:
            subprocess.run([STACK, "stop"] + ([] if args.keep_tmp else ["--clean"]), env=env,
                           timeout=120, stdout=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            log("scripts/stack stop failed: %s (state dir %s)" % (e, stack_dir))

    run = Run("replication_probes.", args.keep_tmp, procs.stop_all, stop_stack,
              kept_what="configs and logs" + (", stopped stack data" if args.keep_tmp else ""))
    tmp = run.tmp
    os.chmod(tmp, 0o711)  # the postgres OS user must traverse it to reach the stack's PG_ROOT
    with run:
        info = {
            "cpu": "%d cores, %s" % (os.cpu_count() or 0, platform.processor() or platform.machine()),
            "kernel": platform.release(),
            "failover": version_line([args.failover_bin, "--version"]),
            "mysqld_exporter": version_line([args.mysqld_exporter_bin, "--version"]),
            "postgres_exporter": version_line([args.postgres_exporter_bin, "--version"]),
        }
        log("temp dir %s; starting scripts/stack (mariadb postgres)" % tmp)
        stack_dir = os.path.join(tmp, "stack")  # from here on, stop_stack stops it
        env = stack_start(stack_dir)
        log("MariaDB replica %s, PostgreSQL standby %s" % (env["MARIADB_REPLICA_ADDR"],
                                                            env["PG_STANDBY_ADDR"]))
        cnf = os.path.join(tmp, "monitor.my.cnf")
        with open(env["MARIADB_MONITOR_PASSWORD_FILE"]) as f:
            mpw = f.read().strip()
        host, port = env["MARIADB_REPLICA_ADDR"].rsplit(":", 1)
        fd = os.open(cnf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("[client]\nuser=monitor\npassword=\"%s\"\nhost=%s\nport=%s\n" % (mpw, host, port))
        dbs = {"mysql": MariaDB(env["MARIADB_REPLICA_ADDR"], cnf),
               "pg": Postgres(env["PG_STANDBY_ADDR"], env["PG_MONITOR_PASSWORD_FILE"])}
        log("calibrating: back-to-back reads and %.0fs idle on each database" % args.idle)
        cal = {}
        t = [threading.Thread(target=lambda k=k: cal.__setitem__(k, Calibration(dbs[k], args.idle)))
             for k in dbs]
        for x in t:
            x.start()
        for x in t:
            x.join()
        if set(cal) != set(dbs):
            raise RuntimeError("calibration failed (see the errors above)")
        for k, c in cal.items():
            log("%s: per read %s (max %s), idle/s %s" % (k, c.overhead, c.overhead_max,
                                                        {a: round(b, 3) for a, b in c.rate.items()}))

        results = []
        for n in args.counts:
            # (window, what runs in it, its plan for run_window)
            windows = [("A", "failover mysql x%d + postgres_exporter %d/s" % (n, n), [
                ("failover mysql", "mysql",
                 lambda tag: start_failover(procs, tmp, args, tag + "-mysql", "mysql", n, env), True),
                ("postgres_exporter", "pg",
                 lambda tag: start_postgres_exporter(procs, tmp, args, tag, env), False)]),
                ("B", "failover postgres x%d + mysqld_exporter %d/s" % (n, n), [
                    ("failover postgres", "pg",
                     lambda tag: start_failover(procs, tmp, args, tag + "-pg", "postgres", n, env),
                     True),
                    ("mysqld_exporter", "mysql",
                     lambda tag: start_mysqld_exporter(procs, tmp, args, tag, cnf, False), False)])]
            if not args.skip_minimal:
                windows.append(("C", "mysqld_exporter slave_status only %d/s" % n, [
                    ("mysqld_exporter slave_status only", "mysql",
                     lambda tag: start_mysqld_exporter(procs, tmp, args, tag, cnf, True), False)]))
            for window, what, plan in windows:
                tag = "n%d-%s" % (n, window)
                log("N=%d window %s: %s" % (n, window, what))
                results += run_window(procs, tmp, args, env, dbs, cal, n, plan, tag)

        print("# bench/replication_probes.py  (%s)" % time.strftime("%Y-%m-%d %H:%M"))
        for k, v in info.items():
            print("%-18s %s" % (k, v))
        print("window %.0fs after %.0fs warm-up; failover interval 1s timeout 900ms; peers scraped "
              "N times per second\n" % (args.duration, args.warmup))
        print(render(results, args))
        print("""
CPU: utime+stime of the exporter process (/proc/<pid>/stat, 10 ms ticks) over the window;
(schedstat): the same window from the threads' /proc/<pid>/task/*/schedstat, in ns.
Runs: failover_exporter_probes_total (failover), HTTP 200 scrapes of /metrics (peers).
Queries and connections per run are server-side deltas over the exporter's whole
lifetime (start to stop, warm-up included) divided by the runs in that lifetime,
minus the benchmark's own reads (calibrated per read) and the idle background rate:
  MariaDB replica: queries = Questions delta, connections = Connections delta
    (SHOW GLOBAL STATUS via the mariadb client, a new connection per read).
  PostgreSQL standby: queries = sum(xact_commit + xact_rollback) over pg_stat_database,
    connections = sum(sessions) (PostgreSQL 14+), via psql, a new session per read.
    These are TRANSACTIONS, not statements: failover's run is one simple-query round trip
    with two statements in one implicit transaction (counts 1); postgres_exporter sends
    each query in its own autocommit transaction (counts 1 each). pg_stat_statements is
    not loaded and log_statement=all would perturb the CPU figures, so statements are
    not counted on PostgreSQL.""")
        for r in results:
            if r["kind"] == "mysql" and r["select_show_per_run"] is not None:
                print("  %-35s N=%-3d Com_select+Com_show_* per run: %.2f" % (
                    r["label"], r["n"], r["select_show_per_run"]))
        for r in results:
            if r["failures"]:
                print("WARNING: %s N=%d: %d failed runs/scrapes %s" % (
                    r["label"], r["n"], r["failures"], r["last_error"]))
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write("# bench/replication_probes.py results (%s)\n\n" % time.strftime("%Y-%m-%d"))
                f.write(render(results, args, markdown=True) + "\n")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"bench": "replication_probes", "argv": sys.argv,
                           "machine": {k: str(v) for k, v in info.items()},
                           "settings": {"duration": args.duration, "warmup": args.warmup},
                           "results": [{k: v for k, v in r.items() if k not in ("raw", "life")}
                                       for r in results]}, f, indent=1, default=str)
                f.write("\n")
    return run.rc


if __name__ == "__main__":
    sys.exit(main())
