#!/usr/bin/python3
"""Runs every benchmark in bench/ against its peer, in one run, and writes
docs/benchmarks.md (issue 8).

Each comparative benchmark runs --repeat times (default 3); bench/run.py takes the median
of every figure over the repeats, and for every ratio the median of the ratios taken
within each run (both exporters measured minutes apart on the same machine). The drill
takes its own median (bench/drill.py --runs) and the soak runs once. Every benchmark
writes its figures with --json; the JSON files and the console output of every run
are kept in --work-dir. `--quick` is a smoke run of the whole pipeline (small target
counts, short windows, one repeat): its figures say nothing and the page says so.
Python 3 standard library only. See bench/README.md.
"""

import argparse
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import catch_signals, cpu_model, log, mem_total_gib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def out(argv):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
                           cwd=REPO)
        return r.stdout.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def deb(pkg):
    v = out(["dpkg-query", "-W", "-f=${Version}", pkg])
    return v if v and "no packages found" not in v else "not installed"


def machine_info():
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release(),
        "memory": "%.1f GiB" % mem_total_gib(),
        "os": out(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]),
        "loadavg_start": " ".join("%.2f" % x for x in os.getloadavg()),
    }


def versions():
    return {
        "failover (git describe)": out(["git", "describe", "--always", "--dirty", "--tags"]),
        "prometheus-blackbox-exporter": deb("prometheus-blackbox-exporter"),
        "prometheus-mysqld-exporter": deb("prometheus-mysqld-exporter"),
        "prometheus-postgres-exporter": deb("prometheus-postgres-exporter"),
        "nginx-light": deb("nginx-light"),
        "pdns-server (PowerDNS)": deb("pdns-server"),
        "prometheus": deb("prometheus"),
        "prometheus-alertmanager": deb("prometheus-alertmanager"),
        "mariadb-server": deb("mariadb-server"),
        "postgresql": deb("postgresql"),
        "python3": platform.python_version(),
    }


# --------------------------------------------------------------------------- the plan

