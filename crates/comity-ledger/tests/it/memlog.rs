//! The in-memory reference log: appends, checkpoints, proofs and tiles agree with each other.

use comity_ledger::hash::root_of_leaf_hashes;
use comity_ledger::tile::{TileSet, entry_bundles_for_size, hash_tiles_for_size};
use comity_ledger::tree::stored_hash_count;
use comity_ledger::{MemoryLog, SignedCheckpoint, leaf_hash, verify_consistency, verify_inclusion};

use crate::support::{ORIGIN, entry_bytes, log_of, log_signer};

#[test]
fn append_returns_consecutive_indexes_and_stores_the_documented_count() {
    let mut log = MemoryLog::new(ORIGIN);
    for i in 0..300 {
        assert_eq!(log.append(&entry_bytes(i)).unwrap(), i);
        assert_eq!(log.stored_hashes().len() as u64, stored_hash_count(i + 1));
    }
}

#[test]
fn batch_append_equals_single_appends() {
    let single = log_of(1000);
    let mut batched = MemoryLog::new(ORIGIN);
    let entries: Vec<Vec<u8>> = (0..1000).map(entry_bytes).collect();
    assert_eq!(batched.append_batch(&entries[..333]).unwrap(), 0);
    assert_eq!(batched.append_batch(&entries[333..]).unwrap(), 333);
    assert_eq!(batched.stored_hashes(), single.stored_hashes());
}

#[test]
fn root_from_stored_hashes_equals_direct_merkle_hash_at_every_size() {
    let log = log_of(600);
    let leaves: Vec<_> = (0..600).map(|i| leaf_hash(&entry_bytes(i))).collect();
    for size in 0..=600 {
        assert_eq!(
            log.root_at(size).unwrap(),
            root_of_leaf_hashes(&leaves[..size as usize]),
            "size {size}"
        );
    }
}

#[test]
fn checkpoint_signs_the_current_root_and_opens_with_the_log_key() {
    let log = log_of(1234);
    let signer = log_signer();
    let cp = log.checkpoint(&signer).unwrap();
    let opened = SignedCheckpoint::open(cp.to_text().as_bytes(), signer.verifier()).unwrap();
    assert_eq!(opened.checkpoint.size, 1234);
    assert_eq!(opened.checkpoint.root, log.root().unwrap());
    assert_eq!(opened, cp);
}

#[test]
fn proofs_verify_against_checkpoints() {
    let log = log_of(777);
    for (i, n) in [(0, 1), (5, 777), (776, 777), (256, 257), (300, 512)] {
        let p = log.inclusion_proof(i, n).unwrap();
        verify_inclusion(
            i,
            n,
            &leaf_hash(&entry_bytes(i)),
            &p,
            &log.root_at(n).unwrap(),
        )
        .unwrap();
    }
    for (m, n) in [(1, 777), (256, 777), (511, 512), (700, 777), (777, 777)] {
        let p = log.consistency_proof(m, n).unwrap();
        verify_consistency(m, n, &p, &log.root_at(m).unwrap(), &log.root_at(n).unwrap()).unwrap();
    }
    assert_eq!(
        log.inclusion_proof(0, 778).unwrap_err().code(),
        "ledger.size_beyond_log"
    );
    assert_eq!(
        log.inclusion_proof(777, 777).unwrap_err().code(),
        "ledger.index_beyond_size"
    );
    assert_eq!(
        log.consistency_proof(0, 5).unwrap_err().code(),
        "ledger.consistency_from_empty"
    );
}

#[test]
fn served_tiles_verify_and_answer_proofs() {
    for size in [1, 255, 256, 257, 65_536 + 300, 70_000] {
        let log = log_of(size);
        let mut set = TileSet::new(size);
        for id in hash_tiles_for_size(size) {
            set.insert(&id, &log.tile(&id).unwrap()).unwrap();
        }
        let root = log.root().unwrap();
        set.verify(&root).unwrap();
        for id in entry_bundles_for_size(size) {
            let entries = set.verify_bundle(&id, &log.tile(&id).unwrap()).unwrap();
            assert_eq!(entries[0], entry_bytes(id.index * 256));
        }
        let i = size / 3;
        assert_eq!(
            log.inclusion_proof(i, size).unwrap(),
            comity_ledger::tree::inclusion_proof(i, size, &set).unwrap()
        );
        if size > 2 {
            assert_eq!(
                log.consistency_proof(size / 2, size).unwrap(),
                comity_ledger::tree::consistency_proof(size / 2, size, &set).unwrap()
            );
        }
    }
}

#[test]
fn tiles_that_do_not_exist_yet_are_not_served() {
    let log = log_of(300);
    let full1 = comity_ledger::TileId::parse_path("tile/0/001").unwrap();
    assert_eq!(log.tile(&full1).unwrap_err().code(), "ledger.tile_missing");
    let partial = comity_ledger::TileId::parse_path("tile/0/001.p/44").unwrap();
    assert_eq!(log.tile(&partial).unwrap().len(), 44 * 32);
    // A smaller partial of the same tile stays available (an older checkpoint's view).
    let older = comity_ledger::TileId::parse_path("tile/0/001.p/10").unwrap();
    assert_eq!(
        &log.tile(&older).unwrap()[..],
        &log.tile(&partial).unwrap()[..320]
    );
}

#[test]
fn a_client_computes_inclusion_proofs_from_the_few_tiles_it_needs() {
    let log = log_of(70_000);
    for i in [0, 255, 256, 65_535, 65_536, 69_999] {
        let ids = comity_ledger::tile::tiles_for_inclusion(i, 70_000).unwrap();
        assert!(ids.len() <= 5, "{i}: {ids:?}");
        let mut set = TileSet::new(70_000);
        for id in &ids {
            set.insert(id, &log.tile(id).unwrap()).unwrap();
        }
        let proof = comity_ledger::tree::inclusion_proof(i, 70_000, &set).unwrap();
        verify_inclusion(
            i,
            70_000,
            &leaf_hash(&entry_bytes(i)),
            &proof,
            &log.root().unwrap(),
        )
        .unwrap();
    }
}

/// A database-backed batch must cost one read: count the reader calls.
#[test]
fn a_batch_append_reads_the_store_once() {
    struct Counting<'a>(&'a [comity_ledger::Hash], std::cell::Cell<usize>);
    impl comity_ledger::HashReader for Counting<'_> {
        fn read_hashes(&self, idx: &[u64]) -> comity_ledger::Result<Vec<comity_ledger::Hash>> {
            self.1.set(self.1.get() + 1);
            self.0.read_hashes(idx)
        }
    }
    let base = log_of(1023);
    let reader = Counting(base.stored_hashes(), std::cell::Cell::new(0));
    let leaves: Vec<_> = (1023..3000).map(|i| leaf_hash(&entry_bytes(i))).collect();
    let new = comity_ledger::tree::stored_hashes_for_leaves(1023, &leaves, &reader).unwrap();
    assert_eq!(reader.1.get(), 1);
    let mut all = base.stored_hashes().to_vec();
    all.extend(new);
    assert_eq!(all, log_of(3000).stored_hashes());
}
