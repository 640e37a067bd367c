#!/usr/bin/python3
"""Stack memory: what a user pays in memory for N HTTP probes, exporter and Prometheus.

Two setups, one after the other, with the same N targets (one local nginx, distinct
URLs, as bench/exporter_probes.py), the same probe interval and the same series kept:

  failover: failover_exporter probing the N targets every --interval, and a Prometheus
            that scrapes its /metrics every --interval (one scrape job, one target).
  blackbox: prometheus-blackbox-exporter, and a Prometheus that drives it the way users
            do: one scrape job over N static targets, relabeled into
            /probe?module=http_2xx&target=<url>, every --interval.

Both Prometheus keep the same probe series per target (success, duration, HTTP status,
the five phase timings; metric_relabel_configs drop the rest), so what differs is how
each stack gets them. Prometheus adds its own per-target series (up, scrape_*) for
each scrape target: N of them for blackbox, one for failover. That is part of what
blackbox's design costs and is counted.

After --warmup and --duration it reads, for each process, the peak RSS (VmHWM), RSS,
private memory (USS) and the CPU over the window, and from each Prometheus its head
series and samples appended. It prints the stack ratio failover/blackbox of the summed
peak RSS (issue 19's goal: <= 0.5).

A benchmark, not a test: it prints figures and checks nothing. Everything listens on
127.0.0.1 and is stopped on exit. See bench/README.md.
"""

import argparse
import json
import os
import shutil
import sys
import time

import exporter_probes as ep
from benchlib import raise_fd_limit, require_executables, Run

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# The probe series both stacks keep, by exporter: (failover name, blackbox name).
KEPT = [
    ("failover_probe_success", "probe_success"),
    ("failover_probe_duration_seconds", "probe_duration_seconds"),
    ("failover_probe_http_status_code", "probe_http_status_code"),
    ("failover_probe_http_phase_seconds", "probe_http_duration_seconds"),
]




def keep_relabel(names):
    return ("    metric_relabel_configs:\n"
            "      - source_labels: [__name__]\n"
            "        regex: '%s'\n"
            "        action: keep\n" % "|".join(names))


def prometheus_config(path, interval, job):
    with open(path, "w") as f:
        f.write("global:\n  scrape_interval: %s\n  scrape_timeout: %s\n"
                "  evaluation_interval: 1m\nscrape_configs:\n"
                % (ep.go_duration(interval), ep.go_duration(min(interval, 10.0))))
        f.write(job)


def failover_job(port, interval, name_filter):
    """name_filter: the scrape asks the exporter for the kept families only
    (/metrics?name[]=...), so Prometheus neither reads nor parses the others; the
    relabeling stays, and keeps the same series either way."""
    params = ""
    if name_filter:
        params = "    params:\n      'name[]': [%s]\n" % ", ".join(f for f, _ in KEPT)
    return ("  - job_name: failover\n" + params +
            "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % port
            + keep_relabel([f for f, _ in KEPT]))


def blackbox_job(port, urls, timeout):
    out = ["  - job_name: blackbox\n    metrics_path: /probe\n"
           "    params:\n      module: [http_2xx]\n"
           "    scrape_timeout: %s\n" % ep.go_duration(timeout + 1),
           "    static_configs:\n      - targets:\n"]
    out += ["          - '%s'\n" % u for u in urls]
    out.append("    relabel_configs:\n"
               "      - source_labels: [__address__]\n        target_label: __param_target\n"
               "      - source_labels: [__param_target]\n        target_label: instance\n"
               "      - target_label: __address__\n        replacement: '127.0.0.1:%d'\n"
               % port)
    out.append(keep_relabel([b for _, b in KEPT]))
    return "".join(out)


def start_prometheus(procs, d, args, job):
    cfg = os.path.join(d, "prometheus.yml")
    prometheus_config(cfg, args.interval, job)
    port = ep.free_port()
    p = procs.start("prometheus", [args.prometheus_bin, "--config.file=" + cfg,
                                   "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
                                   "--storage.tsdb.retention.time=1h",
                                   "--web.listen-address=127.0.0.1:%d" % port,
                                   "--log.level=warn"],
                    os.path.join(d, "prometheus.log"))
    ep.wait_http(port, "/-/ready", p, "prometheus", timeout=60)
    return p, port


def prom_self(port):
    """Prometheus's own figures from its /metrics."""
    _, body, _ = ep.http_get(port, "/metrics", timeout=30)
    m = ep.parse_metrics(body.decode(errors="replace"))
    get = lambda name: ep.metric_sum(m, name)
    return {"head_series": get("prometheus_tsdb_head_series"),
            "samples_appended": get("prometheus_tsdb_head_samples_appended_total"),
            "go_heap_inuse_bytes": get("go_memstats_heap_inuse_bytes"),
            "targets": None}


def proc_figures(pid):
    return {"hwm_kb": ep.proc_status_kb(pid, "VmHWM"), "rss_kb": ep.proc_status_kb(pid, "VmRSS"),
            "uss_kb": ep.private_kb(pid)}


