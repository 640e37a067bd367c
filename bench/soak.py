#!/usr/bin/python3
"""Soak: failover_exporter with N HTTP probes and a configuration reload every minute.

Runs the exporter for --duration against one local nginx (the same as
bench/exporter_probes.py), reloads it every --reload-every (POST /-/reload), alternating
between two configurations whose probe sets differ (A: probes 1..N, B: probes
K+1..N+K, so every reload removes K probes and adds K), samples VmRSS every
--sample-every and scrapes /metrics like Prometheus. Reports the RSS after the warm-up
against the RSS at the end (growth %; issue 8's target is <= 5 %), and whether the
series of removed probes disappeared from /metrics after every reload (and the added
ones appeared). It is a benchmark: it prints figures; its exit status is 0 unless the
run itself broke. Python 3 standard library only; everything on 127.0.0.1.
See bench/README.md.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import time
import urllib.request

import exporter_probes as ep
from exporter_probes import go_duration
from benchlib import (free_port, http_get, log, parse_duration, proc_cpu_seconds, proc_status_kb,
                      raise_fd_limit, require_executables, Run)


HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


PROBE_RE = re.compile(rb'probe="(p-\d+)"')


def write_config(path, nport, first, count, interval, timeout):
    with open(path + ".tmp", "w") as f:
        f.write("defaults:\n  interval: %s\n  timeout: %s\n" % (go_duration(interval),
                                                              go_duration(timeout)))
        f.write("probes:\n")
        for i in range(first, first + count):
            f.write("  - name: p-%05d\n    http:\n      url: \"http://127.0.0.1:%d/healthz?t=%d\"\n"
                    % (i, nport, i))
    os.replace(path + ".tmp", path)  # the exporter never reads a half-written file


def probes_in_metrics(port):
    status, body, secs = http_get(port, "/metrics", timeout=30)
    if status != 200:
        raise RuntimeError("/metrics returned HTTP %d" % status)
    return set(m.decode() for m in PROBE_RE.findall(body)), len(body), secs


def reload(port):
    req = urllib.request.Request("http://127.0.0.1:%d/-/reload" % port, data=b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status == 200, r.read().decode(errors="replace").strip()
    except urllib.error.HTTPError as e:
        return False, "HTTP %d %s" % (e.code, e.read().decode(errors="replace").strip())
    except OSError as e:
        return False, str(e)


def main():
    ap = argparse.ArgumentParser(description="failover_exporter soak: N probes, a reload every "
                                             "minute between two probe sets, RSS sampled.")
    ap.add_argument("--targets", type=int, default=1000, help="probes per configuration (1000)")
    ap.add_argument("--swap", type=int, default=0,
                    help="probes removed and added by each reload; 0 = a tenth of --targets")
    ap.add_argument("--interval", type=parse_duration, default=10.0, help="probe interval (10s)")
    ap.add_argument("--timeout", type=parse_duration, default=5.0, help="probe timeout (5s)")
    ap.add_argument("--duration", type=parse_duration, default=1800.0, help="whole run (30m)")
    ap.add_argument("--warmup", type=parse_duration, default=0.0,
                    help="RSS baseline taken after this long; 0 = a sixth of --duration, at "
                         "least 2 reloads (0)")
    ap.add_argument("--reload-every", type=parse_duration, default=60.0, help="(1m)")
    ap.add_argument("--sample-every", type=parse_duration, default=10.0, help="RSS sample (10s)")
    ap.add_argument("--scrape-interval", type=parse_duration, default=15.0,
                    help="/metrics scrapes like Prometheus (15s)")
    ap.add_argument("--failover-bin", default=os.path.join(REPO, "build-bench", "bin",
                                                           "failover_exporter"))
    ap.add_argument("--nginx-bin", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--json", metavar="FILE", help="also write the figures and samples as JSON")
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.targets <= 20000:
        ap.error("--targets must be 1..20000")
    swap = args.swap or max(1, args.targets // 10)
    if not 0 < args.timeout < args.interval:
        ap.error("need 0 < timeout < interval")
    if args.reload_every < 2 * args.interval:
        log("note: --reload-every is shorter than 2 intervals: added probes may not have run "
            "before the next reload (their check is done just before it)")
    warmup = args.warmup or max(args.duration / 6, 2 * args.reload_every + 1)
    if warmup >= args.duration:
        ap.error("--warmup must be shorter than --duration")
    require_executables(ap, args.failover_bin, args.nginx_bin)

    raise_fd_limit()
    procs = ep.Procs()
    run = Run("soak.", args.keep_tmp, procs.stop_all)
    tmp = run.tmp
    with run:
        nginx, nport = ep.start_nginx(procs, tmp, args.nginx_bin)
        cfg = os.path.join(tmp, "exporter.yml")
        sets = [(1, args.targets), (swap + 1, args.targets)]  # (first, count)
        names = [set("p-%05d" % i for i in range(f, f + c)) for f, c in sets]
        write_config(cfg, nport, *sets[0], args.interval, args.timeout)
        port = free_port()
        p = procs.start("failover_exporter", [args.failover_bin, "--config.file=" + cfg,
                                              "--web.listen-address=127.0.0.1:%d" % port,
                                              "--log.level=warn"],
                        os.path.join(tmp, "exporter.log"))
        ep.wait_http(port, "/-/ready", p, "failover_exporter")
        log("failover_exporter pid %d, %d probes, reload every %s between two sets (%d swapped), "
            "%s in all, RSS baseline at %s" % (p.pid, args.targets, go_duration(args.reload_every),
                                               swap, go_duration(args.duration), go_duration(warmup)))
        t0 = time.monotonic()
        c0 = proc_cpu_seconds(p.pid)
        samples = []          # (seconds since start, VmRSS KiB)
        reloads = {"ok": 0, "failed": 0, "errors": []}
        checks = {"removed_gone": 0, "removed_left": 0, "added_present": 0, "added_missing": 0,
                  "details": []}
        scrapes = []          # (seconds, bytes)
        current = 0
        pending_added = None  # probes added by the last reload, checked before the next one
        next_sample = next_reload = next_scrape = 0.0
        next_reload = args.reload_every
        while True:
            now = time.monotonic() - t0
            if now >= args.duration:
                break
            if p.poll() is not None:
                raise RuntimeError("failover_exporter exited with %s" % p.returncode)
            if now >= next_sample:
                samples.append((round(now, 1), proc_status_kb(p.pid, "VmRSS")))
                next_sample += args.sample_every
            if now >= next_scrape:
                _, size, secs = probes_in_metrics(port)
                scrapes.append((secs, size))
                next_scrape += args.scrape_interval
            if now >= next_reload:
                if pending_added is not None:
                    seen, _, _ = probes_in_metrics(port)
                    missing = pending_added - seen
                    if missing:
                        checks["added_missing"] += 1
                        checks["details"].append("%.0fs: %d added probes without series, e.g. %s"
                                                 % (now, len(missing), sorted(missing)[0]))
                    else:
                        checks["added_present"] += 1
                new = 1 - current
                write_config(cfg, nport, *sets[new], args.interval, args.timeout)
                ok, text = reload(port)
                if not ok:
                    reloads["failed"] += 1
                    reloads["errors"].append(text[:200])
                else:
                    reloads["ok"] += 1
                    removed = names[current] - names[new]
                    seen, _, _ = probes_in_metrics(port)
                    left = removed & seen
                    if left:
                        checks["removed_left"] += 1
                        checks["details"].append("%.0fs: %d removed probes still in /metrics, "
                                                 "e.g. %s" % (now, len(left), sorted(left)[0]))
                    else:
                        checks["removed_gone"] += 1
                    pending_added = names[new] - names[current]
                    current = new
                next_reload += args.reload_every
            time.sleep(max(0.0, min(next_sample, next_reload, next_scrape, args.duration)
                           - (time.monotonic() - t0)))
        cpu = proc_cpu_seconds(p.pid) - c0
        hwm = proc_status_kb(p.pid, "VmHWM")
        after = [kb for t, kb in samples if t >= warmup]
        base = after[0] if after else None
        end = statistics.median([kb for _, kb in samples[-3:]])
        growth = (end - base) / base * 100 if base else None
        res = {
            "targets": args.targets, "swap": swap, "duration": args.duration, "warmup": warmup,
            "rss_start_kb": samples[0][1], "rss_after_warmup_kb": base, "rss_end_kb": end,
            "rss_max_after_warmup_kb": max(after) if after else None,
            "growth_pct": growth, "hwm_kb": hwm, "cpu": cpu, "reloads": reloads,
            "checks": checks, "samples": samples,
            "scrape_median": statistics.median([s for s, _ in scrapes]) if scrapes else None,
            "scrape_bytes_max": max(b for _, b in scrapes) if scrapes else None,
        }
        kib = lambda v: "n/a" if v is None else "%.1f MiB" % (v / 1024)
        print("Soak: failover_exporter, %d HTTP probes (interval %s), reload every %s "
              "(%d probes swapped), %s" % (args.targets, go_duration(args.interval),
                                          go_duration(args.reload_every), swap,
                                          go_duration(args.duration)))
        print("  RSS at start                %s" % kib(samples[0][1]))
        print("  RSS after warm-up (at %s)  %s" % (go_duration(warmup), kib(base)))
        print("  RSS at end (median of 3)    %s" % kib(end))
        print("  RSS max after warm-up       %s" % kib(res["rss_max_after_warmup_kb"]))
        print("  growth after warm-up        %s   (target <= 5 %%)"
              % ("n/a" if growth is None else "%+.2f %%" % growth))
        print("  peak RSS (VmHWM)            %s" % kib(hwm))
        print("  reloads                     %d ok, %d failed" % (reloads["ok"], reloads["failed"]))
        print("  removed probes' series      gone after %d of %d reloads"
              % (checks["removed_gone"], checks["removed_gone"] + checks["removed_left"]))
        print("  added probes' series        present before %d of %d next reloads"
              % (checks["added_present"], checks["added_present"] + checks["added_missing"]))
        print("  exporter CPU                %.2f s (%.2f %% of a core)"
              % (cpu, cpu / args.duration * 100))
        print("  /metrics scrape median      %s ms, up to %.0f KiB"
              % ("n/a" if res["scrape_median"] is None else "%.2f" % (res["scrape_median"] * 1000),
                 (res["scrape_bytes_max"] or 0) / 1024))
        for d in checks["details"][:10] + reloads["errors"][:5]:
            print("  ! " + d)
        print("  RSS samples (s: MiB): " + ", ".join("%g: %.1f" % (t, kb / 1024)
                                                     for t, kb in samples))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"bench": "soak", "settings": {k: getattr(args, k) for k in (
                    "targets", "interval", "timeout", "duration", "reload_every", "sample_every",
                    "scrape_interval")}, "result": res, "argv": sys.argv}, f, indent=1)
                f.write("\n")
    return run.rc


if __name__ == "__main__":
    sys.exit(main())
