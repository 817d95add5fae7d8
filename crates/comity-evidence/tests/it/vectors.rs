//! Fixed vectors (`tests/data/custody-event-v1.json`) so that another implementation of the
//! verifier can check its canonical bytes, digests, signatures and ledger entries against ours.

use comity_evidence::custody::SignedEvent;
use comity_seal::PublicKey;
use ed25519_dalek::SigningKey;
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    signing_seed_hex: String,
    public_key: String,
    signed_event: serde_json::Value,
    canonical_event: String,
    event_digest: String,
    signed_bytes_hex: String,
    ledger_entry: String,
}

#[test]
fn custody_event_vector() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/custody-event-v1.json"
    ))
    .unwrap();
    let v: Vector = serde_json::from_str(&text).unwrap();
    let seed: [u8; 32] = hex::decode(&v.signing_seed_hex)
        .unwrap()
        .try_into()
        .unwrap();
    let key = SigningKey::from_bytes(&seed);
    let public: PublicKey = v.public_key.parse().unwrap();
    assert_eq!(public.as_bytes(), key.verifying_key().as_bytes());

    let signed: SignedEvent = serde_json::from_value(v.signed_event).unwrap();
    let event = signed.event.clone();
    assert_eq!(
        String::from_utf8(event.canonical_bytes()).unwrap(),
        v.canonical_event
    );
    assert_eq!(event.digest().hex(), v.event_digest);
    assert_eq!(hex::encode(event.signed_bytes()), v.signed_bytes_hex);
    assert_eq!(
        String::from_utf8(event.ledger_entry().unwrap().to_bytes().unwrap()).unwrap(),
        v.ledger_entry
    );
    signed.verify(&public).unwrap();
    // Ed25519 is deterministic: signing again gives the stored signature.
    assert_eq!(event.sign(&key).unwrap(), signed);
    assert_eq!(SignedEvent::from_json(&signed.to_json()).unwrap(), signed);
}
