#!/usr/bin/python3
"""Where failover_exporter's resident memory goes, with N HTTP or TCP probes.

Starts one nginx and one failover_exporter on 127.0.0.1 (the same setup as
bench/exporter_probes.py, whose helpers it uses), lets the probes run, then prints the
peak RSS before and after one /metrics scrape, the RSS and private memory (USS) at
the end, and the resident KiB of every mapping, summed by file: the heap, anonymous
mappings (thread arenas, stacks) and each shared library.

With --prefix the exporter runs under another program, e.g. a heap profiler:
  bench/exporter_memory.py --targets 10000 --prefix "heaptrack -o /tmp/ht"
  heaptrack_print -f /tmp/ht.zst --print-peaks 1 -n 15

This is a measuring tool, not a test: it prints figures and asserts nothing.
See bench/README.md.
"""

import argparse
import collections
import os
import shlex
import shutil
import subprocess
import sys
import time

import exporter_probes as ep
from benchlib import free_port, http_get, proc_status_kb, raise_fd_limit, require_executables, Run


HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def rss_by_mapping(pid):
    """{file name or [heap]/[stack]/[anon]: resident KiB} from /proc/<pid>/smaps."""
    out = collections.Counter()
    current = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if "-" in parts[0] and not parts[0].endswith(":"):
                current = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
            elif parts[0] == "Rss:" and current is not None:
                out[current] += int(parts[1])
    return out


