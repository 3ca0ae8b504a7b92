"""listen_fds.py [ARG...]: a server that takes its sockets the systemd way (LISTEN_FDS).

Prints one line, `listen N LISTEN_PID PID LISTEN_FDNAMES ARG...`, then accepts on every
inherited socket (descriptors 3 .. 3+N-1) and answers each connection with one line,
`NAME PID`, where NAME is the socket's entry of LISTEN_FDNAMES.
"""
import os
import selectors
import socket
import sys

count = int(os.environ["LISTEN_FDS"])
names = os.environ["LISTEN_FDNAMES"].split(":")
print("listen", count, os.environ["LISTEN_PID"], os.getpid(), os.environ["LISTEN_FDNAMES"],
      *sys.argv[1:], flush=True)
selector = selectors.DefaultSelector()
for i in range(count):
    listener = socket.socket(fileno=3 + i)
    selector.register(listener, selectors.EVENT_READ, names[i])
while True:
    for key, _ in selector.select():
        conn, _ = key.fileobj.accept()
        conn.sendall(f"{key.data} {os.getpid()}\n".encode())
        conn.close()
