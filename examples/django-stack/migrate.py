"""Stand-in for `python manage.py migrate`: creates the schema, idempotently."""
import os
import sqlite3
import time

db = sqlite3.connect(os.environ["DB"])
print("Operations to perform: apply all migrations")
time.sleep(0.5)  # a real migration takes a while
db.execute("CREATE TABLE IF NOT EXISTS task (id INTEGER PRIMARY KEY, what TEXT, done INTEGER DEFAULT 0)")
db.commit()
print("  Applying app.0001_initial... OK")
