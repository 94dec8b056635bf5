#!/usr/bin/env python3
"""Independent CBOR peer for the Swift CBOR tests (Tests/UplinkTests/CBORPeerTests.swift).

  cbor_peer.py decode   stdin: one hex string per line  -> stdout: repr() of what cbor2 decodes
  cbor_peer.py encode   stdin: one Python expression per line -> stdout: hex of cbor2.dumps(canonical=True)

Exit 3 if cbor2 is missing (run scripts/setup --test).
"""
import sys

try:
    import cbor2
except ImportError:
    print("cbor_peer: the Python package cbor2 is missing: run scripts/setup --test", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    lines = [line.strip() for line in sys.stdin if line.strip()]
    if mode == "decode":
        for line in lines:
            print(repr(cbor2.loads(bytes.fromhex(line))))
    elif mode == "encode":
        for line in lines:
            value = eval(line, {"CBORTag": cbor2.CBORTag, "CBORSimpleValue": cbor2.CBORSimpleValue})
            print(cbor2.dumps(value, canonical=True).hex())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
