#!/usr/bin/python3
"""The lab's shop: a tiny order service for one region (a test fixture of scripts/lab).

POST /orders {"id": "..."} inserts the order into the region's local MariaDB and answers
201 only after COMMIT, with the region, @@server_id and the transaction's GTID. An id the
database already has answers 200 with "duplicate": true (a browser's retry). GET /healthz
answers "ok" when the database answers, 503 otherwise. Standard library + python3-pymysql."""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql

ap = argparse.ArgumentParser()
ap.add_argument("--region", required=True)
ap.add_argument("--listen", required=True)
ap.add_argument("--db", required=True)
ap.add_argument("--password-file", required=True)
args = ap.parse_args()
DB_HOST, DB_PORT = args.db.rsplit(":", 1)
PASSWORD = open(args.password_file).read().strip()
local = threading.local()


def conn():
    c = getattr(local, "c", None)
    if c is None:
        c = pymysql.connect(host=DB_HOST, port=int(DB_PORT), user="app", password=PASSWORD, database="shop",
                            connect_timeout=2, read_timeout=10, write_timeout=10, autocommit=False)
        local.c = c
    return c


def drop():
    c = getattr(local, "c", None)
    local.c = None
    if c is not None:
        try:
            c.close()
        except Exception:
            pass


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, obj):
        body = (json.dumps(obj) + "\n").encode() if not isinstance(obj, str) else obj.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if not isinstance(obj, str) else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path != "/healthz":
            return self.reply(404, {"error": "not found"})
        try:
            c = conn()
            with c.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
            c.rollback()
            self.reply(200, "ok\n")
        except Exception as exc:
            drop()
            self.reply(503, f"database unavailable: {exc}\n")

    def do_POST(self):
        if self.path != "/orders":
            return self.reply(404, {"error": "not found"})
        try:
            n = int(self.headers.get("Content-Length", "0"))
            oid = str(json.loads(self.rfile.read(n))["id"])[:64]
        except Exception:
            return self.reply(400, {"error": "body must be {\"id\": \"...\"}"})
        try:
            c = conn()
            with c.cursor() as cur:
                try:
                    cur.execute("INSERT INTO orders (id, region, server_id) VALUES (%s, %s, @@server_id)",
                                (oid, args.region))
                    c.commit()
                    dup = False
                except pymysql.err.IntegrityError:
                    c.rollback()
                    dup = True
                cur.execute("SELECT @@server_id, @@last_gtid")
                sid, gtid = cur.fetchone()
                c.rollback()
            out = {"id": oid, "region": args.region, "server_id": sid, "gtid": gtid}
            if dup:
                out["duplicate"] = True
            self.reply(200 if dup else 201, out)
        except pymysql.err.OperationalError as exc:
            drop()
            self.reply(503, {"error": str(exc)})
        except Exception as exc:  # e.g. read-only: 1290
            try:
                conn().rollback()
            except Exception:
                drop()
            self.reply(503, {"error": str(exc)})


host, port = args.listen.rsplit(":", 1)
srv = ThreadingHTTPServer((host, int(port)), Handler)
srv.daemon_threads = True
srv.serve_forever()
