"""A program that crashes now and then, and sometimes right at start."""
import random
import sys
import time

if random.random() < 0.3:
    print("flaky: cannot connect to the database, giving up", file=sys.stderr)
    sys.exit(2)
lifetime = random.uniform(3, 8)
print(f"flaky: up, will crash in {lifetime:.1f}s")
time.sleep(lifetime)
print("flaky: segfault (simulated)", file=sys.stderr)
sys.exit(139)
