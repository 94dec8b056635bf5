#!/usr/bin/env python3
"""Benchmark: an alarm at the pole → visible on an open live-view page (docs/performance.md, "Live view").

Real processes, one machine clock:
  - the cabinet's DI module: Tests/Peers/modbus_server.py on Modbus TCP (unit 7, 16 discrete inputs);
  - a real lampd (board kind "live") reading it through [modbus.traffic_box], uploading to
  - lamp-ingest serve --live-view (SQLite store), and
  - headless Chromium signed in on the map page (live_view_page.PAGE_HOOK records when each
    server-sent event arrived and when the page had applied it; "shown" is the next animation frame).
The driver flips the contact through the peer (the flip time is taken just before the peer is told,
so the latency is counted from before the input changed), waits until the alarm shows in the
pole's row, flips it back, waits until the row shows no alarm, waits a random 0–500 ms (so the
next flip falls anywhere in lampd's poll period) and starts again: each alarm a separate batch.

Prints one line per alarm and a summary: latency = shown − flipped, p50/p99/max, and the split:
  detection  = the event's time on the board (lampd stamps it when its poll sees the change) − flipped
  send       = the batch's arrival at lamp-ingest (received_at_ms in the store) − the event's time
  to page    = the server-sent event received by the page − the batch's arrival
  apply      = shown (next frame after the page applied it) − the event received by the page
Usage: alarm_to_page.py --bin DIR --lampctl PATH --work DIR [--alarms 100] [--contact controller_fault]
       [--poll 250ms] [--debounce-polls 2] [--batch-interval 2s] [--chromium chromium]
"""
import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import time

from live_view_page import Children, say, fail, start_ingest, open_page, close_page, percentile, WHEN

# The contacts of [modbus.traffic_box] with profile di-16 (input numbers) and the alarm each raises.
CONTACTS = {
    "door": (0, "Cabinet door open", "cabinet.door.opened"),
    "controller_fault": (2, "Controller fault", "cabinet.controller-fault.raised"),
}
DEVICE = "bench-pole"


