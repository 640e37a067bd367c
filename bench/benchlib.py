"""Helpers every benchmark in bench/ shares: durations, /proc figures, the machine's
description, the Prometheus text format and a plain HTTP GET on loopback.

The scripts run as programs (`bench/exporter_probes.py ...`), so Python puts bench/ first
on the module path and `import benchlib` finds this file.
"""

import argparse
import http.client
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    """One progress line on stderr, with the wall-clock time."""
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def parse_duration(text):
    """'30s', '500ms', '1m', '1h', '1m30s' or a plain number of seconds -> float seconds.
    Raises argparse.ArgumentTypeError, so it serves as an argparse `type=`."""
    text = str(text).strip()
    try:
        return float(text)
    except ValueError:
        pass
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise argparse.ArgumentTypeError("invalid duration %r (examples: 30s, 500ms, 1m)" % text)
    return sum(float(a) * units[b] for a, b in parts)


def proc_cpu_seconds(pid):
    """utime+stime of one process (all its threads), from /proc/<pid>/stat."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def read_kv_number(path, key):
    """The number after 'key:' in /proc/<pid>/status or /proc/meminfo (0 if absent).
    Raises OSError when the file cannot be read (the process has gone)."""
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def proc_status_kb(pid, key):
    """A figure of /proc/<pid>/status (VmRSS, VmHWM, Threads ...)."""
    return read_kv_number("/proc/%d/status" % pid, key)


def machine_busy_seconds():
    """CPU seconds all processes on the machine spent busy (from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / CLK_TCK


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib():
    try:
        return read_kv_number("/proc/meminfo", "MemTotal") / 1024 / 1024
    except OSError:
        return 0.0


def command_output(argv):
    """A command's stdout and stderr, stripped (for version strings); never raises."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10, check=False)
        return r.stdout.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unavailable (%s)" % e


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format -> list of (name, {labels}, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            continue
        labels = dict(LABEL_RE.findall(m.group(3) or ""))
        try:
            value = float(m.group(4))
        except ValueError:
            continue
        out.append((m.group(1), labels, value))
    return out


def http_get(port, path, timeout=10.0):
    """One GET to 127.0.0.1:port on a fresh connection; returns (status, body bytes,
    seconds)."""
    t = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        return r.status, body, time.monotonic() - t
    finally:
        conn.close()


def render_sections(sections, markdown=False):
    """sections: list of (title, header, rows) -> plain aligned text, or markdown tables
    (a '|' in a cell escaped)."""
    out = []
    for title, header, rows in sections:
        if markdown:
            out.append("### " + title)
            out.append("")
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join("---" for _ in header) + "|")
            for r in rows:
                out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
            out.append("")
        else:
            out.append(title)
            out.append("=" * len(title))
            widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
            out += [_aligned(header, widths), _aligned(["-" * w for w in widths], widths)]
            out += [_aligned(r, widths) for r in rows]
            out.append("")
    return "\n".join(out)


def _aligned(row, widths):
    return "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()


class Procs:
    """Every process the benchmark starts; all stopped by stop_all()."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, log_path, **kw):
        logf = open(log_path, "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True, **kw)
        logf.close()
        self.procs.append((name, p))
        return p

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(p.pid, sig)  # its own session/group: pgid == pid
                except ProcessLookupError:
                    break
                try:
                    p.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            # Leader gone; make sure nothing of its group (e.g. an nginx worker) lingers.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.procs = [(n, q) for n, q in self.procs if q is not p]

    def stop_all(self):
        for _, p in list(reversed(self.procs)):
            self.stop(p)
