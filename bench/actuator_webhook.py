#!/usr/bin/env python3
"""Benchmark: failover_actuator's webhook and its webhook-to-DNS time.

1. Throughput and latency of POST /webhook with C concurrent clients (200 by
   default), journal commit included (SQLite rollback journal, synchronous=FULL:
   every 202 is preceded by the commit's fsyncs). Two passes: every request a new
   alert (a new execution of a dry-run runbook), then the same payloads again
   (every alert deduplicated). Requests/s, latency p50/p90/p99/p99.9/max, errors
   by status, the actuator's CPU seconds and peak RSS. Then one webhook of 2,000
   new alerts at a time (--big-webhooks times, the actuator otherwise idle): its
   time to 202. The floors, measured in the same run in the journal's directory:
   write 4 KiB + fdatasync, and one SQLite commit as the journal makes it.
2. Time from sending the webhook to the authoritative answer of PowerDNS
   changing (a dns_update runbook), polled with raw UDP DNS queries every
   ~1 ms, against the floor measured the same way: a bare HTTP PATCH to the
   PowerDNS API and the same polling.

This is a benchmark, not a test: it prints figures and asserts nothing.
PowerDNS comes from scripts/stack (a fresh state dir, stopped with
`stop --clean` at exit); every address is on 127.0.0.0/8; every process it
starts is stopped on exit, including on Ctrl-C and SIGTERM. Python 3 standard
library only. See bench/README.md.
"""

import argparse
import asyncio
import collections
import json
import os
import platform
import random
import re
import resource
import select
import shlex
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

from benchlib import (command_output, log, log_levels, machine_busy_seconds, machine_info,
                      machine_rows, parse_duration, parse_metrics, proc_cpu_seconds,
                      proc_status_kb, raise_fd_limit, render_sections, Run, stop_group,
                      version_line)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DNS_NAME = "www.example.test."
ZONE = "example.test."
ADDR_A, ADDR_B = "127.0.0.2", "127.0.0.3"   # target a = us-east, target b = eu-west
DNS_TTL = 60                                 # what scripts/stack creates; kept by both paths


# --------------------------------------------------------------------------- utilities

def self_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def deb_version(pkg):
    out = command_output(["dpkg-query", "-W", "-f=${Version}", pkg])
    return out if out and "no packages found" not in out else "not installed"


def fs_type(path):
    """Filesystem type of the mount holding `path` (longest mount point prefix)."""
    best, kind, dev = "", "unknown", ""
    path = os.path.realpath(path)
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mnt = parts[1].replace("\\040", " ")
                inside = path == mnt or path.startswith(mnt.rstrip("/") + "/")
                if inside and len(mnt) >= len(best):
                    best, kind, dev = mnt, parts[2], parts[0]
    except OSError:
        pass
    return "%s (%s on %s)" % (kind, dev, best or "?")


def fdatasync_floor(directory, n=1000, size=4096):
    """(median, p99, p99.9) seconds of append(size) + fdatasync in `directory`, N times in
    a row: the least one durable commit can cost on this file system."""
    path = os.path.join(directory, "fsync-probe")
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        block = os.urandom(size)
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(times), pct(times, 99), pct(times, 99.9)


def sqlite_commit_floor(directory, n=300):
    """(median, p99, p99.9) seconds of one small SQLite transaction committed the way the
    journal commits (actuator/journal_sqlite.cc: journal_mode=PERSIST, synchronous=FULL,
    no mmap), N in a row, in `directory`: the floor of one group commit."""
    path = os.path.join(directory, "commit-probe.db")
    times = []
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA mmap_size = 0")
        db.execute("PRAGMA journal_mode = PERSIST")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        body = "x" * 600
        for _ in range(n):
            t = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t (body) VALUES (?)", (body,))
            db.execute("COMMIT")
            times.append(time.perf_counter() - t)
    finally:
        db.close()
        for suffix in ("", "-journal"):
            try:
                os.unlink(path + suffix)
            except OSError:
                pass
    return statistics.median(times), pct(times, 99), pct(times, 99.9)


def big_alert_payload(alertname, n, first_fingerprint, starts_at):
    """One Alertmanager webhook of `n` firing alerts, each new (its own fingerprint)."""
    alerts = []
    for i in range(n):
        lab = {"alertname": alertname, "bench": "big", "instance": "host-%05d" % i}
        alerts.append({
            "status": "firing", "labels": lab,
            "annotations": {"summary": "benchmark alert"},
            "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:9090/graph",
            "fingerprint": "%016x" % (first_fingerprint + i),
        })
    return json.dumps({
        "version": "4", "groupKey": "{}:{alertname=\"%s\"}" % alertname,
        "truncatedAlerts": 0, "status": "firing", "receiver": "failover",
        "groupLabels": {"alertname": alertname},
        "commonLabels": {"alertname": alertname, "bench": "big"},
        "commonAnnotations": {"summary": "benchmark alert"},
        "externalURL": "http://127.0.0.1:9093", "alerts": alerts,
    }, separators=(",", ":")).encode()


