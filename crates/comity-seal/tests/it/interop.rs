//! Comity against an independent implementation: Python `cryptography`, `pyhpke`, `xwing-kem` and
//! `rfc8785`
//! (tests/interop/comity_interop.py). Missing packages fail the test with the pip command.

use std::path::PathBuf;
use std::process::Command;

use comity_model::Body;
use comity_seal::{Envelope, NodeSecrets, Receipt, Suite, open};
use serde_json::Value;

use crate::support::FixedRng;
use crate::vectors::{file_name, vector_path};

fn python(mode: &str, suite: Suite) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/comity_interop.py");
    let vector = vector_path(file_name(suite));
    let out = Command::new("python3").arg(&script).arg(mode).arg(&vector).output().unwrap_or_else(|e| {
        panic!("cannot run python3 ({e}); install Python 3, then: pip install -r crates/comity-seal/tests/requirements.txt")
    });
    assert!(
        out.status.success(),
        "python interop `{mode}` {suite} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn python_opens_and_verifies_comity_vectors() {
    for suite in Suite::ALL {
        let report = python("verify", suite);
        assert_eq!(report["ok"], true);
        assert_eq!(report["checks"].as_array().unwrap().len(), 5, "{report}");
    }
}

#[test]
fn comity_opens_a_python_made_envelope_and_receipt() {
    for suite in Suite::ALL {
        python_made(suite);
    }
}

fn python_made(suite: Suite) {
    let made = python("make", suite);
    let vector: Value =
        serde_json::from_str(&std::fs::read_to_string(vector_path(file_name(suite))).unwrap())
            .unwrap();
    let seeds = |k: &str| hex::decode(vector[k].as_str().unwrap()).unwrap();
    let sender = NodeSecrets::generate(&mut FixedRng(seeds("sender_secret_seeds"), 0));
    let recipient = NodeSecrets::generate(&mut FixedRng(seeds("recipient_secret_seeds"), 0));

    let wire = made["envelope"].as_str().unwrap().as_bytes();
    let env = Envelope::from_bytes(wire).unwrap();
    assert_eq!(env.suite, suite);
    assert_eq!(
        env.to_bytes(),
        wire,
        "Python's RFC 8785 bytes are Comity's canonical bytes"
    );
    let opened = open(&env, &recipient, &[sender.signing_public()]).unwrap();
    match &opened.body {
        Body::Note(n) => assert_eq!(n.text, made["body"]["text"].as_str().unwrap()),
        other => panic!("unexpected body {other:?}"),
    }
    let receipt = Receipt::from_bytes(made["receipt"].as_str().unwrap().as_bytes()).unwrap();
    receipt
        .verify(&[recipient.signing_public()], &Envelope::digest(wire))
        .unwrap();
    assert_eq!(receipt.log_index, Some(3));
    assert_eq!(receipt.message, env.header.id);
}
