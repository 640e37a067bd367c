#!/usr/bin/python3
"""The lab's workload, run inside the shoppers site: `--workers` browsers send a steady
stream of orders (`--rate` per second in all) to the shop's name. Each browser resolves the
name through the authoritative DNS and keeps the answer for its TTL, as a resolver would;
on an error it retries the same order every 0.5 s (re-resolving once the TTL ran out) for
up to 30 s, then gives it up. Every acknowledgement goes to acks.jsonl with its times and
the server that committed it; a watcher writes each change of the DNS answer to dns.jsonl.
Ends on SIGTERM or after --max-seconds."""
import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnsq import query_a  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--dns", required=True)
ap.add_argument("--name", required=True)
ap.add_argument("--rate", type=float, default=40)
ap.add_argument("--workers", type=int, default=8)
ap.add_argument("--max-seconds", type=float, default=1800)
ap.add_argument("--run-id", default=str(int(time.time())))
args = ap.parse_args()

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
lock = threading.Lock()
acks = open(os.path.join(args.out, "acks.jsonl"), "a", buffering=1)
errors = open(os.path.join(args.out, "errors.jsonl"), "a", buffering=1)
dnslog = open(os.path.join(args.out, "dns.jsonl"), "a", buffering=1)


def emit(f, obj):
    with lock:
        f.write(json.dumps(obj) + "\n")


def watch_dns():
    last = None
    while not stop.is_set():
        try:
            ans, ttl = query_a(args.dns, args.name, 0.5)
        except OSError as exc:
            ans, ttl = [f"error: {exc}"], None
        if ans != last:
            emit(dnslog, {"t": time.time(), "answer": ans, "ttl": ttl})
            last = ans
        stop.wait(0.1)


def browser(w):
    cache = {"addr": None, "until": 0.0}
    period = args.workers / args.rate
    seq = 0
    next_at = time.time() + w * period / args.workers
    while not stop.is_set():
        stop.wait(max(0.0, next_at - time.time()))
        next_at = max(next_at + period, time.time() - period)
        seq += 1
        oid = f"{args.run_id}-{w}-{seq}"
        sent = time.time()
        attempts = 0
        while not stop.is_set() and time.time() - sent < 30:
            attempts += 1
            target = None
            try:
                if cache["addr"] is None or time.time() >= cache["until"]:
                    ans, ttl = query_a(args.dns, args.name, 1.0)
                    cache["addr"], cache["until"] = ans[0], time.time() + (ttl or 0)
                target = cache["addr"]
                req = urllib.request.Request(f"http://{target}/orders", data=json.dumps({"id": oid}).encode(),
                                             method="POST", headers={"Content-Type": "application/json",
                                                                     "Host": args.name})
                with urllib.request.urlopen(req, timeout=3) as r:
                    body = json.loads(r.read())
                    code = r.status
                if code in (200, 201):
                    emit(acks, {"id": oid, "sent": sent, "ack": time.time(), "addr": target,
                                "region": body.get("region"), "server_id": body.get("server_id"),
                                "gtid": body.get("gtid"), "attempts": attempts,
                                "duplicate": bool(body.get("duplicate"))})
                    break
                err = f"HTTP {code}"
            except urllib.error.HTTPError as exc:
                err = f"HTTP {exc.code}"
            except Exception as exc:
                err = type(exc).__name__ + ": " + str(exc)[:100]
            emit(errors, {"t": time.time(), "id": oid, "addr": target, "error": err})
            stop.wait(0.5)


threads = [threading.Thread(target=watch_dns, daemon=True)]
threads += [threading.Thread(target=browser, args=(w,), daemon=True) for w in range(args.workers)]
for t in threads:
    t.start()
stop.wait(args.max_seconds)
stop.set()
for t in threads:
    t.join(timeout=10)
