#!/usr/bin/env python3
"""Drives Debian's headless Chromium against a lamp-ingest live view (docs/live-view.md).

Line protocol on stdout, for Tests/LiveViewTests/LiveViewBrowserTests.swift:
  anonymous-refused          GET / redirects to /login and GET /api/poles answers 401 without a cookie
  ready <rows> <markers>     signed in; the map and the list show the expected poles
  alarm-seen <ms>            the alarm text appeared in the pole's row without a reload, <ms> after `ready`
  error <text>               anything else (then exit 1)

The page is driven over the DevTools protocol on --remote-debugging-pipe (fd 3: commands to the
browser, fd 4: answers; JSON messages ended by NUL). Every wait is on a browser event or a
promise in the page; the only clock is a hang guard (SIGALRM).

The benchmarks (Benchmarks/live_view_page.py) import `Browser` (with `attach`, `sign_in`,
`screenshot`), `WHEN` and `POLES_SHOWN` from here.
"""
import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


def say(line):
    print(line, flush=True)


def note(text):
    print(text, file=sys.stderr, flush=True)


def fail(text):
    say("error " + text)
    sys.exit(1)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def check_anonymous(url):
    opener = urllib.request.build_opener(NoRedirect)
    for path, want in (("/", 303), ("/api/poles", 401), ("/api/events", 401), ("/poles/x", 303)):
        try:
            status = opener.open(url + path, timeout=30).status
        except urllib.error.HTTPError as error:
            status = error.code
        if status != want:
            fail(f"anonymous GET {path} answered {status}, not {want}")
    say("anonymous-refused")


class Browser:
    def __init__(self, chromium, profile):
        to_browser_read, self.to_browser = os.pipe()
        self.from_browser, from_browser_write = os.pipe()
        # The child sees fd 3 (reads commands) and fd 4 (writes answers): a shell moves them there.
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                   "--user-data-dir=" + profile, "--no-first-run", "--disable-extensions", "--window-size=1200,900",
                   "about:blank"]
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", 'exec "$@" 3<&%d 4>&%d' % (to_browser_read, from_browser_write), "sh"] + command,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(to_browser_read, from_browser_write))
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.next_id

    def read(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                fail("chromium closed its pipe (exit %s)" % self.process.poll())
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=True):
        wanted = self.send(method, params, session)
        while True:
            message = self.read()
            if message.get("id") == wanted:
                if "error" in message:
                    fail(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_event(self, method):
        for index, message in enumerate(self.events):
            if message.get("method") == method:
                del self.events[: index + 1]
                return message
        while True:
            message = self.read()
            if message.get("method") == method:
                return message

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in result:
            fail("script: " + json.dumps(result["exceptionDetails"])[:400])
        return result["result"].get("value")

    def navigate(self, url):
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def attach(self):
        """Opens a page (a tab, 1200 × 900) and attaches to it."""
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def sign_in(self, url, user, password):
        """Signs in on `url`/login; returns once the map page (/) has loaded."""
        self.navigate(url + "/login")
        self.events.clear()
        self.evaluate("""
            document.querySelector('input[name=name]').value = %s;
            document.querySelector('input[name=password]').value = %s;
            document.querySelector('form').submit(); true""" % (json.dumps(user), json.dumps(password)))
        self.wait_event("Page.loadEventFired")
        if self.evaluate("location.pathname") != "/":
            fail("sign-in did not reach the map: " + str(self.evaluate("document.body.innerText.slice(0, 200)")))

    def screenshot(self, path):
        """Saves a PNG of the page as it is shown."""
        shot = self.call("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as file:
            file.write(base64.b64decode(shot["data"]))

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except OSError:
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# Resolves when test() holds, checked at once and on every change of the page.
WHEN = """
new Promise(function (resolve) {
  function test() { %s }
  function check() { var value = test(); if (value) { observer.disconnect(); resolve(value); } }
  var observer = new MutationObserver(check);
  observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  check();
})
"""

# The test of WHEN once the list shows %d rows, the map %d poles and %d markers (clustered or
# single), and the live updates are connected: then [rows, poles, markers].
POLES_SHOWN = """
    var rows = document.querySelectorAll('#poles tbody tr').length;
    var markers = Number(document.body.dataset.poles || 0);
    var live = document.getElementById('live-state').textContent === 'live';
    var clusters = 0;
    document.querySelectorAll('.marker-cluster').forEach(function (c) { clusters += Number(c.textContent) || 0; });
    var single = document.querySelectorAll('.leaflet-marker-icon:not(.marker-cluster)').length;
    return rows >= %d && markers >= %d && live && clusters + single >= %d ? [rows, markers, clusters + single] : null;
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--poles", type=int, required=True, help="rows the list must show")
    parser.add_argument("--device", required=True, help="the pole whose alarm is awaited")
    parser.add_argument("--alarm", required=True, help="the alarm title awaited in its row")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--profile", required=True)
    parser.add_argument("--screenshot", help="save a PNG of the page once the alarm shows")
    parser.add_argument("--hang-guard", type=int, default=120)
    arguments = parser.parse_args()

    def hang(*_):
        fail(f"no progress within {arguments.hang_guard} s")
    signal.signal(signal.SIGALRM, hang)
    signal.alarm(arguments.hang_guard)

    check_anonymous(arguments.url)
    browser = Browser(arguments.chromium, arguments.profile)
    try:
        browser.attach()
        note("attached")
        browser.sign_in(arguments.url, arguments.user, arguments.password)
        note("signed in")
        counts = browser.evaluate(WHEN % (POLES_SHOWN % (arguments.poles, arguments.poles, arguments.poles)))
        ready = time.monotonic()
        # The wait is sent before `ready` is said, so the change cannot slip past it.
        wanted = browser.send("Runtime.evaluate", {"expression": WHEN % ("""
            var row = Array.prototype.find.call(document.querySelectorAll('#poles tbody tr'), function (r) { return r.dataset.device === %s; });
            return row && row.querySelector('.alarms').textContent.indexOf(%s) >= 0 && row.className === 'c-fault' ? row.querySelector('.alarms').textContent : null;
            """ % (json.dumps(arguments.device), json.dumps(arguments.alarm))), "awaitPromise": True, "returnByValue": True})
        say("ready %d %d" % (counts[0], counts[2]))
        while True:
            message = browser.read()
            if message.get("id") == wanted:
                break
            if message.get("method") == "Page.frameNavigated" and not message.get("params", {}).get("frame", {}).get("parentId"):
                fail("the page navigated (a reload?) before the alarm showed")
        seen = time.monotonic()
        if "error" in message or "exceptionDetails" in message.get("result", {}):
            fail("alarm wait: " + json.dumps(message)[:400])
        say("alarm-seen %d" % round((seen - ready) * 1000))
        if arguments.screenshot:
            browser.screenshot(arguments.screenshot)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
