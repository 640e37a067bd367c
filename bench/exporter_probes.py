#!/usr/bin/python3
"""Benchmark: failover_exporter vs Debian's prometheus-blackbox-exporter.

Probes N HTTP targets (one local nginx, distinct query strings) or, with
--kind tcp, N TCP connect targets (the same nginx port) at a fixed rate and prints, for each exporter, CPU seconds per 1000 probes and peak RSS
(VmHWM), plus the failover/blackbox ratios. Then runs failover_exporter with
half of the targets hanging (a local server that accepts and never answers)
and prints the probe start lateness p50/p99 from
failover_exporter_probe_late_seconds, next to the same figures without the
outage, and the /metrics scrape time in both.

This is a benchmark, not a test: it prints figures and asserts nothing.
Everything it starts listens on 127.0.0.1 only and is stopped on exit
(including Ctrl-C). Python 3 standard library only. See bench/README.md.
"""

import argparse
import collections
import http.client
import json
import os
import queue
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

from benchlib import (command_output, free_port, http_get, log, log_levels, machine_busy_seconds,
                      machine_info, machine_rows, parse_duration, parse_metrics, Procs,
                      proc_cpu_seconds, proc_status_kb, raise_fd_limit, read_kv_number,
                      render_sections, Run, version_line, wait_http)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TARGET_NOTE = "target: failover CPU/1000 probes <= 0.20 x blackbox, peak RSS <= 0.50 x blackbox"


# --------------------------------------------------------------------------- utilities

def go_duration(seconds):
    """Seconds -> duration string both exporters accept (whole milliseconds)."""
    ms = int(round(seconds * 1000))
    if ms % 1000 == 0:
        return "%ds" % (ms // 1000)
    return "%dms" % ms


def private_kb(pid):
    """USS: resident pages no other process maps (Private_Clean + Private_Dirty from
    smaps_rollup). RSS also counts shared-library pages that are shared with every other
    process using the same library (libc, libcrypto, ...)."""
    path = "/proc/%d/smaps_rollup" % pid
    return read_kv_number(path, "Private_Clean") + read_kv_number(path, "Private_Dirty")


def children_of(pid):
    out = []
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def tree_cpu_seconds(pid):
    """CPU of a process and its direct children (nginx master + worker)."""
    total = 0.0
    for p in [pid] + children_of(pid):
        try:
            total += proc_cpu_seconds(p)
        except (OSError, ValueError):
            pass
    return total


def wait_quiet(limit, max_busy=0.3):
    """Wait up to `limit` seconds until the machine is busy with less than
    `max_busy` cores (2 s samples). Returns the busy cores last seen."""
    end = time.monotonic() + limit
    busy, said = None, 0.0
    while True:
        b0, t0 = machine_busy_seconds(), time.monotonic()
        time.sleep(2.0)
        busy = (machine_busy_seconds() - b0) / (time.monotonic() - t0)
        if busy < max_busy or time.monotonic() >= end:
            if said:
                log("machine busy with %.2f cores; going ahead" % busy)
            return busy
        if time.monotonic() - said >= 30:
            said = time.monotonic()
            log("machine busy with %.2f cores; waiting for it to calm down (up to %.0fs more)"
                % (busy, end - time.monotonic()))


# --------------------------------------------------------------------------- /metrics parsing



def metric_sum(samples, name, pred=None):
    return sum(v for n, l, v in samples if n == name and (pred is None or pred(l)))


def histogram_buckets(samples, name, pred=None):
    """Cumulative buckets {le: count} summed over all series that match pred."""
    b = collections.defaultdict(float)
    for n, l, v in samples:
        if n == name + "_bucket" and (pred is None or pred(l)):
            b[float(l["le"])] += v
    return dict(b)


def bucket_delta(b0, b1):
    return {le: b1.get(le, 0.0) - b0.get(le, 0.0) for le in b1}


def quantile(q, buckets):
    """histogram_quantile() over cumulative buckets; linear inside a bucket."""
    les = sorted(buckets)
    if not les:
        return None
    total = buckets[les[-1]]
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le in les:
        c = buckets[le]
        if c >= rank:
            if le == float("inf"):
                return float("inf")  # beyond the largest finite bound
            if c == prev_c:
                return le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return les[-1]


def fraction_above(buckets, bound):
    """Share of observations above the bucket bound `bound` (must be a bucket bound)."""
    les = sorted(buckets)
    if not les or buckets[les[-1]] <= 0:
        return None
    return 1.0 - buckets.get(bound, 0.0) / buckets[les[-1]]


# --------------------------------------------------------------------------- processes

def start_nginx(procs, tmp, nginx_bin, tls=None):
    """One nginx (one worker) on 127.0.0.1 at a free port that answers /healthz with 200.
    tls: (certificate, key) of make_tls_files to listen with TLS instead, with nginx's
    usual session cache and tickets, so a client may resume. Returns (Popen, port)."""
    d = os.path.join(tmp, "nginx-tls" if tls else "nginx")
    os.makedirs(d)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
        os.makedirs(os.path.join(d, sub))
    port = free_port()
    # Enough connections for every target at once (10,000 targets: ~1000/s, a few
    # hundred open at a time on a slow machine), within this process's fd limit.
    nofile = max(1024, min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 65536))
    http_tls = server_tls = ""
    if tls:
        http_tls = ("  ssl_protocols TLSv1.2 TLSv1.3;\n  ssl_session_cache shared:SSL:50m;\n"
                    "  ssl_session_timeout 10m;\n")
        server_tls = "    ssl_certificate %s;\n    ssl_certificate_key %s;\n" % tls
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections {conns}; }}
http {{
  access_log off;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  keepalive_requests 100000;
{http_tls}  server {{
    listen 127.0.0.1:{port}{ssl} backlog=4096;
{server_tls}    location = /healthz {{ default_type text/plain; return 200 "ok\\n"; }}
    location / {{ return 404; }}
  }}
}}
""".format(d=d, port=port, nofile=nofile, conns=max(1024, nofile - 64), http_tls=http_tls,
           server_tls=server_tls, ssl=" ssl" if tls else ""))
    # The worker may run as an unprivileged user; let it traverse the temp dir.
    os.chmod(tmp, 0o755)
    for root, dirs, _ in os.walk(d):
        for x in dirs:
            os.chmod(os.path.join(root, x), 0o755)
    os.chmod(d, 0o755)
    p = procs.start("nginx", [nginx_bin, "-p", d, "-e", os.path.join(d, "logs", "error.log"),
                              "-c", conf], os.path.join(d, "logs", "stdout.log"))
    if tls:
        wait_listening(port, p, "nginx (TLS)", 20)  # http_get speaks plain HTTP
    else:
        wait_http(port, "/healthz?t=0", p, "nginx")
    return p, port


def wait_listening(port, proc, what, timeout):
    """Until 127.0.0.1:port accepts a TCP connection; RuntimeError when proc exits first
    or after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s during startup" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("%s not listening on port %d" % (what, port))
            time.sleep(0.05)


