"""Drives supd's dashboard in a real headless Chromium (Selenium, Debian's chromedriver) and
checks what a person would see, against what supctl says.

Usage: python dashboard_check.py --url http://127.0.0.1:PORT/ --supctl PATH --socket PATH
           --programs a,b,c --kill NAME --restart NAME --log NAME --job-file PATH
           --screenshot PATH

Checks, each waited for with a deadline (never a fixed sleep):
1. the page lists every program of --programs, each running or exited;
2. `kill -9` of --kill's process (its pid from `supctl status --json`) shows its new pid and
   restart count on the page, without a reload (the page's load id stays the same);
3. the restart button of --restart restarts it (supctl shows a new pid);
4. clicking --log's row opens its log pane, following live; a line the program prints after
   that (it prints the contents of --job-file on SIGUSR1) shows in it.
Then it saves a screenshot to --screenshot. Prints one line per check; exits 1 on the first
that fails (with a screenshot beside --screenshot, named *-failed.png).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

DEADLINE = 20.0
POLL = 0.05


class CheckFailed(Exception):
    pass


def wait(what, cond, deadline=DEADLINE):
    """The first truthy value of cond(), or CheckFailed naming `what` after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        try:
            value = cond()
        except (StaleElementReferenceException, WebDriverException):
            value = None
        if value:
            return value
        if time.monotonic() > end:
            raise CheckFailed(f"timed out after {deadline:.0f}s waiting for {what}")
        time.sleep(POLL)


class Supctl:
    def __init__(self, path, socket):
        self.path, self.socket = path, socket

    def run(self, *args, ok=(0,)):
        out = subprocess.run(
            [self.path, "--socket", self.socket, *args],
            capture_output=True, text=True, timeout=DEADLINE,
        )
        if out.returncode not in ok:
            raise CheckFailed(f"supctl {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def status(self, name):
        # 3: some program is not running (during a restart).
        for program in json.loads(self.run("status", "--json", ok=(0, 3))):
            if program["name"] == name:
                return program
        raise CheckFailed(f"supctl status has no program {name}")


class Page:
    def __init__(self, driver):
        self.driver = driver

    def row(self, name):
        return self.driver.find_element(By.CSS_SELECTOR, f'tr[data-program="{name}"]')

    def cell(self, name, field):
        rows = self.driver.find_elements(By.CSS_SELECTOR, f'tr[data-program="{name}"] td.{field}')
        return rows[0].text.strip() if rows else None

    def state(self, name):
        cells = self.driver.find_elements(By.CSS_SELECTOR, f'tr[data-program="{name}"] td.state')
        return cells[0].get_attribute("data-state") if cells else None

    def load_id(self):
        return self.driver.execute_script("return window.supdPageLoadId || null")

    def log_text(self):
        return self.driver.find_element(By.ID, "log-lines").text


def chromium():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1360,860",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(arg)
    # Debian's driver: Selenium Manager never downloads anything.
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def check(args, driver, supctl):
    page = Page(driver)
    programs = args.programs.split(",")
    driver.get(args.url)

    # 1. Every program is listed, in a settled state.
    for name in programs:
        wait(f"{name} to be listed as running or exited",
             lambda: page.state(name) in ("running", "exited"))
    load_id = wait("the page's load id", page.load_id)
    print(f"ok: the page lists {', '.join(programs)}", flush=True)

    # 2. kill -9: the page shows the restart by itself.
    before = supctl.status(args.kill)
    old_pid, old_restarts = before["pid"], before["restarts"]
    wait(f"{args.kill}'s pid on the page", lambda: page.cell(args.kill, "pid") == str(old_pid))
    os.kill(old_pid, signal.SIGKILL)
    killed_at = time.monotonic()
    new_pid = wait(
        f"the page to show {args.kill} with a new pid and more restarts",
        lambda: (
            page.cell(args.kill, "pid") not in (None, "", "–", str(old_pid))
            and int(page.cell(args.kill, "restarts") or 0) > old_restarts
            and page.cell(args.kill, "pid")
        ),
    )
    seen_after = time.monotonic() - killed_at
    if page.load_id() != load_id:
        raise CheckFailed("the page was reloaded to show the restart")
    after = wait(f"supctl to show {args.kill} running again",
                 lambda: (s := supctl.status(args.kill))["state"] == "running" and s)
    if str(after["pid"]) != new_pid:
        raise CheckFailed(f"the page shows pid {new_pid}, supctl {after['pid']}")
    print(f"ok: kill -9 {old_pid}: the page showed pid {new_pid}, restarts "
          f"{page.cell(args.kill, 'restarts')} after {seen_after * 1000:.0f} ms, no reload", flush=True)

    # 3. The restart button restarts.
    before = wait(f"{args.restart} running", lambda: (s := supctl.status(args.restart))["pid"] and s)
    page.row(args.restart).find_element(By.CSS_SELECTOR, 'button[data-action="restart"]').click()
    after = wait(f"supctl to show {args.restart} with a new pid",
                 lambda: (s := supctl.status(args.restart))["pid"] not in (None, before["pid"])
                 and s["state"] == "running" and s)
    wait(f"the page to show {args.restart}'s new pid {after['pid']}",
         lambda: page.cell(args.restart, "pid") == str(after["pid"]))
    toast = wait("the outcome message", lambda: driver.find_element(By.ID, "toast").text)
    if "restarted" not in toast:
        raise CheckFailed(f"the outcome message is {toast!r}")
    if page.load_id() != load_id:
        raise CheckFailed("the page was reloaded by the restart button")
    print(f"ok: the restart button restarted {args.restart} (pid {before['pid']} -> "
          f"{after['pid']}; the page says {toast!r})", flush=True)

    # 4. The log pane follows: a line printed after the pane opened shows up.
    page.row(args.log).click()
    wait("the log pane to follow", lambda: "on" in driver.find_element(By.ID, "log-live").get_attribute("class"))
    job = "job " + uuid.uuid4().hex[:8]
    if job in page.log_text():
        raise CheckFailed("the line is in the log before it was printed")
    with open(args.job_file, "w") as f:
        f.write(job + "\n")
    supctl.run("signal", "USR1", args.log)
    wait(f"the log pane to show {job!r}", lambda: job in page.log_text())
    if page.load_id() != load_id:
        raise CheckFailed("the page was reloaded to show the log")
    print(f"ok: the log pane of {args.log} showed {job!r}, printed after the page loaded", flush=True)

    # Settled for the picture: every program back to running or exited.
    for name in programs:
        wait(f"{name} to settle", lambda: page.state(name) in ("running", "exited"))
    driver.save_screenshot(args.screenshot)
    print(f"ok: screenshot {args.screenshot}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    for flag in ("url", "supctl", "socket", "programs", "kill", "restart", "log", "job-file", "screenshot"):
        parser.add_argument("--" + flag, required=True)
    args = parser.parse_args()
    supctl = Supctl(args.supctl, args.socket)
    driver = chromium()
    try:
        check(args, driver, supctl)
    except (CheckFailed, AssertionError) as e:
        failed = os.path.splitext(args.screenshot)[0] + "-failed.png"
        driver.save_screenshot(failed)
        print(f"FAILED: {e} (screenshot {failed})", flush=True)
        for entry in driver.get_log("browser"):
            print(f"browser: {entry}", flush=True)
        sys.exit(1)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
