//! The index returns exactly the brute-force set, however it was built or stored.

use comity_pdq::{DEFAULT_RADIUS, HashIndex, IndexMatch, PdqHash};
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// Random bases, each with near-duplicates a few bits away, so that searches find something.
fn clustered(seed: u64, n: usize) -> Vec<PdqHash> {
    let mut rng = StdRng::seed_from_u64(seed);
    let bases: Vec<PdqHash> = (0..n / 50 + 1)
        .map(|_| PdqHash::from_words(rng.random()))
        .collect();
    (0..n)
        .map(|i| {
            if i % 3 == 0 {
                return PdqHash::from_words(rng.random());
            }
            let mut words = bases[rng.random_range(0..bases.len())].words();
            for _ in 0..rng.random_range(0..40) {
                let bit = rng.random_range(0..256);
                words[bit / 64] ^= 1u64 << (bit % 64);
            }
            PdqHash::from_words(words)
        })
        .collect()
}

fn brute_force(hashes: &[PdqHash], query: &PdqHash, radius: u32) -> Vec<IndexMatch> {
    let mut out: Vec<IndexMatch> = hashes
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let distance = h.distance(query);
            (distance <= radius).then_some(IndexMatch {
                distance,
                id: i as u64 * 7,
            })
        })
        .collect();
    out.sort_unstable();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn same_set_as_brute_force(seed in any::<u64>(), n in 20_000usize..24_000, radii in proptest::collection::vec(0u32..=80, 12)) {
        let hashes = clustered(seed, n);
        let index = HashIndex::from_entries(hashes.iter().enumerate().map(|(i, h)| (*h, i as u64 * 7))).unwrap();
        let mut rng = StdRng::seed_from_u64(seed ^ 1);
        for (k, radius) in radii.iter().chain([&DEFAULT_RADIUS, &256]).enumerate() {
            // Half the queries sit near stored hashes, half are random.
            let query = if k % 2 == 0 {
                let mut words = hashes[rng.random_range(0..hashes.len())].words();
                words[rng.random_range(0..4)] ^= rng.random::<u64>() & rng.random::<u64>() & rng.random::<u64>();
                PdqHash::from_words(words)
            } else {
                PdqHash::from_words(rng.random())
            };
            prop_assert_eq!(index.search(&query, *radius), brute_force(&hashes, &query, *radius), "radius {}", radius);
        }
    }

    #[test]
    fn small_indexes_scan(seed in any::<u64>(), n in 0usize..300, radius in 0u32..=256) {
        let hashes = clustered(seed, n);
        let index = HashIndex::from_entries(hashes.iter().enumerate().map(|(i, h)| (*h, i as u64 * 7))).unwrap();
        let query = hashes.first().copied().unwrap_or_default();
        prop_assert_eq!(index.search(&query, radius), brute_force(&hashes, &query, radius));
    }
}

#[test]
fn inserting_one_by_one_equals_building_at_once() {
    let hashes = clustered(9, 26_000);
    let mut grown = HashIndex::new();
    for (i, h) in hashes.iter().enumerate() {
        grown.insert(*h, i as u64 * 7).unwrap();
    }
    let built = HashIndex::from_entries(hashes.iter().enumerate().map(|(i, h)| (*h, i as u64 * 7)))
        .unwrap();
    for query in hashes.iter().step_by(997) {
        let want = brute_force(&hashes, query, DEFAULT_RADIUS);
        assert!(!want.is_empty());
        assert_eq!(grown.search(query, DEFAULT_RADIUS), want);
        assert_eq!(built.search(query, DEFAULT_RADIUS), want);
    }
}

#[test]
fn round_trips_through_bytes_and_refuses_damage() {
    let hashes = clustered(3, 21_000);
    let index = HashIndex::from_entries(hashes.iter().enumerate().map(|(i, h)| (*h, i as u64 * 7)))
        .unwrap();
    let bytes = index.to_bytes();
    assert_eq!(bytes.len(), 20 + 21_000 * 40 + 32);
    let back = HashIndex::from_bytes(&bytes).unwrap();
    assert_eq!(back.len(), index.len());
    assert_eq!(
        back.search(&hashes[5], DEFAULT_RADIUS),
        index.search(&hashes[5], DEFAULT_RADIUS)
    );
    let per_hash = index.memory_bytes() as f64 / index.len() as f64;
    eprintln!(
        "index memory at 21000 hashes: {per_hash:.1} bytes per hash (fixed tables dominate when small)"
    );

    let mut flipped = bytes.clone();
    flipped[100] ^= 1;
    assert_eq!(
        HashIndex::from_bytes(&flipped).unwrap_err().code(),
        "pdq.index_checksum"
    );
    assert_eq!(
        HashIndex::from_bytes(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .code(),
        "pdq.index_checksum"
    );
    assert_eq!(
        HashIndex::from_bytes(&bytes[..10]).unwrap_err().code(),
        "pdq.index_format"
    );
    let mut wrong_version = bytes.clone();
    wrong_version[11] = 2;
    assert_eq!(
        HashIndex::from_bytes(&wrong_version).unwrap_err().code(),
        "pdq.index_format"
    );
    assert_eq!(
        HashIndex::from_bytes(b"not an index at all, just some text here!")
            .unwrap_err()
            .code(),
        "pdq.index_format"
    );
    let empty = HashIndex::new().to_bytes();
    assert!(HashIndex::from_bytes(&empty).unwrap().is_empty());
}

#[test]
fn hash_text_is_64_hex_digits() {
    let text = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let hash: PdqHash = text.parse().unwrap();
    assert_eq!(hash.to_string(), text);
    assert_eq!(text.to_uppercase().parse::<PdqHash>().unwrap(), hash);
    for bad in [
        "",
        "f8",
        &text[1..],
        &format!("{text}0"),
        &text.replace('f', "g"),
        "é".repeat(32).as_str(),
    ] {
        assert_eq!(
            bad.parse::<PdqHash>().unwrap_err().code(),
            "pdq.bad_hash",
            "{bad}"
        );
    }
}
