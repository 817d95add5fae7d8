//! Property tests: proofs from random trees verify; any single-bit change is refused.

use comity_ledger::hash::root_of_leaf_hashes;
use comity_ledger::tile::{TileSet, hash_tiles_for_size};
use comity_ledger::{Entry, Hash, MemoryLog, leaf_hash, verify_consistency, verify_inclusion};
use proptest::prelude::*;

fn log_from(entries: &[Vec<u8>]) -> MemoryLog {
    let mut log = MemoryLog::new("prop.example/log");
    log.append_batch(entries).unwrap();
    log
}

fn flip(h: &mut Hash, bit: usize) {
    h.0[(bit / 8) % 32] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn inclusion_proofs_verify_and_any_bit_flip_fails(
        entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..300),
        pick in any::<prop::sample::Index>(),
        which in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let log = log_from(&entries);
        let n = log.size();
        let i = pick.index(entries.len()) as u64;
        let root = log.root().unwrap();
        prop_assert_eq!(root, root_of_leaf_hashes(&entries.iter().map(|e| leaf_hash(e)).collect::<Vec<_>>()));
        let leaf = leaf_hash(&entries[i as usize]);
        let proof = log.inclusion_proof(i, n).unwrap();
        prop_assert!(verify_inclusion(i, n, &leaf, &proof, &root).is_ok());

        let mut bad_leaf = leaf;
        flip(&mut bad_leaf, bit);
        prop_assert!(verify_inclusion(i, n, &bad_leaf, &proof, &root).is_err());
        let mut bad_root = root;
        flip(&mut bad_root, bit);
        prop_assert!(verify_inclusion(i, n, &leaf, &proof, &bad_root).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = which.index(bad.len());
            flip(&mut bad[k], bit);
            prop_assert!(verify_inclusion(i, n, &leaf, &bad, &root).is_err());
        }
        // Another index fails, unless it holds the same entry: two equal sibling leaves make
        // one proof valid for both, as RFC 6962 allows.
        let j = (i + 1) % n;
        if n > 1 && entries[j as usize] != entries[i as usize] {
            prop_assert!(verify_inclusion(j, n, &leaf, &proof, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_for_every_m_up_to_n_and_bit_flips_fail(
        n in 1u64..400,
        m_frac in 0.0f64..1.0,
        which in any::<prop::sample::Index>(),
        bit in 0usize..256,
    ) {
        let entries: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().to_vec()).collect();
        let log = log_from(&entries);
        let m = 1 + ((n - 1) as f64 * m_frac) as u64;
        let (r1, r2) = (log.root_at(m).unwrap(), log.root_at(n).unwrap());
        let proof = log.consistency_proof(m, n).unwrap();
        prop_assert!(verify_consistency(m, n, &proof, &r1, &r2).is_ok());
        let mut b1 = r1;
        flip(&mut b1, bit);
        prop_assert!(verify_consistency(m, n, &proof, &b1, &r2).is_err());
        let mut b2 = r2;
        flip(&mut b2, bit);
        prop_assert!(verify_consistency(m, n, &proof, &r1, &b2).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = which.index(bad.len());
            flip(&mut bad[k], bit);
            prop_assert!(verify_consistency(m, n, &bad, &r1, &r2).is_err());
        }
    }

    #[test]
    fn any_bit_flip_in_any_tile_is_detected(
        n in 1u64..1500,
        which in any::<prop::sample::Index>(),
        byte in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let entries: Vec<Vec<u8>> = (0..n).map(|i| i.to_le_bytes().to_vec()).collect();
        let log = log_from(&entries);
        let ids = hash_tiles_for_size(n);
        let target = which.index(ids.len());
        let mut set = TileSet::new(n);
        for (k, id) in ids.iter().enumerate() {
            let mut bytes = log.tile(id).unwrap();
            if k == target {
                let b = byte.index(bytes.len());
                bytes[b] ^= 1 << bit;
            }
            set.insert(id, &bytes).unwrap();
        }
        prop_assert!(set.verify(&log.root().unwrap()).is_err());
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = comity_ledger::Note::parse(&bytes);
        let _ = Entry::parse(&bytes);
        let _ = comity_ledger::tile::decode_bundle(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = comity_ledger::Checkpoint::parse(s);
            let _ = comity_ledger::NoteVerifier::parse(s);
            let _ = comity_ledger::TileId::parse_path(s);
        }
        let _ = comity_ledger::ProofBundle::from_json(&bytes);
    }

    #[test]
    fn verification_of_arbitrary_sizes_never_panics(
        index in any::<u64>(), size in any::<u64>(), old in any::<u64>(),
        len in 0usize..70,
    ) {
        let proof = vec![Hash::default(); len];
        let _ = verify_inclusion(index, size, &Hash::default(), &proof, &Hash::default());
        let _ = verify_consistency(old, size, &proof, &Hash::default(), &Hash::default());
        let _ = comity_ledger::tree::split_stored_hash_index(index);
    }
}