def pct(values, q):
    """Nearest-rank percentile of a list (q in 0..100); None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def ms(v, spec="%.2f ms"):
    return "n/a" if v is None else spec % (v * 1000.0)


def fmt(v, spec="%.2f"):
    return "n/a" if v is None else spec % v




def metric_sum(samples, name, **want):
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == w for k, w in want.items()))


# --------------------------------------------------------------------------- raw HTTP

class HttpReader:
    """Accumulates one HTTP/1.1 response; complete() once header and body are in."""

    def __init__(self):
        self.buf = b""
        self.status = None
        self.headers = {}
        self.body = None
        self.eof = False

    def feed(self, data):
        if not data:
            self.eof = True
        self.buf += data
        return self.complete()

    def complete(self):
        if self.body is not None:
            return True
        i = self.buf.find(b"\r\n\r\n")
        if i < 0:
            if self.eof:
                raise ConnectionError("connection closed before the response header")
            return False
        if self.status is None:
            lines = self.buf[:i].decode("latin-1").split("\r\n")
            self.status = int(lines[0].split()[1])
            for h in lines[1:]:
                k, _, v = h.partition(":")
                self.headers[k.strip().lower()] = v.strip()
        rest = self.buf[i + 4:]
        if self.status in (204, 304) or 100 <= self.status < 200:
            self.body = b""
        elif "content-length" in self.headers:
            n = int(self.headers["content-length"])
            if len(rest) >= n:
                self.body = rest[:n]
        elif "chunked" in self.headers.get("transfer-encoding", "").lower():
            if rest.endswith(b"0\r\n\r\n"):
                self.body = rest  # not decoded; only the end matters here
        elif self.eof:
            self.body = rest
        if self.body is None and self.eof:
            raise ConnectionError("connection closed in the middle of the response body")
        return self.body is not None


def http_request_bytes(method, host_port, path, headers, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host_port]
    lines += ["%s: %s" % kv for kv in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_roundtrip(sock, req, timeout=10.0):
    """Blocking request/response on an open socket."""
    sock.sendall(req)
    r = HttpReader()
    deadline = time.monotonic() + timeout
    while not r.complete():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete HTTP response within %.0fs" % timeout)
        sock.settimeout(left)
        r.feed(sock.recv(65536))
    return r


def http_call(host, port, method, path, headers=(), body=b"", timeout=10.0):
    with socket.create_connection((host, port), timeout=timeout) as s:
        r = http_roundtrip(s, http_request_bytes(method, "%s:%d" % (host, port), path,
                                                 list(headers) + [("Connection", "close")],
                                                 body), timeout)
        return r.status, r.body


# --------------------------------------------------------------------------- raw DNS

def dns_query_packet(qid, name, qtype=1):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + q + struct.pack(">HH", qtype, 1)


def dns_skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def dns_parse_a(msg):
    """-> (id, rcode, sorted tuple of A addresses)."""
    qid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = dns_skip_name(msg, off) + 4
    addrs = []
    for _ in range(an):
        off = dns_skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(msg[off:off + 4]))
        off += rdlen
    return qid, flags & 0xF, tuple(sorted(addrs))


class DnsPoller:
    """Asks the authoritative server for www.example.test. A over UDP, one query
    every `interval` seconds, until the answer is exactly the wanted address."""

    def __init__(self, addr, interval):
        host, port = addr.rsplit(":", 1)
        self.server = (host, int(port))
        self.interval = interval
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(self.server)
        self.sock.setblocking(False)
        self.qid = random.randrange(65536)

    def close(self):
        self.sock.close()

    def _drain(self):
        while True:
            try:
                self.sock.recv(4096)
            except BlockingIOError:
                return

    def ask_once(self, timeout=2.0):
        self._drain()
        self.qid = (self.qid + 1) & 0xFFFF
        self.sock.send(dns_query_packet(self.qid, DNS_NAME))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], deadline - time.monotonic())
            if r:
                qid, rcode, addrs = dns_parse_a(self.sock.recv(4096))
                if qid == self.qid:
                    return rcode, addrs
        raise TimeoutError("no DNS answer from %s:%d" % self.server)

    def wait_for(self, want, deadline, http_sock=None):
        """Polls until the answer is (want,). Meanwhile reads the HTTP response on
        http_sock (if given). Returns dict: t1 (perf_counter of the first changed
        answer), queries, answers, unexpected, http (HttpReader), t_http."""
        self._drain()
        want = (want,)
        sent = set()
        out = {"t1": None, "queries": 0, "answers": 0, "unexpected": 0, "http": None,
               "t_http": None}
        reader = HttpReader() if http_sock is not None else None
        next_send = time.perf_counter()
        while True:
            now = time.perf_counter()
            http_done = reader is None or out["t_http"] is not None
            if out["t1"] is not None and http_done:
                break
            if now >= deadline:
                break
            if out["t1"] is None and now >= next_send:
                self.qid = (self.qid + 1) & 0xFFFF
                self.sock.send(dns_query_packet(self.qid, DNS_NAME))
                sent.add(self.qid)
                out["queries"] += 1
                next_send = max(next_send + self.interval, now)
            socks = []
            if out["t1"] is None:
                socks.append(self.sock)
            if not http_done:
                socks.append(http_sock)
            wait = max(0.0, (next_send if out["t1"] is None else deadline) - time.perf_counter())
            r, _, _ = select.select(socks, [], [], wait)
            for s in r:
                if s is self.sock:
                    while True:
                        try:
                            msg = self.sock.recv(4096)
                        except BlockingIOError:
                            break
                        t = time.perf_counter()
                        try:
                            qid, rcode, addrs = dns_parse_a(msg)
                        except (struct.error, IndexError):
                            out["unexpected"] += 1
                            continue
                        if qid not in sent:
                            continue
                        out["answers"] += 1
                        if rcode == 0 and addrs == want:
                            if out["t1"] is None:
                                out["t1"] = t
                        elif rcode != 0 or not addrs or not set(addrs) <= {ADDR_A, ADDR_B}:
                            out["unexpected"] += 1
                else:
                    data = http_sock.recv(65536)
                    if reader.feed(data):
                        out["t_http"] = time.perf_counter()
        out["http"] = reader
        return out


# --------------------------------------------------------------------------- processes

class Stack:
    """scripts/stack with its own state dir; stop() runs `stop --clean`."""

    def __init__(self, repo):
        self.script = os.path.join(repo, "scripts", "stack")
        self.dir = None
        self.env = {}
        self.proc = None
        self.start_cmd = None

    def start(self, components):
        self.dir = tempfile.mkdtemp(prefix="failover-stack-bench-")
        env = dict(os.environ, FAILOVER_STACK_DIR=self.dir)
        self.start_cmd = "FAILOVER_STACK_DIR=%s scripts/stack start %s" % (
            self.dir, " ".join(components))
        log("starting %s" % self.start_cmd)
        self.proc = subprocess.Popen([self.script, "start"] + components, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        out, err = self.proc.communicate(timeout=180)
        rc = self.proc.returncode
        self.proc = None
        if rc != 0:
            raise RuntimeError("scripts/stack start failed (exit %d):\n%s"
                               % (rc, err.decode(errors="replace")))
        for line in out.decode().splitlines():
            m = re.match(r"^export ([A-Z_][A-Z0-9_]*)=(.*)$", line)
            if m:
                v = shlex.split(m.group(2))
                self.env[m.group(1)] = v[0] if v else ""
        for k in ("PDNS_API_URL", "PDNS_API_KEY", "PDNS_API_KEY_FILE", "PDNS_DNS_ADDR"):
            if k not in self.env:
                raise RuntimeError("scripts/stack start printed no %s" % k)
        for k in ("PDNS_API_URL", "PDNS_DNS_ADDR"):
            host = urllib.parse.urlsplit(self.env[k] if "://" in self.env[k]
                                         else "x://" + self.env[k]).hostname
            if not host or not host.startswith("127."):
                raise RuntimeError("%s=%s is not on 127.0.0.0/8" % (k, self.env[k]))
        return self.env

    def pdns_pid(self):
        try:
            with open(os.path.join(self.dir, "powerdns", "pdns_server.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError, TypeError):
            return None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.dir or not os.path.isdir(self.dir):
            return
        env = dict(os.environ, FAILOVER_STACK_DIR=self.dir)
        try:
            r = subprocess.run([self.script, "stop", "--clean"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120)
            if r.returncode != 0:
                log("scripts/stack stop --clean failed (exit %d): %s"
                    % (r.returncode, r.stderr.decode(errors="replace").strip()))
        except subprocess.TimeoutExpired:
            log("scripts/stack stop --clean timed out; state dir %s left" % self.dir)
        if os.path.isdir(self.dir) and not os.listdir(self.dir):
            os.rmdir(self.dir)


class Actuator:
    def __init__(self, binary, config, log_path, name):
        self.binary, self.config, self.log_path, self.name = binary, config, log_path, name
        self.proc = None
        self.port = None
        self.argv = None

    def start(self, timeout=30.0):
        self.argv = [self.binary, "--config.file=" + self.config,
                     "--web.listen-address=127.0.0.1:0"]
        logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s at start:\n%s"
                                   % (self.name, self.proc.returncode, self.tail()))
            with open(self.log_path, errors="replace") as f:
                m = re.search(r"msg=listening address=127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return self.port
            time.sleep(0.02)
        raise RuntimeError("%s did not log its listening address within %.0fs:\n%s"
                           % (self.name, timeout, self.tail()))

    def tail(self, n=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def cpu(self):
        return proc_cpu_seconds(self.proc.pid)

    def status_kb(self, key):
        try:
            return proc_status_kb(self.proc.pid, key)
        except OSError:  # the actuator has exited
            return None

    def threads(self):
        try:
            return len(os.listdir("/proc/%d/task" % self.proc.pid))
        except OSError:
            return None

    def metrics(self):
        status, body = http_call("127.0.0.1", self.port, "GET", "/metrics")
        if status != 200:
            raise RuntimeError("%s /metrics answered %d" % (self.name, status))
        return parse_metrics(body.decode(errors="replace"))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=10.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            stop_group(self.proc, grace, self.name)
        self.rc = self.proc.returncode
        self.proc = None


def log_summary(path):
    """(lines by level, how often each warn/error/unlevelled (level, message) occurs)"""
    levels = collections.Counter()
    notable = collections.Counter()
    for lv, line in log_levels(path):
        levels[lv] += 1
        if lv in ("warn", "error", "other"):
            msg = re.search(r'msg="([^"]*)"|msg=(\S+)', line)
            notable[(lv, (msg.group(1) or msg.group(2)) if msg else line.strip()[:120])] += 1
    return levels, notable


def write_config(path, cfg):
    # JSON is YAML: no quoting surprises in paths or keys.
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def write_secret(path, value):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)


# --------------------------------------------------------------------------- payloads

def alert_payload(alertname, labels, fingerprint, starts_at):
    lab = dict({"alertname": alertname}, **labels)
    return json.dumps({
        "version": "4",
        "groupKey": "{}:{alertname=\"%s\"}" % alertname,
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "failover",
        "groupLabels": {"alertname": alertname},
        "commonLabels": lab,
        "commonAnnotations": {"summary": "benchmark alert"},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [{
            "status": "firing",
            "labels": lab,
            "annotations": {"summary": "benchmark alert"},
            "startsAt": starts_at,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:9090/graph",
            "fingerprint": fingerprint,
        }],
    }, separators=(",", ":")).encode()


def rfc3339(t):
    whole = int(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%06dZ" % int(
        round((t - whole) * 1e6) % 1000000)


def webhook_request(port, token, body):
    return http_request_bytes("POST", "127.0.0.1:%d" % port, "/webhook", [
        ("User-Agent", "Alertmanager/0.25.0"),
        ("Authorization", "Bearer " + token),
        ("Content-Type", "application/json"),
    ], body)


# --------------------------------------------------------------------------- load driver

class LoadResult:
    def __init__(self):
        self.latencies = []          # seconds, per completed request
        self.status = collections.Counter()
        self.errors = collections.Counter()   # transport errors / timeouts
        self.matched = 0
        self.deduplicated = 0
        self.bad_body = 0
        self.per_conn = []           # requests answered per client
        self.first_answer = []       # seconds from pass start to a client's first answer
        self.connects = 0
        self.server_closes = 0
        self.sent = 0
        self.t_start = self.t_end = 0.0
        self.sent_indices = []


async def _client(idx, host, port, requests, state, res, timeout):
    reader = writer = None
    served = 0
    first = None
    # --rate: open loop. Client idx sends its k-th request at start + (idx / C + k) * C / rate
    # (all clients together `rate` requests/s, evenly spread) and its latency counts from
    # that scheduled time, so a server that falls behind is not excused (no coordinated
    # omission). Without --rate: closed loop, each client sends as soon as it has its answer.
    period = state["concurrency"] / state["rate"] if state["rate"] else 0.0
    due = res.t_start + period * idx / state["concurrency"]
    try:
        while True:
            if period:
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            if state["next"] >= len(requests) or time.perf_counter() >= state["deadline"]:
                break
            i = state["next"]
            state["next"] += 1
            res.sent += 1
            res.sent_indices.append(i)
            req = requests[i]
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port), timeout)
                    res.connects += 1
                t = time.perf_counter()
                if period:
                    t = min(t, due)
                    due += period
                writer.write(req)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                clen, close = 0, False
                for h in lines[1:]:
                    k, _, v = h.partition(":")
                    k = k.strip().lower()
                    if k == "content-length":
                        clen = int(v)
                    elif k == "connection" and v.strip().lower() == "close":
                        close = True
                body = await asyncio.wait_for(reader.readexactly(clen), timeout) if clen else b""
                t2 = time.perf_counter()
            except asyncio.TimeoutError:
                res.errors["timeout (%.0fs)" % timeout] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
                res.errors[type(e).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            res.latencies.append(t2 - t)
            res.status[status] += 1
            res.t_end = max(res.t_end, t2)
            served += 1
            if first is None:
                first = t2 - res.t_start
            if status == 202:
                try:
                    b = json.loads(body)
                    res.matched += b.get("matched", 0)
                    res.deduplicated += b.get("deduplicated", 0)
                except ValueError:
                    res.bad_body += 1
            if close:
                res.server_closes += 1
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()
        res.per_conn.append(served)
        if first is not None:
            res.first_answer.append(first)


async def _drive(host, port, requests, concurrency, duration, timeout, rate=None):
    res = LoadResult()
    res.t_start = time.perf_counter()
    res.t_end = res.t_start
    state = {"next": 0, "deadline": res.t_start + duration, "rate": rate,
             "concurrency": concurrency}
    await asyncio.gather(*(_client(i, host, port, requests, state, res, timeout)
                           for i in range(concurrency)))
    return res


def c_driver(tmp):
    """Builds bench/webhook_load.c into tmp; the path, or None without a C compiler."""
    exe = os.path.join(tmp, "webhook_load")
    if not os.path.exists(exe):
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-O2", "-o", exe, os.path.join(HERE, "webhook_load.c")], check=True)
    return exe


def c_drive(args, port, requests):
    """One pass with bench/webhook_load.c (same schedule and latency rule as _client):
    (LoadResult, the driver's CPU seconds)."""
    res = LoadResult()
    path = os.path.join(args.load_dir, "requests.bin")
    with open(path, "wb") as f:
        for r in requests:
            f.write(struct.pack("<I", len(r)))
            f.write(r)
    argv = [c_driver(args.load_dir), "127.0.0.1", str(port), path, str(args.concurrency),
            repr(args.duration), repr(args.rate or 0), repr(args.request_timeout)]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res.t_start = time.perf_counter()
    out = subprocess.run(argv, stdout=subprocess.PIPE, check=True).stdout.decode()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Every request's answer, as the driver wrote it (kept with --keep-tmp).
    args.load_pass = getattr(args, "load_pass", 0) + 1
    with open(os.path.join(args.load_dir, "load-%d.txt" % args.load_pass), "w") as f:
        f.write(out)
    served, first = collections.Counter(), {}
    elapsed = 0.0
    for line in out.splitlines():
        f = line.split()
        if f[0] == "a":
            i, client, status, ns = int(f[1]), int(f[2]), int(f[3]), int(f[4])
            res.sent += 1
            res.sent_indices.append(i)
            res.latencies.append(ns / 1e9)
            res.status[status] += 1
            if status == 202:
                res.matched += int(f[5])
                res.deduplicated += int(f[6])
            res.server_closes += int(f[7])
            served[client] += 1
            first.setdefault(client, int(f[8]) / 1e9)
        elif f[0] == "e":
            res.sent += 1
            res.sent_indices.append(int(f[1]))
            res.errors[f[3]] += 1
        elif f[0] == "s":
            res.connects = int(f[1])
            elapsed = int(f[2]) / 1e9
    res.t_end = res.t_start + elapsed
    res.per_conn = [served.get(c, 0) for c in range(args.concurrency)]
    res.first_answer = list(first.values())
    return res, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


def run_load(act, requests, args, title):
    """One pass: returns LoadResult plus the actuator's CPU/RSS/metrics around it."""
    m0 = act.metrics()
    cpu0, drv0, busy0 = act.cpu(), self_cpu_seconds(), machine_busy_seconds()
    w0 = time.monotonic()
    log("%s: %d requests at most, %d clients, at most %.0fs%s" % (
        title, len(requests), args.concurrency, args.duration,
        ", open loop at %.0f requests/s" % args.rate if args.rate else ""))
    if args.driver == "c":
        res, driver_cpu = c_drive(args, act.port, requests)
    else:
        res = asyncio.run(_drive("127.0.0.1", act.port, requests, args.concurrency,
                                 args.duration, args.request_timeout, args.rate))
        driver_cpu = self_cpu_seconds() - drv0
    wall = time.monotonic() - w0
    res.act_cpu = act.cpu() - cpu0
    res.driver_cpu = driver_cpu
    res.other_busy = max(0.0, (machine_busy_seconds() - busy0) - res.act_cpu
                         - res.driver_cpu) / wall
    res.hwm_kb = act.status_kb("VmHWM")
    res.rss_kb = act.status_kb("VmRSS")
    res.threads = act.threads()
    m1 = act.metrics()
    res.finished_during = (metric_sum(m1, "failover_actuator_executions_total")
                           - metric_sum(m0, "failover_actuator_executions_total"))
    res.codes_metric = {}
    for n, l, v in m1:
        if n == "failover_actuator_webhook_requests_total":
            before = metric_sum(m0, n, code=l.get("code"))
            if v - before:
                res.codes_metric[l.get("code")] = int(v - before)
    ok = res.status.get(202, 0)
    el = res.t_end - res.t_start
    log("%s: %d answered (%d x 202) in %.1fs = %.0f req/s, p50 %s p99 %s" % (
        title, len(res.latencies), ok, el, len(res.latencies) / el if el > 0 else 0,
        ms(pct(res.latencies, 50)), ms(pct(res.latencies, 99))))
    return res


def wait_drained(act, want_total, limit):
    """Waits until executions_total reaches want_total; returns seconds or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if metric_sum(act.metrics(), "failover_actuator_executions_total") >= want_total:
            return time.monotonic() - t0
        if not act.alive():
            raise RuntimeError("%s exited:\n%s" % (act.name, act.tail()))
        time.sleep(0.2)
    return None


def throughput_benchmark(args, tmp, info):
    d = os.path.join(tmp, "throughput")
    os.makedirs(d)
    args.load_dir = d  # the C driver and its request files
    token = "bench-webhook-" + os.urandom(8).hex()
    write_secret(os.path.join(d, "webhook.token"), token)
    write_secret(os.path.join(d, "admin.token"), "bench-admin-" + os.urandom(8).hex())
    cfg = {
        "webhook": {"bearer_token_file": os.path.join(d, "webhook.token")},
        "api": {"bearer_token_file": os.path.join(d, "admin.token")},
        "journal": os.path.join(d, "journal.db"),
        "brake": {"max_executions": 1000, "window": "1h"},
        "runbooks": [{
            "name": "bench",
            "match": {"alertname": "Bench"},
            "on": "firing",
            "mode": "dry-run",
            "cooldown": "0s",
            "steps": [{"wait": {"duration": "1ms"}}],
        }],
    }
    cfg_path = os.path.join(d, "actuator.yml")
    write_config(cfg_path, cfg)
    info["throughput_config"] = cfg_path
    info["journal_fs"] = fs_type(d)
    info["fsync"] = fdatasync_floor(d)
    info["commit_floor"] = sqlite_commit_floor(d)
    act = Actuator(args.binary, cfg_path, os.path.join(d, "actuator.log"), "actuator (throughput)")
    out = {"config": cfg}
    try:
        act.start()
        out["argv"] = " ".join(shlex.quote(a) for a in act.argv)
        log("actuator pid %d on 127.0.0.1:%d (journal %s)" % (act.proc.pid, act.port,
                                                              info["journal_fs"]))
        # One request to check the set-up (not counted).
        base = time.time() - 3600
        probe = alert_payload("Bench", {"bench": "probe"}, "ffffffffffffffff", rfc3339(base))
        with socket.create_connection(("127.0.0.1", act.port), timeout=10) as s:
            r = http_roundtrip(s, webhook_request(act.port, token, probe))
        if r.status != 202:
            raise RuntimeError("set-up webhook answered %d: %s" % (r.status, r.body[:300]))
        wait_drained(act, 1, 10)
        out["rss_idle_kb"] = act.status_kb("VmRSS")

        payloads = []
        for i in range(args.requests):
            payloads.append(webhook_request(act.port, token, alert_payload(
                "Bench", {"bench": "throughput", "region": "us-east"},
                "%016x" % (0x1000000000000000 + i), rfc3339(base + i * 0.001))))
        out["payload_bytes"] = len(payloads[0].split(b"\r\n\r\n", 1)[1]) if payloads else 0
        done_before = metric_sum(act.metrics(), "failover_actuator_executions_total")
        p1 = run_load(act, payloads, args, "pass 1 (new alerts)")
        p1.drain = wait_drained(act, done_before + p1.matched, args.drain_timeout)
        if p1.drain is None:
            log("pass 1: executions not all finished %.0fs after the pass" % args.drain_timeout)
        else:
            log("pass 1: every execution finished %.1fs after the pass" % p1.drain)
        # Pass 2: exactly the payloads pass 1 sent, again: every alert is deduplicated.
        again = [payloads[i] for i in sorted(p1.sent_indices)]
        p2 = run_load(act, again, args, "pass 2 (resends, all deduplicated)")
        p2.drain = "n/a (no new executions)"
        out["p1"], out["p2"] = p1, p2
        wait_drained(act, done_before + p1.matched, args.drain_timeout)
        # One webhook of --big-alerts new alerts at a time, each once the executions before
        # it have finished (or --drain-timeout has passed: then they still run beside it).
        out["big"] = []
        for k in range(args.big_webhooks):
            body = big_alert_payload("Bench", args.big_alerts, 0x2000000000000000
                                     + k * args.big_alerts, rfc3339(base + 7200 + k))
            before = metric_sum(act.metrics(), "failover_actuator_executions_total")
            with socket.create_connection(("127.0.0.1", act.port), timeout=60) as sock:
                t = time.perf_counter()
                r = http_roundtrip(sock, webhook_request(act.port, token, body), timeout=60)
                took = time.perf_counter() - t
            matched = json.loads(r.body).get("matched") if r.status == 202 else None
            out["big"].append({"status": r.status, "seconds": took, "matched": matched,
                               "bytes": len(body)})
            log("big webhook %d: %d alerts, %d bytes: HTTP %d in %s (matched %s)" % (
                k + 1, args.big_alerts, len(body), r.status, ms(took), matched))
            if r.status == 202:
                wait_drained(act, before + (matched or 0), args.drain_timeout)
        out["fsync_after"] = fdatasync_floor(d)
        out["hwm_kb"] = act.status_kb("VmHWM")
        out["threads"] = act.threads()
    finally:
        act.stop()
    out["log"] = log_summary(act.log_path)
    out["journal_rows"] = journal_rows(cfg["journal"])
    try:
        out["journal_bytes"] = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
                                   if f.startswith("journal.db"))
    except OSError:
        out["journal_bytes"] = None
    return out


def journal_rows(path):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=5)
        try:
            rows = {}
            for table in ("webhooks", "executions", "steps", "events"):
                rows[table] = con.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
            rows["states"] = dict(con.execute(
                "SELECT state, count(*) FROM executions GROUP BY state").fetchall())
            return rows
        finally:
            con.close()
    except sqlite3.Error as e:
        return {"error": str(e)}


# --------------------------------------------------------------------------- webhook to DNS

def pdns_get_a(env):
    u = urllib.parse.urlsplit(env["PDNS_API_URL"])
    path = "/api/v1/servers/localhost/zones/%s?rrset_name=%s&rrset_type=A" % (ZONE, DNS_NAME)
    hdr = [("X-API-Key", env["PDNS_API_KEY"]), ("Accept", "application/json")]
    req = http_request_bytes("GET", u.netloc, path, hdr)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        r = http_roundtrip(s, req)
    if r.status != 200:
        raise RuntimeError("PowerDNS GET zone answered %d: %s" % (r.status, r.body[:300]))
    return r


def pdns_patch_request(env, addr):
    u = urllib.parse.urlsplit(env["PDNS_API_URL"])
    body = json.dumps({"rrsets": [{
        "name": DNS_NAME, "type": "A", "ttl": DNS_TTL, "changetype": "REPLACE",
        "records": [{"content": addr, "disabled": False}]}]}).encode()
    return http_request_bytes("PATCH", u.netloc, "/api/v1/servers/localhost/zones/" + ZONE, [
        ("X-API-Key", env["PDNS_API_KEY"]), ("Accept", "application/json"),
        ("Content-Type", "application/json")], body)


def get_execution(port, admin_token, exec_id):
    status, body = http_call("127.0.0.1", port, "GET", "/api/v1/executions/" + exec_id,
                             [("Authorization", "Bearer " + admin_token)])
    if status != 200:
        raise RuntimeError("GET /api/v1/executions/%s answered %d: %s" % (exec_id, status,
                                                                        body[:300]))
    return json.loads(body)


TERMINAL = {"succeeded", "failed", "refused", "suppressed", "dry_run"}


def switch_actuator(env, act, token, admin, poller, target_addr, seq, args):
    target = "a" if target_addr == ADDR_A else "b"
    body = alert_payload("Switch", {"target": target, "region": "us-east"},
                         "%016x" % (0x2000000000000000 + seq), rfc3339(time.time()))
    req = webhook_request(act.port, token, body)
    wall0 = time.time()
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", act.port), timeout=10)
    try:
        s.sendall(req)
        r = poller.wait_for(target_addr, t0 + args.switch_timeout, http_sock=s)
    finally:
        s.close()
    rec = {"t0": t0, "wall0": wall0, "total": None if r["t1"] is None else r["t1"] - t0,
           "queries": r["queries"], "unexpected": r["unexpected"],
           "t_http": None if r["t_http"] is None else r["t_http"] - t0,
           "status": r["http"].status if r["http"] is not None else None}
    if rec["status"] != 202:
        raise RuntimeError("switch webhook answered %s: %s" % (
            rec["status"], r["http"].body[:300] if r["http"] and r["http"].body else ""))
    ids = json.loads(r["http"].body).get("executions", [])
    if len(ids) != 1:
        raise RuntimeError("switch webhook created %d executions: %s" % (len(ids),
                                                                       r["http"].body[:300]))
    # Wait for the execution to end (verification included) before the next switch.
    deadline = time.monotonic() + args.switch_timeout + 30
    while True:
        e = get_execution(act.port, admin, ids[0])
        if e["state"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("execution %s still %s after %.0fs" % (ids[0], e["state"],
                                                                     args.switch_timeout + 30))
        time.sleep(0.01)
    rec["state"] = e["state"]
    rec["message"] = e.get("message", "")
    if e["state"] != "succeeded":
        raise RuntimeError("execution %s ended %s: %s" % (ids[0], e["state"], rec["message"]))
    if rec["total"] is None:
        raise RuntimeError("DNS answer did not change to %s within %.0fs" % (target_addr,
                                                                            args.switch_timeout))
    t1_wall = wall0 + rec["total"]
    steps = e.get("steps") or []
    st = steps[0] if steps else {}
    rec["receipt"] = e["created_at"] - wall0
    rec["receipt_to_dns"] = t1_wall - e["created_at"]
    if st.get("started_at"):
        rec["to_step_start"] = st["started_at"] - e["created_at"]
        rec["step_to_dns"] = t1_wall - st["started_at"]
    rec["dns_to_finished"] = e["finished_at"] - t1_wall if e.get("finished_at") else None
    rec["step_duration"] = (st["finished_at"] - st["started_at"]
                            if st.get("finished_at") and st.get("started_at") else None)
    return rec


def switch_floor(env, poller, target_addr, args, read_first):
    u = urllib.parse.urlsplit(env["PDNS_API_URL"])
    req = pdns_patch_request(env, target_addr)
    t0 = time.perf_counter()
    if read_first:
        pdns_get_a(env)  # its own connection: PowerDNS' webserver closes after each answer
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    try:
        s.sendall(req)
        r = poller.wait_for(target_addr, t0 + args.switch_timeout, http_sock=s)
    finally:
        s.close()
    status = r["http"].status if r["http"] is not None else None
    if status != 204:
        raise RuntimeError("PowerDNS PATCH answered %s: %s" % (
            status, r["http"].body[:300] if r["http"] and r["http"].body else ""))
    if r["t1"] is None:
        raise RuntimeError("DNS answer did not change to %s within %.0fs after the PATCH"
                           % (target_addr, args.switch_timeout))
    return {"total": r["t1"] - t0, "queries": r["queries"], "unexpected": r["unexpected"],
            "t_http": None if r["t_http"] is None else r["t_http"] - t0}


def dns_benchmark(args, tmp, stack, info):
    env = stack.env
    d = os.path.join(tmp, "dns")
    os.makedirs(d)
    token = "bench-webhook-" + os.urandom(8).hex()
    admin = "bench-admin-" + os.urandom(8).hex()
    write_secret(os.path.join(d, "webhook.token"), token)
    write_secret(os.path.join(d, "admin.token"), admin)

    def runbook(name, target, addr):
        return {
            "name": name,
            "match": {"alertname": "Switch", "target": target},
            "on": "firing",
            "mode": "auto",
            "cooldown": "0s",
            "steps": [{"dns_update": {
                "provider": "pdns", "zone": ZONE, "name": DNS_NAME, "type": "A",
                "records": [addr], "ttl": DNS_TTL,
                "verify_nameserver": env["PDNS_DNS_ADDR"], "verify_timeout": "10s",
                "timeout": "20s"}}],
        }

    cfg = {
        "webhook": {"bearer_token_file": os.path.join(d, "webhook.token")},
        "api": {"bearer_token_file": os.path.join(d, "admin.token")},
        "journal": os.path.join(d, "journal.db"),
        "brake": {"max_executions": 1000, "window": "1h"},
        "providers": {"pdns": {"powerdns": {"url": env["PDNS_API_URL"],
                                            "api_key_file": env["PDNS_API_KEY_FILE"]}}},
        "runbooks": [runbook("switch-to-a", "a", ADDR_A), runbook("switch-to-b", "b", ADDR_B)],
    }
    cfg_path = os.path.join(d, "actuator.yml")
    write_config(cfg_path, cfg)
    info["dns_config"] = cfg_path
    act = Actuator(args.binary, cfg_path, os.path.join(d, "actuator.log"), "actuator (dns)")
    poller = DnsPoller(env["PDNS_DNS_ADDR"], args.poll_interval)
    out = {"config": cfg, "actuator": [], "floor": [], "floor_read": []}
    try:
        act.start()
        out["argv"] = " ".join(shlex.quote(a) for a in act.argv)
        log("actuator pid %d on 127.0.0.1:%d; PowerDNS API %s, DNS %s" % (
            act.proc.pid, act.port, env["PDNS_API_URL"], env["PDNS_DNS_ADDR"]))
        rcode, current = poller.ask_once()
        if rcode != 0 or len(current) != 1 or current[0] not in (ADDR_A, ADDR_B):
            raise RuntimeError("unexpected initial answer for %s A: rcode %d %s"
                               % (DNS_NAME, rcode, current))
        cur = current[0]
        # One query cost figure for the poller: median of 50 sequential questions.
        qs = []
        for _ in range(50):
            t = time.perf_counter()
            poller.ask_once()
            qs.append(time.perf_counter() - t)
        out["dns_rtt"] = statistics.median(qs)
        # Interleaved, so that a drift of the machine's load hits all three alike.
        kinds = ["actuator", "floor"] + (["floor_read"] if args.floor_read else [])
        seq = 0
        busy0, w0 = machine_busy_seconds(), time.monotonic()
        own0 = self_cpu_seconds() + act.cpu()
        pdns_pid = stack.pdns_pid()
        pdns0 = proc_cpu_seconds(pdns_pid) if pdns_pid else 0.0
        for it in range(args.dns_iterations):
            for kind in kinds:
                new = ADDR_B if cur == ADDR_A else ADDR_A
                seq += 1
                if kind == "actuator":
                    r = switch_actuator(env, act, token, admin, poller, new, seq, args)
                else:
                    r = switch_floor(env, poller, new, args, read_first=(kind == "floor_read"))
                out[kind].append(r)
                if args.verbose:
                    log("  %-10s -> %s: DNS changed %s, HTTP answer %s, %d queries" % (
                        kind, new, ms(r["total"]), ms(r["t_http"]), r["queries"]))
                cur = new
                time.sleep(args.pause)
            if (it + 1) % 5 == 0 or it + 1 == args.dns_iterations:
                log("webhook-to-DNS: %d/%d iterations; actuator median %s, floor median %s" % (
                    it + 1, args.dns_iterations,
                    ms(statistics.median(x["total"] for x in out["actuator"])),
                    ms(statistics.median(x["total"] for x in out["floor"]))))
        own = self_cpu_seconds() + act.cpu() - own0
        if pdns_pid:
            own += proc_cpu_seconds(pdns_pid) - pdns0
        out["other_busy"] = max(0.0, machine_busy_seconds() - busy0 - own) / (
            time.monotonic() - w0)
        out["hwm_kb"] = act.status_kb("VmHWM")
    finally:
        poller.close()
        act.stop()
    out["log"] = log_summary(act.log_path)
    return out


# --------------------------------------------------------------------------- output

def kb(v):
    return "n/a" if v is None else "%.1f MiB" % (v / 1024.0)


def build_sections(args, info, tp, dns):
    sections = []
    rows = machine_rows(info) + [
        ["failover_actuator", info["actuator_version"]],
        ["binary", args.binary],
        ["PowerDNS", info["pdns_version"]],
        ["libsqlite3 / python3", "%s / %s" % (
            info["sqlite_version"], platform.python_version())],
        ["bench command", info["command"]],
        ["stack", info.get("stack_cmd", "not started")],
    ]
    if tp:
        rows += [
            ["journal file system", info.get("journal_fs", "?")],
            ["journal durability", "SQLite rollback journal (PERSIST), synchronous=FULL: "
             "the commit is durable before every 202"],
            ["floor: write 4 KiB + fdatasync there, sequential (N=1000), before the passes",
             "median %s, p99 %s, p99.9 %s" % tuple(ms(x, "%.3f ms") for x in info["fsync"])],
            ["floor: the same, after the passes",
             "median %s, p99 %s, p99.9 %s" % tuple(ms(x, "%.3f ms") for x in tp["fsync_after"])
             if tp.get("fsync_after") else "n/a"],
            ["floor: one SQLite commit as the journal makes it (PERSIST, FULL; N=300)",
             "median %s, p99 %s, p99.9 %s (so at most ~%.0f sequential commits/s)" % (
                 ms(info["commit_floor"][0], "%.3f ms"), ms(info["commit_floor"][1], "%.3f ms"),
                 ms(info["commit_floor"][2], "%.3f ms"),
                 1.0 / info["commit_floor"][0] if info["commit_floor"][0] else 0)],
        ]
    sections.append(("Machine, versions, commands", ["item", "value"], rows))

    if tp:
        p1, p2 = tp["p1"], tp["p2"]

        def col(r):
            el = r.t_end - r.t_start
            n = len(r.latencies)
            errs = dict(r.errors)
            for code, c in sorted(r.status.items()):
                if code != 202:
                    errs["HTTP %d" % code] = c
            pc = sorted(r.per_conn)
            return {
                "sent": r.sent,
                "answered": n,
                "202": r.status.get(202, 0),
                "errors": ", ".join("%s: %d" % kv for kv in sorted(errs.items())) or "none",
                "elapsed": "%.2f s" % el,
                "rps": "%.0f" % (n / el) if el > 0 else "n/a",
                "p50": ms(pct(r.latencies, 50)),
                "p90": ms(pct(r.latencies, 90)),
                "p99": ms(pct(r.latencies, 99)),
                "p999": ms(pct(r.latencies, 99.9)),
                "p99_floor": "%.1fx / %.1fx" % (
                    pct(r.latencies, 99) / info["fsync"][1],
                    pct(r.latencies, 99) / info["commit_floor"][1])
                if r.latencies and info["fsync"][1] and info["commit_floor"][1] else "n/a",
                "max": ms(max(r.latencies) if r.latencies else None),
                "mean": ms(statistics.mean(r.latencies) if r.latencies else None),
                "conn": "%d / %d / %d (min / median / max)" % (
                    pc[0], pc[len(pc) // 2], pc[-1]) if pc else "n/a",
                "starved": "%d of %d clients waited > 1 s for their first answer (max %s)" % (
                    sum(1 for x in r.first_answer if x > 1.0)
                    + (len(r.per_conn) - len(r.first_answer)), len(r.per_conn),
                    ms(max(r.first_answer) if r.first_answer else None, "%.0f ms")),
                "connects": "%d connects, %d closes by the server" % (r.connects, r.server_closes),
                "bodies": "matched %d, deduplicated %d%s" % (
                    r.matched, r.deduplicated,
                    ", %d unparsable" % r.bad_body if r.bad_body else ""),
                "metric_codes": ", ".join("%s: %d" % kv for kv in sorted(r.codes_metric.items())),
                "cpu": "%.2f s" % r.act_cpu,
                "cpu_per": "%.3f ms" % (r.act_cpu / n * 1000) if n else "n/a",
                "cores": "%.2f" % (r.act_cpu / el) if el > 0 else "n/a",
                "finished": "%d" % r.finished_during,
                "drain": r.drain if isinstance(r.drain, str) else ("%.1f s" % r.drain)
                         if r.drain is not None else
                         "not finished within %.0f s" % args.drain_timeout,
                "hwm": kb(r.hwm_kb),
                "rss": kb(r.rss_kb),
                "threads": r.threads,
                "driver": "%.2f s (%.2f cores)" % (r.driver_cpu, r.driver_cpu / el if el else 0),
                "other": "%.2f cores" % r.other_busy,
            }
        a, b = col(p1), col(p2)
        order = [
            ("requests sent", "sent"), ("answered", "answered"), ("202 Accepted", "202"),
            ("errors (status / transport)", "errors"),
            ("answer codes per actuator metric", "metric_codes"),
            ("202 bodies", "bodies"),
            ("elapsed (first send to last answer)", "elapsed"),
            ("requests/s", "rps"),
            ("latency p50", "p50"), ("latency p90", "p90"), ("latency p99", "p99"),
            ("latency p99.9", "p999"),
            ("p99 / floor p99 (fdatasync / SQLite commit)", "p99_floor"),
            ("latency max", "max"), ("latency mean", "mean"),
            ("answers per client", "conn"), ("first-answer wait", "starved"),
            ("connections", "connects"),
            ("actuator CPU (utime+stime)", "cpu"), ("actuator CPU per request", "cpu_per"),
            ("actuator cores busy", "cores"),
            ("executions finished during the pass", "finished"),
            ("all executions finished after the pass", "drain"),
            ("actuator RSS at end / peak RSS (VmHWM)", None),
            ("actuator threads", "threads"),
            ("driver CPU (this script)", "driver"),
            ("other processes' CPU", "other"),
        ]
        rows = []
        for label, key in order:
            if key is None:
                rows.append([label, "%s / %s" % (a["rss"], a["hwm"]),
                             "%s / %s" % (b["rss"], b["hwm"])])
            else:
                rows.append([label, a[key], b[key]])
        title = ("POST /webhook, %d concurrent clients (keep-alive, %s), fsync on "
                 "(synchronous=FULL), runbook mode dry-run" % (
                     args.concurrency, "open loop at %.0f requests/s" % args.rate
                     if args.rate else "closed loop"))
        sections.append((title, ["figure", "pass 1: new alerts", "pass 2: same payloads again"],
                         rows))
        jr = tp["journal_rows"]
        rows = [
            ["actuator command", tp.get("argv", "")],
            ["config", info["throughput_config"] + " (runbook `bench`: match alertname=Bench, "
             "mode dry-run, cooldown 0s, one step `wait: {duration: 1ms}`; brake 1000/1h)"],
            ["payload", "Alertmanager v4, 1 firing alert, %d bytes; pass 1: unique "
             "fingerprint and startsAt per request; pass 2: the payloads pass 1 sent, again"
             % tp["payload_bytes"]],
            ["limits", "--requests %d, --duration %.0fs per pass, per-request timeout %.0fs" % (
                args.requests, args.duration, args.request_timeout)],
            ["RSS before the passes", kb(tp.get("rss_idle_kb"))],
            ["journal rows at the end", ", ".join("%s %s" % kv for kv in jr.items()
                                                   if kv[0] != "states") if "error" not in jr
             else jr["error"]],
            ["execution states at the end", ", ".join("%s %d" % kv for kv in
                                                      sorted(jr.get("states", {}).items()))],
            ["journal size (db + wal + shm)", kb(tp["journal_bytes"] / 1024.0)
             if tp["journal_bytes"] is not None else "n/a"],
            ["actuator log lines", ", ".join("%s %d" % kv for kv in sorted(tp["log"][0].items()))],
        ]
        for (lv, msg), c in sorted(tp["log"][1].items(), key=lambda x: -x[1])[:6]:
            rows.append(["  %s" % lv, "%dx %s" % (c, msg)])
        sections.append(("Throughput run details", ["item", "value"], rows))
        big = tp.get("big") or []
        if big:
            ok = [b["seconds"] for b in big if b["status"] == 202]
            rows = [["webhook %d" % (i + 1), "HTTP %d" % b["status"], ms(b["seconds"]),
                     b["matched"] if b["matched"] is not None else "n/a",
                     "%.0f KiB" % (b["bytes"] / 1024.0)] for i, b in enumerate(big)]
            rows.append(["median of the 202s", "", ms(statistics.median(ok) if ok else None),
                         "", ""])
            sections.append(("One webhook of %d new alerts (one at a time, each after the "
                             "previous executions finished or --drain-timeout; send to 202)"
                             % args.big_alerts,
                             ["", "answer", "time", "matched", "body"], rows))

    if dns:
        fl = [x["total"] for x in dns["floor"]]
        ac = [x["total"] for x in dns["actuator"]]
        fr = [x["total"] for x in dns["floor_read"]]
        fmed = statistics.median(fl) if fl else None

        def row(label, xs, recs):
            med = statistics.median(xs) if xs else None
            q = [r["queries"] for r in recs]
            return [label, len(xs), ms(med), ms(pct(xs, 90)), ms(max(xs) if xs else None),
                    ms(min(xs) if xs else None),
                    fmt(med / fmed if med is not None and fmed else None, "%.1fx"),
                    "%d" % statistics.median(q) if q else "n/a"]
        rows = [row("actuator: POST /webhook -> dns_update", ac, dns["actuator"]),
                row("floor: bare PATCH to the PowerDNS API", fl, dns["floor"])]
        if fr:
            rows.append(row("floor + read first (GET then PATCH, as dns_update)", fr,
                            dns["floor_read"]))
        sections.append((
            "Webhook to authoritative DNS answer changed (PowerDNS, UDP polled every %s)"
            % ms(args.poll_interval, "%.1f ms"),
            ["path", "N", "median", "p90", "max", "min", "median / floor",
             "DNS queries per switch (median)"], rows))

        def med(key, recs):
            xs = [r[key] for r in recs if r.get(key) is not None]
            return ms(statistics.median(xs)) if xs else "n/a"
        A = dns["actuator"]
        rows = [
            ["send -> journaled receipt (execution created_at): connect, auth, parse",
             med("receipt", A)],
            ["receipt -> dns_update step started: commit (fsync), worker, brake query, "
             "journal writes", med("to_step_start", A)],
            ["step started -> DNS answer changed: GET + PATCH to PowerDNS",
             med("step_to_dns", A)],
            ["receipt -> DNS answer changed", med("receipt_to_dns", A)],
            ["send -> 202 received", med("t_http", A)],
            ["DNS answer changed -> execution succeeded (read back, verify, journal)",
             med("dns_to_finished", A)],
            ["dns_update step duration (journal)", med("step_duration", A)],
            ["floor: send -> 204 received", med("t_http", dns["floor"])],
            ["one DNS question to PowerDNS, sequential (median of 50)", ms(dns["dns_rtt"])],
        ]
        sections.append(("Actuator webhook-to-DNS, median breakdown (wall clock; "
                         "journal times are the actuator's own)", ["interval", "median"], rows))
        unexpected = sum(r["unexpected"] for k in ("actuator", "floor", "floor_read")
                         for r in dns[k])
        rows = [
            ["actuator command", dns.get("argv", "")],
            ["config", info["dns_config"] + " (runbooks switch-to-a / switch-to-b: match "
             "alertname=Switch, target=a|b; mode auto, no guards, cooldown 0s; one step "
             "dns_update on powerdns, %s A -> %s | %s, ttl %d, verify_nameserver %s; brake "
             "1000/1h)" % (DNS_NAME, ADDR_A, ADDR_B, DNS_TTL, dns["config"]["runbooks"][0]
                           ["steps"][0]["dns_update"]["verify_nameserver"])],
            ["method", "t0 just before connect+send; then a UDP question to %s every %s "
             "until the answer is the new address; t1 = arrival of that answer. Each "
             "execution is waited for (succeeded) before the next switch; actuator and "
             "floor switches interleaved, %d iterations, pause %s" % (
                 dns["config"]["runbooks"][0]["steps"][0]["dns_update"]["verify_nameserver"],
                 ms(args.poll_interval, "%.1f ms"), args.dns_iterations,
                 ms(args.pause, "%.0f ms"))],
            ["floor request", "PATCH /api/v1/servers/localhost/zones/%s (X-API-Key, Accept: "
             "application/json), rrsets REPLACE %s A ttl %d, new TCP connection each" % (
                 ZONE, DNS_NAME, DNS_TTL)],
            ["answers neither old nor new", unexpected],
            ["other processes' CPU during the switches", "%.2f cores" % dns.get("other_busy", 0)],
            ["actuator peak RSS (VmHWM)", kb(dns.get("hwm_kb"))],
            ["actuator log lines", ", ".join("%s %d" % kv for kv in sorted(dns["log"][0].items()))],
        ]
        for (lv, msg), c in sorted(dns["log"][1].items(), key=lambda x: -x[1])[:6]:
            rows.append(["  %s" % lv, "%dx %s" % (c, msg)])
        sections.append(("Webhook-to-DNS run details", ["item", "value"], rows))
    return sections


# --------------------------------------------------------------------------- main

def write_json(path, args, info, tp, dns):
    """Headline figures for bench/run.py: per pass requests/s and latency percentiles; per
    switch kind the median/p90 of webhook (or PATCH) to changed DNS answer."""
    doc = {"bench": "actuator_webhook", "argv": sys.argv,
           "settings": {"concurrency": args.concurrency, "requests": args.requests,
                        "duration": args.duration, "dns_iterations": args.dns_iterations,
                        "rate": args.rate, "driver": args.driver},
           "machine": {k: v for k, v in info.items() if isinstance(v, (str, int, float))}}
    if tp:
        for name in ("p1", "p2"):
            r = tp[name]
            el = r.t_end - r.t_start
            doc[name] = {
                "answered": len(r.latencies), "accepted": r.status.get(202, 0),
                "requests_per_s": len(r.latencies) / el if el > 0 else None,
                "p50": pct(r.latencies, 50), "p90": pct(r.latencies, 90),
                "p99": pct(r.latencies, 99), "p999": pct(r.latencies, 99.9),
                "actuator_cpu": r.act_cpu, "driver_cpu": r.driver_cpu,
                "errors_total": sum(r.errors.values()) + len(r.latencies) - r.status.get(202, 0),
                "other_busy": r.other_busy, "hwm_kb": r.hwm_kb}
        doc["fsync_floor"] = {"median": info["fsync"][0], "p99": info["fsync"][1],
                              "p999": info["fsync"][2]}
        doc["commit_floor"] = {"median": info["commit_floor"][0],
                               "p99": info["commit_floor"][1], "p999": info["commit_floor"][2]}
        doc["big_webhook"] = [{"status": b["status"], "seconds": b["seconds"]}
                              for b in tp.get("big", [])]
    if dns:
        for kind in ("actuator", "floor", "floor_read"):
            xs = [x["total"] for x in dns.get(kind, [])]
            if xs:
                doc["dns_" + kind] = {"median": statistics.median(xs), "p90": pct(xs, 90),
                                      "min": min(xs), "max": max(xs), "n": len(xs)}
        doc["dns_other_busy"] = dns.get("other_busy")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, default=str)
        f.write("\n")


def default_binary():
    for b in ("build-ab", "build"):
        p = os.path.join(REPO, b, "bin", "failover_actuator")
        if os.access(p, os.X_OK):
            return p
    return os.path.join(REPO, "build-ab", "bin", "failover_actuator")


def main():
    ap = argparse.ArgumentParser(
        description="failover_actuator: POST /webhook throughput and latency at C concurrent "
                    "clients (fsync on), and webhook-to-PowerDNS-answer time against a bare "
                    "PATCH. Prints figures, asserts nothing.")
    ap.add_argument("--binary", default=default_binary(),
                    help="failover_actuator (default build-ab/bin, else build/bin)")
    ap.add_argument("--requests", type=int, default=20000,
                    help="requests per throughput pass, at most (20000)")
    ap.add_argument("--duration", type=parse_duration, default=30.0,
                    help="each throughput pass stops sending after this long (30s)")
    ap.add_argument("--concurrency", type=int, default=200,
                    help="concurrent clients, one keep-alive connection each (200)")
    ap.add_argument("--request-timeout", type=parse_duration, default=60.0,
                    help="per-request timeout of the load clients (60s)")
    ap.add_argument("--drain-timeout", type=parse_duration, default=120.0,
                    help="after pass 1, wait at most this long for the executions (120s)")
    ap.add_argument("--dns-iterations", type=int, default=20,
                    help="switches per path in the webhook-to-DNS benchmark (20)")
    ap.add_argument("--poll-interval", type=parse_duration, default=0.001,
                    help="DNS polling interval (1ms)")
    ap.add_argument("--switch-timeout", type=parse_duration, default=15.0,
                    help="give up on one switch after this long (15s)")
    ap.add_argument("--pause", type=parse_duration, default=0.05,
                    help="pause between two switches (50ms)")
    ap.add_argument("--no-floor-read", dest="floor_read", action="store_false",
                    help="skip the extra floor row that reads the record before the PATCH")
    ap.add_argument("--driver", choices=("c", "python"), default="c",
                    help="load clients: c (bench/webhook_load.c, one thread, epoll; built "
                         "with $CC or cc) or python (asyncio, in this process); default c")
    ap.add_argument("--rate", type=float, default=None,
                    help="open loop: the clients together send this many requests/s, each "
                         "on a fixed schedule, latency counted from the scheduled time "
                         "(default: closed loop, each client sends when answered)")
    ap.add_argument("--big-webhooks", type=int, default=3,
                    help="webhooks of --big-alerts new alerts sent one at a time (0: none)")
    ap.add_argument("--big-alerts", type=int, default=2000,
                    help="alerts in each of those webhooks")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-dns", action="store_true")
    ap.add_argument("--tmp-dir", default="/var/tmp",
                    help="where the journals and configs go; a disk, not tmpfs, so that fsync "
                         "costs what it costs (/var/tmp)")
    ap.add_argument("--verbose", action="store_true", help="log every switch")
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables as markdown")
    ap.add_argument("--json", metavar="FILE",
                    help="also write the headline figures as JSON (bench/run.py reads it)")
    ap.add_argument("--keep-tmp", action="store_true",
                    help="keep the temp dir (configs, logs, journals)")
    args = ap.parse_args()

    if not 1 <= args.requests <= 1000000:
        ap.error("--requests must be 1..1000000")
    if not 1 <= args.concurrency <= 2000:
        ap.error("--concurrency must be 1..2000")
    if not 0.5 <= args.duration <= 3600:
        ap.error("--duration must be 0.5s..1h")
    if not 0.1 <= args.request_timeout <= 600 or not 1 <= args.drain_timeout <= 3600:
        ap.error("--request-timeout must be 0.1s..10m, --drain-timeout 1s..1h")
    if not 1 <= args.dns_iterations <= 400:
        ap.error("--dns-iterations must be 1..400 (the brake allows 1000 per hour)")
    if not 0.0001 <= args.poll_interval <= 1 or not 1 <= args.switch_timeout <= 120:
        ap.error("--poll-interval must be 0.1ms..1s, --switch-timeout 1s..2m")
    if args.rate is not None and not 1 <= args.rate <= 100000:
        ap.error("--rate must be 1..100000 requests/s")
    if not 0 <= args.big_webhooks <= 20 or not 1 <= args.big_alerts <= 20000:
        ap.error("--big-webhooks must be 0..20, --big-alerts 1..20000")
    if not 0 <= args.pause <= 10:
        ap.error("--pause must be 0..10s")
    if not os.access(args.binary, os.X_OK):
        ap.error("cannot execute %s; build it:\n  cmake -S . -B build-ab -G Ninja "
                 "-DCMAKE_BUILD_TYPE=Release -DFAILOVER_BUILD_TESTS=OFF && cmake --build "
                 "build-ab --target failover_actuator" % args.binary)
    if not os.path.isdir(args.tmp_dir):
        ap.error("--tmp-dir %s is not a directory" % args.tmp_dir)

    raise_fd_limit(max(4096, args.concurrency * 4))
    stack = Stack(REPO)
    run = Run("actuator_webhook.", args.keep_tmp, stack.stop, tmp_dir=args.tmp_dir,
              kept_what="configs, logs, journals")
    tmp = run.tmp
    with run:
        info = dict(machine_info(), **{
            "actuator_version": version_line([args.binary, "--version"]),
            "pdns_version": "pdns-server " + deb_version("pdns-server"),
            "sqlite_version": deb_version("libsqlite3-0"),
            "command": " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO)]
                                + sys.argv[1:]) or "bench/actuator_webhook.py",
        })
        log("temp dir %s" % tmp)
        tp = dns = None
        if not args.skip_throughput:
            tp = throughput_benchmark(args, tmp, info)
        if not args.skip_dns:
            stack.start(["powerdns"])
            info["stack_cmd"] = stack.start_cmd + " ... stop --clean"
            dns = dns_benchmark(args, tmp, stack, info)

        sections = build_sections(args, info, tp, dns)
        print(render_sections(sections))
        notes = []
        if tp:
            notes += [
                "Latency is per request, from writing it on the client's keep-alive connection "
                "to the last byte of the answer; requests/s = answered / (first send .. last "
                "answer). Actuator CPU is utime+stime from /proc/<pid>/stat over the pass; peak "
                "RSS is VmHWM.",
                "Pass 1 runs a dry-run runbook: each new alert becomes an execution that is "
                "journaled and rendered in the background, competing for the journal with the "
                "webhook. Pass 2 only journals the webhook (every alert a duplicate).",
            ]
            for name, r in (("pass 1", tp["p1"]), ("pass 2", tp["p2"])):
                if r.other_busy > 0.25:
                    notes.append("WARNING: other processes kept %.2f cores busy during %s; "
                                 "its figures are noisy." % (r.other_busy, name))
        if dns and dns.get("other_busy", 0) > 0.25:
            notes.append("WARNING: other processes kept %.2f cores busy during the switches; "
                         "the webhook-to-DNS figures are noisy." % dns["other_busy"])
        if dns:
            notes.append("Webhook-to-DNS: t0 is taken before the TCP connect of the webhook "
                         "(or PATCH); t1 when the first answer with the new address arrives.")
        print("\n".join(notes))
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write("# bench/actuator_webhook.py results (%s)\n\n" % time.strftime(
                    "%Y-%m-%d %H:%M"))
                f.write(render_sections(sections, markdown=True))
                f.write("\n" + "\n\n".join(notes) + "\n")
            log("markdown written to %s" % args.markdown)
        if args.json:
            write_json(args.json, args, info, tp, dns)
            log("JSON written to %s" % args.json)
    return run.rc


if __name__ == "__main__":
    sys.exit(main())
