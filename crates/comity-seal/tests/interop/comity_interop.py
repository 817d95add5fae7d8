"""Independent implementation of Comity wire format v1 (docs/protocol.md), for interop tests.

Built only on Python's `cryptography` (Ed25519, X25519), `pyhpke` (RFC 9180) and `rfc8785` (JCS).

    python3 comity_interop.py verify VECTOR.json   # checks a Comity-made envelope, receipt, descriptor
    python3 comity_interop.py make VECTOR.json     # prints a Python-made envelope and receipt as JSON
"""

import base64
import hashlib
import json
import os
import struct
import sys

try:
    import rfc8785
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey
except ImportError as e:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.stderr.write(f"missing Python package ({e}); install with: pip install -r {here}/requirements.txt\n")
    sys.exit(3)

OUTER = b"comity/v1/envelope-outer"
INNER = b"comity/v1/message"
RECEIPT = b"comity/v1/receipt"
DESCRIPTOR = b"comity/v1/descriptor"
INFO = b"comity/v1/envelope"
SUITE_NAME = "DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/ChaCha20Poly1305"
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.CHACHA20_POLY1305)


def tbs(context, *parts):
    out = context + b"\x00"
    for p in parts:
        out += struct.pack(">I", len(p)) + p
    return out


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text, validate=True)


def canonical(data):
    """Parses JSON bytes and insists they are already in RFC 8785 form."""
    value = json.loads(data)
    if rfc8785.dumps(value) != data:
        raise ValueError("not canonical JSON")
    return value


def ed_public(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public):
    return hashlib.sha256(public).digest()[:8].hex()


class Node:
    """Keys from the 128 secret bytes: signing seed, X25519 secret, X-Wing seed, TLS seed."""

    def __init__(self, seeds_hex):
        seeds = bytes.fromhex(seeds_hex)
        self.signing = Ed25519PrivateKey.from_private_bytes(seeds[0:32])
        self.x25519 = X25519PrivateKey.from_private_bytes(seeds[32:64])
        self.signing_public = ed_public(self.signing)

    def hpke_public(self):
        return self.x25519.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify(public, message, signature):
    Ed25519PublicKey.from_public_bytes(public).verify(signature, message)


def check_envelope(wire, recipient, sender_public):
    env = canonical(wire)
    assert set(env) == {"v", "header", "suite", "signer", "enc", "ciphertext", "signature"}, env.keys()
    assert env["v"] == 1 and env["suite"] == SUITE_NAME
    assert env["signer"] == key_id(sender_public)
    header = rfc8785.dumps(env["header"])
    enc, ct = unb64(env["enc"]), unb64(env["ciphertext"])
    outer = tbs(OUTER, header, env["suite"].encode(), env["signer"].encode(), enc, ct)
    verify(sender_public, outer, unb64(env["signature"]))
    skr = KEMKey.from_pyca_cryptography_key(recipient.x25519)
    plaintext = SUITE.create_recipient_context(enc, skr, info=INFO).open(ct, aad=header)
    inner = canonical(plaintext)
    assert set(inner) == {"body", "signature"}
    body = rfc8785.dumps(inner["body"])
    verify(sender_public, tbs(INNER, header, body), unb64(inner["signature"]))
    return env, header, body, plaintext, enc, ct


def check_receipt(wire, recipient_public, envelope_wire):
    receipt = canonical(wire)
    assert receipt["v"] == 1
    assert unb64(receipt["digest"]) == hashlib.sha256(envelope_wire).digest()
    assert receipt["signer"] == key_id(recipient_public)
    unsigned = {k: v for k, v in receipt.items() if k != "signature"}
    verify(recipient_public, tbs(RECEIPT, rfc8785.dumps(unsigned)), unb64(receipt["signature"]))
    return receipt


