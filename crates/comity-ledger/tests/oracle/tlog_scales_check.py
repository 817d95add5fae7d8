"""Independent check of a Comity log directory with tlog-scales (PyPI), driven by tests/it/oracle.rs.

Usage: tlog_scales_check.py LOG_DIR EXPECT.json
EXPECT holds the log vkey, witness vkey, and Comity's own proofs; this script recomputes
everything from the tiles with tlog-scales and compares. Prints one JSON line; exit 1 on mismatch.
"""
import base64
import json
import sys
from pathlib import Path

from tlog_scales.backend import LocalBackend
from tlog_scales.reader import TilesReader
from tlog_scales.signing import Vkey
from tlog_scales.tiles import leaf_hash
from tlog_scales.tlog import ConsistencyProof, InclusionProof


def b64(s):
    return base64.b64decode(s)


def main():
    log_dir, expect_path = Path(sys.argv[1]), Path(sys.argv[2])
    expect = json.loads(expect_path.read_text())
    reader = TilesReader(LocalBackend(log_dir))
    cp = reader.get_checkpoint()
    cp.verify(Vkey.from_string(expect["log_vkey"]))
    cp.verify(Vkey.from_string(expect["witness_vkey"]))
    root = reader.calculate_root_hash()
    result = {"size": cp.size, "root_matches": root == cp.root_hash, "inclusion": 0, "consistency": 0}
    if expect.get("expect_root_mismatch"):
        print(json.dumps(result))
        return 0 if not result["root_matches"] else 1
    if not result["root_matches"]:
        print(json.dumps(result))
        return 1
    for case in expect["inclusion"]:
        i = case["index"]
        entry = reader.get_entry(i)
        assert entry == b64(case["entry"]), f"entry {i} differs"
        theirs = reader.get_inclusion_proof(i, cp.size)
        assert [base64.b64encode(h).decode() for h in theirs.node_hashes] == case["proof"], f"proof {i} differs"
        InclusionProof(i, cp.size, [b64(h) for h in case["proof"]]).check(leaf_hash(entry), cp.root_hash)
        result["inclusion"] += 1
    for case in expect["consistency"]:
        old = case["old_size"]
        old_root = b64(case["old_root"])
        theirs = reader.get_consistency_proof(old, cp.size)
        assert [base64.b64encode(h).decode() for h in theirs.node_hashes] == case["proof"], f"consistency {old} differs"
        ConsistencyProof(old, cp.size, [b64(h) for h in case["proof"]]).check(old_root, cp.root_hash)
        result["consistency"] += 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
