"""A small HTTP/1.0 server that answers every request with its own pid: the program of the
zero-downtime test (tests/tests/held_sockets.rs) and of supd-bench's `sockets` scenario.

Usage: python3 pid_server.py PORT

- Socket: the one it inherits by systemd's protocol (LISTEN_FDS >= 1 and LISTEN_PID equal
  to its own pid: the socket is fd 3), as gunicorn does; otherwise it binds 127.0.0.1:PORT
  itself (SO_REUSEADDR, as every server does). The first line it prints says which.
- Requests: one at a time; each is answered `200 OK` with the pid as the body, then the
  connection is closed (the request is read whole first, so closing never resets it).
- SIGTERM: the request in flight, if any, is finished; then it exits 0 without accepting
  another one, like uvicorn or gunicorn. Connections still queued stay in the listening
  socket's queue: for the next instance when a supervisor holds the socket, reset by the
  kernel when the socket was this server's own.
- PID_SERVER_READY_DIR: once serving (its first line printed), it creates `ready.<pid>` in
  that directory, for a health check that must mean "this instance serves".
"""

import os
import select
import signal
import socket
import sys

# systemd's SD_LISTEN_FDS_START: the first inherited socket.
LISTEN_FDS_START = 3
# How long one connection may take to send its request or take its answer.
PATIENCE_SECONDS = 15


def inherited_socket():
    """The socket passed by systemd's protocol, if this process was given one."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return None
    if count < 1:
        return None
    return socket.socket(fileno=LISTEN_FDS_START)


def answer(conn):
    """Reads one request whole, answers it with the pid, closes the connection."""
    with conn:
        conn.settimeout(PATIENCE_SECONDS)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        body = b"%d\n" % os.getpid()
        head = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
        conn.sendall(head % len(body) + body)
        conn.shutdown(socket.SHUT_WR)


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python3 pid_server.py PORT")
    port = int(sys.argv[1])
    # Claimed before any other descriptor is opened, so fd 3 is the inherited one.
    listener = inherited_socket()
    if listener is not None:
        how = "the inherited socket (fd %d)" % LISTEN_FDS_START
    else:
        listener = socket.create_server(("127.0.0.1", port), backlog=1024)
        how = "its own socket"
    # SIGTERM only wakes the loop up (through this pipe); the loop decides when to stop.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    print("pid_server %d: serving on %s, %s" % (os.getpid(), how, listener.getsockname()),
          flush=True)
    ready_dir = os.environ.get("PID_SERVER_READY_DIR")
    if ready_dir:
        open(os.path.join(ready_dir, "ready.%d" % os.getpid()), "w").close()
    while True:
        ready, _, _ = select.select([listener, wake_read], [], [])
        if wake_read in ready:
            print("pid_server %d: SIGTERM, exiting" % os.getpid(), flush=True)
            return
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            # A shared socket in non-blocking mode whose connection another instance took.
            continue
        try:
            answer(conn)
        except OSError as e:
            print("pid_server %d: %s" % (os.getpid(), e), flush=True)


if __name__ == "__main__":
    main()