def run(command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="directory of lampd and lamp-ingest")
    parser.add_argument("--lampctl", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--contact", choices=sorted(CONTACTS), default="controller_fault")
    parser.add_argument("--poll", default="250ms")
    parser.add_argument("--debounce-polls", type=int, default=2)
    parser.add_argument("--batch-interval", default="2s")
    parser.add_argument("--chromium", default="chromium")
    arguments = parser.parse_args()
    work = arguments.work
    peers = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Peers")
    input_number, title, event_kind = CONTACTS[arguments.contact]

    # The board's key, enrolled; the inventory (one pole); a viewer account.
    state = os.path.join(work, "state")
    run([arguments.lampctl, "identity", "init", "--state-dir", state])
    key = json.loads(run([arguments.lampctl, "identity", "show", "--state-dir", state, "--json"]))["publicKey"]
    ingest_binary = os.path.join(arguments.bin, "lamp-ingest")
    run([ingest_binary, "enroll", "--keys", os.path.join(work, "keys"), "--device", DEVICE, "--public-key", key])
    with open(os.path.join(work, "poles.csv"), "w") as file:
        file.write("device,label,latitude,longitude,rated_power_w\n%s,Bench pole,50.8503,4.3517,100\n" % DEVICE)
    subprocess.run([ingest_binary, "user", "add", "bench", "--role", "viewer", "--accounts", os.path.join(work, "accounts")],
                   input="bench-password\n", check=True, capture_output=True, text=True)

    children = Children(work)
    try:
        # The DI module.
        peer, _ = children.start("modbus-peer", [sys.executable, os.path.join(peers, "modbus_server.py"), "--tcp", "0"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ready = peer.stdout.readline().decode().split()
        if ready[:2] != ["ready", "tcp"]:
            fail("modbus peer: " + " ".join(ready))
        modbus = ready[2]

        def flip(value):
            at = time.time()
            peer.stdin.write(b"set 7 discrete %d %d\n" % (input_number, value))
            peer.stdin.flush()
            answer = peer.stdout.readline().decode().strip()
            if not answer.startswith("ok "):
                fail("modbus peer: " + answer)
            return at

        _, url = start_ingest(children, ingest_binary, work)
        config = os.path.join(work, "lampd.toml")
        with open(config, "w") as file:
            file.write(f"""[board]
kind = "live"
id = "{DEVICE}"
[storage]
directory = "{state}"
[[modbus.buses]]
name = "cabinet"
tcp = "{modbus}"
[modbus.traffic_box]
bus = "cabinet"
unit = 7
profile = "di-16"
door = 0
flash_mode = false
controller_fault = 2
mains_present = false
on_battery = false
poll = "{arguments.poll}"
debounce_polls = {arguments.debounce_polls}
[uplink]
url = "{url}/v1/batches"
batch_interval = "{arguments.batch_interval}"
""")
        lampd, lampd_log = children.start("lampd", [os.path.join(arguments.bin, "lampd"), "--config", config,
                                                    "--socket", os.path.join(work, "control.sock"), "--log-level", "notice"])

        browser = open_page(arguments.chromium, url, "bench", "bench-password", os.path.join(work, "chromium"))
        children.adopt("chromium", browser.process)
        browser.evaluate(WHEN % ("""
            var row = document.querySelector('#poles tbody tr[data-device="%s"]');
            return document.getElementById('live-state').textContent === 'live' && row && row.querySelector('.seen').textContent !== 'never';
            """ % DEVICE))
        browser.evaluate("window.__lv.target = %s; true" % json.dumps(DEVICE))
        say(f"ready: lampd polls unit 7 at {modbus} every {arguments.poll} (debounce {arguments.debounce_polls} polls), "
            f"batch_interval {arguments.batch_interval}, page {url}; {arguments.alarms} alarms of '{title}'")

        def wait_shown(present):
            return browser.evaluate("""new Promise(function (resolve) {
                window.__lv.waiters.push(function (entry) {
                  var shown = entry.alarms.indexOf(%s) >= 0 && entry.condition === 'c-fault';
                  if (shown !== %s) { return false; }
                  resolve(entry); return true;
                });
              })""" % (json.dumps(title), "true" if present else "false"))

        results = []
        for index in range(arguments.alarms):
            flipped = flip(1)
            opened = wait_shown(True)
            closing = flip(0)
            closed = wait_shown(False)
            results.append({"flipped": flipped * 1000, "received": opened["received"], "applied": opened["applied"],
                            "shown": opened["frame"], "closeFlipped": closing * 1000, "closeShown": closed["frame"]})
            say("alarm %3d: shown %5.0f ms after the flip; closed shown %5.0f ms after its flip"
                % (index + 1, opened["frame"] - flipped * 1000, closed["frame"] - closing * 1000))
            time.sleep(random.uniform(0, 0.5))
        close_page(children, browser)
    finally:
        children.stop()

    # The split, from the board's event times (lamp-ingest export) and the batches' arrival (the store).
    exported = json.loads(run([ingest_binary, "export", "--db", os.path.join(work, "ingest.sqlite")]))
    events = sorted(record["t"] * 1000 for record in exported if record.get("n", "").endswith("/event/" + event_kind))
    with sqlite3.connect(os.path.join(work, "ingest.sqlite")) as database:
        arrivals = sorted(row[0] for row in database.execute("SELECT received_at_ms FROM batch WHERE device = ?", (DEVICE,)))
    split = {"detection": [], "send": [], "to page": [], "apply": []}
    for result in results:
        event = next((t for t in events if t >= result["flipped"] - 5), None)
        arrival = next((t for t in arrivals if t >= result["flipped"]), None)
        if event is None or arrival is None or event > result["shown"]:
            continue
        split["detection"].append(event - result["flipped"])
        split["send"].append(arrival - event)
        split["to page"].append(result["received"] - arrival)
        split["apply"].append(result["shown"] - result["received"])
    latencies = [r["shown"] - r["flipped"] for r in results]
    closes = [r["closeShown"] - r["closeFlipped"] for r in results]

    def figures(values):
        return "p50 %5.0f ms  p99 %5.0f ms  max %5.0f ms" % (percentile(values, 0.5), percentile(values, 0.99), max(values))
    say("")
    say(f"alarm → shown on the page ({len(latencies)} alarms): " + figures(latencies))
    for name, values in split.items():
        if values:
            say(f"  {name:<10} ({len(values)} matched): " + figures(values))
    say(f"close → shown (not urgent: waits for batch_interval {arguments.batch_interval}): " + figures(closes))
    over = sum(1 for value in latencies if value > 2000)
    say(f"over 2 s: {over} of {len(latencies)}")


if __name__ == "__main__":
    main()