def make_tls_files(tmp):
    """A local CA and a server certificate for 127.0.0.1 signed by it (openssl, RSA 2048,
    as most shops' certificates are). Returns (ca_cert, server_cert, server_key)."""
    d = os.path.join(tmp, "tls")
    os.makedirs(d)
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = (os.path.join(d, "server.key"), os.path.join(d, "server.csr"),
                     os.path.join(d, "server.crt"))
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda argv: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
         "-out", ca_crt, "-days", "30", "-subj", "/CN=bench local CA"])
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
         "-CAcreateserial", "-out", crt, "-days", "7", "-extfile", ext])
    for x in (d, ca_crt, crt, key):
        os.chmod(x, 0o755 if x == d else 0o644)  # nginx's worker may be unprivileged
    return ca_crt, crt, key


def start_hang_server(procs, tmp):
    """A listener on 127.0.0.1 that accepts and never answers (in a child process)."""
    port = free_port()
    p = procs.start("hang-server", [sys.executable, os.path.abspath(__file__),
                                    "--hang-server", str(port)],
                    os.path.join(tmp, "hang_server.log"))
    wait_listening(port, p, "hang server", 10)
    return p, port


def start_syn_drop_listener():
    """A listener on 127.0.0.1 that never accepts, with a backlog of 0: once its accept
    queue holds a connection, the kernel drops further SYNs, so a TCP connect probe to
    it hangs until its timeout (the TCP equivalent of a region that does not answer)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    port = s.getsockname()[1]
    # Fill the accept queue so that every later SYN is dropped.
    fillers = []
    for _ in range(4):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except (BlockingIOError, InterruptedError):
            pass
        fillers.append(c)
    time.sleep(0.2)
    return s, fillers, port


def hang_server_main(port):
    """Accept connections, read and discard whatever arrives, never write a byte.

    Closes a connection when the peer closes it (the probe timed out), so the
    number of open sockets stays near rate x timeout. Bounded: exits when its
    parent is gone, after 6 hours, or on SIGTERM.
    """
    parent = os.getppid()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    opened = {}
    end = time.monotonic() + 6 * 3600
    while time.monotonic() < end and os.getppid() == parent:
        for key, _ in sel.select(timeout=1.0):
            if key.data is None:
                for _ in range(256):
                    try:
                        c, _ = ls.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    if len(opened) > hard - 64:
                        c.close()  # never expected: more open sockets than fds
                        continue
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, "conn")
                    opened[c] = time.monotonic()
            else:
                c = key.fileobj
                try:
                    data = c.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(c)
                    opened.pop(c, None)
                    c.close()
        # Safety net: nothing legitimately stays open for more than 10 minutes.
        now = time.monotonic()
        for c, t in list(opened.items()):
            if now - t > 600:
                sel.unregister(c)
                opened.pop(c, None)
                c.close()
    return 0


# --------------------------------------------------------------------------- failover_exporter

def write_failover_config(path, healthy_urls, hanging_urls, interval, timeout, kind="http",
                          tls_ca=None, tls_resumption=None):
    """kind http (and https): the targets are URLs; kind tcp: host:port addresses. tls_ca:
    the CA file the probes verify the chain with; tls_resumption: True/False sets the http
    probe's tls_session_resumption key (None: the default)."""
    with open(path, "w") as f:
        f.write("defaults:\n  interval: %s\n  timeout: %s\n" % (go_duration(interval),
                                                              go_duration(timeout)))
        f.write("probes:\n")
        for prefix, urls in (("ok", healthy_urls), ("hang", hanging_urls)):
            for i, u in enumerate(urls):
                if kind == "tcp":
                    f.write("  - name: %s-%05d\n    tcp:\n      address: \"%s\"\n"
                            % (prefix, i + 1, u))
                else:
                    f.write("  - name: %s-%05d\n    http:\n      url: \"%s\"\n"
                            % (prefix, i + 1, u))
                    if tls_ca:
                        f.write("      tls:\n        ca_file: \"%s\"\n" % tls_ca)
                    if tls_resumption is not None:
                        f.write("      tls_session_resumption: %s\n"
                                % ("true" if tls_resumption else "false"))


def scrape_times(port, n=10):
    times, size = [], 0
    for _ in range(n):
        _, body, secs = http_get(port, "/metrics", timeout=30)
        times.append(secs)
        size = len(body)
    return statistics.median(times), size


def log_summary(path):
    """(lines by level, the first 5 error or unlevelled lines)"""
    levels = collections.Counter()
    notable = []
    for lv, line in log_levels(path):
        levels[lv] += 1
        if lv in ("error", "other") and len(notable) < 5:
            notable.append(line.strip()[:300])
    return levels, notable


class Scraper:
    """Scrapes failover_exporter's /metrics every `interval` seconds, like
    Prometheus would (0: never). Also remembers VmHWM just before the very
    first /metrics request, i.e. the peak RSS of probing alone."""

    def __init__(self, port, pid, interval):
        self.port, self.pid, self.interval = port, pid, interval
        self.lock = threading.Lock()
        self.hwm_before_first_scrape = None
        self.times = []   # (start monotonic, seconds) of the periodic scrapes
        self.errors = 0
        self.stop_evt = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def get(self):
        with self.lock:
            if self.hwm_before_first_scrape is None:
                self.hwm_before_first_scrape = proc_status_kb(self.pid, "VmHWM")
            return http_get(self.port, "/metrics", timeout=30)

    def start(self):
        if self.interval > 0:
            self.thread.start()

    def _run(self):
        t0 = time.monotonic()
        k = 1
        while not self.stop_evt.wait(max(0.0, t0 + k * self.interval - time.monotonic())):
            k += 1
            started = time.monotonic()
            try:
                status, _, secs = self.get()
                if status != 200:
                    self.errors += 1
                self.times.append((started, secs))
            except OSError:
                self.errors += 1

    def stop(self):
        self.stop_evt.set()
        if self.thread.is_alive():
            self.thread.join(timeout=35)