def main():
    ap = argparse.ArgumentParser(description="Resident memory of failover_exporter with N "
                                             "probes, by mapping.")
    ap.add_argument("--targets", type=int, default=1000, help="number of probes (1000)")
    ap.add_argument("--kind", choices=("http", "tcp"), default="http", help="probe kind (http)")
    ap.add_argument("--settle", type=float, default=25.0,
                    help="seconds to let the probes run before measuring (25; the interval "
                         "is 10s)")
    ap.add_argument("--failover-bin", default=os.path.join(REPO, "build-bench", "bin",
                                                           "failover_exporter"))
    ap.add_argument("--nginx-bin", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--prefix", default="",
                    help="run the exporter under this command, e.g. \"heaptrack -o FILE\"")
    ap.add_argument("--top", type=int, default=25, help="mappings to list (25)")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON (bench/run.py)")
    ap.add_argument("--per-probe", action="store_true",
                    help="also run the exporter with no probes and print the state per probe: "
                         "(RSS with N probes - RSS with none) / N (issue 19: <= 1 KiB)")
    args = ap.parse_args()
    if not 1 <= args.targets <= 20000:
        ap.error("--targets must be 1..20000")
    require_executables(ap, args.failover_bin, args.nginx_bin)

    raise_fd_limit()
    procs = ep.Procs()
    run = Run("exporter_memory.", False, procs.stop_all)
    tmp = run.tmp
    with run:
        _, nport = ep.start_nginx(procs, tmp, args.nginx_bin)
        if args.kind == "tcp":
            urls = ["127.0.0.1:%d" % nport] * args.targets
        else:
            urls = ["http://127.0.0.1:%d/healthz?t=%d" % (nport, i + 1)
                    for i in range(args.targets)]
        cfg = os.path.join(tmp, "exporter.yml")
        ep.write_failover_config(cfg, urls, [], 10.0, 5.0, args.kind)
        port = free_port()
        argv = shlex.split(args.prefix) + [args.failover_bin, "--config.file=" + cfg,
                                           "--web.listen-address=127.0.0.1:%d" % port,
                                           "--log.level=warn"]
        p = procs.start("failover_exporter", argv, os.path.join(tmp, "exporter.log"))
        ep.wait_http(port, "/-/ready", p, "failover_exporter", timeout=120)
        pid = p.pid
        if args.prefix:  # the exporter is a child of the prefix command
            found = subprocess.run(["pgrep", "-n", "-f", args.failover_bin],
                                   capture_output=True, text=True).stdout.split()
            pid = int(found[0]) if found else p.pid
        time.sleep(args.settle)
        hwm_before = proc_status_kb(pid, "VmHWM")
        status, body, secs = http_get(port, "/metrics", timeout=60)
        time.sleep(1)
        print("failover_exporter, %d %s probes every 10s, measured after %.0fs"
              % (args.targets, args.kind, args.settle))
        rows = [
            ("peak RSS before the first /metrics scrape", hwm_before),
            ("peak RSS after one scrape (HTTP %d, %.0f KiB, %.0f ms)"
             % (status, len(body) / 1024, secs * 1000), proc_status_kb(pid, "VmHWM")),
            ("RSS now", proc_status_kb(pid, "VmRSS")),
            ("  of which private (USS)", ep.private_kb(pid)),
        ]
        for label, kb in rows:
            print("  %-55s %7.1f MiB" % (label, kb / 1024))
        figures = {"targets": args.targets, "kind": args.kind, "settle": args.settle,
                   "hwm_before_scrape_kb": hwm_before, "hwm_kb": rows[1][1],
                   "rss_kb": rows[2][1], "uss_kb": rows[3][1]}
        if args.per_probe:
            rss_n = ep.proc_status_kb(pid, "VmRSS")
            def baseline_rss(what, config, ran):
                """RSS of the exporter run alone on `config`, once `ran` holds for its
                /metrics page (or after 30 s) and 2 s more."""
                port = ep.free_port()
                proc = procs.start("failover_exporter (%s)" % what,
                                   [args.failover_bin, "--config.file=" + config,
                                    "--web.listen-address=127.0.0.1:%d" % port,
                                    "--log.level=warn"],
                                   os.path.join(tmp, "%s.log" % what.replace(" ", "-")))
                ep.wait_http(port, "/-/ready", proc, "failover_exporter (%s)" % what)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    _, text, _ = ep.http_get(port, "/metrics")
                    if ran(text):
                        break
                    time.sleep(0.5)
                time.sleep(2)
                rss = ep.proc_status_kb(proc.pid, "VmRSS")
                procs.stop(proc)
                return rss

            empty = os.path.join(tmp, "empty.yml")
            with open(empty, "w") as f:
                f.write("probes: []\n")
            rss_0 = baseline_rss("no probes", empty, lambda text: True)
            # And with one probe of the same kind, run and scraped: what it adds over that
            # is fixed (libcurl's and OpenSSL's initialisation for HTTP), not per probe.
            one = os.path.join(tmp, "one.yml")
            ep.write_failover_config(one, urls[:1], [], 10.0, 5.0, args.kind)
            rss_1 = baseline_rss("one probe", one, lambda text: b"failover_probe_success{" in text)
            print("  %-55s %7.1f MiB" % ("RSS of the same exporter with no probes", rss_0 / 1024))
            print("  %-55s %7.1f MiB" % ("RSS of the same exporter with one probe", rss_1 / 1024))
            print("  %-55s %7.2f KiB" % ("state per probe: (RSS now - no probes) / N",
                                         (rss_n - rss_0) / args.targets))
            print("  %-55s %7.2f KiB" % ("state per added probe: (RSS now - one probe) / (N - 1)",
                                         (rss_n - rss_1) / max(1, args.targets - 1)))
            figures["rss_no_probes_kb"] = rss_0
            figures["rss_one_probe_kb"] = rss_1
            figures["per_probe_kib"] = (rss_n - rss_0) / args.targets
            figures["per_added_probe_kib"] = (rss_n - rss_1) / max(1, args.targets - 1)
        by = rss_by_mapping(pid)
        print("\nresident KiB by mapping (top %d of %d):" % (args.top, len(by)))
        for name, kb in by.most_common(args.top):
            print("  %8d  %s" % (kb, name))
        print("  %8d  total" % sum(by.values()))
        if args.json:
            import json
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=1, sort_keys=True)
    return run.rc


if __name__ == "__main__":
    sys.exit(main())
