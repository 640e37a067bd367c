#!/usr/bin/python3
"""ctest driver for the partition lab (tests/CMakeLists.txt: e2e_lab_*): runs one scenario
of scripts/lab in the fast profile with this build's binaries and the lab's default design
(the writer lease; --design today for issue 15's), checks the verdict against what the
design guarantees for it (--expect key=value; --expect-max key=number: at most;
--expect-not-null key; --expect-positive key), then checks `scripts/lab down` left no
namespace of the lab behind (`ip netns list`).

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
ap.add_argument("--limit", type=float, default=1200, help="seconds the run may take")
a = ap.parse_args()

failures = []
env = dict(os.environ, FAILOVER_LAB_BUILD_DIR=a.build_dir)
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
    v = None
    if os.path.exists(out):
        v = json.load(open(out))
    elif rc == 0:
        failures.append("no JSON verdict written")

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
        if v.get(key) != want_v:
            failures.append(f"{key} is {v.get(key)!r}, expected {want_v!r}")
    for e in a.expect_max:
        key, most = e.split("=", 1)
        if not (isinstance(v.get(key), (int, float)) and v[key] <= float(most)):
            failures.append(f"{key} is {v.get(key)!r}, expected at most {most}")
    for key in a.expect_not_null:
        if v.get(key) is None:
            failures.append(f"{key} is null")
    for key in a.expect_positive:
        if not (isinstance(v.get(key), (int, float)) and v[key] > 0):
            failures.append(f"{key} is {v.get(key)!r}, expected > 0")
    print("lab-test: verdict " + json.dumps({k: v.get(k) for k in (
        "orders_acked", "orders_lost", "split_brain_writes", "writable_primaries_max", "failovers",
        "failover_seconds", "unavailable_seconds", "final_primary")}))
for f in failures:
    print(f"lab-test: FAILED — {a.scenario}: {f}")
if not failures:
    print(f"lab-test: PASS {a.scenario}")
sys.exit(1 if failures else 0)