def measure_floors(procs, tmp, args):
    """Peak RSS (KiB) of (1) failover_exporter with no probes at all and (2) a process
    that only loads and initialises libcurl (bench/curl_floor.c): what the exporter costs
    before its first probe, and what any libcurl-based prober does. None if not measured."""
    floors = {"idle_hwm_kb": None, "curl_floor_kb": None}
    d = os.path.join(tmp, "floors")
    os.makedirs(d)
    cfg = os.path.join(d, "exporter.yml")
    with open(cfg, "w") as f:
        f.write("probes: []\n")
    port = free_port()
    p = procs.start("failover_exporter (no probes)",
                    [args.failover_bin, "--config.file=" + cfg,
                     "--web.listen-address=127.0.0.1:%d" % port], os.path.join(d, "idle.log"))
    try:
        wait_http(port, "/-/ready", p, "failover_exporter (no probes)")
        time.sleep(2)  # its first self-metrics update and the page cache settle
        floors["idle_hwm_kb"] = proc_status_kb(p.pid, "VmHWM")
    finally:
        procs.stop(p)
    src = os.path.join(REPO, "bench", "curl_floor.c")
    exe = os.path.join(d, "curl_floor")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        log("no C compiler: the libcurl floor is not measured")
        return floors
    try:
        subprocess.run([cc, "-O2", "-o", exe, src, "-lcurl"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        m = re.search(r"VmHWM:\s*(\d+)", out)
        floors["curl_floor_kb"] = int(m.group(1)) if m else None
    except (subprocess.CalledProcessError, OSError) as e:
        log("libcurl floor not measured: %s" % e)
    return floors


def measure_tls_floor(tmp, args, port, n=300):
    """https: CPU per probe (s) of one libcurl transfer, and of the same request with
    OpenSSL alone and one shared SSL_CTX, back to back and paced at the exporters' probe
    rate (one connection every interval/targets; bench/tls_floor.c, against the same
    nginx). {} if not measured."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        log("no C compiler: the TLS floor is not measured")
        return {}
    exe = os.path.join(tmp, "tls_floor")
    try:
        subprocess.run([cc, "-O2", "-o", exe, os.path.join(REPO, "bench", "tls_floor.c"),
                        "-lcurl", "-lssl", "-lcrypto"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        pace_us = int(parse_duration(args.interval) / args.targets * 1e6)
        out = subprocess.run([exe, "127.0.0.1", str(port), args._tls_ca, str(n), str(pace_us)],
                             check=True,
                             capture_output=True, text=True, timeout=300).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        log("TLS floor not measured: %s" % e)
        return {}
    floor = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and int(parts[2]) == n:
            floor["tls_floor_%s_per_1000" % parts[0]] = float(parts[1]) / 1e6 * 1000
    return floor


def run_failover(procs, tmp, args, name, healthy_urls, hanging_urls):
    """Start a fresh failover_exporter, warm up, measure one window; return figures."""
    if args.wait_quiet > 0:
        wait_quiet(args.wait_quiet)
    d = os.path.join(tmp, name)
    os.makedirs(d)
    cfg = os.path.join(d, "exporter.yml")
    write_failover_config(cfg, healthy_urls, hanging_urls, args.interval, args.timeout,
                          "http" if args.kind == "https" else args.kind,
                          tls_ca=getattr(args, "_tls_ca", None),
                          tls_resumption={"on": True, "off": False}.get(args.tls_resumption))
    port = free_port()
    logp = os.path.join(d, "exporter.log")
    p = procs.start("failover_exporter", [args.failover_bin, "--config.file=" + cfg,
                                          "--web.listen-address=127.0.0.1:%d" % port,
                                          "--log.level=info"], logp)
    scraper = None
    try:
        wait_http(port, "/-/ready", p, "failover_exporter")
        scraper = Scraper(port, p.pid, args.scrape_interval)
        scraper.start()
        log("%s: failover_exporter pid %d on 127.0.0.1:%d, %d probes; warming up %.0fs"
            % (name, p.pid, port, len(healthy_urls) + len(hanging_urls), args.warmup))
        sleep_checked(args.warmup, p, "failover_exporter")

        def boundary_scrape():
            status, body, _ = scraper.get()
            if status != 200:
                raise RuntimeError("/metrics returned HTTP %d" % status)
            return parse_metrics(body.decode(errors="replace"))

        # The window runs from just before the first boundary scrape to just before
        # the second: the counters are read at the start of each scrape, so CPU and
        # probe counts cover the same span, which holds exactly one of the two
        # boundary scrapes (counted below with the periodic ones).
        log("%s: measuring %.0fs" % (name, args.duration))
        c0, n0, w0 = proc_cpu_seconds(p.pid), tree_cpu_seconds(args._nginx_pid), time.monotonic()
        # The benchmark's own parts (this script's scraper, the hang server of an outage
        # run) are not "other processes".
        own = [os.getpid()] + ([args._hang_pid] if getattr(args, "_hang_pid", None) else [])
        o0 = sum(proc_cpu_seconds(x) for x in own)
        b0 = machine_busy_seconds()
        m0 = boundary_scrape()
        sleep_checked(args.duration - (time.monotonic() - w0), p, "failover_exporter")
        scraper.stop()
        c1, n1, w1 = proc_cpu_seconds(p.pid), tree_cpu_seconds(args._nginx_pid), time.monotonic()
        o1 = sum(proc_cpu_seconds(x) for x in own)
        b1 = machine_busy_seconds()
        m1 = boundary_scrape()
        hwm = proc_status_kb(p.pid, "VmHWM")
        rss = proc_status_kb(p.pid, "VmRSS")
        uss = private_kb(p.pid)
        threads = proc_status_kb(p.pid, "Threads")
        s0 = proc_cpu_seconds(p.pid)
        scrape_med, scrape_bytes = scrape_times(port, 10)
        scrape_cpu = (proc_cpu_seconds(p.pid) - s0) / 10
        in_window = [secs for t, secs in scraper.times if w0 <= t <= w1] + ["m0"]

        ok = lambda l: l.get("probe", "").startswith("ok-")
        late = bucket_delta(histogram_buckets(m0, "failover_exporter_probe_late_seconds"),
                            histogram_buckets(m1, "failover_exporter_probe_late_seconds"))
        healthy_lat = bucket_delta(histogram_buckets(m0, "failover_probe_latency_seconds", ok),
                                   histogram_buckets(m1, "failover_probe_latency_seconds", ok))
        probes = (metric_sum(m1, "failover_exporter_probes_total")
                  - metric_sum(m0, "failover_exporter_probes_total"))
        is_success = lambda l: l.get("result") == "success"
        succ = (metric_sum(m1, "failover_exporter_probes_total", is_success)
                - metric_sum(m0, "failover_exporter_probes_total", is_success))
        healthy_ok = lambda l: ok(l) and is_success(l)
        healthy_succ = (metric_sum(m1, "failover_probe_runs_total", healthy_ok)
                        - metric_sum(m0, "failover_probe_runs_total", healthy_ok))
        skipped = (metric_sum(m1, "failover_exporter_probe_runs_skipped_total")
                   - metric_sum(m0, "failover_exporter_probe_runs_skipped_total"))
        reasons = collections.Counter()
        for n, l, v in m1:
            if n == "failover_probe_failure_info" and v == 1:
                reasons[l.get("reason", "?")] += 1
        cpu = c1 - c0
        cpu_probing = max(0.0, cpu - len(in_window) * scrape_cpu)
        window = w1 - w0
        return {
            "pid": p.pid, "window": window, "cpu": cpu,
            "probes": probes, "successes": succ, "healthy_successes": healthy_succ,
            "skipped": skipped, "failure_reasons": dict(reasons),
            # https: probes whose last run exported the certificate's expiry.
            "cert_expiry_series": sum(1 for n, _, _ in m1
                                      if n == "failover_probe_tls_cert_expiry_timestamp_seconds"),
            "cpu_per_1000": cpu / probes * 1000 if probes > 0 else None,
            "cpu_probing_per_1000": cpu_probing / probes * 1000 if probes > 0 else None,
            "scrapes_in_window": len(in_window), "scrape_errors": scraper.errors,
            "scrape_cpu": scrape_cpu,
            "cpu_util": cpu / window, "hwm_kb": hwm, "rss_kb": rss, "uss_kb": uss,
            "threads": threads,
            "hwm_pre_scrape_kb": scraper.hwm_before_first_scrape,
            "nginx_cpu": n1 - n0, "machine_busy": (b1 - b0) / window,
            "other_busy": (b1 - b0 - cpu - (n1 - n0) - (o1 - o0)) / window,
            "late": late, "late_p50": quantile(0.5, late), "late_p99": quantile(0.99, late),
            "late_count": max(late.values()) if late else 0,
            "late_gt_10ms": fraction_above(late, 0.01),
            "healthy_lat_p50": quantile(0.5, healthy_lat),
            "healthy_lat_p99": quantile(0.99, healthy_lat),
            "scrape_median": scrape_med, "scrape_bytes": scrape_bytes,
            "log": logp,
        }
    finally:
        if scraper is not None:
            scraper.stop()
        procs.stop(p)
        levels, notable = log_summary(logp)
        args._logs[name] = (levels, notable, logp)


def sleep_checked(seconds, proc, what):
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        time.sleep(min(left, 0.5))


# --------------------------------------------------------------------------- blackbox_exporter

class Driver:
    """Issues GET /probe for every target once per interval, spread evenly, like
    N Prometheus scrapes. A dispatcher thread releases requests on schedule to a
    pool of workers, each holding one keep-alive connection."""

    def __init__(self, port, targets, interval, workers, module="http_2xx"):
        self.port = port
        self.paths = ["/probe?" + urllib.parse.urlencode({"module": module, "target": t})
                      for t in targets]
        self.interval = interval
        self.q = queue.Queue()
        self.stop_evt = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0           # HTTP 200 from /probe (a probe was run and reported)
        self.probe_success = 0  # ... and it said probe_success 1
        self.cert_expiry = 0  # ... and gave probe_ssl_earliest_cert_expiry (https)
        self.errors = 0
        self.errors_text = collections.Counter()
        self.dispatch_late = []
        self.request_secs = []
        self.body_bytes = 0   # /probe answer bodies, summed
        self.max_backlog = 0
        self.workers = [threading.Thread(target=self._worker, daemon=True) for _ in range(workers)]
        self.dispatcher = threading.Thread(target=self._dispatch, daemon=True)

    def start(self):
        self.t0 = time.monotonic() + 0.2
        for w in self.workers:
            w.start()
        self.dispatcher.start()

    def _dispatch(self):
        n = len(self.paths)
        step = self.interval / n
        k = 0
        while not self.stop_evt.is_set():
            due = self.t0 + (k // n) * self.interval + (k % n) * step
            wait = due - time.monotonic()
            if wait > 0:
                if self.stop_evt.wait(wait):
                    break
            self.q.put((due, self.paths[k % n]))
            backlog = self.q.qsize()
            if backlog > self.max_backlog:
                self.max_backlog = backlog
            k += 1
        for _ in self.workers:
            self.q.put(None)

    def _worker(self):
        conn = None
        while True:
            item = self.q.get()
            if item is None:
                break
            due, path = item
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                conn.request("GET", path, headers={"X-Prometheus-Scrape-Timeout-Seconds": "10"})
                r = conn.getresponse()
                body = r.read()
                done = time.monotonic()
                with self.lock:
                    self.dispatch_late.append(started - due)
                    self.request_secs.append(done - started)
                    if r.status == 200:
                        self.ok += 1
                        self.body_bytes += len(body)
                        if re.search(rb"^probe_success 1", body, re.M):
                            self.probe_success += 1
                        if re.search(rb"^probe_ssl_earliest_cert_expiry ", body, re.M):
                            self.cert_expiry += 1
                    else:
                        self.errors += 1
                        self.errors_text["HTTP %d" % r.status] += 1
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.errors += 1
                    self.errors_text[type(e).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def counts(self):
        with self.lock:
            return (self.ok, self.probe_success, self.errors, len(self.dispatch_late),
                    self.body_bytes)

    def stop(self):
        self.stop_evt.set()
        self.dispatcher.join(timeout=5)
        for w in self.workers:
            w.join(timeout=20)


def run_blackbox(procs, tmp, args, urls):
    if args.wait_quiet > 0:
        wait_quiet(args.wait_quiet)
    d = os.path.join(tmp, "blackbox")
    os.makedirs(d)
    cfg = os.path.join(d, "blackbox.yml")
    with open(cfg, "w") as f:
        if args.kind == "tcp":
            f.write("modules:\n  tcp_connect:\n    prober: tcp\n    timeout: %s\n"
                    "    tcp:\n      preferred_ip_protocol: ip4\n      ip_protocol_fallback: false\n"
                    % go_duration(args.timeout))
        else:
            f.write("modules:\n  http_2xx:\n    prober: http\n    timeout: %s\n"
                    "    http:\n      preferred_ip_protocol: ip4\n      ip_protocol_fallback: false\n"
                    % go_duration(args.timeout))
            if getattr(args, "_tls_ca", None):  # https: verify the chain against the local CA
                f.write("      tls_config:\n        ca_file: \"%s\"\n" % args._tls_ca)
    port = free_port()
    logp = os.path.join(d, "blackbox.log")
    p = procs.start("blackbox_exporter", [args.blackbox_bin, "--config.file=" + cfg,
                                          "--web.listen-address=127.0.0.1:%d" % port], logp)
    driver = None
    try:
        wait_http(port, "/-/healthy", p, "blackbox_exporter")
        driver = Driver(port, urls, args.interval, args.driver_workers,
                        module="tcp_connect" if args.kind == "tcp" else "http_2xx")
        driver.start()
        log("blackbox: pid %d on 127.0.0.1:%d, driver %d workers; warming up %.0fs"
            % (p.pid, port, args.driver_workers, args.warmup))
        sleep_checked(args.warmup, p, "blackbox_exporter")
        k0 = driver.counts()
        late0 = k0[3]
        c0, n0, w0 = proc_cpu_seconds(p.pid), tree_cpu_seconds(args._nginx_pid), time.monotonic()
        d0 = proc_cpu_seconds(os.getpid())
        b0 = machine_busy_seconds()
        log("blackbox: measuring %.0fs" % args.duration)
        sleep_checked(args.duration, p, "blackbox_exporter")
        c1, n1, w1 = proc_cpu_seconds(p.pid), tree_cpu_seconds(args._nginx_pid), time.monotonic()
        d1 = proc_cpu_seconds(os.getpid())
        b1 = machine_busy_seconds()
        k1 = driver.counts()
        hwm = proc_status_kb(p.pid, "VmHWM")
        rss = proc_status_kb(p.pid, "VmRSS")
        uss = private_kb(p.pid)
        threads = proc_status_kb(p.pid, "Threads")
        with driver.lock:
            lates = sorted(list(driver.dispatch_late)[late0:k1[3]])
            reqs = sorted(list(driver.request_secs)[late0:k1[3]])
        probes = k1[0] - k0[0]
        cpu = c1 - c0
        window = w1 - w0
        pct = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None
        return {
            "pid": p.pid, "window": window, "cpu": cpu, "probes": probes,
            "successes": k1[1] - k0[1], "errors": k1[2] - k0[2],
            "errors_text": dict(driver.errors_text),
            "cpu_per_1000": cpu / probes * 1000 if probes > 0 else None,
            "cpu_util": cpu / window, "hwm_kb": hwm, "rss_kb": rss, "uss_kb": uss,
            "threads": threads,
            "nginx_cpu": n1 - n0, "machine_busy": (b1 - b0) / window,
            "other_busy": (b1 - b0 - cpu - (n1 - n0) - (d1 - d0)) / window,
            "driver_cpu": d1 - d0,
            "driver_cpu_per_1000": (d1 - d0) / probes * 1000 if probes > 0 else None,
            "driver_late_p50": pct(lates, 0.5), "driver_late_p99": pct(lates, 0.99),
            "request_p50": pct(reqs, 0.5), "request_p99": pct(reqs, 0.99),
            "max_backlog": driver.max_backlog, "log": logp,
            "cert_expiry_answers": driver.cert_expiry,
            "probe_body_mean": (k1[4] - k0[4]) / probes if probes > 0 else None,
            # What Prometheus reads from blackbox per interval: one /probe answer per target.
            "probe_bytes_per_interval": ((k1[4] - k0[4]) / probes * args.targets
                                         if probes > 0 else None),
            "cpu_per_interval": cpu / window * args.interval,
        }
    finally:
        if driver is not None:
            driver.stop()
        procs.stop(p)
        levels, notable = log_summary(logp)
        args._logs["blackbox"] = (levels, notable, logp)


# --------------------------------------------------------------------------- output

def fmt(v, spec="%.3f", none="n/a"):
    if v is None:
        return none
    if v == float("inf"):
        return "+Inf"
    return spec % v


def fmt_ms(v):
    if v is None:
        return "n/a"
    if v == float("inf"):
        return "beyond the largest bucket"
    return "%.2f ms" % (v * 1000)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def build_sections(args, info, fo, bb, outage):
    sections = []
    sections.append(("Machine and settings", ["item", "value"], machine_rows(info) + [
        ["failover_exporter", info["failover_version"]],
        ["blackbox_exporter", info["blackbox_version"]],
        ["target server", info["nginx_version"] + ", 1 worker, 127.0.0.1"],
        ["targets", "%d (%s)" % (args.targets, args.kind)],
        ["interval / timeout", "%s / %s" % (go_duration(args.interval), go_duration(args.timeout))],
        ["expected rate", "%.1f probes/s" % (args.targets / args.interval)],
        ["warmup / window", "%s / %s" % (go_duration(args.warmup), go_duration(args.duration))],
        ["failover /metrics scraped every", go_duration(args.scrape_interval)
         if args.scrape_interval > 0 else "never (only at the window's bounds)"],
    ]))

    if fo or bb:
        rows = []
        def row(label, f, b, r=None):
            rows.append([label, f, b, r if r is not None else ""])
        g = lambda d, k: d.get(k) if d else None
        row("window (s)", fmt(g(fo, "window"), "%.1f"), fmt(g(bb, "window"), "%.1f"))
        row("probes done in window", fmt(g(fo, "probes"), "%.0f"), fmt(g(bb, "probes"), "%.0f"))
        row("  of which successful", fmt(g(fo, "successes"), "%.0f"),
            fmt(g(bb, "successes"), "%.0f"))
        if args.kind == "https":
            row("certificate expiry exported (failover: probes at the end; blackbox: answers)",
                fmt(g(fo, "cert_expiry_series"), "%d"), fmt(g(bb, "cert_expiry_answers"), "%d"))
        row("exporter CPU (s)", fmt(g(fo, "cpu"), "%.2f"), fmt(g(bb, "cpu"), "%.2f"),
            fmt(ratio(g(fo, "cpu"), g(bb, "cpu")), "%.3f"))
        row("exporter CPU utilisation", fmt(g(fo, "cpu_util") and g(fo, "cpu_util") * 100, "%.2f %%"),
            fmt(g(bb, "cpu_util") and g(bb, "cpu_util") * 100, "%.2f %%"))
        row("/metrics scrapes in window (every %s)" % go_duration(args.scrape_interval)
            if args.scrape_interval > 0 else "/metrics scrapes in window (off)",
            fmt(g(fo, "scrapes_in_window"), "%d"), "-")
        row("CPU s per 1000 probes", fmt(g(fo, "cpu_per_1000"), "%.4f"),
            fmt(g(bb, "cpu_per_1000"), "%.4f"),
            fmt(ratio(g(fo, "cpu_per_1000"), g(bb, "cpu_per_1000")), "%.3f"))
        row("  without the /metrics scrapes (estimate)", fmt(g(fo, "cpu_probing_per_1000"), "%.4f"),
            fmt(g(bb, "cpu_per_1000"), "%.4f"),
            fmt(ratio(g(fo, "cpu_probing_per_1000"), g(bb, "cpu_per_1000")), "%.3f"))
        row("CPU per /metrics scrape (s)", fmt(g(fo, "scrape_cpu"), "%.4f"), "-")
        row("/metrics scrape (median of 10) | /probe answers per interval",
            "%s, %s KiB" % (fmt_ms(g(fo, "scrape_median")),
                            fmt(g(fo, "scrape_bytes") and g(fo, "scrape_bytes") / 1024, "%.0f")),
            "%s KiB in %d answers" % (fmt(g(bb, "probe_bytes_per_interval") and
                                         g(bb, "probe_bytes_per_interval") / 1024, "%.0f"),
                                     args.targets),
            fmt(ratio(g(fo, "scrape_bytes"), g(bb, "probe_bytes_per_interval")), "%.3f"))
        row("CPU per interval: 1 /metrics scrape | N /probe answers (s)",
            fmt(g(fo, "scrape_cpu"), "%.4f"), fmt(g(bb, "cpu_per_interval"), "%.4f"),
            fmt(ratio(g(fo, "scrape_cpu"), g(bb, "cpu_per_interval")), "%.3f"))
        row("peak RSS (VmHWM)", fmt(g(fo, "hwm_kb") and g(fo, "hwm_kb") / 1024, "%.1f MiB"),
            fmt(g(bb, "hwm_kb") and g(bb, "hwm_kb") / 1024, "%.1f MiB"),
            fmt(ratio(g(fo, "hwm_kb"), g(bb, "hwm_kb")), "%.3f"))
        row("  before the first /metrics scrape", fmt(g(fo, "hwm_pre_scrape_kb") and
                                                       g(fo, "hwm_pre_scrape_kb") / 1024, "%.1f MiB"),
            fmt(g(bb, "hwm_kb") and g(bb, "hwm_kb") / 1024, "%.1f MiB"),
            fmt(ratio(g(fo, "hwm_pre_scrape_kb"), g(bb, "hwm_kb")), "%.3f"))
        row("RSS at end (VmRSS)", fmt(g(fo, "rss_kb") and g(fo, "rss_kb") / 1024, "%.1f MiB"),
            fmt(g(bb, "rss_kb") and g(bb, "rss_kb") / 1024, "%.1f MiB"))
        row("  of which private (USS, at end)",
            fmt(g(fo, "uss_kb") and g(fo, "uss_kb") / 1024, "%.1f MiB"),
            fmt(g(bb, "uss_kb") and g(bb, "uss_kb") / 1024, "%.1f MiB"),
            fmt(ratio(g(fo, "uss_kb"), g(bb, "uss_kb")), "%.3f"))
        row("floor: failover_exporter with no probes, peak RSS",
            fmt(g(fo, "idle_hwm_kb") and g(fo, "idle_hwm_kb") / 1024, "%.1f MiB"), "-",
            fmt(ratio(g(fo, "idle_hwm_kb"), g(bb, "hwm_kb")), "%.3f"))
        row("floor: a process that only loads and initialises libcurl, peak RSS",
            fmt(g(fo, "curl_floor_kb") and g(fo, "curl_floor_kb") / 1024, "%.1f MiB"), "-",
            fmt(ratio(g(fo, "curl_floor_kb"), g(bb, "hwm_kb")), "%.3f"))
        if args.kind == "https":
            row("floor: one libcurl https transfer alone (bench/tls_floor.c), CPU s per 1000",
                fmt(g(fo, "tls_floor_curl_per_1000"), "%.4f"), "-",
                fmt(ratio(g(fo, "tls_floor_curl_per_1000"), g(bb, "cpu_per_1000")), "%.3f"))
            row("floor: the same with OpenSSL alone, one SSL_CTX, CPU s per 1000",
                fmt(g(fo, "tls_floor_openssl_per_1000"), "%.4f"), "-",
                fmt(ratio(g(fo, "tls_floor_openssl_per_1000"), g(bb, "cpu_per_1000")), "%.3f"))
            row("floor: OpenSSL alone, resuming the last session, CPU s per 1000",
                fmt(g(fo, "tls_floor_openssl_resumed_per_1000"), "%.4f"), "-",
                fmt(ratio(g(fo, "tls_floor_openssl_resumed_per_1000"), g(bb, "cpu_per_1000")),
                    "%.3f"))
            row("floor: OpenSSL alone, paced at the probe rate, CPU s per 1000",
                fmt(g(fo, "tls_floor_openssl_paced_per_1000"), "%.4f"), "-",
                fmt(ratio(g(fo, "tls_floor_openssl_paced_per_1000"), g(bb, "cpu_per_1000")),
                    "%.3f"))
            row("floor: OpenSSL alone, resuming, paced at the probe rate, CPU s per 1000",
                fmt(g(fo, "tls_floor_openssl_resumed_paced_per_1000"), "%.4f"), "-",
                fmt(ratio(g(fo, "tls_floor_openssl_resumed_paced_per_1000"),
                          g(bb, "cpu_per_1000")), "%.3f"))
        row("threads", fmt(g(fo, "threads"), "%d"), fmt(g(bb, "threads"), "%d"))
        if fo:
            row("probe start lateness p50/p99", "%s / %s" % (fmt_ms(fo["late_p50"]),
                                                           fmt_ms(fo["late_p99"])), "-")
        row("nginx CPU in window (s)", fmt(g(fo, "nginx_cpu"), "%.2f"),
            fmt(g(bb, "nginx_cpu"), "%.2f"))
        row("machine busy in window (cores, all procs)", fmt(g(fo, "machine_busy"), "%.2f"),
            fmt(g(bb, "machine_busy"), "%.2f"))
        row("  of which other processes (cores)", fmt(g(fo, "other_busy"), "%.2f"),
            fmt(g(bb, "other_busy"), "%.2f"))
        row("driver CPU (s) [python, Prometheus' share]", "-", fmt(g(bb, "driver_cpu"), "%.2f"))
        row("driver CPU s per 1000 probes", "-", fmt(g(bb, "driver_cpu_per_1000"), "%.4f"))
        row("driver dispatch lateness p50/p99", "-",
            "%s / %s" % (fmt_ms(g(bb, "driver_late_p50")), fmt_ms(g(bb, "driver_late_p99"))))
        row("/probe request time p50/p99", "-",
            "%s / %s" % (fmt_ms(g(bb, "request_p50")), fmt_ms(g(bb, "request_p99"))))
        row("driver errors", "-", fmt(g(bb, "errors"), "%d"))
        title = "Healthy targets: failover_exporter vs blackbox_exporter (%s)" % TARGET_NOTE
        sections.append((title, ["figure", "failover_exporter", "blackbox_exporter",
                                 "ratio failover/blackbox"], rows))

    if outage:
        base, out = outage
        rows = []
        def row(label, a, b):
            rows.append([label, a, b])
        late_title = "start lateness (failover_exporter_probe_late_seconds)"
        row("probes (healthy + hanging)", "%d + 0" % args.targets,
            "%d + %d" % (args._healthy_n, args._hanging_n))
        row("probes done in window", fmt(base["probes"], "%.0f"), fmt(out["probes"], "%.0f"))
        row("healthy probes succeeded in window", fmt(base["healthy_successes"], "%.0f"),
            fmt(out["healthy_successes"], "%.0f"))
        row("failure reasons (last run)", str(base["failure_reasons"] or "-"),
            str(out["failure_reasons"] or "-"))
        row("starts observed in window", fmt(base["late_count"], "%.0f"),
            fmt(out["late_count"], "%.0f"))
        row("start lateness p50", fmt_ms(base["late_p50"]), fmt_ms(out["late_p50"]))
        row("start lateness p99", fmt_ms(base["late_p99"]), fmt_ms(out["late_p99"]))
        row("starts later than 10 ms", fmt(base["late_gt_10ms"] and base["late_gt_10ms"] * 100,
                                           "%.2f %%"),
            fmt(out["late_gt_10ms"] and out["late_gt_10ms"] * 100, "%.2f %%"))
        row("runs skipped in window", fmt(base["skipped"], "%.0f"), fmt(out["skipped"], "%.0f"))
        row("healthy probe duration p50/p99", "%s / %s" % (fmt_ms(base["healthy_lat_p50"]),
                                                           fmt_ms(base["healthy_lat_p99"])),
            "%s / %s" % (fmt_ms(out["healthy_lat_p50"]), fmt_ms(out["healthy_lat_p99"])))
        row("exporter CPU s per 1000 probes", fmt(base["cpu_per_1000"], "%.4f"),
            fmt(out["cpu_per_1000"], "%.4f"))
        row("exporter CPU utilisation", fmt(base["cpu_util"] * 100, "%.2f %%"),
            fmt(out["cpu_util"] * 100, "%.2f %%"))
        row("machine busy / other processes (cores)",
            "%.2f / %.2f" % (base["machine_busy"], base["other_busy"]),
            "%.2f / %.2f" % (out["machine_busy"], out["other_busy"]))
        row("peak RSS (VmHWM)", "%.1f MiB" % (base["hwm_kb"] / 1024),
            "%.1f MiB" % (out["hwm_kb"] / 1024))
        row("/metrics scrape, median of 10", "%s (%.0f KiB)" % (fmt_ms(base["scrape_median"]),
                                                                base["scrape_bytes"] / 1024),
            "%s (%.0f KiB)" % (fmt_ms(out["scrape_median"]), out["scrape_bytes"] / 1024))
        row("CPU per /metrics scrape", fmt_ms(base["scrape_cpu"]), fmt_ms(out["scrape_cpu"]))
        how = ("never complete the TCP handshake (a listener whose full backlog drops SYNs)"
               if args.kind == "tcp" else "accept and never answer")
        title = ("Outage: half the targets %s (timeout %s); %s"
                 % (how, go_duration(args.timeout), late_title))
        sections.append((title, ["figure", "no outage (run above)", "outage"], rows))
    return sections


def write_json(path, args, info, fo, bb, out):
    """Every figure, for bench/run.py. Histograms are dropped, infinities become null."""
    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items() if k not in ("late",)}
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return None
        return v
    settings = {k: getattr(args, k) for k in ("kind", "tls_resumption", "targets", "interval", "timeout",
                                              "duration", "warmup", "scrape_interval",
                                              "driver_workers")}
    doc = {"bench": "exporter_probes", "settings": settings, "machine": info,
           "failover": clean(fo), "blackbox": clean(bb), "outage": clean(out),
           "argv": sys.argv}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(
        description="CPU per probe and peak RSS of failover_exporter vs "
                    "prometheus-blackbox-exporter on N local HTTP or TCP targets, and "
                    "failover_exporter's probe start lateness during an outage.")
    ap.add_argument("--targets", type=int, default=1000, help="number of targets (1000)")
    ap.add_argument("--kind", choices=("http", "https", "tcp"), default="http",
                    help="probe kind: http (blackbox module http_2xx), https (the same against "
                         "nginx with a certificate from a local CA made in the run, both "
                         "exporters verifying the chain with it) or tcp (blackbox module "
                         "tcp_connect) (http)")
    ap.add_argument("--tls-resumption", choices=("default", "on", "off"), default="default",
                    help="https: set failover's tls_session_resumption key on every probe "
                         "(default: leave it out)")
    ap.add_argument("--interval", type=parse_duration, default=10.0,
                    help="probe interval, e.g. 10s (10s)")
    ap.add_argument("--timeout", type=parse_duration, default=5.0,
                    help="probe timeout, e.g. 5s (5s)")
    ap.add_argument("--duration", type=parse_duration, default=60.0,
                    help="measurement window per run, e.g. 60s (60s)")
    ap.add_argument("--warmup", type=parse_duration, default=15.0,
                    help="time before each window so every probe has started (15s)")
    ap.add_argument("--failover-bin", default=os.path.join(REPO, "build-bench", "bin",
                                                           "failover_exporter"),
                    help="failover_exporter binary (build-bench/bin/failover_exporter)")
    ap.add_argument("--scrape-interval", type=parse_duration, default=15.0,
                    help="scrape failover_exporter's /metrics this often during its runs, "
                         "like Prometheus; 0 = only the two scrapes that bound the window (15s)")
    ap.add_argument("--blackbox-bin", default="/usr/bin/prometheus-blackbox-exporter")
    ap.add_argument("--nginx-bin", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--driver-workers", type=int, default=0,
                    help="blackbox driver threads, one keep-alive connection each; "
                         "0 = 16, or one per 40 probes/s above 640/s (0)")
    ap.add_argument("--wait-quiet", type=parse_duration, default=0.0, metavar="DURATION",
                    help="before each run, wait up to this long for the machine to be idle "
                         "(< 0.3 busy cores from other processes); 0 = don't wait (0)")
    ap.add_argument("--skip-blackbox", action="store_true", help="do not run blackbox_exporter")
    ap.add_argument("--skip-outage", action="store_true", help="do not run the outage scenario")
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables as markdown")
    ap.add_argument("--json", metavar="FILE",
                    help="also write the machine info and every figure as JSON (bench/run.py reads it)")
    ap.add_argument("--keep-tmp", action="store_true",
                    help="keep the temp dir (configs, logs) instead of deleting it")
    ap.add_argument("--hang-server", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.hang_server:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        return hang_server_main(args.hang_server)

    if not 1 <= args.targets <= 20000:
        ap.error("--targets must be 1..20000")
    if not 0.1 <= args.interval <= 3600 or not 0 < args.timeout < args.interval:
        ap.error("need 0.1s <= interval <= 1h and 0 < timeout < interval")
    if not 1 <= args.duration <= 3600 or not 0 <= args.warmup <= 3600:
        ap.error("--duration must be 1s..1h, --warmup 0..1h")
    if args.scrape_interval != 0 and not 1 <= args.scrape_interval <= 3600:
        ap.error("--scrape-interval must be 0 or 1s..1h")
    if not 0 <= args.wait_quiet <= 3600:
        ap.error("--wait-quiet must be 0..1h")
    if args.driver_workers == 0:
        args.driver_workers = min(256, max(16, int(args.targets / args.interval / 40)))
    if not 1 <= args.driver_workers <= 256:
        ap.error("--driver-workers must be 1..256")
    for b, what in ((args.failover_bin, "failover_exporter (build it: see bench/README.md)"),
                    (args.nginx_bin, "nginx (apt-get install -y nginx-light)")):
        if not os.access(b, os.X_OK):
            ap.error("cannot execute %s: %s" % (b, what))
    if not args.skip_blackbox and not os.access(args.blackbox_bin, os.X_OK):
        ap.error("cannot execute %s (apt-get install -y prometheus-blackbox-exporter)"
                 % args.blackbox_bin)
    if args.warmup < args.interval:
        log("note: --warmup (%ss) is shorter than --interval (%ss): not every probe will "
            "have started before the window" % (args.warmup, args.interval))

    raise_fd_limit()  # inherited by the children
    procs = Procs()
    run = Run("exporter_probes.", args.keep_tmp, procs.stop_all, kept_what="configs and logs")
    tmp = run.tmp
    args._logs = {}
    with run:
        info = dict(machine_info(), **{
            "failover_version": version_line([args.failover_bin, "--version"]),
            "blackbox_version": (version_line([args.blackbox_bin, "--version"])
                                 if not args.skip_blackbox else "not run"),
            "nginx_version": command_output([args.nginx_bin, "-v"]).replace("nginx version: ", ""),
        })
        log("temp dir %s" % tmp)
        if args.kind == "https":
            args._tls_ca, cert, key = make_tls_files(tmp)
            nginx, nport = start_nginx(procs, tmp, args.nginx_bin, (cert, key))
        else:
            nginx, nport = start_nginx(procs, tmp, args.nginx_bin)
        args._nginx_pid = nginx.pid
        log("nginx pid %d on 127.0.0.1:%d" % (nginx.pid, nport))
        if args.kind == "tcp":
            urls = ["127.0.0.1:%d" % nport] * args.targets
        else:
            urls = ["%s://127.0.0.1:%d/healthz?t=%d" % ("https" if args.kind == "https" else
                                                         "http", nport, i + 1)
                    for i in range(args.targets)]

        floors = measure_floors(procs, tmp, args)
        if args.kind == "https":
            floors.update(measure_tls_floor(tmp, args, nport))
        fo = run_failover(procs, tmp, args, "failover", urls, [])
        fo.update(floors)
        bb = None if args.skip_blackbox else run_blackbox(procs, tmp, args, urls)
        outage = None
        if not args.skip_outage:
            args._healthy_n = args.targets - args.targets // 2
            args._hanging_n = args.targets // 2
            if args.kind == "tcp":
                lsock, fillers, hport = start_syn_drop_listener()
                log("SYN-dropping listener on 127.0.0.1:%d" % hport)
                hanging = ["127.0.0.1:%d" % hport] * args._hanging_n
                try:
                    out = run_failover(procs, tmp, args, "outage", urls[:args._healthy_n],
                                       hanging)
                finally:
                    for c in fillers + [lsock]:
                        c.close()
            else:
                hang, hport = start_hang_server(procs, tmp)
                log("hang server pid %d on 127.0.0.1:%d" % (hang.pid, hport))
                hanging = ["%s://127.0.0.1:%d/healthz?t=%d" % ("https" if args.kind == "https"
                                                                else "http", hport, i + 1)
                           for i in range(args._hanging_n)]
                args._hang_pid = hang.pid
                out = run_failover(procs, tmp, args, "outage", urls[:args._healthy_n], hanging)
                args._hang_pid = None
                procs.stop(hang)
            outage = (fo, out)

        sections = build_sections(args, info, fo, bb, outage)
        print(render_sections(sections))
        print("CPU is utime+stime from /proc/<pid>/stat of the exporter process alone over the "
              "window;\nprobes are counted from failover_exporter_probes_total (failover) and "
              "from HTTP 200 /probe answers (blackbox).")
        print("Lateness p50/p99 are interpolated inside histogram buckets (like "
              "histogram_quantile);\nthe histogram has no probe label, so it covers every "
              "probe start, healthy or hanging.")
        for label, r in (("failover", fo), ("blackbox", bb), ("outage", outage and outage[1])):
            if r and r["other_busy"] > 0.25:
                print("WARNING: other processes kept %.2f of %d cores busy during the %s window; "
                      "its figures are noisy (see --wait-quiet)." % (r["other_busy"],
                                                                     os.cpu_count() or 0, label))
        print("\nExporter logs (lines by level):")
        for name, (levels, notable, path) in args._logs.items():
            print("  %-9s %s" % (name, dict(levels) or "empty"))
            for line in notable:
                print("            %s" % line)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write("# bench/exporter_probes.py results (%s)\n\n" % time.strftime("%Y-%m-%d %H:%M"))
                f.write(render_sections(sections, markdown=True))
            log("markdown written to %s" % args.markdown)
        if args.json:
            write_json(args.json, args, info, fo, bb, outage and outage[1])
            log("JSON written to %s" % args.json)
    return run.rc


if __name__ == "__main__":
    sys.exit(main())
