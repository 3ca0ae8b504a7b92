"""Stand-in for a Celery worker: takes queued tasks from the database and does them."""
import os
import signal
import sqlite3
import sys
import time

db = sqlite3.connect(os.environ["DB"])
signal.signal(signal.SIGTERM, lambda *_: (print("worker: warm shutdown"), sys.exit(0)))
print("worker: ready")
while True:
    row = db.execute("SELECT id, what FROM task WHERE done = 0 ORDER BY id LIMIT 1").fetchone()
    if row is None:
        time.sleep(0.2)
        continue
    task_id, what = row
    print(f"worker: task {task_id} received: {what}")
    db.execute("UPDATE task SET done = 1 WHERE id = ?", (task_id,))
    db.commit()
    print(f"worker: task {task_id} succeeded")
