use comity_model::{Body, MessageKind, Note};
use comity_seal::{Envelope, NodeSecrets, Receipt, Suite, open, seal_with};
use proptest::prelude::*;

use crate::support::*;

struct Parties {
    sender: NodeSecrets,
    recipient: NodeSecrets,
}

fn parties() -> &'static Parties {
    static P: std::sync::OnceLock<Parties> = std::sync::OnceLock::new();
    P.get_or_init(|| Parties {
        sender: node("prop-sender"),
        recipient: node("prop-recipient"),
    })
}

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including controls, quotes, escapes and astral characters; never blank.
    "\\PC{0,40}[a-z]\\PC{0,200}|[\\u{0}-\\u{1f}\"\\\\\u{2028}\u{1F512}]{1,20}x"
}

fn sealed(suite: Suite, body: &str, n: u8, seed: u64) -> Envelope {
    let p = parties();
    let kind = MessageKind::Note;
    let body = Body::Note(Note {
        text: body.to_owned(),
    });
    let key = p.recipient.hpke_public_for(suite);
    seal_with(
        &p.sender,
        suite,
        &key,
        header("dz-moj", "fr-ocl", kind, n),
        &body,
        &mut DetRng::new(&seed.to_string()),
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn seal_wire_open_round_trip(body in text(), n in any::<u8>(), seed in any::<u64>(), pq in any::<bool>()) {
        let suite = if pq { Suite::XWingSha256ChaCha20 } else { Suite::X25519Sha256ChaCha20 };
        let env = sealed(suite, &body, n, seed);
        let wire = env.to_bytes();
        let back = Envelope::from_bytes(&wire).unwrap();
        prop_assert_eq!(&back, &env);
        prop_assert_eq!(back.to_bytes(), wire);
        let p = parties();
        let opened = open(&back, &p.recipient, &[p.sender.signing_public()]).unwrap();
        prop_assert_eq!(opened.body, Body::Note(Note { text: body }));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_flipped_byte_is_refused(pos in any::<prop::sample::Index>(), xor in 1u8..=255, seed in 0u64..4) {
        let env = sealed(Suite::X25519Sha256ChaCha20, "preserve the logs", 1, seed);
        let mut wire = env.to_bytes();
        let i = pos.index(wire.len());
        wire[i] ^= xor;
        let p = parties();
        let refused = match Envelope::from_bytes(&wire) {
            Err(_) => true,
            Ok(bad) => open(&bad, &p.recipient, &[p.sender.signing_public()]).is_err(),
        };
        prop_assert!(refused, "flipping byte {} by {:#x} was accepted", i, xor);
    }

    #[test]
    fn any_flipped_receipt_byte_is_refused(pos in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let p = parties();
        let env = sealed(Suite::X25519Sha256ChaCha20, "x", 2, 0);
        let digest = Envelope::digest(&env.to_bytes());
        let receipt = Receipt::for_envelope(&p.recipient, &env.header, &env.to_bytes(), ts(5), Some(1));
        let mut wire = receipt.to_bytes();
        let i = pos.index(wire.len());
        wire[i] ^= xor;
        let refused = match Receipt::from_bytes(&wire) {
            Err(_) => true,
            Ok(bad) => bad.verify(&[p.recipient.signing_public()], &digest).is_err(),
        };
        prop_assert!(refused, "flipping receipt byte {} by {:#x} was accepted", i, xor);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every parser of outside input answers arbitrary bytes with a typed error, never a panic.
    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), json in "\\{\"v\":1[ -~]{0,200}\\}") {
        for input in [bytes.as_slice(), json.as_bytes()] {
            let _ = Envelope::from_bytes(input).map(|e| e.to_bytes());
            let _ = Receipt::from_bytes(input).map(|r| r.to_bytes());
            let _ = comity_seal::SignedDescriptor::from_json(input);
            let _ = comity_seal::SignedTrustList::from_json(input);
            prop_assert!(NodeSecrets::decrypt(input, "pw").is_err());
        }
    }
}
