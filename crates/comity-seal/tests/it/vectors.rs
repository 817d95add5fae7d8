//! Golden vectors: fixed keys and HPKE randomness, the exact envelope, receipt and descriptor
//! bytes. `COMITY_REGEN_VECTORS=1 cargo test -p comity-seal vectors` rewrites the files.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use comity_model::{MessageKind, SCHEMA_VERSION};
use comity_seal::{
    Envelope, HPKE_INFO, NodeSecrets, Receipt, SignedDescriptor, Suite, key_id, open, seal_with,
};
use serde_json::{Value, json};

use crate::support::*;

pub fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name)
}

pub fn file_name(suite: Suite) -> &'static str {
    match suite {
        Suite::X25519Sha256ChaCha20 => "envelope-x25519.json",
        Suite::XWingSha256ChaCha20 => "envelope-xwing.json",
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn generate(suite: Suite) -> Value {
    let sender_seeds = DetRng::new("comity-vector-sender").take(128);
    let recipient_seeds = DetRng::new("comity-vector-recipient").take(128);
    let sender = NodeSecrets::generate(&mut FixedRng(sender_seeds.clone(), 0));
    let recipient = NodeSecrets::generate(&mut FixedRng(recipient_seeds.clone(), 0));
    let hpke_randomness = DetRng::new("comity-vector-hpke").take(64);

    let mut h = header("dz-moj", "fr-ocl", MessageKind::PreservationRequest, 7);
    assert_eq!(h.schema, SCHEMA_VERSION);
    h.in_reply_to = None;
    let body = preservation();
    let env = seal_with(
        &sender,
        suite,
        &recipient.hpke_public_for(suite),
        h.clone(),
        &body,
        &mut FixedRng(hpke_randomness.clone(), 0),
    )
    .unwrap();
    let wire = env.to_bytes();
    let opened = open(&env, &recipient, &[sender.signing_public()]).unwrap();
    let plaintext = serde_json_canonicalizer::to_vec(&json!({
        "body": body.to_json(),
        "signature": STANDARD.encode(opened.inner_signature),
    }))
    .unwrap();
    let receipt = Receipt::for_envelope(&recipient, &h, &wire, ts(1_234), Some(7));
    let descriptor = SignedDescriptor::sign(
        descriptor(&recipient, "fr-ocl", "FR", 8443),
        &recipient,
        None,
    );

    json!({
        "description": "Comity wire format v1 golden vector; docs/protocol.md explains every field.",
        "suite": suite.as_str(),
        "hpke_info": text(HPKE_INFO),
        "sender_secret_seeds": hex::encode(&sender_seeds),
        "sender_signing_key": sender.signing_public().to_string(),
        "sender_key_id": key_id(&sender.signing_public()),
        "recipient_secret_seeds": hex::encode(&recipient_seeds),
        "recipient_signing_key": recipient.signing_public().to_string(),
        "recipient_hpke_key": STANDARD.encode(recipient.hpke_public_for(suite).as_bytes()),
        "hpke_randomness": hex::encode(&hpke_randomness),
        "header_jcs": text(&serde_json_canonicalizer::to_vec(&h).unwrap()),
        "body_jcs": text(&opened.body_bytes),
        "inner_signed_bytes": hex::encode(opened.inner_signed_bytes()),
        "plaintext": text(&plaintext),
        "envelope": text(&wire),
        "digest": hex::encode(Envelope::digest(&wire)),
        "receipt": text(&receipt.to_bytes()),
        "recipient_descriptor": text(&descriptor.to_json()),
    })
}

#[test]
fn golden_vectors_match() {
    let regen = std::env::var("COMITY_REGEN_VECTORS").is_ok_and(|v| v == "1");
    for suite in Suite::ALL {
        let path = vector_path(file_name(suite));
        let mut expected = serde_json::to_string_pretty(&generate(suite)).unwrap();
        expected.push('\n');
        if regen {
            std::fs::write(&path, &expected).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run COMITY_REGEN_VECTORS=1 cargo test -p comity-seal vectors",
                path.display()
            )
        });
        assert!(
            stored == expected,
            "{} differs from what this build produces: the wire format changed. If intended, bump the \
             version in docs/protocol.md and run COMITY_REGEN_VECTORS=1 cargo test -p comity-seal vectors",
            path.display()
        );
    }
}

#[test]
fn stored_vectors_open_and_verify() {
    for suite in Suite::ALL {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(vector_path(file_name(suite))).unwrap())
                .unwrap();
        let seeds = hex::decode(v["recipient_secret_seeds"].as_str().unwrap()).unwrap();
        let recipient = NodeSecrets::generate(&mut FixedRng(seeds, 0));
        let sender_key: comity_seal::PublicKey =
            v["sender_signing_key"].as_str().unwrap().parse().unwrap();
        let wire = v["envelope"].as_str().unwrap().as_bytes();
        let env = Envelope::from_bytes(wire).unwrap();
        assert_eq!(env.suite, suite);
        let opened = open(&env, &recipient, &[sender_key]).unwrap();
        assert_eq!(opened.body, preservation());
        let receipt = Receipt::from_bytes(v["receipt"].as_str().unwrap().as_bytes()).unwrap();
        receipt
            .verify(&[recipient.signing_public()], &Envelope::digest(wire))
            .unwrap();
        assert_eq!(hex::encode(Envelope::digest(wire)), v["digest"]);
        SignedDescriptor::from_json(v["recipient_descriptor"].as_str().unwrap().as_bytes())
            .unwrap();
    }
}
