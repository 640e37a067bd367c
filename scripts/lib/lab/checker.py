"""The lab's checker: after the heal, lets replication settle (bounded), reads every order
from every database, and computes the verdict's figures (docs/partitions.md)."""
import json
import os
import time

from common import REGIONS, SERVER_ID, addr, log, mysql

REGION_OF_ADDR = {addr(r): r for r in REGIONS}
REGION_OF_SERVER = {v: k for k, v in SERVER_ID.items()}


def load_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # a line cut by the writer's end
    except OSError:
        pass
    return out


def settle(mark, limit=60):
    """Waits until each database that still replicates has applied all its source has.
    Returns True when settled (or nothing replicates)."""
    end = time.time() + limit
    for site in REGIONS:
        try:
            st = mysql(site, "SHOW SLAVE STATUS", check=False)
        except Exception:
            st = []
        if not st:
            continue
        source = "us-east" if site == "eu-west" else "eu-west"
        while time.time() < end:
            try:
                pos = mysql(source, "SELECT @@gtid_binlog_pos")[0][0] if mysql(source, "SELECT 1") else ""
                r = mysql(site, f"SELECT MASTER_GTID_WAIT('{pos}', 2)", timeout=10)
                if r and r[0][0] == "0":
                    mark(f"checker: {site} has applied everything {source} has ({pos})")
                    break
            except Exception:
                pass
            time.sleep(0.5)
        else:
            mark(f"checker: {site} did not catch up with {source} within {limit}s")
            return False
    return True


def read_orders():
    """{region: {order id: server_id}} from every database (None when unreadable)."""
    out = {}
    for site in REGIONS:
        try:
            rows = mysql(site, "SELECT id, server_id FROM shop.orders", timeout=60)
            out[site] = {r[0]: int(r[1]) for r in rows}
        except Exception as exc:
            log(f"checker: cannot read the orders of {site}: {exc}")
            out[site] = None
    return out


def writable_series(samples, start, end, step=0.2):
    """For each 200 ms tick in [start, end]: the sites whose last sample (at most 2 s old)
    says writable."""
    by_site = {}
    for s in sorted(samples, key=lambda s: s["t"]):
        by_site.setdefault(s["site"], []).append(s)
    idx = {k: 0 for k in by_site}
    ticks = []
    t = start
    while t <= end:
        now = []
        for site, lst in by_site.items():
            i = idx[site]
            while i + 1 < len(lst) and lst[i + 1]["t"] <= t:
                i += 1
            idx[site] = i
            if lst[i]["t"] <= t and t - lst[i]["t"] <= 2.0 and lst[i]["writable"] == 1:
                now.append(site)
        ticks.append((t, now))
        t += step
    return ticks


def promotions(samples, after):
    """{site: first time it turned from read-only to writable after `after`}."""
    out = {}
    last = {}
    for s in sorted(samples, key=lambda s: s["t"]):
        prev = last.get(s["site"])
        if prev == 0 and s["writable"] == 1 and s["t"] >= after and s["site"] not in out:
            out[s["site"]] = s["t"]
        if s["writable"] in (0, 1):
            last[s["site"]] = s["writable"]
    return out


def promotion_times(samples, after):
    """{site: every time it turned from read-only to writable after `after`}."""
    out, last = {}, {}
    for s in sorted(samples, key=lambda s: s["t"]):
        if last.get(s["site"]) == 0 and s["writable"] == 1 and s["t"] >= after:
            out.setdefault(s["site"], []).append(s["t"])
        if s["writable"] in (0, 1):
            last[s["site"]] = s["writable"]
    return out


def split_round_trip(first, samples, after):
    """Split-brain writes over a run where the writer moves away and back (round-trip): an
    order acknowledged by a region after another site became writable, unless the ordering
    region itself became writable again since (us-east's own promotion by the switchover)."""
    times = promotion_times(samples, after)
    split = []
    for a in first.values():
        region = REGION_OF_SERVER.get(a.get("server_id"), a.get("region"))
        own = max((t for t in times.get(region, []) if t < a["ack"]), default=None)
        if any(site != region and t < a["ack"] and (own is None or t > own)
               for site, lst in times.items() for t in lst):
            split.append(a["id"])
    return split


def reported_order_ids(execution):
    """The order ids in the execution's db_divergence report: shop.orders rows of the
    transactions only the old primary has (the column `id`, or `@1` without column names)."""
    ids = []
    for st in execution.get("steps", []):
        if st.get("kind") != "db_divergence":
            continue
        for tx in (st.get("details") or {}).get("errant") or []:
            for row in tx.get("rows") or []:
                if row.get("table") != "shop.orders" or row.get("operation") != "insert":
                    continue
                vals = row.get("values") or {}
                oid = vals.get("id", vals.get("@1"))
                if oid is not None:
                    ids.append(str(oid))
    return sorted(set(ids))


