#!/usr/bin/python3
"""ctest driver for the partition lab (tests/CMakeLists.txt: e2e_lab_*): runs one scenario
of scripts/lab in the fast profile with this build's binaries and the lab's default design
(the writer lease; --design today for issue 15's), checks the verdict against what the
design guarantees for it (--expect key=value; --expect-max key=number: at most;
--expect-not-null key; --expect-positive key; --expect-nonempty key: a list with at least one
item; --expect-same-set a=b: two lists with the same items, in any order; a key may name a
figure of `details` as details.NAME), then checks `scripts/lab down` left no namespace of
the lab behind (`ip netns list`). --verdict FILE checks a verdict a run wrote before instead
of running the lab (to see the checks fail on a doctored verdict).

  lab_scenario.py --scenario region-split --build-dir build \
      --expect failovers=1 --expect split_brain_writes=0 --expect-max writable_primaries_max=1"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--scenario", required=True)
ap.add_argument("--build-dir", required=True)
ap.add_argument("--expect", action="append", default=[], help="key=value (value compared as JSON or text)")
ap.add_argument("--expect-max", action="append", default=[], help="key=number: the figure is at most that")
ap.add_argument("--expect-not-null", action="append", default=[])
ap.add_argument("--design", default="lease")
ap.add_argument("--expect-positive", action="append", default=[])
ap.add_argument("--expect-nonempty", action="append", default=[])
ap.add_argument("--expect-same-set", action="append", default=[], help="a=b: the two lists hold the same items")
ap.add_argument("--limit", type=float, default=1200, help="seconds the run may take")
ap.add_argument("--verdict", help="check this verdict (JSON of scripts/lab run) instead of running the lab")
a = ap.parse_args()

MISSING = object()


def get(v, key):
    """A figure of the verdict; details.NAME for one of its details."""
    for part in key.split("."):
        if not isinstance(v, dict) or part not in v:
            return MISSING
        v = v[part]
    return v


def shown(x):
    return "missing" if x is MISSING else repr(x)


failures = []


def run_lab():
    """Runs the scenario and brings the lab down; the verdict, or None."""
    env = dict(os.environ, FAILOVER_LAB_BUILD_DIR=a.build_dir)
    # Each run's records stay with the build that ran them, not in /tmp.
    env.setdefault("FAILOVER_LAB_RUNS", os.path.join(os.path.abspath(a.build_dir), "lab-runs"))
    with tempfile.TemporaryDirectory(prefix="lab-test-") as tmp:
        out = os.path.join(tmp, "verdict.json")
        lab = os.path.join(ROOT, "scripts", "lab")
        try:
            rc = subprocess.run([lab, "run", "--scenario", a.scenario, "--profile", "fast", "--design", a.design,
                                 "--json", out],
                                env=env, timeout=a.limit).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        if rc != 0:
            failures.append(f"scripts/lab run exited with {rc}")
        down = subprocess.run([lab, "down"], env=env, timeout=120).returncode
        if down != 0:
            failures.append(f"scripts/lab down exited with {down}")
        left = [n for n in subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True,
                                          timeout=30).stdout.split() if n.startswith("folab-")]
        if left:
            failures.append("namespaces left after scripts/lab down: " + " ".join(left))
        if os.path.exists(out):
            return json.load(open(out))
        if rc == 0:
            failures.append("no JSON verdict written")
        return None


v = json.load(open(a.verdict)) if a.verdict else run_lab()

if v is not None:
    for key in ("scenario", "profile", "orders_acked", "orders_lost", "split_brain_writes", "writable_primaries_max",
                "failovers", "failover_seconds", "unavailable_seconds", "final_primary", "timeline"):
        if key not in v:
            failures.append(f"the verdict has no '{key}'")
    for e in a.expect:
        key, want = e.split("=", 1)
        try:
            want_v = json.loads(want)
        except ValueError:
            want_v = want
        if get(v, key) != want_v:
            failures.append(f"{key} is {shown(get(v, key))}, expected {want_v!r}")
    for e in a.expect_max:
        key, most = e.split("=", 1)
        got = get(v, key)
        if not (isinstance(got, (int, float)) and got <= float(most)):
            failures.append(f"{key} is {shown(got)}, expected at most {most}")
    for key in a.expect_not_null:
        if get(v, key) in (None, MISSING):
            failures.append(f"{key} is {shown(get(v, key))}, expected a value")
    for key in a.expect_positive:
        got = get(v, key)
        if not (isinstance(got, (int, float)) and got > 0):
            failures.append(f"{key} is {shown(got)}, expected > 0")
    for key in a.expect_nonempty:
        got = get(v, key)
        if not (isinstance(got, list) and got):
            failures.append(f"{key} is {shown(got)}, expected a list with at least one item")
    for e in a.expect_same_set:
        ka, kb = e.split("=", 1)
        la, lb = get(v, ka), get(v, kb)
        if not (isinstance(la, list) and isinstance(lb, list)):
            failures.append(f"{ka} is {shown(la)} and {kb} is {shown(lb)}, expected two lists")
            continue
        only_a, only_b = sorted(set(map(str, la)) - set(map(str, lb))), sorted(set(map(str, lb)) - set(map(str, la)))
        if only_a or only_b:
            failures.append(f"{ka} ({len(la)}) and {kb} ({len(lb)}) differ: only in {ka}: {only_a[:20]}; "
                            f"only in {kb}: {only_b[:20]}")
    print("lab-test: verdict " + json.dumps({k: v.get(k) for k in (
        "orders_acked", "orders_lost", "split_brain_writes", "writable_primaries_max", "failovers",
        "failover_seconds", "unavailable_seconds", "final_primary", "failback_seconds", "switchover_orders_lost")
        if k in v}))
    only = get(v, "details.orders_only_on_final_primary")
    if only is not MISSING:
        print(f"lab-test: orders_only_on_final_primary {only!r} "
              f"{json.dumps((v.get('details') or {}).get('orders_only_on_final_primary_ids') or [])[:200]}")
    for key in ("lost_order_ids", "lost_orders_reported"):
        if isinstance(v.get(key), list):
            print(f"lab-test: {key} ({len(v[key])}) {json.dumps(v[key][:20])}{' ...' if len(v[key]) > 20 else ''}")
    if v.get("cost"):
        c = v["cost"]
        print("lab-test: cost " + json.dumps({k: c.get(k) for k in (
            "up_seconds", "scenario_seconds", "down_seconds", "cpu_seconds_all_sites", "peak_rss_mb_all_sites")}))
for f in failures:
    print(f"lab-test: FAILED — {a.scenario}: {f}")
if not failures:
    print(f"lab-test: PASS {a.scenario}")
sys.exit(1 if failures else 0)
