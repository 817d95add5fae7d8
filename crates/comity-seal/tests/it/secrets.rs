use comity_seal::{FederationRoot, KdfParams, NodeSecrets};
use serde_json::Value;

use crate::support::*;

#[test]
fn round_trip_keeps_every_key() {
    let n = node("a");
    let file = n.encrypt("correct horse", KdfParams::TEST, &mut DetRng::new("salt"));
    let back = NodeSecrets::decrypt(&file, "correct horse").unwrap();
    assert_eq!(back.signing_public(), n.signing_public());
    assert_eq!(back.tls_public(), n.tls_public());
    assert_eq!(back.hpke_keys(), n.hpke_keys());
    let v: Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(v["kdf"]["m_cost_kib"], 64);
    assert_eq!(v["kind"], "comity.node-secrets");
    let text = String::from_utf8(file).unwrap();
    assert!(!text.contains(&hex::encode(&seeds("a")[..32])));
}

#[test]
fn wrong_passphrase_and_tampering_are_refused() {
    let n = node("a");
    let file = n.encrypt("correct horse", KdfParams::TEST, &mut DetRng::new("salt"));
    assert_eq!(
        NodeSecrets::decrypt(&file, "wrong horse")
            .unwrap_err()
            .code(),
        "seal.wrong_passphrase"
    );
    // Lowering the cost in the file changes the derived key and the associated data.
    let mut v: Value = serde_json::from_slice(&file).unwrap();
    v["kdf"]["t_cost"] = 2.into();
    let edited = serde_json_canonicalizer::to_vec(&v).unwrap();
    assert_eq!(
        NodeSecrets::decrypt(&edited, "correct horse")
            .unwrap_err()
            .code(),
        "seal.wrong_passphrase"
    );
    v["kdf"]["m_cost_kib"] = (8u64 * 1024 * 1024).into();
    let edited = serde_json_canonicalizer::to_vec(&v).unwrap();
    assert_eq!(
        NodeSecrets::decrypt(&edited, "correct horse")
            .unwrap_err()
            .code(),
        "seal.bad_secrets_file"
    );
    assert_eq!(
        NodeSecrets::decrypt(b"{}", "x").unwrap_err().code(),
        "seal.bad_secrets_file"
    );
    assert_eq!(
        NodeSecrets::decrypt(b"", "x").unwrap_err().code(),
        "seal.bad_secrets_file"
    );
}

#[test]
fn a_root_file_is_not_a_node_file() {
    let root = FederationRoot::generate(&mut DetRng::new("root"));
    let file = root.encrypt("pw", KdfParams::TEST, &mut DetRng::new("salt"));
    assert_eq!(
        FederationRoot::decrypt(&file, "pw").unwrap().public(),
        root.public()
    );
    assert_eq!(
        FederationRoot::decrypt(&file, "nope").unwrap_err().code(),
        "seal.wrong_passphrase"
    );
    assert_eq!(
        NodeSecrets::decrypt(&file, "pw").unwrap_err().code(),
        "seal.bad_secrets_file"
    );
}

#[test]
fn tls_key_is_pkcs8_of_the_tls_seed() {
    let n = node("a");
    let der = n.tls_pkcs8_der();
    assert_eq!(der.len(), 48);
    assert_eq!(hex::encode(&der[..16]), "302e020100300506032b657004220420");
    assert_eq!(&der[16..], &seeds("a")[96..128]);
    let key = ed25519_dalek::SigningKey::from_bytes(&der[16..].try_into().unwrap());
    assert_eq!(key.verifying_key().to_bytes(), *n.tls_public().as_bytes());
    assert_ne!(n.tls_public(), n.signing_public());
    assert_eq!(KdfParams::INTERACTIVE.m_cost_kib, 65536);
}
