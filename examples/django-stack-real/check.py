#!/usr/bin/env python3
"""End-to-end check of the real stack under supd (what CI runs).

Production profile, through nginx: a page, an API call, a WebSocket echo via /ws/, a
Celery task round trip. Development profile, through Vite: edit a view and see Daphne
restart and serve the change; edit a task and see the worker restart and run the new
code. Each time, SIGTERM must make supd exit 0 with nothing left running.

Standard library only. Usage: check.py [SUPD_BIN_DIR]   (default: ../../target/debug)
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "../../target/debug").resolve()
SOCKET = HERE / "var" / "supd.sock"
TOKEN = f"supd-real-stack-{os.getpid()}"


def log(msg):
    print(f"check: {msg}", flush=True)


def fail(msg):
    print(f"check: FAILED: {msg}", flush=True)
    sys.exit(1)


def until(what, cond, timeout=120):
    end = time.monotonic() + timeout
    while True:
        try:
            value = cond()
        except Exception:  # noqa: BLE001 - a condition may fail until it holds
            value = None
        if value:
            return value
        if time.monotonic() > end:
            fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def http(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read().decode()


def ws_echo(host, port, path, text):
    """A minimal RFC 6455 client: handshake, one masked text frame, one frame back."""
    s = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1024)
        if not chunk:
            raise ConnectionError("closed during handshake")
        head += chunk
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise ConnectionError(head.split(b"\r\n")[0].decode())
    payload = text.encode()
    mask = os.urandom(4)
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(frame)
    data = head.split(b"\r\n\r\n", 1)[1]
    while len(data) < 2:
        data += s.recv(1024)
    length = data[1] & 0x7F
    while len(data) < 2 + length:
        data += s.recv(1024)
    s.close()
    return data[2 : 2 + length].decode()


def supctl(*args):
    out = subprocess.run([BIN / "supctl", "--socket", SOCKET, *args], capture_output=True, text=True)
    return out.returncode, out.stdout, out.stderr


def pid_of(name):
    code, out, _ = supctl("status", "--json", name)
    return json.loads(out)[0]["pid"]


def leftovers():
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"SUPD_REAL_STACK={TOKEN}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


class Supd:
    def __init__(self, profile):
        self.profile = profile
        self.logfile = open(HERE / "var" / f"supd-{profile}.log", "w")
        env = dict(os.environ, SUPD_REAL_STACK=TOKEN, NO_COLOR="1")
        self.proc = subprocess.Popen(
            [BIN / "supd", "--config", HERE / "supd.toml", "--profile", profile],
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log(f"supd --profile {profile} started (pid {self.proc.pid}); output in var/supd-{profile}.log")

    def wait_up(self):
        until("supd to answer on its socket", lambda: supctl("status")[0] != 4, timeout=30)
        code, out, err = supctl("wait", "--timeout", "180s")
        if code != 0:
            self.dump()
            fail(f"not every program came up:\n{out}{err}")
        log("every program is up")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.dump()
            fail("supd did not exit within 60s of SIGTERM")
        self.logfile.close()
        if code != 0:
            self.dump()
            fail(f"supd exited with {code}")
        until("nothing left running", lambda: not leftovers(), timeout=10)
        log(f"SIGTERM: supd exited 0 and nothing is left ({self.profile})")

    def dump(self):
        self.logfile.flush()
        print((HERE / "var" / f"supd-{self.profile}.log").read_text()[-8000:], flush=True)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def production():
    supd = Supd("prod")
    try:
        supd.wait_up()
        status, page = http("http://127.0.0.1:8080/")
        if status != 200 or "supd example app" not in page:
            fail(f"nginx page: {status} {page[:200]}")
        log("nginx serves the built frontend")
        status, body = http("http://127.0.0.1:8080/api/hello")
        if json.loads(body) != {"message": "hello from daphne"}:
            fail(f"API through nginx: {body}")
        log("API call through nginx to Daphne")
        echo = ws_echo("127.0.0.1", 8080, "/ws/echo/", "ping")
        if echo != "echo: ping":
            fail(f"WebSocket echo through nginx: {echo!r}")
        log("WebSocket echo through nginx /ws/ to Channels")
        status, body = http("http://127.0.0.1:8080/api/add?x=2&y=3")
        if json.loads(body)["result"] != 5:
            fail(f"Celery round trip: {body}")
        log("Celery task round trip through Redis: 2 + 3 = 5")
        supd.stop()
    finally:
        supd.kill()


def development():
    views = HERE / "backend" / "app" / "views.py"
    tasks = HERE / "backend" / "app" / "tasks.py"
    originals = {views: views.read_text(), tasks: tasks.read_text()}
    supd = Supd("dev")
    try:
        supd.wait_up()
        status, body = http("http://127.0.0.1:5173/api/hello")
        if json.loads(body)["message"] != "hello from daphne":
            fail(f"API through Vite's proxy: {body}")
        log("API call through Vite's dev proxy")

        daphne = pid_of("daphne")
        views.write_text(originals[views].replace("hello from daphne", "hello again, edited"))
        until("Daphne to serve the edited view", lambda: json.loads(http("http://127.0.0.1:5173/api/hello")[1])["message"] == "hello again, edited")
        if pid_of("daphne") == daphne:
            fail("the edited view is served but Daphne kept its pid")
        log(f"edited views.py: Daphne restarted (pid {daphne} -> {pid_of('daphne')}) and serves the change")

        worker = pid_of("worker")
        tasks.write_text(originals[tasks].replace("OFFSET = 0", "OFFSET = 100"))
        until("the worker to restart", lambda: pid_of("worker") not in (None, worker))
        until("the new task code", lambda: json.loads(http("http://127.0.0.1:5173/api/add?x=2&y=3")[1])["result"] == 105)
        log(f"edited tasks.py: the worker restarted (pid {worker} -> {pid_of('worker')}) and runs the new code")
        for path, text in originals.items():
            path.write_text(text)
        supd.stop()
    finally:
        for path, text in originals.items():
            path.write_text(text)
        supd.kill()


def main():
    (HERE / "var" / "nginx" / "tmp").mkdir(parents=True, exist_ok=True)
    if not (BIN / "supd").exists():
        fail(f"no supd in {BIN}: build it first (cargo build --workspace)")
    production()
    development()
    log("all checks passed")


if __name__ == "__main__":
    main()
