//! Ed25519 edge cases from C2SP CCTV (`tests/vectors/ed25519-cctv/`, with its licence).
//!
//! Every case is a signature that some verifier accepts. Comity accepts exactly those that pass
//! the strict rules of docs/protocol.md: no small-order public key or R, canonical encodings of A
//! and R, and the cofactorless equation. So a case is accepted if and only if none of the flags
//! `low_order_A`, `low_order_R`, `non_canonical_A`, `non_canonical_R`, `low_order_residue` is set.
//! Mixed-order points (`low_order_component_*`) are accepted when the cofactorless equation holds.

use std::path::PathBuf;

use comity_seal::PublicKey;
use serde_json::Value;

const REFUSED_FLAGS: [&str; 5] = [
    "low_order_A",
    "low_order_R",
    "non_canonical_A",
    "non_canonical_R",
    "low_order_residue",
];

fn cases() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/ed25519-cctv/ed25519vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: the vectors are part of the tree", path.display()));
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

#[test]
fn every_case_has_the_outcome_our_rules_predict() {
    let cases = cases();
    assert_eq!(cases.len(), 914);
    let mut accepted = 0;
    for case in &cases {
        let bytes = |k: &str| hex::decode(case[k].as_str().unwrap()).unwrap();
        let key = PublicKey(bytes("key").try_into().unwrap());
        let sig: [u8; 64] = bytes("sig").try_into().unwrap();
        let msg = case["msg"].as_str().unwrap().as_bytes();
        let flags: Vec<&str> = case["flags"]
            .as_array()
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let expect = !flags.iter().any(|f| REFUSED_FLAGS.contains(f));
        assert_eq!(
            key.verify(msg, &sig),
            expect,
            "case {} flags {flags:?}",
            case["number"]
        );
        accepted += usize::from(expect);
    }
    assert_eq!(accepted, 43, "accepted count changed");
}
