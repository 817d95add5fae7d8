use comity_model::{MessageKind, SCHEMA_VERSION};
use comity_seal::{
    Envelope, SealError, Suite, canonical_body, inner_signed_bytes, key_id, open, seal, seal_with,
    sign_inner, verify_inner, verify_outer,
};
use serde_json::Value;

use crate::support::*;

fn pair() -> (
    comity_seal::NodeSecrets,
    comity_seal::NodeSecrets,
    comity_seal::Descriptor,
) {
    let s = node("sender");
    let r = node("recipient");
    let rd = descriptor(&r, "fr-ocl", "FR", 8443);
    (s, r, rd)
}

fn sealed() -> (Envelope, comity_seal::NodeSecrets, comity_seal::NodeSecrets) {
    let (s, r, rd) = pair();
    let env = seal(
        &s,
        &rd,
        header("dz-moj", "fr-ocl", MessageKind::PreservationRequest, 1),
        &preservation(),
        &mut DetRng::new("e"),
    )
    .unwrap();
    (env, s, r)
}

fn edit_wire(env: &Envelope, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&env.to_bytes()).unwrap();
    f(&mut v);
    serde_json_canonicalizer::to_vec(&v).unwrap()
}

#[test]
fn seal_open_round_trip_with_each_suite() {
    let (s, r, rd) = pair();
    for suite in Suite::ALL {
        let h = header("dz-moj", "fr-ocl", MessageKind::PreservationRequest, 2);
        let key = r.hpke_public_for(suite);
        let env = seal_with(
            &s,
            suite,
            &key,
            h.clone(),
            &preservation(),
            &mut DetRng::new("x"),
        )
        .unwrap();
        assert_eq!(env.suite, suite);
        assert_eq!(env.enc.len(), suite.enc_len());
        let wire = env.to_bytes();
        let back = Envelope::from_bytes(&wire).unwrap();
        assert_eq!(back, env);
        let opened = open(&back, &r, &[s.signing_public()]).unwrap();
        assert_eq!(opened.header, h);
        assert_eq!(opened.body, preservation());
        assert_eq!(
            opened.body_bytes,
            serde_json_canonicalizer::to_vec(&preservation().to_json()).unwrap()
        );
        assert!(
            s.signing_public()
                .verify(&opened.inner_signed_bytes(), &opened.inner_signature)
        );
    }
    // The descriptor lists X-Wing first, so that is what `seal` picks.
    let env = seal(
        &s,
        &rd,
        header("dz-moj", "fr-ocl", MessageKind::Note, 3),
        &note("hi"),
        &mut DetRng::new("y"),
    )
    .unwrap();
    assert_eq!(env.suite, Suite::XWingSha256ChaCha20);
}

#[test]
fn seal_skips_suites_it_does_not_know() {
    let (s, r, mut rd) = pair();
    rd.hpke_keys.insert(
        0,
        comity_seal::HpkeKey {
            suite: "FUTURE-KEM/HKDF-SHA256/AES-256-GCM".into(),
            key: comity_seal::HpkePublicKey(vec![1; 7]),
        },
    );
    rd.hpke_keys
        .retain(|k| k.suite != Suite::XWingSha256ChaCha20.as_str());
    let env = seal(
        &s,
        &rd,
        header("dz-moj", "fr-ocl", MessageKind::Note, 3),
        &note("hi"),
        &mut DetRng::new("y"),
    )
    .unwrap();
    assert_eq!(env.suite, Suite::X25519Sha256ChaCha20);
    open(&env, &r, &[s.signing_public()]).unwrap();
    rd.hpke_keys.retain(|k| k.known_suite().is_none());
    let err = seal(
        &s,
        &rd,
        header("dz-moj", "fr-ocl", MessageKind::Note, 3),
        &note("hi"),
        &mut DetRng::new("y"),
    )
    .unwrap_err();
    assert_eq!(err.code(), "seal.unsupported_suite");
}

#[test]
fn seal_refuses_mismatched_or_invalid_bodies() {
    let (s, _, rd) = pair();
    let err = seal(
        &s,
        &rd,
        header("dz-moj", "fr-ocl", MessageKind::PreservationRequest, 1),
        &note("x"),
        &mut DetRng::new("e"),
    )
    .unwrap_err();
    assert_eq!(err.code(), "model.malformed_body");
    let err = seal(
        &s,
        &rd,
        header("dz-moj", "fr-ocl", MessageKind::Note, 1),
        &note("  "),
        &mut DetRng::new("e"),
    )
    .unwrap_err();
    assert_eq!(err.code(), "model.invalid_fields");
    let err = seal(
        &s,
        &rd,
        header("dz-moj", "ma-moj", MessageKind::Note, 1),
        &note("x"),
        &mut DetRng::new("e"),
    )
    .unwrap_err();
    assert_eq!(err.code(), "seal.malformed_envelope");
}

