//! Hostile or broken input from the network: each envelope is refused with a stable code, the
//! refusal is counted against the member that sent it, and nothing else changes.

use comity_model::{
    Body, Handling, Header, MessageId, MessageKind, Note, SCHEMA_VERSION, Timestamp,
};
use comity_node::{ENVELOPES_MEDIA_TYPE, FEDERATION_MESSAGES_PATH};
use comity_seal::{Envelope, NodeSecrets};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;

use crate::harness::{Federation, Member, backends, fast_config};

fn header(from: &str, to: &str, sent_at: i64) -> Header {
    Header {
        id: MessageId::from_parts(u64::try_from(sent_at).unwrap(), rand::random()),
        from: from.parse().unwrap(),
        to: to.parse().unwrap(),
        kind: MessageKind::Note,
        conversation: MessageId::from_parts(1, [1; 10]),
        in_reply_to: None,
        sent_at: Timestamp::from_unix_ms(sent_at),
        schema: SCHEMA_VERSION,
        handling: Handling::default(),
    }
}

fn note(text: &str) -> Body {
    Body::Note(Note { text: text.into() })
}

fn seal(from: &Member, to: &comity_seal::Descriptor, h: Header, body: &Body) -> Envelope {
    comity_seal::seal(&from.secrets, to, h, body, &mut rand::rng()).unwrap()
}

fn resign(env: &mut Envelope, seeds: &[u8; 128]) {
    let key = SigningKey::from_bytes(&seeds[..32].try_into().unwrap());
    env.signature = key.sign(&env.outer_signed_bytes()).to_bytes();
}

/// Re-encodes a modified envelope JSON the canonical way (sorted keys, no spaces).
fn with_header_field(bytes: &[u8], field: &str, value: Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    v["header"][field] = value;
    serde_json::to_vec(&v).unwrap()
}

async fn post(fed: &Federation, to: &str, batch: &[Vec<u8>]) -> Vec<Value> {
    let m = &fed.members[fed.index(to)];
    // The transport is a member's (mutual TLS); what is refused is decided by the envelopes.
    let relay = fed.members.iter().find(|o| o.id != m.id).unwrap();
    let tls = comity_node::peer_tls_config(&m.id, m.descriptor.descriptor.tls_key, &relay.secrets)
        .unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let body = batch.join(&b'\n');
    let r = client
        .post(format!(
            "{}{FEDERATION_MESSAGES_PATH}",
            m.descriptor.descriptor.endpoint
        ))
        .header("content-type", ENVELOPES_MEDIA_TYPE)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let answer: Value = r.json().await.unwrap();
    answer["results"].as_array().unwrap().clone()
}

fn code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or("(accepted)")
}

