#!/usr/bin/env python3
"""Independent signer of a lampd desired state (docs/downlink.md), written from the spec alone.

  desired_state_sign.py SEED_HEX < PAYLOAD_JSON

PAYLOAD_JSON is the payload map of docs/downlink.md written as JSON (every value there is an
integer, a text, an array or a map, so JSON says it exactly). SEED_HEX is the 32-byte Ed25519
seed of the city role key. Prints the tagged COSE_Sign1 as hex and exits 0; the signature is
made with pycose and checked again with `cryptography` over a Sig_structure built by cbor2.
Exit codes: 2 usage, 3 Python packages missing.
"""
import hashlib
import json
import sys

try:
    import cbor2
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from pycose.algorithms import EdDSA
    from pycose.headers import Algorithm, ContentType, KID
    from pycose.keys import OKPKey
    from pycose.keys.curves import Ed25519
    from pycose.messages import Sign1Message
except ImportError as error:
    print(f"desired_state_sign: {error}: run scripts/setup --test", file=sys.stderr)
    sys.exit(3)

CONTENT_TYPE = "application/lampd-desired-state+cbor"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    seed = bytes.fromhex(sys.argv[1])
    payload = json.load(sys.stdin)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # kid: the first 8 bytes of SHA-256 over the raw 32-byte public key.
    kid = hashlib.sha256(public).digest()[:8]
    message = Sign1Message(
        phdr={Algorithm: EdDSA, ContentType: CONTENT_TYPE, KID: kid},
        uhdr={},
        payload=cbor2.dumps(payload, canonical=True),
    )
    message.key = OKPKey(crv=Ed25519, d=seed, x=public)
    encoded = message.encode(tag=True)
    # Check it once more by hand: tag 18, [protected, {}, payload, signature].
    tagged = cbor2.loads(encoded)
    protected, unprotected, body, signature = tagged.value
    assert tagged.tag == 18 and unprotected == {}
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", body])
    private.public_key().verify(signature, to_be_signed)
    print(encoded.hex())


if __name__ == "__main__":
    main()
