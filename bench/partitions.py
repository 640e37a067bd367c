#!/usr/bin/python3
"""Benchmark: the partition lab's full matrix (scripts/lab, docs/partitions.md).

Every scenario (`scripts/lab list`), in each rules profile, N runs each; every run is a
fresh lab (`scripts/lab run` brings it up and takes it down). Writes each run's verdict
and a summary to --out (JSON) and a markdown table (--md), one row per scenario and
profile, for one design (--design lease, the lab's default, or today for issue 15's): the median of each figure over the runs and, for the figures that matter most
(orders lost, split-brain writes, writable primaries), the worst run. It is a benchmark:
it prints what the design does and checks nothing. A second table gives what each
scenario cost: the wall time of the run's phases and the CPU seconds and peak memory of
each site's processes (the verdict's `cost`). Python 3 standard library only.

  bench/partitions.py [--runs N] [--profiles fast,default] [--scenarios a,b] [--design lease|today]
                   [--out FILE] [--md FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import log

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(REPO, "scripts", "lab")
FIGURES = ["orders_acked", "orders_lost", "split_brain_writes", "writable_primaries_max", "failovers",
           "failover_seconds", "unavailable_seconds", "final_primary"]
WORST = {"orders_lost", "split_brain_writes", "writable_primaries_max"}


def fmt(vals, key):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    if isinstance(vals[0], str):
        return "/".join(sorted(set(vals)))
    med = statistics.median(vals)
    text = f"{med:.1f}" if isinstance(med, float) and not med.is_integer() else f"{med:g}"
    if key in WORST and max(vals) != med:
        text += f" (max {max(vals):g})"
    return text


def table(results):
    rows = ["| scenario | profile | runs | " + " | ".join(FIGURES) + " |",
            "|---|---|---|" + "---|" * len(FIGURES)]
    keys = []
    for r in results:
        if (r["scenario"], r["profile"]) not in keys:
            keys.append((r["scenario"], r["profile"]))
    for sc, prof in keys:
        runs = [r for r in results if r["scenario"] == sc and r["profile"] == prof and "error" not in r]
        failed = len([r for r in results if r["scenario"] == sc and r["profile"] == prof and "error" in r])
        cells = [fmt([r.get(k) for r in runs], k) for k in FIGURES]
        rows.append(f"| `{sc}` | {prof} | {len(runs)}{f' (+{failed} failed)' if failed else ''} | "
                    + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


SITES = ["us-east", "eu-west", "control", "shoppers"]


def cost_table(results):
    """What each scenario cost (the `cost` of scripts/lab's verdict; docs/partitions.md,
    "What a run costs"): wall seconds of `scripts/lab run` (up + scenario + down), CPU
    seconds and peak RSS per site over the scenario, and all sites together. Medians."""
    rows = ["| scenario | profile | runs | up s | scenario s | down s | total s | "
            + " | ".join(f"{s} CPU s / peak MB" for s in SITES) + " | all sites CPU s | all sites peak MB |",
            "|---|---|---|---|---|---|---|" + "---|" * (len(SITES) + 2)]
    keys = []
    for r in results:
        if "cost" in r and (r["scenario"], r["profile"]) not in keys:
            keys.append((r["scenario"], r["profile"]))

    def med(vals):
        vals = [x for x in vals if isinstance(x, (int, float))]
        return "–" if not vals else f"{statistics.median(vals):.1f}"
    for sc, prof in keys:
        cs = [r["cost"] for r in results if r["scenario"] == sc and r["profile"] == prof and r.get("cost")]
        cells = [med([c.get(k) for c in cs]) for k in ("up_seconds", "scenario_seconds", "down_seconds",
                                                         "total_seconds")]
        for s in SITES:
            cells.append(med([c["sites"].get(s, {}).get("cpu_seconds") for c in cs]) + " / " +
                         med([c["sites"].get(s, {}).get("peak_rss_mb") for c in cs]))
        cells.append(med([c.get("cpu_seconds_all_sites") for c in cs]))
        cells.append(med([c.get("peak_rss_mb_all_sites") for c in cs]))
        rows.append(f"| `{sc}` | {prof} | {len(cs)} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--profiles", default="fast,default")
    ap.add_argument("--scenarios", default="")
    ap.add_argument("--design", choices=("lease", "today"), default="lease")
    ap.add_argument("--out", default="partitions.json")
    ap.add_argument("--md", default="partitions.md")
    ap.add_argument("--limit", type=float, default=1500, help="seconds one run may take")
    a = ap.parse_args()
    names = [line.split()[0] for line in subprocess.run([LAB, "list"], stdout=subprocess.PIPE, text=True,
                                                         check=True, timeout=30).stdout.splitlines() if line]
    if a.scenarios:
        want = a.scenarios.split(",")
        unknown = [w for w in want if w not in names]
        if unknown:
            sys.exit(f"unknown scenario(s): {', '.join(unknown)} (scripts/lab list)")
        names = want
    elif a.design == "today":
        # round-trip and round-trip-split move the writer lease back: today's design has none
        # (scripts/lab refuses them).
        names = [n for n in names if not n.startswith("round-trip")]
    results = []
    for prof in a.profiles.split(","):
        for sc in names:
            for i in range(a.runs):
                log(f"{sc} ({prof}, design {a.design}) run {i + 1}/{a.runs}")
                with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                    try:
                        p = subprocess.run([LAB, "run", "--scenario", sc, "--profile", prof, "--design", a.design,
                                        "--json", tmp.name],
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                           timeout=a.limit)
                        rc, out = p.returncode, p.stdout
                    except subprocess.TimeoutExpired:
                        rc, out = "timeout", ""
                    v = None
                    if rc == 0:
                        try:
                            v = json.load(open(tmp.name))
                        except ValueError:
                            pass
                if v is None:
                    subprocess.run([LAB, "down"], timeout=120)
                    log(f"  failed ({rc}): {out[-800:]}")
                    results.append({"scenario": sc, "profile": prof, "design": a.design, "error": f"exit {rc}"})
                else:
                    log("  " + ", ".join(f"{k}={v.get(k)}" for k in FIGURES))
                    results.append(v)
                with open(a.out, "w") as f:
                    json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "design": a.design,
                               "runs": results}, f,
                              indent=1)
                with open(a.md, "w") as f:
                    f.write(table(results) + "\n" + cost_table(results))
    print(table(results))
    print(cost_table(results))


if __name__ == "__main__":
    main()
