"""A tiny ASGI app (no framework) that supd serves through uvicorn on a socket it holds.

Every answer says which version of this file is running and which process runs it. Edit
VERSION and save: supd restarts uvicorn (it watches this directory), the new process
picks up the very same listening socket, and requests sent during the restart wait in its
queue instead of being refused.
"""

import os

VERSION = "1"
PID = os.getpid()


async def app(scope, receive, send):
    body = f"version {VERSION} pid {PID}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
