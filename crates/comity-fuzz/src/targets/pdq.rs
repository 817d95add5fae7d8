//! Hash-list updates, list files, index files and image decoding of `comity-pdq`.

use comity_pdq::list::{
    HashList, Matcher, decode_list_file, encode_list_file, parse_signed_update_bytes,
    parse_update_bytes, signed_update_bytes, update_bytes,
};
use comity_pdq::{DecodeLimits, HashIndex, decode, hash};
use ed25519_dalek::VerifyingKey;

use crate::Scratch;
use crate::fixtures::fixtures;

fn publisher() -> VerifyingKey {
    fixtures().dz.secrets.signing_key().verifying_key()
}

pub(super) fn hash_list(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    if let Ok(u) = parse_update_bytes(data) {
        assert_eq!(
            update_bytes(&u),
            data,
            "an update read back must have one spelling"
        );
    }
    if let Ok(s) = parse_signed_update_bytes(data) {
        assert_eq!(
            signed_update_bytes(&s),
            data,
            "a signed update read back must have one spelling"
        );
        if s.verify(&publisher()).is_ok() {
            assert!(
                f.is_genuine(data),
                "an update the publisher never signed verified"
            );
        }
    }
    let Ok(updates) = decode_list_file(data) else {
        return;
    };
    assert_eq!(
        encode_list_file(&updates),
        data,
        "a list file read back must have one spelling"
    );
    if let Ok(list) = HashList::replay(&updates, &publisher()) {
        for u in &updates {
            assert!(
                f.is_genuine(&signed_update_bytes(u)),
                "a list history the publisher never signed was replayed"
            );
        }
        let mut m = Matcher::new();
        let live: Vec<_> = list.live_entries().map(|e| e.pdq).collect();
        m.add_list(list).expect("a verified list is accepted");
        for h in live {
            assert!(
                !m.match_pdq(&h, 0).is_empty(),
                "a live entry must match itself"
            );
        }
    }
}

pub(super) fn pdq_index(_: &Scratch, data: &[u8]) {
    if let Ok(index) = HashIndex::from_bytes(data) {
        assert_eq!(
            index.to_bytes(),
            data,
            "an index file read back must have one spelling"
        );
        for (h, id) in index.entries() {
            assert!(index.search(&h, 0).iter().any(|m| m.id == id));
        }
    }
}

/// Small limits: the property is that they hold, whatever the header claims.
const LIMITS: DecodeLimits = DecodeLimits {
    max_width: 1024,
    max_height: 1024,
    max_pixels: 256 * 256,
    max_alloc: 32 << 20,
};

pub(super) fn pdq_image(_: &Scratch, data: &[u8]) {
    let Ok(img) = decode(data, &LIMITS) else {
        return;
    };
    assert!(img.width <= LIMITS.max_width && img.height <= LIMITS.max_height);
    assert!(u64::from(img.width) * u64::from(img.height) <= LIMITS.max_pixels);
    assert_eq!(
        img.rgb.len() as u64,
        u64::from(img.width) * u64::from(img.height) * 3
    );
    let pixels = img.pixels().expect("decoded pixels are well formed");
    assert!(hash(pixels).quality <= 100);
}
