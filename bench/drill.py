#!/usr/bin/python3
"""Benchmark: the two-region drill (scripts/demo) N times per rules profile.

Each run is a fresh `scripts/demo --profile P` (its own stack: PowerDNS, MariaDB pair,
nginx regions, Prometheus, Alertmanager, the two daemons, a PagerDuty fake; all on
loopback, all stopped by scripts/demo at exit). The drill prints machine-readable lines
(`drill: phase <name> <seconds>`, `drill: step <n> <kind> <seconds>`); this script
collects them and prints, per profile, the median detection-to-DNS-switched time and the
median of every phase. It is a benchmark: it prints figures and checks nothing.
Python 3 standard library only. See bench/README.md.
"""

import argparse
import collections
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time

from benchlib import catch_signals, log

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PHASES = ["probe", "evaluation", "for", "alertmanager", "runbook", "total", "verify"]
PHASE_TEXT = {
    "probe": "failure -> first failed probe seen (probe interval + timeout)",
    "evaluation": "-> RegionDown pending (scrape + rule evaluation)",
    "for": "-> firing (for: on the evaluation grid)",
    "alertmanager": "-> webhook journaled by the actuator (group_wait + delivery)",
    "runbook": "-> authoritative DNS answer changed (fence, promote, dns_update write)",
    "total": "detection-to-switch (sum of the above)",
    "verify": "after the switch: dns_update read-back + verify_nameserver",
}


def parse_output(text):
    """The drill's lines -> {"phases": {name: s}, "steps": {"n kind": s}, "ok": bool}."""
    phases, steps = {}, {}
    for m in re.finditer(r"^drill: phase (\S+) ([0-9.]+)$", text, re.M):
        phases[m.group(1)] = float(m.group(2))
    for m in re.finditer(r"^drill: step (\d+) (\S+) ([0-9.]+)$", text, re.M):
        steps["%s %s" % (m.group(1), m.group(2))] = float(m.group(3))
    m = re.search(r"^drill: detection-to-switch ([0-9.]+)s", text, re.M)
    if m and "total" not in phases:
        phases["total"] = float(m.group(1))
    ok = bool(m) and not re.search(r"drill: FAILED|drill: gave up", text)
    return {"phases": phases, "steps": steps, "ok": ok}


def median_or_none(xs):
    return statistics.median(xs) if xs else None


def summarize(runs):
    ok = [r for r in runs if r["ok"]]
    out = {"runs": len(runs), "ok": len(ok), "phases": {}, "steps": {}}
    for name in PHASES:
        xs = [r["phases"][name] for r in ok if name in r["phases"]]
        if xs:
            out["phases"][name] = {"median": statistics.median(xs), "min": min(xs),
                                   "max": max(xs), "n": len(xs)}
    keys = []
    for r in ok:
        keys += [k for k in r["steps"] if k not in keys]
    for k in keys:
        xs = [r["steps"][k] for r in ok if k in r["steps"]]
        out["steps"][k] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs),
                           "n": len(xs)}
    return out