def failback_figures(fb, acks, dns, final_rows):
    """Scenario round-trip: failback_seconds (the failback's start to the first DNS answer
    us-east as the shoppers see it), switchover_orders_lost (acknowledged since the failback's
    start, not on the final primary), the two lists of orders lost in the failover."""
    start = fb["started"]
    back = next((d["t"] for d in sorted(dns, key=lambda d: d["t"])
                 if d["t"] >= start and d["answer"] == [addr("us-east")]), None)
    during = {a["id"] for a in acks if a["ack"] >= start}
    lost_sw = sorted(i for i in during if final_rows is None or i not in final_rows)
    mine = fb.get("lost_at_failover")
    times = sorted(a["ack"] for a in acks if a["ack"] >= start)
    gap = max((times[i + 1] - times[i] for i in range(len(times) - 1)), default=None)
    if times:
        gap = max(gap or 0.0, times[0] - start)
    after = {}
    for a in acks:
        if fb.get("ended") and a["ack"] >= fb["ended"]:
            after[a.get("region")] = after.get(a.get("region"), 0) + 1
    reported = reported_order_ids(fb.get("execution") or {})
    return {
        "failback_seconds": None if back is None else round(back - start, 2),
        "switchover_orders_lost": len(lost_sw),
        "lost_order_ids": mine,
        "lost_orders_reported": reported,
    }, {
        "primary_before_failback": fb.get("primary_before"),
        "failback_execution": (fb.get("execution") or {}).get("id"),
        "failback_state": (fb.get("execution") or {}).get("state"),
        "failback_message": (fb.get("execution") or {}).get("message"),
        "failback_run_seconds": None if not fb.get("ended") else round(fb["ended"] - start, 2),
        "switchover_lost_order_ids": lost_sw[:50],
        "failback_orders_acked": len(during),
        "failback_unavailable_seconds": None if gap is None else round(gap, 2),
        "orders_acked_after_failback_by_region": after,
        "lost_lists_equal": mine is not None and sorted(mine) == reported,
    }


def verdict(run_dir, t0, window, executions, final_dns, writable_now, fb=None):
    acks = load_jsonl(os.path.join(run_dir, "acks.jsonl"))
    samples = load_jsonl(os.path.join(run_dir, "samples-us-east.jsonl")) + \
        load_jsonl(os.path.join(run_dir, "samples-eu-west.jsonl"))
    dns = load_jsonl(os.path.join(run_dir, "dns.jsonl"))
    orders = read_orders()

    first = {}
    for a in sorted(acks, key=lambda a: a["ack"]):
        first.setdefault(a["id"], a)
    dns_region = REGION_OF_ADDR.get(final_dns[0]) if final_dns else None
    if dns_region and writable_now.get(dns_region):
        final_primary = dns_region
    else:
        w = [r for r in REGIONS if writable_now.get(r)]
        final_primary = w[0] if len(w) == 1 else ("none" if not w else dns_region or w[0])
    final_rows = orders.get(final_primary) if final_primary in REGIONS else None
    lost = sorted(i for i in first if final_rows is None or i not in final_rows)

    promoted = promotions(samples, window[0])
    split = []
    for a in first.values():
        region = REGION_OF_SERVER.get(a.get("server_id"), a.get("region"))
        if any(site != region and t_p < a["ack"] for site, t_p in promoted.items()):
            split.append(a["id"])

    if fb is not None:
        split = split_round_trip(first, samples, window[0])

    ticks = writable_series(samples, window[0], window[1])
    wmax = max((len(w) for _, w in ticks), default=0)

    switch = next((d["t"] for d in sorted(dns, key=lambda d: d["t"])
                   if d["t"] >= t0 and d["answer"] == [addr("eu-west")]), None)
    times = sorted(a["ack"] for a in acks if window[0] <= a["ack"] <= window[1])
    edges = [window[0]] + times + [window[1]]
    gaps = [(edges[i + 1] - edges[i], edges[i]) for i in range(len(edges) - 1)]
    longest = max(gaps, default=(0.0, window[0]))

    failovers = 0
    for e in executions:
        for s in e.get("steps", []):
            if s.get("kind") == "db_promote" and s.get("state") == "ok" and \
                    (s.get("details") or {}).get("changed", True):
                failovers += 1
                break

    by_server = {}
    for a in first.values():
        by_server[a.get("region")] = by_server.get(a.get("region"), 0) + 1
    extra, extra_details = failback_figures(fb, acks, dns, final_rows) if fb is not None else ({}, {})
    if fb is not None and final_primary in REGIONS:
        # Orders the final primary has and the other database lacks after the way back: 0 now
        # that db_rejoin's `errant: discard` undoes the errant rows on the old primary (before,
        # they stayed there and never reached the other database).
        other = orders.get([r for r in REGIONS if r != final_primary][0])
        only = sorted(set(final_rows or {}) - set(other or {})) if other is not None else None
        extra_details["orders_only_on_final_primary"] = None if only is None else len(only)
        extra_details["orders_only_on_final_primary_ids"] = None if only is None else only[:50]
    return {
        **extra,
        "orders_acked": len(first),
        "orders_lost": len(lost),
        "split_brain_writes": len(split),
        "writable_primaries_max": wmax,
        "failovers": failovers,
        "failover_seconds": None if switch is None else round(switch - t0, 2),
        "unavailable_seconds": round(longest[0], 2),
        "final_primary": final_primary,
        "details": {
            "orders_acked_by_region": by_server,
            "orders_on_each_database": {k: (None if v is None else len(v)) for k, v in orders.items()},
            "lost_order_ids": lost[:50],
            "split_brain_order_ids": split[:50],
            "promoted_at": {k: round(v - t0, 2) for k, v in promoted.items()},
            "unavailable_from": round(longest[1] - t0, 2),
            "final_dns_answer": final_dns,
            "writable_at_end": writable_now,
            "errors_seen": len(load_jsonl(os.path.join(run_dir, "errors.jsonl"))),
            **extra_details,
        },
        "_ticks": ticks,
        "_acks": acks,
        "_samples": samples,
        "_dns": dns,
    }
