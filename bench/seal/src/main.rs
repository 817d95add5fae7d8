//! Crypto limit of Comity's sealed messages on one core.
//!
//! `cargo run --release --manifest-path bench/seal/Cargo.toml [SECONDS_PER_CASE]`
//!
//! Each case runs in this one thread for a fixed time; the reference (raw Ed25519 sign + verify of
//! a message of the same size) runs in the same process, so the ratios hold across machines.

use std::hint::black_box;
use std::time::{Duration, Instant};

use comity_model::{Body, Handling, Header, MessageId, MessageKind, PreservationRequest, Timestamp};
use comity_seal::rand_core::UnwrapErr;
use comity_seal::{Descriptor, Envelope, NodeSecrets, Receipt, Suite, open, seal_with, verify_outer};
use ed25519_dalek::{Signer, SigningKey};

fn rate(name: &str, budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    let per_s = n as f64 / start.elapsed().as_secs_f64();
    println!("{name:<48} {per_s:>12.0} /s {:>10.1} µs", 1e6 / per_s);
    per_s
}

/// Rates of `a` and `b` measured in alternating 20 ms slices, so that a change of load on a
/// shared machine hits both alike and their ratio stays meaningful.
fn paired(budget: Duration, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let slice = Duration::from_millis(20);
    let (mut ta, mut tb, mut na, mut nb) = (Duration::ZERO, Duration::ZERO, 0u64, 0u64);
    while ta + tb < budget {
        let start = Instant::now();
        while start.elapsed() < slice {
            a();
            na += 1;
        }
        ta += start.elapsed();
        let start = Instant::now();
        while start.elapsed() < slice {
            b();
            nb += 1;
        }
        tb += start.elapsed();
    }
    (na as f64 / ta.as_secs_f64(), nb as f64 / tb.as_secs_f64())
}

fn body() -> Body {
    Body::PreservationRequest(PreservationRequest {
        requesting_authority: "Algerian 24/7 point of contact, Ministry of Justice".into(),
        case_reference: "DZ-2026-0042".into(),
        offences: vec!["illegal-access".into(), "data-interference".into()],
        facts: "Intrusion into a ministry mail server; mailboxes exfiltrated to a rented server. ".repeat(4),
        data: "Subscriber information and connection logs for the server, 19 to 21 November".into(),
        relation_to_offence: "The server received the exfiltrated mailboxes".into(),
        custodian_or_location: "Hosting provider, Roubaix, France".into(),
        necessity: "The provider deletes connection logs after 30 days".into(),
        mla_to_follow: true,
        preservation_days: 90,
    })
}

fn header(n: u64) -> Header {
    let id = MessageId::from_parts(1_795_000_000_000 + n, [7; 10]);
    Header {
        id,
        from: "dz-moj".parse().unwrap(),
        to: "fr-ocl".parse().unwrap(),
        kind: MessageKind::PreservationRequest,
        conversation: id,
        in_reply_to: None,
        sent_at: Timestamp::from_unix_ms(1_795_000_000_000),
        schema: comity_model::SCHEMA_VERSION,
        handling: Handling::default(),
    }
}

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let budget = Duration::from_secs_f64(secs);
    let mut rng = UnwrapErr(getrandom::SysRng);
    let sender = NodeSecrets::generate(&mut rng);
    let recipient = NodeSecrets::generate(&mut rng);
    let rd = Descriptor::for_secrets(
        &recipient,
        "fr-ocl".parse().unwrap(),
        "FR".parse().unwrap(),
        vec!["24-7".parse().unwrap()],
        "France".into(),
        "https://127.0.0.1:8443".into(),
        Timestamp::from_unix_ms(0),
    );
    let sender_keys = [sender.signing_public()];
    let recipient_keys = [recipient.signing_public()];
    let body = body();
    let sample = seal_with(&sender, Suite::X25519Sha256ChaCha20, &rd.hpke_keys[1].key, header(0), &body, &mut rng).unwrap();
    let wire_len = sample.to_bytes().len();
    println!("envelope: {wire_len} bytes (X25519 suite), one thread, {secs} s per case\n");

    let raw_key = SigningKey::from_bytes(&[9; 32]);
    let raw_pub = raw_key.verifying_key();
    let msg = vec![0x5a; wire_len];
    rate("reference: raw Ed25519 sign + verify_strict", budget, || {
        let sig = raw_key.sign(black_box(&msg));
        black_box(raw_pub.verify_strict(&msg, &sig)).unwrap();
    });

    let mut results = Vec::new();
    for suite in [Suite::X25519Sha256ChaCha20, Suite::XWingSha256ChaCha20] {
        println!("\n{suite}");
        let key = recipient.hpke_public_for(suite);
        let env = seal_with(&sender, suite, &key, header(1), &body, &mut rng).unwrap();
        let wire = env.to_bytes();
        let digest = Envelope::digest(&wire);
        let receipt = Receipt::for_envelope(&recipient, &env.header, &wire, Timestamp::from_unix_ms(1), None);
        rate("seal (inner sign + HPKE + outer sign)", budget, || {
            black_box(seal_with(&sender, suite, &key, header(2), &body, &mut rng).unwrap());
        });
        rate("wire bytes parse (strict, canonical check)", budget, || {
            black_box(Envelope::from_bytes(black_box(&wire)).unwrap());
        });
        rate("verify_outer", budget, || {
            black_box(verify_outer(&env, &sender_keys).unwrap());
        });
        rate("open (outer verify + HPKE open + inner verify)", budget, || {
            black_box(open(&env, &recipient, &sender_keys).unwrap());
        });
        rate("receipt sign", budget, || {
            black_box(Receipt::for_envelope(&recipient, &env.header, &wire, Timestamp::from_unix_ms(1), None));
        });
        rate("receipt verify", budget, || {
            receipt.verify(&recipient_keys, &digest).unwrap();
        });
        let (reference, full) = paired(
            budget * 2,
            || {
                let sig = raw_key.sign(black_box(&msg));
                black_box(raw_pub.verify_strict(&msg, &sig)).unwrap();
            },
            || {
                let env = seal_with(&sender, suite, &key, header(3), &body, &mut rng).unwrap();
                let wire = env.to_bytes();
                let got = Envelope::from_bytes(&wire).unwrap();
                open(&got, &recipient, &sender_keys).unwrap();
                let r = Receipt::for_envelope(&recipient, &got.header, &wire, Timestamp::from_unix_ms(1), None);
                r.verify_for(&got.header, &wire, &recipient_keys).unwrap();
            },
        );
        println!("{:<48} {full:>12.0} /s {:>10.1} µs", "FULL: seal+bytes+parse+open+receipt sign+verify", 1e6 / full);
        println!("{:<48} {reference:>12.0} /s (interleaved with FULL)", "  reference in the same slices");
        results.push((suite, full, reference));
    }
    println!("\nratio = full message exchange / raw Ed25519 sign+verify, interleaved in 20 ms slices, one core");
    for (suite, full, reference) in results {
        println!("  {suite}: {:.3}  ({full:.0} messages/s)", full / reference);
    }
}
