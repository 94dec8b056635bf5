#!/usr/bin/env python3
"""The live view under a reporting fleet, in headless Chromium (docs/performance.md, "Live view").

    live_view_updates.py updates --bin DIR --work DIR [--boards 1000] [--minutes 60] [--minute-ms 1000]
        lamp-fleet's BOARDS boards report (one batch per board per simulated minute, MINUTE_MS real
        milliseconds a minute) into lamp-ingest serve --live-view (SQLite) while a signed-in page is
        open. The page (live_view_page.PAGE_HOOK) counts the server-sent events it applied per second,
        the lag of each (applied − the arrival at lamp-ingest of that pole's newest batch, from the store), and the time
        its handler took; the driver times a Runtime.evaluate round trip every 0.5 s and the page
        records its requestAnimationFrame gaps (is it still responsive?).
    live_view_updates.py screenshots --bin DIR --work DIR --out DIR [--boards 300] [--minutes 720]
        a night of lamp-fleet's city programme (level events with their reasons), then PNGs of the map
        and the list, a pole page, the energy page and the list at phone width (360 px).
"""
import argparse
import bisect
import os
import sqlite3
import subprocess
import sys
import time

from live_view_page import Children, say, fail, start_ingest, open_page, close_page, percentile, WHEN, POLES_SHOWN


# A click on the list's "Condition" heading: the worst poles first.
SORT_BY_CONDITION = "document.querySelector('#poles thead th[data-key=order]').click(); true"


def prepare(arguments, options):
    """The fleet's keys and inventory, and a viewer account."""
    fleet = os.path.join(arguments.bin, "lamp-fleet")
    work = arguments.work
    subprocess.run([fleet, "keys"] + options + ["--out", os.path.join(work, "keys")], check=True, capture_output=True)
    subprocess.run([fleet, "poles"] + options + ["--out", os.path.join(work, "poles.csv")], check=True, capture_output=True)
    subprocess.run([os.path.join(arguments.bin, "lamp-ingest"), "user", "add", "bench", "--role", "operator",
                    "--accounts", os.path.join(work, "accounts")], input=b"bench-password\n", check=True, capture_output=True)


def shown(browser, poles):
    return browser.evaluate(WHEN % (POLES_SHOWN % (poles, poles, poles)))


def figures(values, unit="ms"):
    return "p50 %.0f %s, p99 %.0f %s, max %.0f %s" % (percentile(values, 0.5), unit, percentile(values, 0.99), unit,
                                                     max(values), unit)


def updates(arguments):
    options = ["--boards", str(arguments.boards), "--seed", "1"]
    prepare(arguments, options)
    children = Children(arguments.work)
    try:
        _, url = start_ingest(children, os.path.join(arguments.bin, "lamp-ingest"), arguments.work)
        browser = open_page(arguments.chromium, url, "bench", "bench-password", os.path.join(arguments.work, "chromium"))
        children.adopt("chromium", browser.process)
        shown(browser, arguments.boards)
        browser.evaluate("window.__lv.count = 0; window.__lv.perSecond = {}; window.__lv.keep = true; "
                         "window.__lv.messages = []; window.__lv.handler = []; window.__lv.frames = []; true")
        fleet, fleet_log = children.start("lamp-fleet", [
            os.path.join(arguments.bin, "lamp-fleet"), "run"] + options + [
            "--minutes", str(arguments.minutes), "--minute-ms", str(arguments.minute_ms), "--start-time", str(int(time.time())),
            "--url", url + "/v1/batches", "--concurrency", "256"])
        started = time.time()
        round_trips = []
        children.forget(fleet)
        while fleet.poll() is None:
            before = time.monotonic()
            browser.evaluate("1")
            round_trips.append((time.monotonic() - before) * 1000)
            time.sleep(0.5)
        children.forget(fleet)
        if fleet.returncode != 0:
            fail("lamp-fleet failed: " + open(fleet_log).read()[-2000:])
        finished = time.time()
        time.sleep(3)         # what is still on its way to the page
        stats = browser.evaluate("""(function () {
            var lv = window.__lv;
            return { count: lv.count, perSecond: lv.perSecond, messages: lv.messages, handler: lv.handler, frames: lv.frames,
                     rows: document.querySelectorAll('#poles tbody tr').length };
        })()""")
        close_page(children, browser)
    finally:
        children.stop()
    with open(fleet_log) as file:
        report = file.read().strip().splitlines()
    for line in report[-6:]:
        say("lamp-fleet: " + line)
    seconds = sorted(int(second) for second in stats["perSecond"])
    rates = [stats["perSecond"][str(second)] for second in seconds]
    busy = rates[1:-1] or rates   # whole seconds only
    say("page: %d pole updates applied in %.0f s of fleet (%d rows); per second: mean %.0f, p50 %.0f, max %.0f"
        % (stats["count"], finished - started, stats["rows"], sum(busy) / len(busy), percentile(busy, 0.5), max(busy)))
    # The lag: applied − the arrival (received_at_ms in the store) of that pole's newest batch by then.
    arrivals = {}
    with sqlite3.connect(os.path.join(arguments.work, "ingest.sqlite")) as database:
        for device, received in database.execute("SELECT device, received_at_ms FROM batch ORDER BY received_at_ms"):
            arrivals.setdefault(device, []).append(received)
    lags = []
    for device, applied in stats["messages"]:
        times = arrivals.get(device, [])
        index = bisect.bisect_right(times, applied)
        if index:
            lags.append(applied - times[index - 1])
    say("lag applied − the batch's arrival at lamp-ingest (%d updates): %s" % (len(lags), figures(lags)))
    say("the page's handler per update (parse, row, marker, recount): " + figures(stats["handler"]))
    say("Runtime.evaluate round trip every 0.5 s (%d): %s" % (len(round_trips), figures(round_trips)))
    frames = stats["frames"]
    say("animation frames (%d): gap %s; gaps over 100 ms: %d, over 500 ms: %d"
        % (len(frames), figures(frames), sum(1 for f in frames if f > 100), sum(1 for f in frames if f > 500)))


