"""Stand-in for Daphne serving the Django API: /healthz and /api/tasks (GET lists, POST queues)."""
import json
import os
import signal
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DB = os.environ["DB"]
PORT = int(os.environ["PORT"])


class Api(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            sqlite3.connect(DB).execute("SELECT 1 FROM task LIMIT 1")
            return self.reply(200, {"ok": True})
        if self.path == "/api/tasks":
            rows = sqlite3.connect(DB).execute("SELECT id, what, done FROM task").fetchall()
            return self.reply(200, [{"id": i, "what": w, "done": bool(d)} for i, w, d in rows])
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/api/tasks":
            return self.reply(404, {"error": "not found"})
        what = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode() or "task"
        db = sqlite3.connect(DB)
        cur = db.execute("INSERT INTO task (what) VALUES (?)", (what,))
        db.commit()
        self.reply(201, {"id": cur.lastrowid, "what": what})

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args))


server = ThreadingHTTPServer(("127.0.0.1", PORT), Api)
signal.signal(signal.SIGTERM, lambda *_: (print("SIGTERM: shutting down"), sys.exit(0)))
print(f"Listening on TCP address 127.0.0.1:{PORT}")
server.serve_forever()