def render(summary, profiles, markdown=False):
    lines = []
    header = ["phase"] + ["%s: median (min..max)" % p for p in profiles]
    rows = []
    for name in PHASES:
        row = ["%s — %s" % (name, PHASE_TEXT[name])]
        for p in profiles:
            f = summary[p]["phases"].get(name)
            row.append("%.2f s (%.2f..%.2f)" % (f["median"], f["min"], f["max"]) if f else "n/a")
        rows.append(row)
    step_keys = []
    for p in profiles:
        step_keys += [k for k in summary[p]["steps"] if k not in step_keys]
    for k in step_keys:
        row = ["  runbook step %s" % k]
        for p in profiles:
            f = summary[p]["steps"].get(k)
            row.append("%.2f s (%.2f..%.2f)" % (f["median"], f["min"], f["max"]) if f else "n/a")
        rows.append(row)
    rows.append(["successful drills"] + ["%d of %d" % (summary[p]["ok"], summary[p]["runs"])
                                         for p in profiles])
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(x) for x in col) for col in zip(header, *rows)]
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
        lines.append(fmt(header))
        lines.append(fmt(["-" * w for w in widths]))
        lines += [fmt(r) for r in rows]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description="Run the scripts/demo drill N times per rules "
                                             "profile and print the median detection-to-switch "
                                             "time and its phases.")
    ap.add_argument("--runs", type=int, default=5, help="drills per profile (5)")
    ap.add_argument("--profiles", default="fast,default",
                    help="comma-separated rules profiles: fast, default (fast,default)")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"),
                    help="build with bin/failover_exporter, bin/failover_actuator and "
                         "tests/failover_fake_pagerduty (build; FAILOVER_BUILD_TESTS=ON)")
    ap.add_argument("--run-timeout", type=float, default=600,
                    help="seconds one scripts/demo run may take (600)")
    ap.add_argument("--log-dir", help="keep every run's output here (default: only failed runs, "
                                      "in /tmp)")
    ap.add_argument("--json", metavar="FILE", help="also write every run and the medians as JSON")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")
    args = ap.parse_args()
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    if not profiles or any(p not in ("fast", "default") for p in profiles):
        ap.error("--profiles: fast and/or default")
    if not 1 <= args.runs <= 100:
        ap.error("--runs must be 1..100")
    build = os.path.abspath(args.build_dir)
    for rel in ("bin/failover_exporter", "bin/failover_actuator", "tests/failover_fake_pagerduty"):
        if not os.access(os.path.join(build, rel), os.X_OK):
            ap.error("%s/%s missing: cmake -S . -B build -G Ninja -DFAILOVER_BUILD_TESTS=ON && "
                     "cmake --build build -j2 --target failover_exporter failover_actuator "
                     "failover_fake_pagerduty (or pass --build-dir)" % (build, rel))
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)

    current = {"proc": None}

    catch_signals()

    runs = collections.defaultdict(list)
    env = dict(os.environ, FAILOVER_DEMO_BUILD_DIR=build)
    try:
        # Interleaved (fast, default, fast, ...) so a drift in machine load hits both alike.
        for i in range(args.runs):
            for p in profiles:
                log("drill %d/%d, profile %s" % (i + 1, args.runs, p))
                t = time.monotonic()
                proc = subprocess.Popen([os.path.join(REPO, "scripts", "demo"), "--profile", p],
                                        cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                current["proc"] = proc
                try:
                    out, _ = proc.communicate(timeout=args.run_timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGTERM)  # scripts/demo cleans up on TERM
                    out, _ = proc.communicate(timeout=60)
                current["proc"] = None
                text = out.decode(errors="replace")
                r = parse_output(text)
                r["rc"] = proc.returncode
                r["ok"] = r["ok"] and proc.returncode == 0
                r["wall"] = time.monotonic() - t
                runs[p].append(r)
                keep = args.log_dir or (None if r["ok"] else "/tmp")
                if keep:
                    path = os.path.join(keep, "drill-%s-%d.log" % (p, i + 1))
                    with open(path, "w") as f:
                        f.write(text)
                    if not r["ok"]:
                        log("drill failed (rc %s); output in %s" % (proc.returncode, path))
                log("  %s: detection-to-switch %s (run took %.0fs)"
                    % (p, "%.2fs" % r["phases"]["total"] if "total" in r["phases"] else "n/a",
                       r["wall"]))
    except KeyboardInterrupt as e:
        log("interrupted (%s)" % e)
        proc = current["proc"]
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        return 130

    summary = {p: summarize(runs[p]) for p in profiles}
    print("Drill: failure injected -> authoritative DNS answer switched, %d run(s) per profile"
          % args.runs)
    print("(machine: %s, %d cores, kernel %s, load average %s)\n"
          % (platform.processor() or platform.machine(), os.cpu_count() or 0, platform.release(),
             " ".join("%.2f" % x for x in os.getloadavg())))
    print(render(summary, profiles))
    print("The phases are consecutive: probe + evaluation + for + alertmanager + runbook = total.")
    print("verify comes after the switch and is not part of total. The first failed probe is "
          "seen by the drill's polling\n(every ~50 ms plus one poll round); pending/firing come "
          "from Prometheus' activeAt and the rule's for:\nand interval, the webhook from the "
          "actuator's journal, the switch from a DNS query every 10 ms.")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(render(summary, profiles, markdown=True))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"bench": "drill", "settings": {"runs": args.runs, "profiles": profiles},
                       "runs": runs, "summary": summary, "argv": sys.argv}, f, indent=1)
            f.write("\n")
    return 0 if all(summary[p]["ok"] for p in profiles) else 1


if __name__ == "__main__":
    sys.exit(main())
