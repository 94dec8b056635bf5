#!/usr/bin/env python3
"""A Modbus TCP peer that misbehaves on purpose, for lampd's bound and error tests.

    modbus_misbehaving_peer.py MODE [--byte-delay 0.3]

Prints one line "ready 127.0.0.1:PORT" on stdout once it listens, then serves
every connection until stdin closes (so it never outlives the test that
started it). Answers read holding/input registers (functions 3 and 4) of
any unit; register N holds the value N. MODE decides how it answers:

    ok                 a valid answer at once
    trickle            a valid answer, one byte every --byte-delay seconds
    silent             reads the request, never answers
    wrong-function     a valid-looking answer with another function code
    wrong-transaction  a valid-looking answer to another transaction id
    wrong-unit         a valid-looking answer from another unit id
    short              a consistent frame with one register fewer than asked
    truncated          announces all the registers but sends one byte fewer, then stops
    exception          exception 02 (illegal data address)

Plain sockets and struct on purpose: pymodbus would refuse to send these frames.
"""

import argparse
import socket
import struct
import sys
import threading
import time


def answer(mode, request):
    """The bytes to send for one request (MBAP + PDU), or None for no answer."""
    tid, _protocol, _length, unit, function = struct.unpack(">HHHBB", request[:8])
    address, count = struct.unpack(">HH", request[8:12])
    if mode == "silent":
        return None
    if mode == "exception":
        pdu = struct.pack(">BB", function | 0x80, 0x02)
        return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu
    values = [(address + i) & 0xFFFF for i in range(count)]
    announced = 2 * count
    if mode == "short":
        values = values[:-1]
        announced = 2 * len(values)
    data = b"".join(struct.pack(">H", v) for v in values)
    if mode == "truncated":
        data = data[:-1]
    if mode == "wrong-function":
        function = 4 if function == 3 else 3
    if mode == "wrong-transaction":
        tid = (tid + 1) & 0xFFFF
    if mode == "wrong-unit":
        unit = (unit + 1) & 0xFF
    pdu = struct.pack(">BB", function, announced) + data
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def read_exactly(connection, count):
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(connection, mode, byte_delay):
    with connection:
        try:
            while True:
                header = read_exactly(connection, 7)
                if header is None:
                    return
                length = struct.unpack(">H", header[4:6])[0]
                body = read_exactly(connection, length - 1)
                if body is None:
                    return
                reply = answer(mode, header + body)
                if reply is None:
                    continue
                if mode == "trickle":
                    for byte in reply:
                        time.sleep(byte_delay)
                        connection.sendall(bytes([byte]))
                else:
                    connection.sendall(reply)
        except OSError:
            return


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["ok", "trickle", "silent", "wrong-function", "wrong-transaction",
                                         "wrong-unit", "short", "truncated", "exception"])
    parser.add_argument("--byte-delay", type=float, default=0.3)
    arguments = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def accept():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=serve, args=(connection, arguments.mode, arguments.byte_delay), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(f"ready 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies)


if __name__ == "__main__":
    main()
