"""Helpers every benchmark in bench/ shares: durations, /proc figures, the machine's
description, the Prometheus text format, a plain HTTP GET on loopback, the processes a
benchmark starts, its logs' levels, and the frame of its main() (signals, fd limit, temp
dir, cleanup, exit status).

The scripts run as programs (`bench/exporter_probes.py ...`), so Python puts bench/ first
on the module path and `import benchlib` finds this file.
"""

import argparse
import http.client
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

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


def machine_info():
    """The machine as every report describes it; machine_rows() renders it."""
    return {
        "nproc": "%d (usable: %d)" % (os.cpu_count() or 0, len(os.sched_getaffinity(0))),
        "cpu": cpu_model(),
        "mem": mem_total_gib(),
        "kernel": platform.release(),
        "loadavg": " ".join("%.2f" % x for x in os.getloadavg()),
    }


def machine_rows(info):
    """The first rows of a report's "Machine and settings" table."""
    return [
        ["nproc", info["nproc"]],
        ["CPU", info["cpu"]],
        ["memory", "%.1f GiB" % info["mem"]],
        ["kernel", info["kernel"]],
        ["load average at start", info["loadavg"]],
    ]


def command_output(argv):
    """A command's stdout and stderr, stripped (for version strings); never raises."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10, check=False)
        return r.stdout.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unavailable (%s)" % e


def version_line(argv):
    """The first line of a command's output (`X --version`); '' when it printed nothing."""
    return (command_output(argv).splitlines() or [""])[0]


def require_executables(ap, *paths, hint="see bench/README.md"):
    """An argparse error (exit 2) naming the first of paths that cannot be executed."""
    for p in paths:
        if not os.access(p, os.X_OK):
            ap.error("cannot execute %s (%s)" % (p, hint))


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


def wait_http(port, path, proc, what, timeout=20.0):
    """Until GET path on 127.0.0.1:port answers 200; RuntimeError when proc exits first or
    after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s during startup" % (what, proc.returncode))
        try:
            status, _, _ = http_get(port, path, timeout=2.0)
            if status == 200:
                return
            last = "HTTP %d" % status
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise RuntimeError("%s did not answer %s on 127.0.0.1:%d within %.0fs (%s)"
                       % (what, path, port, timeout, last))


def log_levels(path):
    """(level, line) for each line of a daemon's log, logfmt (level=warn) or JSON
    ("level":"warn"); the level is 'other' on a line without one. Nothing when the file
    cannot be read."""
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r'level=(\w+)', line) or re.search(r'"level":"(\w+)"', line)
                yield (m.group(1) if m else "other"), line
    except OSError:
        return


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


def stop_group(p, grace=5.0, name=None):
    """SIGTERM to the process group of p (started with start_new_session, so its pgid is its
    pid), SIGKILL after grace seconds; logs the escalation when given a name."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            break
        try:
            p.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            if name:
                log("%s did not exit %.0fs after signal %d" % (name, wait, sig))


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
            stop_group(p, grace)
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


def catch_signals():
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so that a benchmark unwinds
    through its cleanup (SIGINT too when it was started with SIGINT ignored: nohup, &)."""
    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)


def ignore_signals():
    """During cleanup: a second Ctrl-C must not cut it short."""
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)


def raise_fd_limit(want=65536):
    """Raises the soft limit of open files to want (at most the hard limit); the processes
    the benchmark starts inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, want):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))


class Run:
    """The frame of a benchmark's main(): signals that unwind (catch_signals), a temp dir,
    and on the way out the cleanup and an exit status:

        run = Run("soak.", args.keep_tmp, procs.stop_all)
        with run:
            ... run.tmp ...
        return run.rc

    rc is 0, 130 after Ctrl-C/SIGTERM/SIGHUP, 1 after a RuntimeError (logged as an error)
    or an OSError, ValueError or subprocess timeout (logged with its traceback). The
    cleanup functions run with the signals ignored; the temp dir is removed unless keep is
    true or the run failed (rc 1), when it is named with what it holds (kept_what)."""

    def __init__(self, prefix, keep=False, *cleanup, tmp_dir=None, kept_what=""):
        catch_signals()
        self.tmp = tempfile.mkdtemp(prefix=prefix, dir=tmp_dir)
        self.keep, self.cleanup, self.kept_what = keep, cleanup, kept_what
        self.rc = 0

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        handled = True
        if kind is None:
            pass
        elif issubclass(kind, KeyboardInterrupt):
            log("interrupted (%s); cleaning up" % (e or "Ctrl-C"))
            self.rc = 130
        elif issubclass(kind, RuntimeError):
            log("error: %s" % e)
            self.rc = 1
        elif issubclass(kind, (OSError, ValueError, subprocess.TimeoutExpired)):
            log("error: %s" % e)
            sys.stderr.write("".join(traceback.format_exception(kind, e, tb)))
            self.rc = 1
        else:
            handled = False
        ignore_signals()
        for f in self.cleanup:
            f()
        if self.keep or self.rc == 1:
            log("kept %s%s" % (self.tmp, " (%s)" % self.kept_what if self.kept_what else ""))
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return handled
