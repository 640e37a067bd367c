"""The lab's scenarios (names fixed by issue 15; docs/partitions.md). Each one injects its
fault through the Nemesis at t=0 and returns when the fault's time is over; the run then
heals everything. Every wait is bounded by the scenario's own duration."""
import signal

import net
import servers


class Scenario:
    def __init__(self, name, description, inject, semisync=False, failback=False):
        self.name, self.description, self.inject, self.semisync = name, description, inject, semisync
        self.failback = failback  # after the heal: failback-us-east through the API (lab.py)


class Nemesis:
    """Faults, each timed and written to the run's timeline."""

    def __init__(self, mark, sleep):
        self.mark, self.sleep = mark, sleep
        self.killed = []

    def cut(self, pairs, why):
        net.set_cuts(net.load_cuts() | {net.pair(a, b) for a, b in pairs})
        self.mark("nemesis: cut " + ", ".join(f"{a} <-> {b}" for a, b in pairs) + f" ({why})")

    def heal_all(self, why="heal"):
        net.heal_all()
        self.mark(f"nemesis: healed every link ({why})")

    def kill(self, name):
        pid = servers.signal_name(name, signal.SIGKILL)
        self.killed.append(name)
        self.mark(f"nemesis: SIGKILL {name} (pid {pid})")


def isolate_pairs(site, keep=()):
    return [(site, o) for o in net.SITES if o != site and o not in keep]


def region_isolated(n):
    n.cut(isolate_pairs("us-east"), "us-east isolated for 90 s")
    n.sleep(90)


def region_split(n):
    n.cut([("us-east", "control"), ("us-east", "eu-west")], "shoppers still reach us-east, for 90 s")
    n.sleep(90)


def monitor_partition(n):
    n.cut([("control", "us-east")], "for 90 s; shoppers and eu-west still reach us-east")
    n.sleep(90)


def replication_partition(n):
    n.cut([("us-east", "eu-west")], "for 43 s")
    n.sleep(43)


def flapping(n):
    for i in range(10):  # 10 x (6 s isolated + 6 s healed) = 2 min
        n.cut(isolate_pairs("us-east"), f"flap {i + 1}/10: us-east isolated for 6 s")
        n.sleep(6)
        n.heal_all(f"flap {i + 1}/10: healed for 6 s")
        n.sleep(6)


def witness_isolated(n):
    n.cut([("control", "us-east"), ("control", "eu-west")], "control cut from both regions for 90 s")
    n.sleep(90)


def primary_crash(n):
    n.kill("mariadb-us-east")
    n.sleep(90)


SCENARIOS = [
    Scenario("region-isolated", "us-east is cut from every other site for 90 s", region_isolated),
    Scenario("region-split", "us-east is cut from control and eu-west (shoppers still reach it) for 90 s",
             region_split),
    Scenario("monitor-partition", "control <-> us-east is cut for 90 s (shoppers and eu-west still reach us-east)",
             monitor_partition),
    Scenario("replication-partition-43s", "us-east <-> eu-west is cut for 43 s", replication_partition),
    Scenario("flapping", "us-east is isolated 6 s, then healed 6 s, over and over for 2 min", flapping),
    Scenario("witness-isolated", "control is cut from both regions for 90 s", witness_isolated),
    Scenario("primary-crash", "SIGKILL to the us-east MariaDB; the region stays up otherwise (restarted after 90 s)",
             primary_crash),
    Scenario("region-isolated-semisync", "region-isolated with MariaDB semi-synchronous replication on",
             region_isolated, semisync=True),
    Scenario("round-trip", "region-isolated, heal, then failback-us-east (rejoin, switchover back to us-east) "
             "with orders flowing throughout (lease design)", region_isolated, failback=True),
    Scenario("round-trip-split", "round-trip after region-split instead of region-isolated: us-east acknowledges "
             "orders that never replicate until it fences itself, so the failover loses some and the divergence "
             "report must name them (lease design)", region_split, failback=True),
]
BY_NAME = {s.name: s for s in SCENARIOS}
