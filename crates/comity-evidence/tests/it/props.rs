//! Readers of untrusted bytes never panic (damaged package zips included), and every alteration
//! of a stored header or trailer is refused.

use comity_evidence::Sha256Digest;
use comity_evidence::blob::{BlobCipher, ChunkLayout, HEAD_LEN, TRAILER_LEN};
use comity_evidence::custody::SignedEvent;
use comity_evidence::package::write_zip;
use comity_evidence::vault::TransferOffer;
use comity_evidence::{VerifyOptions, verify_package, verify_package_with};
use proptest::prelude::*;

use crate::support::{Node, package, rng};

proptest! {
    #[test]
    fn untrusted_inputs_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), n in any::<u64>(), c in any::<u32>()) {
        let _ = SignedEvent::from_json(&bytes);
        let _ = serde_json::from_slice::<TransferOffer>(&bytes).map(|o| o.layout());
        for version in 1..=3 {
            let _ = ChunkLayout::from_stored_len(version, n, c);
            let _ = ChunkLayout::of_version(version, n, c)
                .map(|l| (l.chunks(), l.stored_len(), l.plain_range(n % 7), l.stored_range(n % 7)));
        }
        let _ = BlobCipher::open(&bytes, &Node::new("dz-moj", "DZ").wrap_key());
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.zip");
        std::fs::write(&p, &bytes).unwrap();
        prop_assert!(!verify_package(&p).verified);
    }

    #[test]
    fn any_bit_flip_in_a_header_or_trailer_is_refused(bit in 0usize..(HEAD_LEN + TRAILER_LEN) * 8) {
        let node = Node::new("dz-moj", "DZ");
        let wrap = node.wrap_key();
        let cipher = BlobCipher::create(1024, &mut rng()).unwrap();
        let mut sealed = b"chunk".to_vec();
        cipher.seal_chunk(0, true, &mut sealed).unwrap();
        let sha = Sha256Digest::of(b"chunk");
        let mut frame = cipher.head().to_vec();
        frame.extend(cipher.trailer(&wrap, &sha, 5, &mut rng()).unwrap());
        frame[bit / 8] ^= 1 << (bit % 8);
        let (head, tail) = frame.split_at(HEAD_LEN);
        // Either the frame no longer opens, or it no longer names this item, or the chunk no
        // longer authenticates under it.
        let refused = match BlobCipher::open_parts(head, tail, &wrap) {
            Err(_) => true,
            Ok(c) => {
                c.binding().map(|b| (b.sha256, b.size)) != Some((sha, 5))
                    || c.open_chunk(0, true, &mut sealed.clone()).is_err()
            }
        };
        prop_assert!(refused, "flip of bit {} went unnoticed", bit);
    }
}

proptest! {
    // Each case signs a whole custody story: fewer cases than the default.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_damaged_package_zip_never_panics_the_reader(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (pkg, s) = package(tmp.path(), b"the evidence");
        let zip = tmp.path().join("p.zip");
        write_zip(&pkg, &zip, s.fr.secrets.signing_key()).unwrap();
        let mut bytes = std::fs::read(&zip).unwrap();
        for (at, x) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        std::fs::write(&zip, &bytes).unwrap();
        let _ = comity_evidence::PackageSource::open(&zip);
        let r = verify_package_with(&zip, &VerifyOptions::anchored(s.root.public(), "test"));
        if truncate {
            prop_assert!(!r.verified, "{}", r.to_text());
        }
    }
}
