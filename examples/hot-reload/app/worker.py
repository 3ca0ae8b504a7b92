"""A stand-in for a Celery worker: runs the jobs the web server puts in the spool directory."""
import json
import os
import signal
import sys
import time

import tasks

spool = os.environ.get("SPOOL", "spool")
os.makedirs(spool, exist_ok=True)
running = True


def stop(signum, frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
print(f"worker ready (pid {os.getpid()}), waiting for jobs in {os.path.abspath(spool)}")
while running:
    for name in sorted(os.listdir(spool)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(spool, name)
        try:
            with open(path) as f:
                job = json.load(f)
            os.remove(path)
        except (OSError, ValueError):
            continue
        print(f"job {name}: {job['text']!r} -> {tasks.process(job['text'])!r}")
    time.sleep(0.5)
print("worker: SIGTERM received, bye")
sys.exit(0)
