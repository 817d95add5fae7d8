"""Independent implementation of Comity wire format v1 (docs/protocol.md), for interop tests.

Built only on Python's `cryptography` (Ed25519, X25519, HKDF, ChaCha20-Poly1305, ML-KEM), `pyhpke`
(RFC 9180, for the DHKEM-X25519 suite), `xwing-kem` (the X-Wing KEM) and `rfc8785` (JCS). For the
X-Wing suite the RFC 9180 key schedule (mode base, HKDF-SHA256, ChaCha20Poly1305) is written out here.

    python3 comity_interop.py verify VECTOR.json   # checks a Comity-made envelope, receipt, descriptor
    python3 comity_interop.py make VECTOR.json     # prints a Python-made envelope and receipt as JSON
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import sys

try:
    import rfc8785
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    import xwing_kem
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import mlkem
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
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
X25519_SUITE = "DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/ChaCha20Poly1305"
XWING_SUITE = "X-Wing/HKDF-SHA256/ChaCha20Poly1305"
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.CHACHA20_POLY1305)
XWING_KEM_ID, HKDF_SHA256_ID, CHACHA20POLY1305_ID = 0x647A, 0x0001, 0x0003


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
        # X-Wing: SHAKE256(seed) gives the ML-KEM-768 seed (d || z, 64 bytes), then the X25519 secret.
        expanded = hashlib.shake_256(seeds[64:96]).digest(96)
        self.xwing_secret = expanded[:64] + expanded[64:96]
        pk_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]).public_key().public_bytes_raw()
        pk_x = X25519PrivateKey.from_private_bytes(expanded[64:96]).public_key().public_bytes_raw()
        self.xwing_public = pk_m + pk_x

    def hpke_public(self, suite=X25519_SUITE):
        if suite == XWING_SUITE:
            return self.xwing_public
        return self.x25519.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def hkdf_extract(salt, ikm):
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


def xwing_key_schedule(shared_secret, info):
    """RFC 9180 section 5.1, mode base, for KEM X-Wing, HKDF-SHA256, ChaCha20Poly1305."""
    suite_id = b"HPKE" + struct.pack(">HHH", XWING_KEM_ID, HKDF_SHA256_ID, CHACHA20POLY1305_ID)

    def extract(salt, label, ikm):
        return hkdf_extract(salt, b"HPKE-v1" + suite_id + label + ikm)

    def expand(prk, label, ctx, length):
        return hkdf_expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + ctx, length)

    context = b"\x00" + extract(b"", b"psk_id_hash", b"") + extract(b"", b"info_hash", info)
    secret = extract(shared_secret, b"secret", b"")
    return expand(secret, b"key", context, 32), expand(secret, b"base_nonce", context, 12)


def hpke_open(suite, recipient, enc, ct, aad):
    if suite == XWING_SUITE:
        ss = xwing_kem.decapsulate(enc, recipient.xwing_secret, prefer_backend="cryptography")
        key, nonce = xwing_key_schedule(ss, INFO)
        return ChaCha20Poly1305(key).decrypt(nonce, ct, aad)
    skr = KEMKey.from_pyca_cryptography_key(recipient.x25519)
    return SUITE.create_recipient_context(enc, skr, info=INFO).open(ct, aad=aad)


def hpke_seal(suite, recipient, plaintext, aad):
    if suite == XWING_SUITE:
        ss, enc = xwing_kem.encapsulate(recipient.xwing_public, prefer_backend="cryptography")
        key, nonce = xwing_key_schedule(ss, INFO)
        return enc, ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)
    pkr = SUITE.kem.deserialize_public_key(recipient.hpke_public())
    enc, ctx = SUITE.create_sender_context(pkr, info=INFO)
    return enc, ctx.seal(plaintext, aad=aad)


def verify(public, message, signature):
    Ed25519PublicKey.from_public_bytes(public).verify(signature, message)


def check_envelope(wire, recipient, sender_public):
    env = canonical(wire)
    assert set(env) == {"v", "header", "suite", "signer", "enc", "ciphertext", "signature"}, env.keys()
    assert env["v"] == 1 and env["suite"] in (X25519_SUITE, XWING_SUITE)
    assert env["signer"] == key_id(sender_public)
    header = rfc8785.dumps(env["header"])
    enc, ct = unb64(env["enc"]), unb64(env["ciphertext"])
    outer = tbs(OUTER, header, env["suite"].encode(), env["signer"].encode(), enc, ct)
    verify(sender_public, outer, unb64(env["signature"]))
    plaintext = hpke_open(env["suite"], recipient, enc, ct, header)
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
    suite = vector["suite"]
    assert b64(recipient.hpke_public(suite)) == vector["recipient_hpke_key"]
    checks.append("keys derived from the seeds match")
    wire = vector["envelope"].encode()
    env, header, body, plaintext, enc, ct = check_envelope(wire, recipient, sender.signing_public)
    assert header.decode() == vector["header_jcs"] and body.decode() == vector["body_jcs"]
    assert plaintext.decode() == vector["plaintext"]
    checks.append("envelope: canonical JSON, outer signature, HPKE open, inner signature")
    if suite == X25519_SUITE:
        # Re-encrypt with the vector's ephemeral randomness: pyhpke must produce the same bytes.
        eks = SUITE.kem.derive_key_pair(bytes.fromhex(vector["hpke_randomness"])[:32])
        pkr = SUITE.kem.deserialize_public_key(recipient.hpke_public())
        enc2, ctx = SUITE.create_sender_context(pkr, info=INFO, eks=eks)
        assert enc2 == enc and ctx.seal(plaintext, aad=header) == ct
        checks.append("HPKE: same enc and ciphertext from the same ephemeral randomness")
    else:
        # No Python ML-KEM offers seeded encapsulation; re-seal the plaintext with a fresh one instead.
        enc2, ct2 = hpke_seal(suite, recipient, plaintext, header)
        assert hpke_open(suite, recipient, enc2, ct2, header) == plaintext
        checks.append("HPKE: X-Wing key schedule round trip")
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
    suite = vector["suite"]
    enc, ct = hpke_seal(suite, recipient, plaintext, header_jcs)
    signer = key_id(sender.signing_public)
    outer = sender.signing.sign(tbs(OUTER, header_jcs, suite.encode(), signer.encode(), enc, ct))
    envelope = rfc8785.dumps({
        "v": 1, "header": header, "suite": suite, "signer": signer,
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
