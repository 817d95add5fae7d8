"""Reference PDQ hashes from `pdqhash` (Meta's C++ behind a Python binding) for the Rust tests.

pixels DIR: DIR/manifest.tsv lists `name<TAB>width<TAB>height`; DIR/name.rgb holds raw RGB bytes.
files PATH...: decodes each file with Pillow (converted to RGB) and hashes it.
Prints one JSON object per line: name, quality and the eight dihedral hashes in hex.
"""

import json
import sys

try:
    import numpy as np
    import pdqhash
    from PIL import Image
except ImportError as err:
    print(f"missing oracle package ({err}); run: pip install -r crates/comity-pdq/tests/requirements.txt", file=sys.stderr)
    sys.exit(3)


def to_hex(bits):
    return format(int("".join(str(int(b)) for b in bits), 2), "064x")


def emit(name, rgb):
    hashes, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb, dtype=np.uint8))
    print(json.dumps({"name": name, "quality": int(quality), "hashes": [to_hex(h) for h in hashes]}))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "pixels":
        folder = args[0]
        with open(f"{folder}/manifest.tsv") as manifest:
            for line in manifest:
                name, width, height = line.rstrip("\n").split("\t")
                raw = np.fromfile(f"{folder}/{name}.rgb", dtype=np.uint8)
                emit(name, raw.reshape(int(height), int(width), 3))
    elif mode == "files":
        for path in args:
            with Image.open(path) as image:
                emit(path, np.asarray(image.convert("RGB")))
    else:
        sys.exit(f"unknown mode {mode}")


main()
