#!/usr/bin/env python3
"""What the live-view benchmarks share (docs/performance.md, "Live view").

- `Children`: the processes a benchmark starts, each with its log file; a watcher thread ends
  the benchmark at once (exit 1, with the last lines of that child's log) when one dies, and
  every child is stopped on exit, SIGTERM or SIGINT.
- `open_page`: headless Chromium (Tests/Peers/live_view_browser.py's DevTools-pipe `Browser`)
  signed in on the map page, with `PAGE_HOOK` installed before the page's own script runs.
- `PAGE_HOOK`: wraps the page's server-sent-events handler (EventSource `pole` listeners) to
  record, for every message, when it was received and when the page had applied it (Date.now(),
  the machine's wall clock; with `__lv.keep` also which pole), and keeps a requestAnimationFrame loop that records frame gaps.

Run as a program it measures the time until the map shows every pole clustered after sign-in:
    live_view_page.py clustered --url URL --user U --password P --poles N
and prints the time from opening /login (the sign-in included) and from the map page's load event.
"""
import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Peers"))
from live_view_browser import Browser, WHEN, POLES_SHOWN, fail  # noqa: E402


def say(line):
    print(line, flush=True)


class Children:
    """The benchmark's child processes: a death fails the benchmark at once."""

    def __init__(self, directory):
        self.directory = directory
        self.children = []        # (name, Popen, log path)
        self.stopping = False
        self.lock = threading.Lock()
        signal.signal(signal.SIGTERM, lambda *_: self.stop_and_exit(1))
        signal.signal(signal.SIGINT, lambda *_: self.stop_and_exit(1))
        threading.Thread(target=self.watch, daemon=True).start()

    def start(self, name, command, stdin=subprocess.DEVNULL, stdout=None, env=None):
        log = os.path.join(self.directory, name + ".log")
        with open(log, "ab") as file:
            process = subprocess.Popen(command, stdin=stdin, stdout=stdout or file, stderr=file, env=env)
        self.adopt(name, process, log)
        return process, log

    def adopt(self, name, process, log=None):
        with self.lock:
            self.children.append((name, process, log))

    def forget(self, process):
        """`process` may end now (it finished its work)."""
        with self.lock:
            self.children = [child for child in self.children if child[1] is not process]

    def watch(self):
        while True:
            time.sleep(0.2)
            with self.lock:
                if self.stopping:
                    return
                dead = [(name, process, log) for name, process, log in self.children if process.poll() is not None]
            for name, process, log in dead:
                print(f"error {name} died (exit {process.returncode})", flush=True)
                if log and os.path.exists(log):
                    with open(log, errors="replace") as file:
                        for line in collections.deque(file, 20):
                            print(f"  {name}: {line.rstrip()}", file=sys.stderr, flush=True)
                self.stop_and_exit(1)

    def stop(self):
        with self.lock:
            self.stopping = True
            children = list(reversed(self.children))
        for _, process, _ in children:
            if process.poll() is None:
                process.terminate()
        for _, process, _ in children:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_and_exit(self, code):
        self.stop()
        os._exit(code)


def wait_for_line(log, text, process, guard_seconds=600):
    """Waits until `text` is in the file `log` (a child's log); returns that line."""
    deadline = time.monotonic() + guard_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"{os.path.basename(log)}: the process ended before '{text}'")
        with open(log, errors="replace") as file:
            for line in file:
                if text in line:
                    return line
        time.sleep(0.1)
    fail(f"no '{text}' in {log} within {guard_seconds} s")


def start_ingest(children, binary, work, extra=(), name="lamp-ingest"):
    """lamp-ingest serve --live-view on SQLite, port chosen by the system; returns (process, base URL)."""
    process, log = children.start(name, [binary, "serve", "--db", os.path.join(work, "ingest.sqlite"),
                                         "--keys", os.path.join(work, "keys"), "--port", "0", "--live-view",
                                         "--poles", os.path.join(work, "poles.csv"),
                                         "--accounts", os.path.join(work, "accounts")] + list(extra))
    line = wait_for_line(log, "listening on", process)
    return process, "http://" + line.strip().rsplit(" ", 1)[-1]


# Installed by Page.addScriptToEvaluateOnNewDocument: runs before live.js.
PAGE_HOOK = """
(function () {
  var lv = window.__lv = { count: 0, perSecond: {}, keep: false, messages: [], handler: [], frames: [], target: null, waiters: [] };
  var add = EventSource.prototype.addEventListener;
  EventSource.prototype.addEventListener = function (type, listener, options) {
    if (type !== 'pole') { return add.call(this, type, listener, options); }
    return add.call(this, type, function (event) {
      var received = Date.now();
      listener.call(this, event);
      var applied = Date.now();
      lv.count += 1;
      var second = Math.floor(applied / 1000);
      lv.perSecond[second] = (lv.perSecond[second] || 0) + 1;
      lv.handler.push(applied - received);
      var device = /"device":"([^"]+)"/.exec(event.data);
      if (device && lv.keep) { lv.messages.push([device[1], applied]); }
      if (lv.target && event.data.indexOf('"device":' + JSON.stringify(lv.target)) >= 0) {
        var row = document.querySelector('#poles tbody tr[data-device="' + lv.target + '"]');
        var text = row ? row.querySelector('.alarms').textContent : '';
        var entry = { received: received, applied: applied, alarms: text, condition: row ? row.className : '' };
        requestAnimationFrame(function () {
          entry.frame = Date.now();
          lv.waiters = lv.waiters.filter(function (waiter) { return !waiter(entry); });
        });
      }
    }, options);
  };
  var last = 0;
  function frame(now) {
    if (last) { lv.frames.push(now - last); }
    last = now;
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})();
"""


def open_page(chromium, url, user, password, profile=None, width=1200, height=900, mobile=False):
    """Chromium signed in on the map page (PAGE_HOOK installed); returns the Browser."""
    browser = Browser(chromium, profile or tempfile.mkdtemp(prefix="lv-chromium-"))
    browser.attach()
    if (width, height) != (1200, 900) or mobile:
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
    browser.call("Page.addScriptToEvaluateOnNewDocument", {"source": PAGE_HOOK})
    browser.sign_in(url, user, password)
    return browser


def close_page(children, browser):
    """Closes Chromium (its ending is then expected)."""
    children.forget(browser.process)
    browser.close()


def percentile(values, fraction):
    """The nearest-rank percentile of `values` (sorted or not)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def clustered(arguments):
    browser = Browser(arguments.chromium, tempfile.mkdtemp(prefix="lv-chromium-"))
    try:
        browser.attach()
        started = time.monotonic()
        browser.sign_in(arguments.url, arguments.user, arguments.password)
        loaded = time.monotonic()
        counts = browser.evaluate(WHEN % (POLES_SHOWN % (arguments.poles, arguments.poles, arguments.poles)))
        shown = time.monotonic()
        say("clustered %d poles (%d rows, %d markers): %.0f ms from opening /login (sign-in included), %.0f ms after the map page's load event"
            % (arguments.poles, counts[0], counts[2], (shown - started) * 1000, (shown - loaded) * 1000))
    finally:
        browser.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["clustered"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--poles", type=int, required=True)
    parser.add_argument("--chromium", default="chromium")
    arguments = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: fail("no progress within 600 s"))
    signal.alarm(600)
    clustered(arguments)


if __name__ == "__main__":
    main()
