"""The lab's network: one namespace per site, each joined by a veth pair to the bridge
folab-br inside the namespace folab-hub, and nftables cuts between pairs of sites.

A cut between A and B is a drop rule in the output hook of both namespaces (A drops what
it sends to B, B what it sends to A), so packets vanish the way they do in a real
partition: connections time out, nothing is refused. Deleting a namespace deletes its
veth end, its peer and its nftables table, so `down` needs nothing else."""
import itertools
import json

from common import (BRIDGE, HUB, PREFIX, SITES, LabError, addr, in_ns, log, ns, run,
                    state_path, write)


def namespaces():
    out = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def create():
    existing = set(namespaces())
    if existing:
        raise LabError(f"namespaces left from an earlier lab: {', '.join(sorted(existing))} (scripts/lab down)")
    run(["ip", "netns", "add", HUB])
    run(["ip", "-n", HUB, "link", "set", "lo", "up"])
    run(["ip", "-n", HUB, "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "-n", HUB, "link", "set", BRIDGE, "up"])
    for site, (address, short) in SITES.items():
        n = ns(site)
        run(["ip", "netns", "add", n])
        run(["ip", "-n", n, "link", "set", "lo", "up"])
        hub_end = PREFIX + short
        run(["ip", "-n", HUB, "link", "add", hub_end, "type", "veth", "peer", "name", "eth0", "netns", n])
        run(["ip", "-n", HUB, "link", "set", hub_end, "master", BRIDGE])
        run(["ip", "-n", HUB, "link", "set", hub_end, "up"])
        run(["ip", "-n", n, "addr", "add", f"{address}/24", "dev", "eth0"])
        run(["ip", "-n", n, "link", "set", "eth0", "up"])
    save_cuts(set())
    log("network: namespaces " + ", ".join(ns(s) for s in SITES) + f" on {BRIDGE} (10.77.0.0/24)")


def destroy():
    for n in namespaces():
        run(["ip", "netns", "del", n], check=False)


def pair(a, b):
    if a not in SITES or b not in SITES or a == b:
        raise LabError(f"not a pair of sites: {a}, {b} (sites: {', '.join(SITES)})")
    return tuple(sorted((a, b)))


def load_cuts():
    try:
        with open(state_path("cuts.json")) as f:
            return {tuple(p) for p in json.load(f)}
    except (OSError, ValueError):
        return set()


def save_cuts(cuts):
    write(state_path("cuts.json"), json.dumps(sorted(cuts)))


def _apply(site, cuts):
    """Rewrites the site's nftables table (atomically) to drop what it sends to its cut peers."""
    peers = sorted(addr(b if a == site else a) for a, b in cuts if site in (a, b))
    rules = "table inet folab\ndelete table inet folab\n"
    if peers:
        rules += ("table inet folab {\n  chain out {\n    type filter hook output priority 0; policy accept;\n"
                  f"    ip daddr {{ {', '.join(peers)} }} drop\n  }}\n}}\n")
    in_ns(site, ["nft", "-f", "-"], input=rules)


def set_cuts(cuts):
    old = load_cuts()
    touched = {s for p in old ^ cuts for s in p}
    for site in sorted(touched):
        _apply(site, cuts)
    save_cuts(cuts)


def cut(a, b):
    set_cuts(load_cuts() | {pair(a, b)})


def heal(a, b):
    set_cuts(load_cuts() - {pair(a, b)})


def isolate(site, keep=()):
    """Cuts `site` from every other site except those in `keep`."""
    set_cuts(load_cuts() | {pair(site, o) for o in SITES if o != site and o not in keep})


def heal_all():
    for site in SITES:
        _apply(site, set())
        in_ns(site, ["tc", "qdisc", "del", "dev", "eth0", "root"], check=False)
    save_cuts(set())


def netem(site, spec):
    """tc netem on the site's link, e.g. spec 'delay 100ms loss 5%'; empty spec removes it."""
    in_ns(site, ["tc", "qdisc", "del", "dev", "eth0", "root"], check=False)
    if spec:
        in_ns(site, ["tc", "qdisc", "add", "dev", "eth0", "root", "netem"] + spec.split())


def all_pairs():
    return list(itertools.combinations(sorted(SITES), 2))
