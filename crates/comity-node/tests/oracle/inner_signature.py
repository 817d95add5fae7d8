"""What a sender signed, checked by a third party with the sender's public key alone.

Usage: inner_signature.py VIEW.json SENDER_KEY_BASE64 EXPECTED_TEXT

VIEW.json is the answer of GET /api/v1/messages/{id}/signed. The signed bytes are rebuilt from
the header and body as docs/protocol.md section 7.2 defines them (never taken on trust from the
view), the Ed25519 signature is checked with Python's `cryptography`, and a body with one word
changed must fail. Prints a JSON report; exits non-zero on any failure.
"""

import base64
import json
import struct
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ModuleNotFoundError as e:
    sys.exit(f"missing Python package ({e}); install with: pip install -r crates/comity-seal/tests/requirements.txt")

CONTEXT = b"comity/v1/message"


def tbs(header: bytes, body: bytes) -> bytes:
    out = CONTEXT + b"\x00"
    for part in (header, body):
        out += struct.pack(">I", len(part)) + part
    return out


def canonical(value) -> bytes:
    # RFC 8785 for what a Comity header and note hold: strings, integers, booleans, null.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def main() -> None:
    view = json.load(open(sys.argv[1]))
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(sys.argv[2]))
    expected_text = sys.argv[3]
    header = base64.b64decode(view["header_jcs"])
    body = base64.b64decode(view["body_jcs"])
    signature = base64.b64decode(view["signature"])
    checks = []

    assert view["context"] == CONTEXT.decode(), view["context"]
    assert header == canonical(json.loads(header)), "header is not canonical JSON"
    assert body == canonical(json.loads(body)), "body is not canonical JSON"
    checks.append("canonical header and body")

    signed = tbs(header, body)
    assert signed == base64.b64decode(view["signed_bytes"]), "signed_bytes differ from the rebuilt bytes"
    checks.append("signed bytes rebuilt")

    key.verify(signature, signed)
    checks.append("Ed25519 signature verified with the sender's key")

    fields = json.loads(header)
    text = json.loads(body)["text"]
    assert text == expected_text, text
    assert fields["id"] == view["id"] and fields["from"] == view["from"], fields
    checks.append("header and body say what the view says")

    forged = canonical({"text": text.replace("original", "forged")})
    try:
        key.verify(signature, tbs(header, forged))
        sys.exit("a changed body still verifies")
    except InvalidSignature:
        checks.append("a changed body is refused")

    print(json.dumps({"ok": True, "checks": checks, "from": fields["from"], "to": fields["to"]}))


if __name__ == "__main__":
    main()
