//! Readers of untrusted bytes never panic, and every alteration of a stored header or trailer is
//! refused.

use comity_evidence::Sha256Digest;
use comity_evidence::blob::{BlobCipher, ChunkLayout, HEAD_LEN, TRAILER_LEN};
use comity_evidence::custody::SignedEvent;
use comity_evidence::vault::TransferOffer;
use comity_evidence::verify_package;
use proptest::prelude::*;

use crate::support::{Node, rng};

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