#[test]
fn forged_outer_signature_is_refused_before_decryption() {
    let (mut env, s, r) = sealed();
    env.signature[5] ^= 1;
    assert_eq!(
        verify_outer(&env, &[s.signing_public()])
            .unwrap_err()
            .code(),
        "seal.bad_outer_signature"
    );
    assert_eq!(
        open(&env, &r, &[s.signing_public()]).unwrap_err().code(),
        "seal.bad_outer_signature"
    );
}

#[test]
fn altered_header_breaks_the_outer_signature() {
    let (mut env, s, r) = sealed();
    env.header.to = "ma-moj".parse().unwrap();
    assert_eq!(
        open(&env, &r, &[s.signing_public()]).unwrap_err().code(),
        "seal.bad_outer_signature"
    );
}

#[test]
fn forged_inner_signature_is_refused() {
    // Mallory seals a message (inner signature hers), then the outer signature is made with the
    // sender's key: the outer check passes, the inner one must not.
    let (s, r, rd) = pair();
    let mallory = node("mallory");
    let mut env = seal(
        &mallory,
        &rd,
        header("dz-moj", "fr-ocl", MessageKind::Note, 4),
        &note("hi"),
        &mut DetRng::new("m"),
    )
    .unwrap();
    env.signer = key_id(&s.signing_public());
    env.signature = raw_sign("sender", &env.outer_signed_bytes());
    verify_outer(&env, &[s.signing_public()]).unwrap();
    assert_eq!(
        open(&env, &r, &[s.signing_public()]).unwrap_err().code(),
        "seal.bad_inner_signature"
    );
}

#[test]
fn unknown_signer_is_refused() {
    let (env, _, r) = sealed();
    let other = node("other").signing_public();
    let err = open(&env, &r, &[other]).unwrap_err();
    assert_eq!(err.code(), "seal.unknown_signer");
    assert!(err.to_string().contains("dz-moj"), "{err}");
    assert_eq!(
        open(&env, &r, &[]).unwrap_err().code(),
        "seal.unknown_signer"
    );
}

#[test]
fn wrong_recipient_key_fails_to_decrypt() {
    let (env, s, _) = sealed();
    let not_recipient = node("someone-else");
    assert_eq!(
        open(&env, &not_recipient, &[s.signing_public()])
            .unwrap_err()
            .code(),
        "seal.decrypt_failed"
    );
}

#[test]
fn truncated_envelopes_are_malformed() {
    let (env, _, _) = sealed();
    let wire = env.to_bytes();
    for cut in [0, 1, 10, wire.len() / 2, wire.len() - 1] {
        assert_eq!(
            Envelope::from_bytes(&wire[..cut]).unwrap_err().code(),
            "seal.malformed_envelope",
            "cut at {cut}"
        );
    }
}

#[test]
fn truncated_or_altered_ciphertext_fails() {
    let (env, s, r) = sealed();
    // Re-signed by the sender, so only the ciphertext itself is wrong.
    for cut in [1, 16, env.ciphertext.len() - 16] {
        let mut bad = env.clone();
        bad.ciphertext.truncate(env.ciphertext.len() - cut);
        bad.signature = raw_sign("sender", &bad.outer_signed_bytes());
        assert_eq!(
            open(&bad, &r, &[s.signing_public()]).unwrap_err().code(),
            "seal.decrypt_failed"
        );
    }
    let mut short = env.clone();
    short.ciphertext.truncate(15);
    assert_eq!(
        Envelope::from_bytes(&short.to_bytes()).unwrap_err().code(),
        "seal.malformed_envelope"
    );
    let mut bad_enc = env.clone();
    bad_enc.enc[0] ^= 0x80;
    bad_enc.signature = raw_sign("sender", &bad_enc.outer_signed_bytes());
    assert_eq!(
        open(&bad_enc, &r, &[s.signing_public()])
            .unwrap_err()
            .code(),
        "seal.decrypt_failed"
    );
}

#[test]
fn header_problems_surface_the_model_code() {
    let (env, _, _) = sealed();
    let wire = edit_wire(&env, |v| {
        v["header"]["schema"] = (SCHEMA_VERSION + 1).into()
    });
    assert_eq!(
        Envelope::from_bytes(&wire).unwrap_err().code(),
        "model.unsupported_schema"
    );
    let wire = edit_wire(&env, |v| v["header"]["kind"] = "extradition.request".into());
    let err = Envelope::from_bytes(&wire).unwrap_err();
    assert_eq!(err.code(), "model.unknown_kind");
    assert!(err.model().is_some());
}