def plan(args):
    """[(id, title, argv without --json, repeated?)]"""
    q = args.quick
    fo_bin = ["--failover-bin", args.failover_bin]
    benches = []
    # https twice: every probe a full handshake (the default), and with TLS session
    # resumption (a full handshake at least once a minute per probe).
    for kind in ("http", "tcp", "https", "https_resumed"):
        for n in (1000, 10000):
            kind_args = (["--kind", "https", "--tls-resumption", "on"] if kind == "https_resumed"
                         else ["--kind", kind])
            argv = ["bench/exporter_probes.py"] + kind_args + ["--targets", str(n)] + fo_bin
            if q:
                # Small: 1/10 of the targets at 2s, 5s windows.
                argv = ["bench/exporter_probes.py"] + kind_args + ["--targets", str(n // 20),
                        "--interval", "2s", "--timeout", "1s", "--duration", "6s",
                        "--warmup", "3s", "--scrape-interval", "2s"] + fo_bin
            if args.wait_quiet:
                argv += ["--wait-quiet", args.wait_quiet]
            if args.exporter_window and not q:
                argv += ["--duration", args.exporter_window]
            if args.exporter_warmup and not q:
                argv += ["--warmup", args.exporter_warmup]
            shown = n // 20 if q else n
            benches.append(("exporter_%s_%d" % (kind, n),
                            "exporter_probes, %s, %d targets" % (kind, shown), argv, True))
    # Exporter state per probe (issue 19): 10,000 HTTP probes once every probe has run ten
    # times, against the same exporter with no probes.
    argv = ["bench/exporter_memory.py", "--targets", "10000", "--settle", "110", "--per-probe",
            "--top", "10", "--failover-bin", args.failover_bin]
    if q:
        argv = ["bench/exporter_memory.py", "--targets", "500", "--settle", "5", "--per-probe",
                "--top", "5", "--failover-bin", args.failover_bin]
    benches.append(("state_per_probe", "exporter_memory, state per probe", argv, False))
    # Stack memory (issue 19): exporter + Prometheus, failover against blackbox.
    argv = ["bench/stack_memory.py"] + fo_bin
    if q:
        argv += ["--targets", "50,500", "--warmup", "5s", "--duration", "10s"]
    benches.append(("stack_memory", "stack_memory, 1000 and 10,000 targets", argv, True))
    argv = ["bench/replication_probes.py"] + fo_bin
    if q:
        argv += ["--counts", "1", "--duration", "5s", "--warmup", "2s", "--idle", "2s",
                 "--skip-minimal"]
    benches.append(("replication", "replication_probes", argv, True))
    argv = ["bench/actuator_webhook.py", "--binary", args.actuator_bin]
    if q:
        argv += ["--requests", "300", "--duration", "5s", "--concurrency", "20",
                 "--dns-iterations", "3"]
    benches.append(("actuator", "actuator_webhook", argv, True))
    # The latency goal at the throughput goal: 200 clients sending 5,000 new alerts/s
    # together on a fixed schedule (open loop), latency counted from the scheduled time.
    # Pass 1's 50,000 dry-run executions take ~2 min to finish after it: pass 2 waits for
    # them (at most 300 s), so that it measures the resends alone.
    argv = ["bench/actuator_webhook.py", "--binary", args.actuator_bin, "--rate", "5000",
            "--skip-dns", "--big-webhooks", "0", "--duration", "10s", "--requests", "50000",
            "--drain-timeout", "300s"]
    if q:
        argv += ["--rate", "500", "--requests", "1000", "--duration", "2s", "--concurrency",
                 "20"]
    benches.append(("actuator_open", "actuator_webhook, open loop at 5,000 requests/s", argv,
                    True))
    argv = ["bench/drill.py", "--build-dir", args.drill_build_dir]
    argv += ["--runs", "1", "--profiles", "fast"] if q else ["--runs", str(args.drill_runs)]
    benches.append(("drill", "drill", argv, False))
    argv = ["bench/soak.py"] + fo_bin
    if q:
        argv += ["--targets", "200", "--interval", "2s", "--timeout", "1s", "--duration", "60s",
                 "--reload-every", "15s", "--sample-every", "2s", "--scrape-interval", "5s"]
    benches.append(("soak", "soak", argv, False))
    return [b for b in benches if (not args.only or b[0] in args.only)
            and b[0] not in args.skip]


# --------------------------------------------------------------------------- figures

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return a / b if a is not None and b else None


def g(d, *path):
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def exporter_figures(doc):
    fo, bb, ou = doc.get("failover"), doc.get("blackbox"), doc.get("outage")
    f = {
        "fo_cpu_per_1000": g(fo, "cpu_per_1000"), "bb_cpu_per_1000": g(bb, "cpu_per_1000"),
        "cpu_ratio": ratio(g(fo, "cpu_per_1000"), g(bb, "cpu_per_1000")),
        "cpu_probing_ratio": ratio(g(fo, "cpu_probing_per_1000"), g(bb, "cpu_per_1000")),
        "fo_hwm_mib": (g(fo, "hwm_kb") or 0) / 1024 or None,
        "bb_hwm_mib": (g(bb, "hwm_kb") or 0) / 1024 or None,
        "rss_ratio": ratio(g(fo, "hwm_kb"), g(bb, "hwm_kb")),
        "fo_uss_mib": (g(fo, "uss_kb") or 0) / 1024 or None,
        "bb_uss_mib": (g(bb, "uss_kb") or 0) / 1024 or None,
        "uss_ratio": ratio(g(fo, "uss_kb"), g(bb, "uss_kb")),
        "idle_hwm_mib": (g(fo, "idle_hwm_kb") or 0) / 1024 or None,
        "idle_ratio": ratio(g(fo, "idle_hwm_kb"), g(bb, "hwm_kb")),
        "curl_floor_mib": (g(fo, "curl_floor_kb") or 0) / 1024 or None,
        "curl_floor_ratio": ratio(g(fo, "curl_floor_kb"), g(bb, "hwm_kb")),
        "fo_late_p99_ms": g(fo, "late_p99") and g(fo, "late_p99") * 1000,
        "outage_late_p99_ms": g(ou, "late_p99") and g(ou, "late_p99") * 1000,
        "outage_late_ratio": ratio(g(ou, "late_p99"), g(fo, "late_p99")),
        "fo_scrape_ms": g(fo, "scrape_median") and g(fo, "scrape_median") * 1000,
        "outage_scrape_ms": g(ou, "scrape_median") and g(ou, "scrape_median") * 1000,
        "outage_scrape_ratio": ratio(g(ou, "scrape_median"), g(fo, "scrape_median")),
        "fo_scrape_kib": g(fo, "scrape_bytes") and g(fo, "scrape_bytes") / 1024,
        "fo_scrape_cpu_ms": g(fo, "scrape_cpu") and g(fo, "scrape_cpu") * 1000,
        "bb_probe_kib_per_interval": (g(bb, "probe_bytes_per_interval") and
                                      g(bb, "probe_bytes_per_interval") / 1024),
        "bb_cpu_per_interval_ms": g(bb, "cpu_per_interval") and g(bb, "cpu_per_interval") * 1000,
        "scrape_vs_probe_cpu_ratio": ratio(g(fo, "scrape_cpu"), g(bb, "cpu_per_interval")),
        "tls_floor_curl_ratio": ratio(g(fo, "tls_floor_curl_per_1000"), g(bb, "cpu_per_1000")),
        "tls_floor_openssl_ratio": ratio(g(fo, "tls_floor_openssl_per_1000"),
                                         g(bb, "cpu_per_1000")),
        "tls_floor_openssl_resumed_ratio": ratio(g(fo, "tls_floor_openssl_resumed_per_1000"),
                                                 g(bb, "cpu_per_1000")),
        "tls_floor_openssl_paced_ratio": ratio(g(fo, "tls_floor_openssl_paced_per_1000"),
                                               g(bb, "cpu_per_1000")),
        "tls_floor_openssl_resumed_paced_ratio": ratio(
            g(fo, "tls_floor_openssl_resumed_paced_per_1000"), g(bb, "cpu_per_1000")),
        "other_busy": max([x for x in (g(fo, "other_busy"), g(bb, "other_busy"),
                                       g(ou, "other_busy")) if x is not None] or [None]),
    }
    return f


def replication_figures(doc):
    f = {}
    rows = doc.get("results", [])
    for r in rows:
        key = "n%d %s" % (r["n"], r["label"])
        f[key + ", CPU s/1000 runs"] = r.get("sched_per_1000")
        f[key + ", queries/run"] = r.get("queries_per_run")
        f[key + ", conns/run"] = r.get("conns_per_run")
    for r in rows:
        if not r.get("failover"):
            continue
        for peer in rows:
            if peer["n"] == r["n"] and peer["kind"] == r["kind"] and not peer.get("failover"):
                key = "n%d ratio %s / %s" % (r["n"], r["label"], peer["label"])
                f[key + ", CPU"] = ratio(r.get("sched_per_1000"), peer.get("sched_per_1000"))
                f[key + ", queries"] = ratio(r.get("queries_per_run"), peer.get("queries_per_run"))
    return f


def actuator_figures(doc):
    ms = lambda v: v and v * 1000
    big = [b["seconds"] for b in doc.get("big_webhook") or [] if b.get("status") == 202]
    return {
        "pass 1 (new alerts, 200 clients) requests/s (goal ≥ 5,000)":
            g(doc, "p1", "requests_per_s"),
        "pass 1 p50 (ms)": ms(g(doc, "p1", "p50")),
        "pass 1 p99 (ms) (goal ≤ 5)": ms(g(doc, "p1", "p99")),
        "pass 1 p99.9 (ms)": ms(g(doc, "p1", "p999")),
        "pass 1 actuator CPU per request (ms)": ms(ratio(g(doc, "p1", "actuator_cpu"),
                                                         g(doc, "p1", "answered"))),
        "pass 2 (resends) requests/s": g(doc, "p2", "requests_per_s"),
        "pass 2 p50 (ms)": ms(g(doc, "p2", "p50")),
        "pass 2 p99 (ms)": ms(g(doc, "p2", "p99")),
        "pass 2 p99.9 (ms)": ms(g(doc, "p2", "p999")),
        "floor: 4 KiB write + fdatasync on the journal's disk, p50 (ms)":
            ms(g(doc, "fsync_floor", "median")),
        "floor: fdatasync, p99 (ms)": ms(g(doc, "fsync_floor", "p99")),
        "floor: one SQLite commit as the journal makes it, p50 (ms)":
            ms(g(doc, "commit_floor", "median")),
        "floor: SQLite commit, p99 (ms)": ms(g(doc, "commit_floor", "p99")),
        "one webhook of 2,000 new alerts, median send to 202 (ms) (goal < 100)":
            ms(sorted(big)[len(big) // 2]) if big else None,
        "webhook -> DNS answer, median (ms)": ms(g(doc, "dns_actuator", "median")),
        "floor: bare PATCH -> DNS answer, median (ms)": ms(g(doc, "dns_floor", "median")),
        "floor + read first, median (ms)": ms(g(doc, "dns_floor_read", "median")),
        "ratio webhook / floor": ratio(g(doc, "dns_actuator", "median"),
                                       g(doc, "dns_floor", "median")),
        "other_busy": max([x for x in (g(doc, "p1", "other_busy"), g(doc, "p2", "other_busy"),
                                       g(doc, "dns_other_busy")) if x is not None] or [None]),
    }


def actuator_open_figures(doc):
    ms = lambda v: v and v * 1000
    out = {}
    for p, what in (("p1", "pass 1 (new alerts)"), ("p2", "pass 2 (resends)")):
        out[what + " answered requests/s"] = g(doc, p, "requests_per_s")
        for q, name in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
            out["%s %s (ms)%s" % (what, name, " (goal ≤ 5)" if q == "p99" else "")] = \
                ms(g(doc, p, q))
        out[what + " errors"] = g(doc, p, "errors_total")
        out[what + " actuator CPU per request (ms)"] = ms(ratio(g(doc, p, "actuator_cpu"),
                                                                g(doc, p, "answered")))
    out["other_busy"] = max([x for x in (g(doc, "p1", "other_busy"), g(doc, "p2", "other_busy"))
                             if x is not None] or [None])
    return out


# --------------------------------------------------------------------------- output

def fmt(v, spec="%.3f"):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return spec % v


def table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


EXPORTER_ROWS = [
    ("CPU s per 1000 probes, failover_exporter", "fo_cpu_per_1000", "%.4f", ""),
    ("CPU s per 1000 probes, blackbox_exporter", "bb_cpu_per_1000", "%.4f", ""),
    ("ratio failover/blackbox CPU per probe", "cpu_ratio", "%.3f", "≤ 0.20"),
    ("  same, without failover's /metrics scrapes", "cpu_probing_ratio", "%.3f", ""),
    ("peak RSS failover_exporter (MiB)", "fo_hwm_mib", "%.1f", ""),
    ("peak RSS blackbox_exporter (MiB)", "bb_hwm_mib", "%.1f", ""),
    ("ratio failover/blackbox peak RSS", "rss_ratio", "%.3f",
     "(issue 8's ≤ 0.50, retired by issue 19 for the stack memory below)"),
    ("private memory (USS) at end, failover_exporter (MiB)", "fo_uss_mib", "%.1f", ""),
    ("private memory (USS) at end, blackbox_exporter (MiB)", "bb_uss_mib", "%.1f", ""),
    ("ratio failover/blackbox private memory", "uss_ratio", "%.3f", ""),
    ("floor: failover_exporter with no probes, peak RSS (MiB)", "idle_hwm_mib", "%.1f", ""),
    ("  ratio to blackbox's peak RSS", "idle_ratio", "%.3f", ""),
    ("floor: a process that only loads and initialises libcurl (MiB)", "curl_floor_mib", "%.1f",
     ""),
    ("  ratio to blackbox's peak RSS", "curl_floor_ratio", "%.3f", ""),
    ("probe start lateness p99 (ms)", "fo_late_p99_ms", "%.2f", "< 50 (10,000 targets)"),
    ("  during the outage (ms)", "outage_late_p99_ms", "%.2f", ""),
    ("  ratio outage / no outage", "outage_late_ratio", "%.2f", "≤ 2"),
    ("/metrics scrape time (ms)", "fo_scrape_ms", "%.2f", ""),
    ("  during the outage (ms)", "outage_scrape_ms", "%.2f", ""),
    ("  ratio outage / no outage", "outage_scrape_ratio", "%.2f", "≤ 2"),
    ("/metrics size (KiB)", "fo_scrape_kib", "%.0f", ""),
    ("CPU per /metrics scrape (ms)", "fo_scrape_cpu_ms", "%.2f", ""),
    ("blackbox: /probe answers per interval (KiB)", "bb_probe_kib_per_interval", "%.0f", ""),
    ("blackbox: CPU per interval (ms)", "bb_cpu_per_interval_ms", "%.1f", ""),
    ("ratio one /metrics scrape / one interval of /probe", "scrape_vs_probe_cpu_ratio", "%.3f",
     ""),
    ("https floor: one libcurl transfer alone / blackbox CPU per probe", "tls_floor_curl_ratio",
     "%.3f", ""),
    ("https floor: OpenSSL alone, one SSL_CTX / blackbox CPU per probe",
     "tls_floor_openssl_ratio", "%.3f", ""),
    ("https floor: OpenSSL alone, resuming / blackbox CPU per probe",
     "tls_floor_openssl_resumed_ratio", "%.3f", ""),
    ("https floor: OpenSSL alone, paced at the probe rate / blackbox CPU per probe",
     "tls_floor_openssl_paced_ratio", "%.3f", ""),
    ("https floor: OpenSSL alone, resuming, paced / blackbox CPU per probe",
     "tls_floor_openssl_resumed_paced_ratio", "%.3f", ""),
    ("other processes' load, worst window (cores)", "other_busy", "%.2f", "< 0.25 for clean figures"),
]


def stack_figures(doc):
    """Per target count: the stack ratio and each process's peak RSS (MiB)."""
    f = {}
    for n, r in (doc.get("results") or {}).items():
        for side in ("failover", "blackbox"):
            for proc in ("exporter", "prometheus"):
                f["%s_%s_%s_hwm_mib" % (n, side, proc)] = (g(r, side, proc, "hwm_kb") or 0) / 1024
            f["%s_%s_prometheus_head_series" % (n, side)] = g(r, side, "prometheus",
                                                              "head_series")
            f["%s_%s_stack_hwm_mib" % (n, side)] = (g(r, side, "stack_hwm_kb") or 0) / 1024
        f["%s_stack_ratio (goal <= 0.5)" % n] = r.get("ratio_stack_hwm")
        f["%s_stack_uss_ratio" % n] = r.get("ratio_stack_uss")
    f["prometheus_floor_hwm_mib"] = (g(doc, "prometheus_floor", "hwm_kb") or 0) / 1024
    f["other_busy"] = max([g(r, s, "other_busy") or 0 for r in (doc.get("results") or {}).values()
                           for s in ("failover", "blackbox")] or [0])
    return f


PROFILE_SECTION = """## What the profiles showed and what was changed

Profiled with `perf record -g` and `strace -c` under `bench/exporter_probes.py`' load, and
with heaptrack at 10,000 probes; the details, the commands and the intermediate figures
are in [bench/README.md](../bench/README.md#results-issues-2-and-8) and
[docs/exporter.md](exporter.md#cost-of-a-scrape-and-memory).

| change | what the profile showed | what it gained |
|---|---|---|
| `/metrics` probe series written as text straight from the result store, label text built once per probe | a scrape at 1000 probes cost ~25 ms of CPU: ~30% `std::ostream`, 12% printf float formatting, 15% page faults for ~13 MiB of prometheus-cpp objects | CPU per scrape 22 → 4 ms; CPU per 1000 probes vs blackbox 0.228 → 0.175 |
| the page streamed in 64 KiB chunks from a snapshot taken under the lock | the page and its objects were a ~12 MiB transient at every scrape | peak RSS vs blackbox at 1000 probes 1.107 → 0.899; a scrape adds 0.4-0.8 MiB |
| the event loop's timerfd re-armed only when the next deadline changes | strace: 2 `timerfd_settime` per probe run | syscalls per probe ~21 → ~19 |
| the configuration parsed into a compact tree from yaml-cpp's events, `malloc_trim` after a load, the probe list reserved | heaptrack at 10,000 probes: yaml-cpp's nodes were 23.5 MiB of the heap peak, and glibc kept their pages afterwards | 10,000 TCP probes: peak RSS 55.4 → 33.5 MiB, steady RSS 52.5 → 31.2 MiB |
| sample labels shared and immutable (the HTTP phases built once), an HTTP prober's rarely set options stored only when set, TCP TLS options likewise, the URL kept once, the fingerprint a 32-byte SHA-256 | heaptrack at 10,000 HTTP probes: the prober with every option inline ~670 bytes, the last samples ~750 bytes (five one-label heap vectors per run), the fingerprint text ~130 bytes, per probe | `bench/exporter_memory.py`: 10,000 HTTP probes peak RSS 43.1 → 34.5 MiB, 10,000 TCP 33.1 → 31.4 MiB, 1000 HTTP 17.2 → 16.5 MiB |
| a plain `tcp` probe of an IP address connects on the event loop (one non-blocking connect), without a libcurl transfer | the earlier perf profile of a probe: ~16% of its CPU in libcurl and ~50 of its ~85 mallocs inside libcurl, on top of the kernel's connect | TCP CPU per 1000 probes 0.2225 → 0.1450 s (1000 targets) and 0.1115 → 0.0617 s (10,000); ratio to blackbox 0.225 → 0.177 and 0.201 → 0.114 (the full run vs the re-run, same machine, same day) |
| the HTTP server's listen backlog 4096 instead of 128, and `Connection: close` on every answer after which it closes | `bench/actuator_webhook.py` on this machine: a resend p99 of 7.4-8.7 s (SYN retransmits after backlog overflows), and ~9,900 of 20,000 requests lost: with keep-alive off the actuator closed after each answer without saying so, and the client's next request went to a closing socket | all 20,000 requests answered; new alerts 701 → 868 requests/s, resends 692 → 2568 requests/s, resend p99 8.0 s → 72 ms |

What the profiles leave: per probe, most CPU is the kernel's fresh TCP connection (as for
blackbox) and, for HTTP, libcurl's per-transfer work; of the RSS, ~12.5 MiB are
shared-library pages (libcrypto alone 3.1 MiB), which is why the tables also give private
memory (USS). USS depends on what else runs: pages another process maps too are not
private. In the full run the soak's exporter (the same binary) ran alongside and shared
the library pages; the tcp re-run had no such neighbour, so its USS is higher (11.3 MiB
at 1000 targets, against 3.8 MiB in the full run), while its RSS is the same.

**Why the peak-RSS target (≤ 0.50) is not met.** The two "floor" rows are measured in
the same runs: failover_exporter with no probes at all, and a process that does nothing
but load Debian's libcurl and call `curl_global_init` (`bench/curl_floor.c`). The
second alone is close to half of blackbox's peak RSS at 1000 probes, the first well
above it, so no change to the exporter's own data can bring it under the target while
it probes with libcurl and OpenSSL. That would take an HTTP/TLS client of its own; a
plain-HTTP path alone would only win this loopback benchmark, since a shop's probes are
https. The per-probe state at 10,000 probes is in bench/README.md ("Not done").
"""


PAGE_CHANGES = "issue19-changes.md"  # after the profiles' table
PAGE_SECTIONS = ["partition-lab-cost.md", "earlier-2026-12-07-e2f2285.md",
                 "earlier-2026-12-06-issue8.md"]  # at the end, newest first


def page_section(name):
    with open(os.path.join(REPO, "bench", "page", name)) as f:
        return f.read()


def write_page(path, args, info, vers, results, commands, loaded, counts=None):
    L = []
    L.append("# Benchmarks: failover against its peers\n")
    argv = sys.argv[1:]
    if args.render_only:
        taken = [a for a in argv if a != "--render-only"]
        taken = [a for i, a in enumerate(taken) if a != "--note" and
                 (i == 0 or taken[i - 1] != "--note") and not a.startswith("--note=")]
        L.append("Figures taken by `%s`; this page re-rendered from its JSON files by "
                 "`bench/run.py --render-only` on %s. Each benchmark is described in "
                 "[bench/README.md](../bench/README.md).\n"
                 % (" ".join(["bench/run.py"] + taken), time.strftime("%Y-%m-%d %H:%M %Z")))
    else:
        L.append("Written by `%s` on %s. Each benchmark is described in "
                 "[bench/README.md](../bench/README.md).\n"
                 % (" ".join(["bench/run.py"] + argv), time.strftime("%Y-%m-%d %H:%M %Z")))
    if args.note:
        L.append("> " + args.note + "\n")
    if args.quick:
        L.append("> **These figures come from `bench/run.py --quick`**: a smoke run of the "
                 "pipeline with small target counts, short windows and one repeat%s. They "
                 "are **not** results and must not be compared with the targets. Run "
                 "`bench/run.py` (without --quick) on an otherwise idle machine for real figures.\n"
                 % (", on a machine loaded by other builds and tests" if loaded else ""))
    elif loaded:
        L.append("> **Warning:** other processes used more than 0.25 cores during at least "
                 "one measurement window (row \"other processes' load\"); those figures are "
                 "noisy.\n")
    L.append("## Machine\n")
    L.append(table(["item", "value"], [[k, v] for k, v in info.items()]))
    L.append("## Versions\n")
    L.append(table(["component", "version"], [[k, v] for k, v in vers.items()]))
    L.append("## Commands\n")
    other = "".join("; `%s` %d time(s)" % (k, n) for k, n in sorted((counts or {}).items()))
    L.append("Each command ran with `--json FILE` added; repeated ones %d time(s)%s, "
             "medians below.\n" % (args.repeat, other))
    L.append("```sh\n" + "\n".join(commands) + "\n```\n")
    L.append(PROFILE_SECTION)
    L.append(page_section(PAGE_CHANGES))

    ex = [(k, t) for k, t, _, _ in plan(args) if k.startswith("exporter_") and k in results]
    if ex:
        L.append("## Exporter probes: failover_exporter vs blackbox_exporter (issue 8, points 1-3)\n")
        L.append("Medians over the repeats; each ratio is the median of the ratios within "
                 "one run. Target column: issue 8.\n")
        head = ["figure"] + [t.replace("exporter_probes, ", "") for _, t in ex] + ["target"]
        rows = []
        for label, key, spec, target in EXPORTER_ROWS:
            rows.append([label] + [fmt(med(r[key] for r in results[k]), spec) for k, _ in ex]
                        + [target])
        L.append(table(head, rows))
    if "replication" in results:
        L.append("## Replication probes vs mysqld_exporter / postgres_exporter (point 4)\n")
        keys = []
        for r in results["replication"]:
            keys += [k for k in r if k not in keys]
        L.append(table(["figure", "median"], [[k, fmt(med(r.get(k) for r in
                                                          results["replication"]), "%.4f")]
                                              for k in keys]))
    if "state_per_probe" in results:
        e = results["state_per_probe"][0]
        L.append("## Exporter state per probe (issue 19)\n")
        L.append("`bench/exporter_memory.py --per-probe`: N = %d HTTP probes after %gs. Two "
                 "measures: (RSS − RSS with no probes) / N, which spreads the fixed cost of "
                 "libcurl's and OpenSSL's initialisation (paid once the first HTTP probe "
                 "exists) over the probes; and (RSS − RSS with one probe) / (N − 1), what each "
                 "added probe costs.\n" % (e.get("targets", 0), e.get("settle", 0)))
        L.append(table(["figure", "value", "target"], [
            ["RSS with the probes", fmt((e.get("rss_kb") or 0) / 1024, "%.1f MiB"), ""],
            ["RSS with no probes", fmt((e.get("rss_no_probes_kb") or 0) / 1024, "%.1f MiB"), ""],
            ["RSS with one probe", fmt((e.get("rss_one_probe_kb") or 0) / 1024, "%.1f MiB"), ""],
            ["state per probe (above no probes)", fmt(e.get("per_probe_kib"), "%.2f KiB"),
             "≤ 1 KiB"],
            ["state per added probe (above one probe)", fmt(e.get("per_added_probe_kib"),
                                                            "%.2f KiB"), "≤ 1 KiB"],
        ]))
    if "stack_memory" in results:
        L.append("## Stack memory: exporter + Prometheus, failover vs blackbox (issue 19)\n")
        L.append("`bench/stack_memory.py`: peak RSS of each process, the same probe series kept, "
                 "the same interval; Prometheus's own figures included.\n")
        keys = list(results["stack_memory"][0].keys())
        L.append(table(["figure", "median"], [[k, fmt(med(r.get(k) for r in
                                                          results["stack_memory"]), "%.3f")]
                                              for k in keys]))
    if "actuator" in results:
        L.append("## Actuator: webhook and webhook to DNS answer (point 5)\n")
        keys = list(results["actuator"][0].keys())
        L.append(table(["figure", "median"], [[k, fmt(med(r.get(k) for r in results["actuator"]),
                                                      "%.2f")] for k in keys]))
    if "actuator_open" in results:
        L.append("### Webhook latency at 5,000 new alerts/s (open loop)\n")
        L.append("`bench/actuator_webhook.py --rate 5000`: the 200 clients together send 5,000 "
                 "requests/s, each on a fixed schedule, and a request's latency counts from "
                 "when it was due, so a server that falls behind is not excused. This is the "
                 "form in which the two goals of point 1 can hold together: with 200 clients "
                 "that each send as soon as they are answered (the table above), the mean "
                 "latency is 200 / throughput (Little's law), so a p99 of 5 ms would need "
                 "40,000 requests/s.\n")
        keys = list(results["actuator_open"][0].keys())
        L.append(table(["figure", "median"], [[k, fmt(med(r.get(k) for r in
                                                          results["actuator_open"]), "%.2f")]
                                              for k in keys]))
    if "drill" in results:
        d = results["drill"][0]
        L.append("## Drill: failure to authoritative DNS answer switched (point 6)\n")
        L.append("`bench/drill.py`: medians over %s drill(s) per profile, each a fresh "
                 "`scripts/demo --profile P`. probe + evaluation + for + alertmanager + "
                 "runbook = total; verify comes after the switch.\n"
                 % d["settings"]["runs"])
        profiles = d["settings"]["profiles"]
        names = ["probe", "evaluation", "for", "alertmanager", "runbook", "total", "verify"]
        rows = [[n] + [fmt(g(d, "summary", p, "phases", n, "median"), "%.2f s") for p in profiles]
                for n in names]
        steps = []
        for p in profiles:
            steps += [k for k in g(d, "summary", p, "steps") or {} if k not in steps]
        rows += [["runbook step " + k] + [fmt(g(d, "summary", p, "steps", k, "median"), "%.2f s")
                                          for p in profiles] for k in steps]
        rows.append(["successful drills"] + ["%s of %s" % (g(d, "summary", p, "ok"),
                                                         g(d, "summary", p, "runs"))
                                             for p in profiles])
        L.append(table(["phase"] + profiles, rows))
    if "soak" in results:
        s = results["soak"][0]["result"]
        st = results["soak"][0]["settings"]
        L.append("## Soak: %d probes, a reload every %gs between two probe sets (point 7)\n"
                 % (st["targets"], st["reload_every"]))
        L.append(table(["figure", "value", "target"], [
            ["run", "%gs, RSS baseline after %gs" % (s["duration"], s["warmup"]), ""],
            ["RSS after warm-up", fmt(s["rss_after_warmup_kb"] and s["rss_after_warmup_kb"] / 1024,
                                      "%.1f MiB"), ""],
            ["RSS at end", fmt(s["rss_end_kb"] / 1024, "%.1f MiB"), ""],
            ["growth", fmt(s["growth_pct"], "%+.2f %%"), "≤ 5 %"],
            ["reloads ok / failed", "%d / %d" % (s["reloads"]["ok"], s["reloads"]["failed"]), ""],
            ["removed probes' series gone after the reload",
             "%d of %d" % (s["checks"]["removed_gone"],
                           s["checks"]["removed_gone"] + s["checks"]["removed_left"]), "all"],
            ["added probes' series present before the next reload",
             "%d of %d" % (s["checks"]["added_present"],
                           s["checks"]["added_present"] + s["checks"]["added_missing"]), "all"],
        ]))
    # Hand-written sections kept across runs (bench/page/): what changed and what it
    # gained, the lab's cost (measured by bench/partitions.py, not by this script) and the
    # earlier full runs' figures, so the page shows the trend.
    L += [page_section(name) for name in PAGE_SECTIONS]
    missing = [t for k, t, _, _ in plan(args) if k not in results]
    if missing:
        L.append("## Not measured in this run\n")
        L.append("\n".join("- %s (failed or skipped; see the logs in the work dir)" % t
                           for t in missing) + "\n")
    with open(path, "w") as f:
        f.write("\n".join(L))


# --------------------------------------------------------------------------- main

def build_bench():
    """The benchmarks run build-bench's binaries: build them from this tree first, so that
    a stale build never stands for the current code."""
    if not os.path.exists(os.path.join(REPO, "build-bench", "CMakeCache.txt")):
        subprocess.run(["cmake", "-S", ".", "-B", "build-bench", "-G", "Ninja",
                        "-DCMAKE_BUILD_TYPE=Release", "-DFAILOVER_BUILD_TESTS=OFF"],
                       cwd=REPO, check=True)
    log("building build-bench")
    subprocess.run(["cmake", "--build", "build-bench"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description="Run every benchmark against its peer and write "
                                             "docs/benchmarks.md.")
    ap.add_argument("--repeat", type=int, default=0,
                    help="runs of each comparative benchmark (3; 1 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: small counts, short windows, 1 repeat, fast drill only")
    ap.add_argument("--only", default="", help="comma-separated benchmark ids (see --list)")
    ap.add_argument("--skip", default="", help="comma-separated benchmark ids to skip")
    ap.add_argument("--list", action="store_true", help="print the benchmark ids and commands")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"),
                    help="the page to write (docs/benchmarks.md)")
    ap.add_argument("--work-dir", help="keep JSON and console output here (default: a new "
                                       "/var/tmp/bench-run.* dir)")
    ap.add_argument("--failover-bin", default="build-bench/bin/failover_exporter")
    ap.add_argument("--actuator-bin", default="build-bench/bin/failover_actuator")
    ap.add_argument("--drill-build-dir", default="build",
                    help="build dir with the fake PagerDuty for bench/drill.py (build)")
    ap.add_argument("--drill-runs", type=int, default=5, help="drills per profile (5)")
    ap.add_argument("--wait-quiet", default="", metavar="DURATION",
                    help="passed to bench/exporter_probes.py: before each of its windows, wait up "
                         "to this long for an idle machine (e.g. 5m; default: don't wait)")
    ap.add_argument("--exporter-window", default="", metavar="DURATION",
                    help="measurement window of each exporter_probes run (its default: 60s)")
    ap.add_argument("--exporter-warmup", default="", metavar="DURATION",
                    help="warm-up before each exporter_probes window (its default: 15s)")
    ap.add_argument("--soak-alongside", action="store_true",
                    help="run the 30-minute soak at the same time as the other benchmarks "
                         "instead of after them (saves 30 minutes; the soak's 1000 probes "
                         "add a few %% of one core, which the 'other processes' rows show)")
    ap.add_argument("--note", default="", help="a remark on this run, printed under the title")
    ap.add_argument("--no-build", action="store_true",
                    help="do not (re)build build-bench first (Release, no tests)")
    ap.add_argument("--render-only", action="store_true",
                    help="run nothing: write the page from the JSON files already in --work-dir "
                         "(same --quick/--repeat/--only/--skip as the run that made them)")
    args = ap.parse_args()
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.only = [x for x in args.only.split(",") if x]
    args.skip = [x for x in args.skip.split(",") if x]
    benches = plan(args)
    if args.list:
        for k, t, argv, rep in benches:
            print("%-20s %s%s" % (k, " ".join(argv), "  (x%d)" % args.repeat if rep else ""))
        return 0
    if args.render_only and not args.work_dir:
        ap.error("--render-only needs --work-dir")
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-run.", dir="/var/tmp")
    os.makedirs(work, exist_ok=True)
    log("work dir %s" % work)

    catch_signals()

    if not args.render_only and not args.no_build:
        build_bench()
    meta_path = os.path.join(work, "meta.json")
    if args.render_only and os.path.exists(meta_path):
        # The machine and versions as they were when the figures were taken.
        with open(meta_path) as f:
            meta = json.load(f)
        info, vers = meta["machine"], meta["versions"]
    else:
        info, vers = machine_info(), versions()
        if args.render_only:
            info["loadavg_start"] = info["loadavg_end"] = "not recorded (re-rendered)"
            vers["failover (git describe)"] += " (at re-rendering; not recorded by the run)"
        else:
            with open(meta_path, "w") as f:
                json.dump({"machine": info, "versions": vers}, f, indent=1)
    extract = {"replication": replication_figures, "actuator": actuator_figures,
               "actuator_open": actuator_open_figures,
               "stack_memory": stack_figures}
    results, commands, loaded, failed = {}, [], False, []
    counts = {}  # --render-only: benchmarks whose repeats differ from --repeat
    current = None
    alongside = None  # (id, title, argv, Popen, json path, log path)
    if args.soak_alongside and not args.render_only:
        for b in benches:
            if b[0] == "soak":
                jpath = os.path.join(work, "soak-1.json")
                lpath = os.path.join(work, "soak-1.log")
                log("soak, alongside the others: %s" % " ".join(b[2]))
                lf = open(lpath, "wb")
                alongside = (b, subprocess.Popen(b[2] + ["--json", jpath], cwd=REPO, stdout=lf,
                                                 stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL), jpath, lpath)
        benches = [b for b in benches if alongside is None or b[0] != "soak"]
    try:
        for k, title, argv, repeated in benches:
            commands.append(" ".join(shlex.quote(a) for a in argv)
                            + ("  # alongside the others" if k == "soak" and args.soak_alongside
                               else ""))
            runs = args.repeat if repeated else 1
            if args.render_only and repeated:
                # What the work dir holds: a benchmark may have been run again with another
                # --repeat (its count is then given on the page).
                runs = 0
                while os.path.exists(os.path.join(work, "%s-%d.json" % (k, runs + 1))):
                    runs += 1
                runs = max(runs, 1)
                if runs != args.repeat:
                    counts[k] = runs
            for i in range(runs):
                jpath = os.path.join(work, "%s-%d.json" % (k, i + 1))
                lpath = os.path.join(work, "%s-%d.log" % (k, i + 1))
                t = time.monotonic()
                if args.render_only:
                    rc = 0
                else:
                    log("%s, run %d: %s" % (title, i + 1, " ".join(argv)))
                    with open(lpath, "wb") as lf:
                        current = subprocess.Popen(argv + ["--json", jpath], cwd=REPO, stdout=lf,
                                                   stderr=subprocess.STDOUT,
                                                   stdin=subprocess.DEVNULL)
                        rc = current.wait()
                        current = None
                if rc != 0 or not os.path.exists(jpath):
                    log("  failed (exit %s) after %.0fs; output in %s" % (rc, time.monotonic() - t,
                                                                          lpath))
                    failed.append("%s run %d" % (k, i + 1))
                    if not os.path.exists(jpath):
                        continue
                with open(jpath) as f:
                    doc = json.load(f)
                if k.startswith("exporter_"):
                    fig = exporter_figures(doc)
                elif k in extract:
                    fig = extract[k](doc)
                else:
                    fig = doc
                if isinstance(fig, dict) and (fig.get("other_busy") or 0) > 0.25:
                    loaded = True
                results.setdefault(k, []).append(fig)
                if not args.render_only:
                    log("  done in %.0fs" % (time.monotonic() - t))
        if alongside is not None:
            (k, title, argv, _), proc, jpath, lpath = alongside
            commands.append(" ".join(shlex.quote(a) for a in argv) + "  # alongside the others")
            log("waiting for the soak")
            rc = proc.wait()
            alongside = None
            if rc != 0:
                log("  soak failed (exit %s); output in %s" % (rc, lpath))
                failed.append("soak run 1")
            if os.path.exists(jpath):
                with open(jpath) as f:
                    results.setdefault(k, []).append(json.load(f))
    except KeyboardInterrupt as e:
        log("interrupted (%s)" % e)
        if alongside is not None and alongside[1].poll() is None:
            alongside[1].send_signal(signal.SIGTERM)
        if current is not None and current.poll() is None:
            current.send_signal(signal.SIGTERM)  # each bench cleans up on SIGTERM
            try:
                current.wait(timeout=120)
            except subprocess.TimeoutExpired:
                current.kill()
        return 130
    if not args.render_only:
        info["loadavg_end"] = " ".join("%.2f" % x for x in os.getloadavg())
        with open(meta_path, "w") as f:
            json.dump({"machine": info, "versions": vers}, f, indent=1)
    write_page(args.out, args, info, vers, results, commands, loaded, counts)
    log("wrote %s (JSON and logs in %s)" % (args.out, work))
    if failed:
        log("failed: %s" % ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
