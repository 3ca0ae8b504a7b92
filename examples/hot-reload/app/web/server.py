"""A small web server (standard library only): GET / and GET /enqueue?text=..."""
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import views

spool = os.environ.get("SPOOL", "spool")
port = int(os.environ.get("PORT", "8000"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/":
            self.reply(200, views.index())
        elif url.path == "/enqueue":
            text = parse_qs(url.query).get("text", ["hello"])[0]
            os.makedirs(spool, exist_ok=True)
            name = f"{time.time_ns()}.json"
            tmp = os.path.join(spool, name + ".tmp")
            with open(tmp, "w") as f:
                json.dump({"text": text}, f)
            os.rename(tmp, os.path.join(spool, name))
            self.reply(202, f"queued {name}\n")
        else:
            self.reply(404, "not found\n")

    def reply(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(f"web ready on http://127.0.0.1:{port}/ (pid {os.getpid()})")
server.serve_forever()