def cmd_verify(vector):
    checks = []
    sender, recipient = Node(vector["sender_secret_seeds"]), Node(vector["recipient_secret_seeds"])
    assert b64(sender.signing_public) == vector["sender_signing_key"]
    assert b64(recipient.hpke_public()) == vector["recipient_hpke_key"]
    checks.append("keys derived from the seeds match")
    wire = vector["envelope"].encode()
    env, header, body, plaintext, enc, ct = check_envelope(wire, recipient, sender.signing_public)
    assert header.decode() == vector["header_jcs"] and body.decode() == vector["body_jcs"]
    assert plaintext.decode() == vector["plaintext"]
    checks.append("envelope: canonical JSON, outer signature, HPKE open, inner signature")
    # Re-encrypt with the vector's ephemeral randomness: pyhpke must produce the same bytes.
    eks = SUITE.kem.derive_key_pair(bytes.fromhex(vector["hpke_randomness"])[:32])
    pkr = SUITE.kem.deserialize_public_key(recipient.hpke_public())
    enc2, ctx = SUITE.create_sender_context(pkr, info=INFO, eks=eks)
    assert enc2 == enc and ctx.seal(plaintext, aad=header) == ct
    checks.append("HPKE: same enc and ciphertext from the same ephemeral randomness")
    assert hashlib.sha256(wire).hexdigest() == vector["digest"]
    receipt = check_receipt(vector["receipt"].encode(), recipient.signing_public, wire)
    assert receipt["message"] == env["header"]["id"] and receipt["from"] == env["header"]["to"]
    checks.append("receipt: canonical JSON, digest, signature")
    signed = canonical(vector["recipient_descriptor"].encode())
    d = signed["descriptor"]
    assert unb64(d["signing_key"]) == recipient.signing_public
    verify(recipient.signing_public, tbs(DESCRIPTOR, rfc8785.dumps(d)), unb64(signed["self_signature"]))
    checks.append("descriptor: self-signature")
    return {"ok": True, "checks": checks}


def uuid7(unix_ms, rand):
    b = bytearray(unix_ms.to_bytes(6, "big") + rand)
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def cmd_make(vector):
    """Python plays both sides: dz-moj seals a note to fr-ocl, and fr-ocl signs the receipt."""
    sender, recipient = Node(vector["sender_secret_seeds"]), Node(vector["recipient_secret_seeds"])
    msg_id = uuid7(1_795_000_000_500, os.urandom(10))
    header = {
        "id": msg_id,
        "from": "dz-moj",
        "to": "fr-ocl",
        "kind": "note",
        "conversation": msg_id,
        "in_reply_to": None,
        "sent_at": "2026-11-18T10:40:00.500Z",
        "schema": 1,
        "handling": {
            "classification": "restricted",
            "confidential": True,
            "purpose_limited": True,
            "no_onward_transfer": True,
        },
    }
    body = {"text": "Envoyé depuis Python — مرحبا \u2028 \"quoted\" \U0001F512"}
    header_jcs, body_jcs = rfc8785.dumps(header), rfc8785.dumps(body)
    inner = sender.signing.sign(tbs(INNER, header_jcs, body_jcs))
    plaintext = rfc8785.dumps({"body": body, "signature": b64(inner)})
    pkr = SUITE.kem.deserialize_public_key(recipient.hpke_public())
    enc, ctx = SUITE.create_sender_context(pkr, info=INFO)
    ct = ctx.seal(plaintext, aad=header_jcs)
    signer = key_id(sender.signing_public)
    outer = sender.signing.sign(tbs(OUTER, header_jcs, SUITE_NAME.encode(), signer.encode(), enc, ct))
    envelope = rfc8785.dumps({
        "v": 1, "header": header, "suite": SUITE_NAME, "signer": signer,
        "enc": b64(enc), "ciphertext": b64(ct), "signature": b64(outer),
    })
    unsigned = {
        "v": 1, "message": msg_id, "digest": b64(hashlib.sha256(envelope).digest()),
        "from": "fr-ocl", "to": "dz-moj", "received_at": "2026-11-18T10:40:01.000Z",
        "log_index": 3, "signer": key_id(recipient.signing_public),
    }
    sig = recipient.signing.sign(tbs(RECEIPT, rfc8785.dumps(unsigned)))
    receipt = rfc8785.dumps(dict(unsigned, signature=b64(sig)))
    # Sanity: our own checker accepts what we made.
    check_envelope(envelope, recipient, sender.signing_public)
    check_receipt(receipt, recipient.signing_public, envelope)
    return {"envelope": envelope.decode(), "receipt": receipt.decode(), "body": body}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("verify", "make"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    with open(sys.argv[2], encoding="utf-8") as f:
        vector = json.load(f)
    result = cmd_verify(vector) if sys.argv[1] == "verify" else cmd_make(vector)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