def screenshots(arguments):
    options = ["--boards", str(arguments.boards), "--seed", "1"]
    prepare(arguments, options)
    os.makedirs(arguments.out, exist_ok=True)
    children = Children(arguments.work)
    try:
        _, url = start_ingest(children, os.path.join(arguments.bin, "lamp-ingest"), arguments.work)
        # Last night, 19:00 to 07:00 UTC, quickly: the lamps' levels and reasons, offline boards, a few
        # doors and lamp faults (fewer than lamp-fleet's defaults, which leave most poles faulty by morning).
        day = int(time.time()) // 86400 * 86400
        fleet, fleet_log = children.start("lamp-fleet", [
            os.path.join(arguments.bin, "lamp-fleet"), "run"] + options + [
            "--minutes", str(arguments.minutes), "--minute-ms", "5", "--start-time", str(day - 86400 + 19 * 3600),
            "--door-every", "3000", "--alarm-every", "20000", "--url", url + "/v1/batches", "--concurrency", "64"])
        children.forget(fleet)
        if fleet.wait() != 0:
            fail("lamp-fleet failed: " + open(fleet_log).read()[-2000:])
        browser = open_page(arguments.chromium, url, "bench", "bench-password", os.path.join(arguments.work, "chromium"))
        children.adopt("chromium", browser.process)
        shown(browser, arguments.boards)
        browser.evaluate(SORT_BY_CONDITION)
        time.sleep(1)
        browser.screenshot(os.path.join(arguments.out, "live-view-city.png"))
        # A pole with an alarm, else the first.
        href = browser.evaluate("""(function () {
            var row = document.querySelector('#poles tbody tr.c-fault') || document.querySelector('#poles tbody tr');
            return row.querySelector('a').getAttribute('href'); })()""")
        browser.navigate(url + href)
        browser.screenshot(os.path.join(arguments.out, "live-view-pole.png"))
        browser.navigate(url + "/energy")
        browser.screenshot(os.path.join(arguments.out, "live-view-energy.png"))
        browser.call("Emulation.setDeviceMetricsOverride", {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})
        browser.navigate(url + "/")
        shown(browser, arguments.boards)
        browser.evaluate(SORT_BY_CONDITION)
        time.sleep(1)
        browser.screenshot(os.path.join(arguments.out, "live-view-phone.png"))
        close_page(children, browser)
    finally:
        children.stop()
    say("screenshots in " + arguments.out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["updates", "screenshots"])
    parser.add_argument("--bin", required=True, help="directory of lamp-ingest and lamp-fleet")
    parser.add_argument("--work", required=True)
    parser.add_argument("--boards", type=int)
    parser.add_argument("--minutes", type=int)
    parser.add_argument("--minute-ms", type=int, default=1000)
    parser.add_argument("--out", help="screenshots: where the PNGs go")
    parser.add_argument("--chromium", default="chromium")
    arguments = parser.parse_args()
    if arguments.mode == "updates":
        arguments.boards = arguments.boards or 1000
        arguments.minutes = arguments.minutes or 60
        updates(arguments)
    else:
        arguments.boards = arguments.boards or 300
        arguments.minutes = arguments.minutes or 720
        if not arguments.out:
            fail("screenshots needs --out")
        screenshots(arguments)


if __name__ == "__main__":
    main()
