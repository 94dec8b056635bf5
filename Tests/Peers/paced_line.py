#!/usr/bin/env python3
"""A serial line at a real speed between two ptys, for bus-time measurements.

    paced_line.py --baud 9600 --bits 11 PTY_A PTY_B

A pty pair (socat) passes bytes at once whatever baud rate is set on it, so
a Modbus RTU exchange over it costs no wire time. This relay opens PTY_A and
PTY_B (one end of two socat pty pairs) and passes every byte from one to the
other no earlier than a real line would: one character takes BITS / BAUD
seconds (11 bits at 9600 baud, 8E1 as lampd's default bus: 1.146 ms), one
character after another in each direction. Prints "ready" once both are open;
exits when stdin closes (so it never outlives the test that started it).
"""

import argparse
import collections
import os
import select
import sys
import termios
import threading
import time
import tty


def open_raw(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return fd


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--bits", type=int, default=11)
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    char_time = args.bits / args.baud
    a, b = open_raw(args.a), open_raw(args.b)
    peer = {a: b, b: a}
    # Per direction (keyed by the receiving fd): bytes waiting, and when the line is free.
    queue = {a: collections.deque(), b: collections.deque()}
    free_at = {a: 0.0, b: 0.0}
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        due = [q[0][0] for q in queue.values() if q]
        timeout = max(0.0, min(due) - now) if due else 1.0
        readable, _, _ = select.select([a, b], [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            target = peer[fd]
            for byte in data:
                # A character arrives once it has been fully sent on the line.
                free_at[target] = max(free_at[target], now) + char_time
                queue[target].append((free_at[target], byte))
        for target, q in queue.items():
            out = bytearray()
            while q and q[0][0] <= now:
                out.append(q.popleft()[1])
            if out:
                os.write(target, bytes(out))


if __name__ == "__main__":
    main()