#[test]
fn strict_parsing_names_the_problem() {
    let (env, _, _) = sealed();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "seal.unsupported_version",
            edit_wire(&env, |v| v["v"] = 2.into()),
        ),
        (
            "seal.unsupported_suite",
            edit_wire(&env, |v| {
                v["suite"] = "DHKEM-P256-HKDF-SHA256/HKDF-SHA256/AES-128-GCM".into()
            }),
        ),
        (
            "seal.malformed_envelope",
            edit_wire(&env, |v| v["extra"] = 1.into()),
        ),
        (
            "seal.malformed_envelope",
            edit_wire(&env, |v| {
                v.as_object_mut().unwrap().remove("enc");
            }),
        ),
        (
            "seal.malformed_envelope",
            edit_wire(&env, |v| v["enc"] = "AAAA".into()),
        ),
        (
            "seal.malformed_envelope",
            edit_wire(&env, |v| v["signature"] = "not base64!".into()),
        ),
        (
            "seal.malformed_envelope",
            edit_wire(&env, |v| v["signer"] = "XYZ".into()),
        ),
        (
            "seal.malformed_envelope",
            edit_wire(&env, |v| v["v"] = "1".into()),
        ),
        (
            "seal.malformed_envelope",
            edit_wire(&env, |v| v["header"]["sent_at"] = "yesterday".into()),
        ),
        ("seal.malformed_envelope", b"[1,2,3]".to_vec()),
        (
            "seal.malformed_envelope",
            [env.to_bytes(), b" ".to_vec()].concat(),
        ),
    ];
    for (code, wire) in cases {
        let err = Envelope::from_bytes(&wire).unwrap_err();
        assert_eq!(
            err.code(),
            code,
            "{err} for {}",
            String::from_utf8_lossy(&wire)
        );
    }
}

#[test]
fn non_canonical_json_is_refused() {
    let (env, _, _) = sealed();
    let v: Value = serde_json::from_slice(&env.to_bytes()).unwrap();
    let pretty = serde_json::to_vec_pretty(&v).unwrap();
    let err = Envelope::from_bytes(&pretty).unwrap_err();
    assert_eq!(err.code(), "seal.malformed_envelope");
    assert!(err.to_string().contains("canonical"), "{err}");
}

#[test]
fn digest_is_sha256_of_the_wire_bytes() {
    let (env, _, _) = sealed();
    let wire = env.to_bytes();
    use sha2::Digest;
    assert_eq!(
        Envelope::digest(&wire).to_vec(),
        sha2::Sha256::digest(&wire).to_vec()
    );
    assert_eq!(SealError::DecryptFailed.code(), "seal.decrypt_failed");
}

/// Found by the `envelope` fuzz target: an envelope whose header leaves out `in_reply_to` read as
/// if it said `null`, so one signed envelope had a second spelling (another digest, another
/// receipt) that still verified.
#[test]
fn an_envelope_with_a_field_left_out_is_not_a_second_spelling() {
    let (env, s, _) = sealed();
    let wire = edit_wire(&env, |v| {
        v["header"].as_object_mut().unwrap().remove("in_reply_to");
    });
    assert_ne!(wire, env.to_bytes());
    let err = Envelope::from_bytes(&wire).unwrap_err();
    assert_eq!(err.code(), "seal.malformed_envelope");
    verify_outer(&env, &[s.signing_public()]).unwrap();
}

/// What a recipient keeps (header, body bytes, inner signature) proves what the sender signed to
/// anyone with the sender's public key alone; the sender can recompute the same signature.
#[test]
fn kept_inner_signature_verifies_without_any_decryption_key() {
    let (env, s, r) = sealed();
    let opened = open(&env, &r, &[s.signing_public()]).unwrap();
    let h = &env.header;
    let keys = [s.signing_public()];
    let key = verify_inner(
        h,
        &opened.body_bytes,
        &opened.inner_signature,
        &env.signer,
        &keys,
    )
    .unwrap();
    assert_eq!(key, s.signing_public());
    assert_eq!(
        inner_signed_bytes(h, &opened.body_bytes),
        opened.inner_signed_bytes()
    );
    assert_eq!(canonical_body(&preservation()), opened.body_bytes);
    assert_eq!(
        sign_inner(&s, h, &preservation()),
        opened.inner_signature,
        "Ed25519 is deterministic: the sender's own copy carries the signature sent"
    );

    let mut edited = opened.body_bytes.clone();
    let at = edited.iter().position(|b| *b == b'V').unwrap();
    edited[at] = b'W';
    let err = verify_inner(h, &edited, &opened.inner_signature, &env.signer, &keys);
    assert_eq!(err.unwrap_err().code(), "seal.bad_inner_signature");
    let mut other = h.clone();
    other.kind = MessageKind::Note;
    let err = verify_inner(
        &other,
        &opened.body_bytes,
        &opened.inner_signature,
        &env.signer,
        &keys,
    );
    assert_eq!(err.unwrap_err().code(), "seal.bad_inner_signature");
    let err = verify_inner(
        h,
        &opened.body_bytes,
        &opened.inner_signature,
        &env.signer,
        &[r.signing_public()],
    );
    assert_eq!(err.unwrap_err().code(), "seal.unknown_signer");
}
