#!/usr/bin/env python3
"""Independent verifier of a lampd uplink batch (docs/uplink.md), written from the spec alone.

  uplink_verify.py BATCH_FILE PUBLIC_KEY_BASE64

BATCH_FILE holds one COSE_Sign1 (tag 18) exactly as sent; PUBLIC_KEY_BASE64 is the raw Ed25519
public key that `lampctl identity show --json` prints as "publicKey". The signature is checked
twice, independently: with pycose, and with `cryptography` over a Sig_structure built by cbor2.
On success prints a JSON summary (headers and resolved SenML records) and exits 0.
Exit codes: 1 signature invalid, 2 malformed batch or usage, 3 Python packages missing.
"""
import base64
import hashlib
import json
import sys

try:
    import cbor2
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from pycose.keys import OKPKey
    from pycose.keys.curves import Ed25519
    from pycose.messages import Sign1Message
except ImportError as error:
    print(f"uplink_verify: {error}: run scripts/setup --test", file=sys.stderr)
    sys.exit(3)

ALG, CONTENT_TYPE, KID = 1, 3, 4
DEVICE_ID, SEQUENCE, PREVIOUS_HASH, SPOOL_RANGE, SPOOL_BACKLOG = -65537, -65538, -65539, -65540, -65541
BN, BT, N, U, V, VS, VB, T = -2, -3, 0, 1, 2, 3, 4, 6


def fail(code: int, message: str) -> None:
    print(f"uplink_verify: {message}", file=sys.stderr)
    sys.exit(code)


def main() -> None:
    if len(sys.argv) != 3:
        fail(2, __doc__)
    data = open(sys.argv[1], "rb").read()
    public = base64.b64decode(sys.argv[2])

    try:
        message = cbor2.loads(data)
    except Exception as error:  # noqa: BLE001 - any decoding error means malformed
        fail(2, f"not CBOR: {error}")
    if not isinstance(message, cbor2.CBORTag) or message.tag != 18 or len(message.value) != 4:
        fail(2, "not a tagged COSE_Sign1")
    protected_bytes, unprotected, payload, signature = message.value
    protected = cbor2.loads(protected_bytes)
    if protected.get(ALG) != -8:
        fail(2, f"alg is {protected.get(ALG)}, not EdDSA (-8)")
    if protected.get(KID) != hashlib.sha256(public).digest()[:8]:
        fail(1, "kid does not match the public key")

    # 1. cryptography, over a Sig_structure built here from RFC 9052 section 4.4.
    to_be_signed = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, to_be_signed)
    except InvalidSignature:
        fail(1, "signature invalid (cryptography)")

    # 2. pycose, a complete COSE implementation.
    cose = Sign1Message.decode(data)
    cose.key = OKPKey(crv=Ed25519, x=public)
    if not cose.verify_signature():
        fail(1, "signature invalid (pycose)")

    # Optional (boards before it do not send it): absent is unknown (null), else a uint < 2^63.
    backlog = protected.get(SPOOL_BACKLOG)
    if backlog is not None and (type(backlog) is not int or not 0 <= backlog <= 2**63 - 1):
        fail(2, f"spool backlog (-65541) {backlog!r} is not a whole number 0..2^63-1")

    records = []
    base_name, base_time = "", 0
    for record in cbor2.loads(payload):
        base_name = record.get(BN, base_name)
        base_time = record.get(BT, base_time)
        resolved = {"name": base_name + record[N], "time": base_time + record.get(T, 0)}
        for label, key in ((U, "unit"), (V, "value"), (VS, "string"), (VB, "boolean")):
            if label in record:
                resolved[key] = record[label]
        if "sev" in record:
            resolved["event"] = record[N].rsplit("/event/", 1)[-1].removeprefix("event/")
            resolved["severity"] = record["sev"]
        if "boot_" in record:
            resolved["clockUnsynchronised"] = True
            resolved["bootNanoseconds"] = record["boot_"][1]
        if "q" in record:
            resolved["quality"] = record["q"]
        records.append(resolved)

    print(json.dumps({
        "valid": True,
        "deviceID": protected[DEVICE_ID],
        "kid": protected[KID].hex(),
        "sequence": protected[SEQUENCE],
        "previousHash": protected[PREVIOUS_HASH].hex(),
        "spoolRange": protected[SPOOL_RANGE],
        "spoolBacklog": backlog,
        "contentType": protected[CONTENT_TYPE],
        "hash": hashlib.sha256(data).hexdigest(),
        "records": records,
    }, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