def run_setup(procs, tmp, args, name, urls):
    d = os.path.join(tmp, "%s-%d" % (name, len(urls)))
    os.makedirs(d)
    os.chmod(d, 0o755)
    eport = ep.free_port()
    if name == "failover":
        cfg = os.path.join(d, "exporter.yml")
        ep.write_failover_config(cfg, urls, [], args.interval, args.timeout)
        exp = procs.start("failover_exporter", [args.failover_bin, "--config.file=" + cfg,
                                                "--web.listen-address=127.0.0.1:%d" % eport,
                                                "--log.level=warn"],
                          os.path.join(d, "exporter.log"))
        ep.wait_http(eport, "/-/ready", exp, "failover_exporter", timeout=120)
        job = failover_job(eport, args.interval, args.name_filter == "on")
    else:
        cfg = os.path.join(d, "blackbox.yml")
        with open(cfg, "w") as f:
            f.write("modules:\n  http_2xx:\n    prober: http\n    timeout: %s\n"
                    "    http:\n      preferred_ip_protocol: ip4\n"
                    "      ip_protocol_fallback: false\n" % ep.go_duration(args.timeout))
        exp = procs.start("blackbox_exporter", [args.blackbox_bin, "--config.file=" + cfg,
                                                "--web.listen-address=127.0.0.1:%d" % eport],
                          os.path.join(d, "blackbox.log"))
        ep.wait_http(eport, "/-/healthy", exp, "blackbox_exporter")
        job = blackbox_job(eport, urls, args.timeout)
    prom, pport = start_prometheus(procs, d, args, job)
    try:
        ep.log("%s, %d targets: exporter pid %d, prometheus pid %d; warming up %.0fs"
               % (name, len(urls), exp.pid, prom.pid, args.warmup))
        ep.sleep_checked(args.warmup, exp, name)
        e0, p0, b0 = (ep.proc_cpu_seconds(exp.pid), ep.proc_cpu_seconds(prom.pid),
                      ep.machine_busy_seconds())
        s0 = prom_self(pport)
        w0 = time.monotonic()
        ep.log("%s, %d targets: measuring %.0fs" % (name, len(urls), args.duration))
        ep.sleep_checked(args.duration, exp, name)
        ep.sleep_checked(0, prom, "prometheus")
        window = time.monotonic() - w0
        e1, p1, b1 = (ep.proc_cpu_seconds(exp.pid), ep.proc_cpu_seconds(prom.pid),
                      ep.machine_busy_seconds())
        s1 = prom_self(pport)
        out = {"exporter": proc_figures(exp.pid), "prometheus": proc_figures(prom.pid),
               "window": window}
        out["exporter"]["cpu"] = e1 - e0
        out["prometheus"]["cpu"] = p1 - p0
        out["prometheus"]["head_series"] = s1["head_series"]
        out["prometheus"]["samples_per_s"] = (s1["samples_appended"]
                                              - s0["samples_appended"]) / window
        out["prometheus"]["go_heap_inuse_kb"] = s1["go_heap_inuse_bytes"] / 1024
        out["stack_hwm_kb"] = out["exporter"]["hwm_kb"] + out["prometheus"]["hwm_kb"]
        out["stack_uss_kb"] = out["exporter"]["uss_kb"] + out["prometheus"]["uss_kb"]
        out["other_busy"] = (b1 - b0 - (e1 - e0) - (p1 - p0)) / window
        return out
    finally:
        procs.stop(prom)
        procs.stop(exp)


def prometheus_floor(procs, tmp, args):
    """Peak RSS (KiB) of a Prometheus with no scrape job, after --warmup: the part of
    either stack that does not depend on the targets."""
    d = os.path.join(tmp, "prometheus-floor")
    os.makedirs(d)
    p, _ = start_prometheus(procs, d, args, "")
    try:
        ep.sleep_checked(min(args.warmup, 15), p, "prometheus")
        return proc_figures(p.pid)
    finally:
        procs.stop(p)


