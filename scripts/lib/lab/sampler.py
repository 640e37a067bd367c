#!/usr/bin/python3
"""Samples, every 200 ms from inside its own site, whether the site's MariaDB accepts
writes: 1 (reachable, read_only off), 0 (read-only), -1 (unreachable). Lines
`{"t":..., "site":..., "writable":...}` go to --out (only changes, plus one line every
second), so a partition never blinds it. Ends on SIGTERM or after --max-seconds."""
import argparse
import json
import signal
import threading
import time

import pymysql

ap = argparse.ArgumentParser()
ap.add_argument("--site", required=True)
ap.add_argument("--db", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--max-seconds", type=float, default=1800)
args = ap.parse_args()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
host, port = args.db.rsplit(":", 1)
out = open(args.out, "a", buffering=1)
conn, last, last_t = None, None, 0.0
end = time.time() + args.max_seconds
while not stop.is_set() and time.time() < end:
    t = time.time()
    try:
        if conn is None:
            conn = pymysql.connect(host=host, port=int(port), user="root", password="", connect_timeout=1,
                                   read_timeout=1, write_timeout=1, autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SELECT @@read_only")
            w = 0 if int(cur.fetchone()[0]) else 1
    except Exception:
        w = -1
        try:
            conn and conn.close()
        except Exception:
            pass
        conn = None
    if w != last or t - last_t >= 1.0:
        out.write(json.dumps({"t": t, "site": args.site, "writable": w}) + "\n")
        last, last_t = w, t
    stop.wait(max(0.0, 0.2 - (time.time() - t)))