#[tokio::test]
async fn every_kind_of_bad_envelope_is_refused_recorded_and_changes_nothing() {
    let mut config = fast_config();
    config.max_message_bytes = 16 * 1024;
    let backend = *backends().last().unwrap();
    let fed =
        Federation::start_with(backend, &["dz-247", "fr-ocl", "ma-moj"], config, |_, _| {}).await;
    let dz = &fed.members[fed.index("dz-247")];
    let ma = &fed.members[fed.index("ma-moj")];
    let fr_d = fed.members[fed.index("fr-ocl")]
        .descriptor
        .descriptor
        .clone();
    let ma_d = ma.descriptor.descriptor.clone();
    let now = comity_node::now_ms();

    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();

    let mut forged_outer = seal(dz, &fr_d, header("dz-247", "fr-ocl", now), &note("x"));
    forged_outer.signature[0] ^= 1;
    cases.push((
        "forged outer signature",
        forged_outer.to_bytes(),
        "seal.bad_outer_signature",
    ));

    // Morocco seals (inner signature by Morocco's key) a message claiming to come from Algeria,
    // and the outer signature is Algeria's: only the inner check can catch it.
    let mut forged_inner = seal(ma, &fr_d, header("dz-247", "fr-ocl", now), &note("x"));
    forged_inner.signer = comity_seal::key_id(&dz.secrets.signing_public());
    resign(&mut forged_inner, &dz.seeds);
    cases.push((
        "forged inner signature",
        forged_inner.to_bytes(),
        "seal.bad_inner_signature",
    ));

    let stranger = NodeSecrets::generate(&mut rand::rng());
    let from_stranger = comity_seal::seal(
        &stranger,
        &fr_d,
        header("xx-evil", "fr-ocl", now),
        &note("x"),
        &mut rand::rng(),
    )
    .unwrap();
    cases.push((
        "sender not in the trust list",
        from_stranger.to_bytes(),
        "fed.unknown_node",
    ));

    let for_morocco = seal(dz, &ma_d, header("dz-247", "ma-moj", now), &note("x"));
    cases.push((
        "addressed to another node",
        for_morocco.to_bytes(),
        "fed.wrong_recipient",
    ));

    let future = seal(
        dz,
        &fr_d,
        header("dz-247", "fr-ocl", now + 3_600_000),
        &note("x"),
    );
    cases.push(("sent-at an hour ahead", future.to_bytes(), "fed.clock_skew"));
    let ancient = seal(
        dz,
        &fr_d,
        header("dz-247", "fr-ocl", now - 40 * 86_400_000),
        &note("x"),
    );
    cases.push(("sent-at 40 days ago", ancient.to_bytes(), "fed.clock_skew"));

    let big = seal(
        dz,
        &fr_d,
        header("dz-247", "fr-ocl", now),
        &note(&"a".repeat(20_000)),
    );
    cases.push(("over the size limit", big.to_bytes(), "fed.too_large"));

    let good = seal(dz, &fr_d, header("dz-247", "fr-ocl", now), &note("fine")).to_bytes();
    cases.push((
        "truncated envelope",
        good[..good.len() / 2].to_vec(),
        "seal.malformed_envelope",
    ));
    cases.push((
        "not JSON at all",
        b"\x00\x01garbage".to_vec(),
        "seal.malformed_envelope",
    ));
    let mut bad_ct: Value = serde_json::from_slice(&good).unwrap();
    bad_ct["ciphertext"] = Value::String("AAAA".into());
    cases.push((
        "truncated ciphertext",
        serde_json::to_vec(&bad_ct).unwrap(),
        "seal.malformed_envelope",
    ));
    cases.push((
        "unknown schema version",
        with_header_field(&good, "schema", 2.into()),
        "model.unsupported_schema",
    ));
    cases.push((
        "unknown message kind",
        with_header_field(&good, "kind", "gossip".into()),
        "model.unknown_kind",
    ));

    let fr = fed.node("fr-ocl").node.store().clone();
    let batch: Vec<Vec<u8>> = cases.iter().map(|(_, b, _)| b.clone()).collect();
    let answers = post(&fed, "fr-ocl", &batch).await;
    for ((what, _, expected), answer) in cases.iter().zip(&answers) {
        assert_eq!(code(answer), *expected, "{what}: {answer}");
    }
    assert_eq!(
        fr.inbox_count().await.unwrap(),
        0,
        "nothing refused was stored"
    );
    let summaries = fr.refusals(100).await.unwrap();
    let counted: i64 = summaries.iter().map(|r| r.count).sum();
    assert_eq!(counted, cases.len() as i64, "every refusal is counted");
    let mut codes: Vec<&str> = cases.iter().map(|(_, _, c)| *c).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(
        summaries.len(),
        codes.len(),
        "one summary per code: {summaries:?}"
    );
    assert!(
        summaries.iter().all(|r| r.peer == "dz-247"),
        "refusals are charged to the member that sent them over TLS: {summaries:?}"
    );
    let stranger = summaries
        .iter()
        .find(|r| r.code == "fed.unknown_node")
        .unwrap();
    assert_eq!(
        stranger.claimed_from.as_deref(),
        Some("xx-evil"),
        "what the envelope claims is kept as a claim"
    );

    // The same message twice is processed once and answered with the original receipt; the same
    // id with other content is a replay.
    let first = post(&fed, "fr-ocl", std::slice::from_ref(&good)).await;
    let again = post(&fed, "fr-ocl", std::slice::from_ref(&good)).await;
    assert!(first[0]["receipt"].is_string(), "{}", first[0]);
    assert_eq!(first[0]["receipt"], again[0]["receipt"]);
    let original = Envelope::from_bytes(&good).unwrap();
    let replay = seal(dz, &fr_d, original.header.clone(), &note("other content"));
    let answer = post(&fed, "fr-ocl", &[replay.to_bytes()]).await;
    assert_eq!(code(&answer[0]), "fed.replay");
    assert_eq!(fr.inbox_count().await.unwrap(), 1);
    let stored = fr
        .get_inbound(&original.header.id.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.envelope, good, "the first content stays, verbatim");
    fed.shutdown().await;
}