def main():
    ap = argparse.ArgumentParser(description="Peak RSS of (failover_exporter + Prometheus) vs "
                                             "(blackbox_exporter + Prometheus) for N targets.")
    ap.add_argument("--targets", default="1000,10000",
                    help="comma-separated target counts (1000,10000)")
    ap.add_argument("--interval", type=ep.parse_duration, default=10.0,
                    help="probe and scrape interval (10s)")
    ap.add_argument("--timeout", type=ep.parse_duration, default=5.0, help="probe timeout (5s)")
    ap.add_argument("--warmup", type=ep.parse_duration, default=20.0,
                    help="before the window (20s)")
    ap.add_argument("--duration", type=ep.parse_duration, default=60.0,
                    help="measurement window (60s); peak RSS is read at its end")
    ap.add_argument("--failover-bin", default=os.path.join(REPO, "build-bench", "bin",
                                                           "failover_exporter"))
    ap.add_argument("--blackbox-bin", default="/usr/bin/prometheus-blackbox-exporter")
    ap.add_argument("--prometheus-bin", default=shutil.which("prometheus") or
                    "/usr/bin/prometheus")
    ap.add_argument("--nginx-bin", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--name-filter", choices=("on", "off"), default="on",
                    help="failover's Prometheus asks for the kept families only, "
                         "/metrics?name[]=... (on), or reads the whole page and drops the "
                         "rest by relabeling, as blackbox's does (off)")
    ap.add_argument("--json", metavar="FILE", help="write every figure as JSON (bench/run.py)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep configs and logs")
    args = ap.parse_args()
    counts = [int(x) for x in args.targets.split(",") if x]
    if not counts or any(not 1 <= n <= 20000 for n in counts):
        ap.error("--targets: counts 1..20000")
    require_executables(ap, args.failover_bin, args.blackbox_bin, args.prometheus_bin,
                        args.nginx_bin)

    raise_fd_limit()
    procs = ep.Procs()
    run = Run("stack_memory.", args.keep_tmp, procs.stop_all)
    tmp = run.tmp
    os.chmod(tmp, 0o755)
    results = {}
    with run:
        _, nport = ep.start_nginx(procs, tmp, args.nginx_bin)
        floor = prometheus_floor(procs, tmp, args)
        for n in counts:
            urls = ["http://127.0.0.1:%d/healthz?t=%d" % (nport, i + 1) for i in range(n)]
            fo = run_setup(procs, tmp, args, "failover", urls)
            bb = run_setup(procs, tmp, args, "blackbox", urls)
            results[n] = {"failover": fo, "blackbox": bb,
                          "ratio_stack_hwm": fo["stack_hwm_kb"] / bb["stack_hwm_kb"],
                          "ratio_stack_uss": fo["stack_uss_kb"] / bb["stack_uss_kb"]}
        mib = lambda kb: "%.1f MiB" % (kb / 1024)
        print("Stack memory, probe and scrape interval %s, same probe series kept (goal: "
              "stack peak RSS ratio <= 0.5)" % ep.go_duration(args.interval))
        print("failover's Prometheus %s" % (
            "asks for the kept families only (/metrics?name[]=...)" if args.name_filter == "on"
            else "reads the whole page and drops the rest by relabeling (--name-filter off)"))
        print("%-44s %14s %14s %8s" % ("figure", "failover", "blackbox", "ratio"))
        print("%-44s %14s" % ("floor: Prometheus with no scrape job, peak RSS",
                              mib(floor["hwm_kb"])))
        for n, r in results.items():
            fo, bb = r["failover"], r["blackbox"]
            print("-- %d targets" % n)
            rows = [
                ("stack peak RSS (exporter + Prometheus)", fo["stack_hwm_kb"], bb["stack_hwm_kb"]),
                ("  exporter peak RSS", fo["exporter"]["hwm_kb"], bb["exporter"]["hwm_kb"]),
                ("  Prometheus peak RSS", fo["prometheus"]["hwm_kb"], bb["prometheus"]["hwm_kb"]),
                ("stack private memory (USS, at end)", fo["stack_uss_kb"], bb["stack_uss_kb"]),
                ("  Prometheus USS", fo["prometheus"]["uss_kb"], bb["prometheus"]["uss_kb"]),
                ("  Prometheus Go heap in use", fo["prometheus"]["go_heap_inuse_kb"],
                 bb["prometheus"]["go_heap_inuse_kb"]),
            ]
            for label, a, b in rows:
                print("%-44s %14s %14s %8.3f" % (label, mib(a), mib(b), a / b if b else 0))
            for label, key, spec in (("Prometheus head series", "head_series", "%.0f"),
                                     ("Prometheus samples appended/s", "samples_per_s", "%.0f"),
                                     ("Prometheus CPU in window (s)", "cpu", "%.2f")):
                a, b = fo["prometheus"][key], bb["prometheus"][key]
                print("%-44s %14s %14s %8.3f" % (label, spec % a, spec % b, a / b if b else 0))
            a, b = fo["exporter"]["cpu"], bb["exporter"]["cpu"]
            print("%-44s %14.2f %14.2f %8.3f" % ("exporter CPU in window (s)", a, b,
                                                 a / b if b else 0))
            print("%-44s %14.2f %14.2f" % ("other processes (cores)", fo["other_busy"],
                                           bb["other_busy"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"bench": "stack_memory", "argv": sys.argv,
                           "settings": {"interval": args.interval, "timeout": args.timeout,
                                        "warmup": args.warmup, "duration": args.duration,
                                        "name_filter": args.name_filter},
                           "prometheus_floor": floor,
                           "results": {str(k): v for k, v in results.items()}}, f, indent=1,
                          sort_keys=True)
    return run.rc


if __name__ == "__main__":
    sys.exit(main())
