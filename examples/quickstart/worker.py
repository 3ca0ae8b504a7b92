"""A stand-in for a queue worker: one line of progress a second, graceful on SIGTERM."""
import os
import signal
import sys
import time

name = os.environ.get("WORKER_NAME", "worker")
running = True


def stop(signum, frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
jobs = 0
while running:
    jobs += 1
    print(f"{name}: processed job {jobs}")
    time.sleep(1)
print(f"{name}: SIGTERM received, finished {jobs} jobs, bye")
sys.exit(0)
