"""An independent implementation of the Comity evidence blob format (docs/evidence.md), on Python
`cryptography` (OpenSSL), used as a test oracle by tests/it/blob_format.rs.

    python3 blob_oracle.py decrypt WRAP_KEY_HEX BLOB_FILE PLAIN_FILE
    python3 blob_oracle.py encrypt VERSION WRAP_KEY_HEX CHUNK_SIZE PLAIN_FILE BLOB_FILE
    python3 blob_oracle.py vectors > tests/data/blob-vectors.json

Versions 1 and 2 wrap the blob key in a 99-byte header; version 3 wraps it in a 120-byte trailer
whose associated data holds the plaintext's SHA-256 and length.

`cryptography` has no XChaCha20-Poly1305, so the key wrap is composed here as the XChaCha draft
(draft-irtf-cfrg-xchacha-03) defines it: HChaCha20 subkey, then ChaCha20-Poly1305 with nonce
0x00000000 || the last 8 nonce bytes. HChaCha20 is checked against the draft's vector first.
"""

import hashlib
import json
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

MAGIC = {1: b"CMTYEVB1", 2: b"CMTYEVB2", 3: b"CMTYEVB3"}
LEGACY_HEADER_LEN = 99
HEAD_LEN = 19
TRAILER_LEN = 120
TAG_LEN = 16
KEY_ID_CONTEXT = b"comity/v1/evidence-wrap-key-id"


def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8L", key)) + list(struct.unpack("<4L", nonce16))
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12)
        _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14)
        _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15)
        _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13)
        _quarter(s, 3, 4, 9, 14)
    return struct.pack("<8L", *(s[0:4] + s[12:16]))


def _check_hchacha20():
    out = hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927"))
    expected = "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
    assert out.hex() == expected, "HChaCha20 differs from draft-irtf-cfrg-xchacha-03 2.2.1"


def _xchacha(key, nonce24):
    return ChaCha20Poly1305(hchacha20(key, nonce24[:16])), b"\0" * 4 + nonce24[16:]


def key_id(wrap):
    return hashlib.sha256(KEY_ID_CONTEXT + b"\0" + wrap).digest()[:8]


def _chunk_aead(version, blob_key):
    return ChaCha20Poly1305(blob_key) if version == 1 else AESGCM(blob_key)


def _nonce(prefix, i, last):
    return prefix + struct.pack(">L", i) + (b"\x01" if last else b"\x00")


def _chunks(version, blob_key, prefix, head, plain, chunk_size):
    chunks = max(1, -(-len(plain) // chunk_size))
    aead = _chunk_aead(version, blob_key)
    return b"".join(
        aead.encrypt(
            _nonce(prefix, i, i == chunks - 1),
            plain[i * chunk_size : (i + 1) * chunk_size],
            head[:19],
        )
        for i in range(chunks)
    )


def encrypt(version, wrap, chunk_size, plain, blob_key, prefix, wrap_nonce):
    head = MAGIC[version] + struct.pack(">L", chunk_size) + prefix
    if version < 3:
        header = head + key_id(wrap) + wrap_nonce
        aead, n = _xchacha(wrap, wrap_nonce)
        header += aead.encrypt(n, blob_key, header[:27])
        assert len(header) == LEGACY_HEADER_LEN
        return header + _chunks(version, blob_key, prefix, header, plain, chunk_size)
    # Version 3: the key is wrapped in a trailer bound to the plaintext's digest and length.
    bound = hashlib.sha256(plain).digest() + struct.pack(">Q", len(plain)) + key_id(wrap)
    aead, n = _xchacha(wrap, wrap_nonce)
    trailer = bound + wrap_nonce + aead.encrypt(n, blob_key, head + bound)
    assert len(head) == HEAD_LEN and len(trailer) == TRAILER_LEN
    return head + _chunks(version, blob_key, prefix, head, plain, chunk_size) + trailer


def decrypt(wrap, blob):
    version = {v: k for k, v in MAGIC.items()}[blob[:8]]
    (chunk_size,) = struct.unpack(">L", blob[8:12])
    if version < 3:
        header = blob[:LEGACY_HEADER_LEN]
        assert header[19:27] == key_id(wrap), "blob wrapped under another key"
        aead, n = _xchacha(wrap, header[27:51])
        blob_key = aead.decrypt(n, header[51:99], header[:27])
        body = blob[LEGACY_HEADER_LEN:]
    else:
        head, trailer = blob[:HEAD_LEN], blob[-TRAILER_LEN:]
        assert trailer[40:48] == key_id(wrap), "blob wrapped under another key"
        aead, n = _xchacha(wrap, trailer[48:72])
        blob_key = aead.decrypt(n, trailer[72:], head + trailer[:48])
        body = blob[HEAD_LEN:-TRAILER_LEN]
    slot = chunk_size + TAG_LEN
    chunks = max(1, -(-len(body) // slot))
    aead = _chunk_aead(version, blob_key)
    plain = b"".join(
        aead.decrypt(
            _nonce(blob[12:19], i, i == chunks - 1),
            body[i * slot : (i + 1) * slot],
            blob[:19],
        )
        for i in range(chunks)
    )
    if version >= 3:
        assert hashlib.sha256(plain).digest() == trailer[:32], "not the item the trailer names"
        assert struct.pack(">Q", len(plain)) == trailer[32:40], "not the length the trailer names"
    return plain


def vectors():
    """Fixed keys and randomness, so that the file is reproducible."""
    wrap = bytes(range(32))
    plain = bytes((i * 7 + 3) % 251 for i in range(2500))
    out = []
    for version in (1, 2, 3):
        blob_key = hashlib.sha256(b"blob key v%d" % version).digest()
        prefix = hashlib.sha256(b"prefix v%d" % version).digest()[:7]
        wrap_nonce = hashlib.sha256(b"wrap nonce v%d" % version).digest()[:24]
        blob = encrypt(version, wrap, 1024, plain, blob_key, prefix, wrap_nonce)
        assert decrypt(wrap, blob) == plain
        out.append(
            {
                "version": version,
                "wrap_key_hex": wrap.hex(),
                "blob_key_hex": blob_key.hex(),
                "chunk_size": 1024,
                "plaintext_hex": plain.hex(),
                "plaintext_sha256": hashlib.sha256(plain).hexdigest(),
                "blob_hex": blob.hex(),
            }
        )
    return out


def main(args):
    _check_hchacha20()
    if args[0] == "decrypt":
        with open(args[2], "rb") as f:
            plain = decrypt(bytes.fromhex(args[1]), f.read())
        with open(args[3], "wb") as f:
            f.write(plain)
    elif args[0] == "encrypt":
        with open(args[4], "rb") as f:
            plain = f.read()
        blob = encrypt(
            int(args[1]),
            bytes.fromhex(args[2]),
            int(args[3]),
            plain,
            os.urandom(32),
            os.urandom(7),
            os.urandom(24),
        )
        with open(args[5], "wb") as f:
            f.write(blob)
    elif args[0] == "vectors":
        json.dump(vectors(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
