#!/usr/bin/env python3
"""Python 3.11's tomllib as a peer for the Swift TOML parser's differential tests.

Reads one document per line on stdin, as hex of its bytes, and answers one line per document:
  OK <canonical form>   tomllib accepted it (canonical form below, the same as the Swift test's)
  BIG                   tomllib accepted it, but an integer does not fit 64 bits (ours refuses it)
  ERR <message>         tomllib refused it (or the bytes are not UTF-8)

Canonical form: a table is {hexkey:value,...} with keys (hex of UTF-8) sorted, an array [v,...],
a string s<hex of UTF-8>, an integer i<decimal>, a float f<hex of IEEE 754 bits> or fnan,
a boolean b1/b0, a date or time d<kind>:<RFC 3339 text> (fraction in microseconds, offset +HH:MM).
"""
import datetime
import struct
import sys
import tomllib

INT64 = range(-(2**63), 2**63)


class Big(Exception):
    pass


def two(n):
    return f"{n:02d}"


def time_text(t):
    text = f"{two(t.hour)}:{two(t.minute)}:{two(t.second)}"
    return text + (f".{t.microsecond:06d}" if t.microsecond else "")


def canon(v):
    if isinstance(v, dict):
        items = sorted((k.encode().hex(), canon(x)) for k, x in v.items())
        return "{" + ",".join(f"{k}:{x}" for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, str):
        return "s" + v.encode().hex()
    if isinstance(v, bool):
        return "b1" if v else "b0"
    if isinstance(v, int):
        if v not in INT64:
            raise Big()
        return f"i{v}"
    if isinstance(v, float):
        return "fnan" if v != v else "f" + struct.pack(">d", v).hex()
    if isinstance(v, datetime.datetime):
        text = f"{v.year:04d}-{two(v.month)}-{two(v.day)}T{time_text(v)}"
        if v.tzinfo is None:
            return "ddatetime-local:" + text
        minutes = int(v.utcoffset().total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        return f"ddatetime:{text}{sign}{two(minutes // 60)}:{two(minutes % 60)}"
    if isinstance(v, datetime.date):
        return f"ddate-local:{v.year:04d}-{two(v.month)}-{two(v.day)}"
    if isinstance(v, datetime.time):
        return "dtime-local:" + time_text(v)
    raise TypeError(type(v))


for line in sys.stdin:
    try:
        document = bytes.fromhex(line.strip()).decode("utf-8")
        answer = "OK " + canon(tomllib.loads(document))
    except Big:
        answer = "BIG"
    except Exception as error:  # noqa: BLE001 - any refusal (RecursionError included) is a refusal
        answer = "ERR " + " ".join(str(error).split())
    sys.stdout.write(answer + "\n")
