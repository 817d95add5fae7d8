//! Witnessing decisions and alarm evidence.

use comity_ledger::{AlarmKind, Checkpoint, MemoryLog, SignedCheckpoint, WitnessDecision, witness};

use crate::support::{ORIGIN, entry_bytes, log_of, log_signer, witness_key};

fn forked(size: u64, fork_at: u64) -> MemoryLog {
    let mut log = MemoryLog::new(ORIGIN);
    for i in 0..size {
        if i == fork_at {
            log.append(b"rewritten history\n").unwrap();
        } else {
            log.append(&entry_bytes(i)).unwrap();
        }
    }
    log
}

#[test]
fn first_checkpoint_and_extensions_are_cosigned() {
    let s = log_signer();
    let log = log_of(50);
    let cp50 = log.checkpoint(&s).unwrap();
    assert_eq!(
        witness(s.verifier(), None, &cp50, &[]).unwrap(),
        WitnessDecision::Cosign
    );
    let log = log_of(90);
    let cp90 = log.checkpoint(&s).unwrap();
    let proof = log.consistency_proof(50, 90).unwrap();
    assert_eq!(
        witness(s.verifier(), Some(&cp50), &cp90, &proof).unwrap(),
        WitnessDecision::Cosign
    );
    assert_eq!(
        witness(s.verifier(), Some(&cp90), &cp90, &[]).unwrap(),
        WitnessDecision::Cosign
    );
    assert_eq!(
        witness(s.verifier(), Some(&cp90), &cp50, &proof).unwrap(),
        WitnessDecision::Older
    );
}

#[test]
fn cosignature_is_added_and_verifies() {
    let s = log_signer();
    let w = witness_key(1);
    let mut cp = log_of(5).checkpoint(&s).unwrap();
    let sig = w.cosign(&cp.checkpoint, 1_764_300_000).unwrap();
    cp.add_signature(sig);
    let reopened = SignedCheckpoint::open(cp.to_text().as_bytes(), s.verifier()).unwrap();
    let cosigs = reopened
        .cosignatures(&[w.verifier().clone(), witness_key(2).verifier().clone()])
        .unwrap();
    assert_eq!(cosigs.len(), 1);
    assert_eq!(cosigs[0].timestamp, Some(1_764_300_000));
    assert!(w.verifier().to_vkey().contains("+"));
}

#[test]
fn same_size_different_roots_raises_an_alarm_with_both_checkpoints() {
    let s = log_signer();
    let a = log_of(20).checkpoint(&s).unwrap();
    let b = forked(20, 3).checkpoint(&s).unwrap();
    let WitnessDecision::Alarm(alarm) = witness(s.verifier(), Some(&a), &b, &[]).unwrap() else {
        panic!("expected an alarm");
    };
    assert_eq!(alarm.kind, AlarmKind::SameSizeDifferentRoots);
    assert_eq!(alarm.smaller, a.to_text());
    assert_eq!(alarm.larger, b.to_text());
    alarm.verify(s.verifier()).unwrap();
    let json = serde_json::to_string(&alarm).unwrap();
    assert!(json.contains("\"same_size_different_roots\""));
    let back: comity_ledger::Alarm = serde_json::from_str(&json).unwrap();
    assert_eq!(back, alarm);
    back.verify(s.verifier()).unwrap();
}

#[test]
fn smaller_tree_not_a_prefix_raises_an_alarm_both_ways() {
    let s = log_signer();
    let honest = log_of(37);
    let fork = forked(100, 5);
    let old = honest.checkpoint(&s).unwrap();
    let new = fork.checkpoint(&s).unwrap();
    let proof = fork.consistency_proof(37, 100).unwrap();
    let WitnessDecision::Alarm(alarm) = witness(s.verifier(), Some(&old), &new, &proof).unwrap()
    else {
        panic!("expected an alarm");
    };
    assert_eq!(alarm.kind, AlarmKind::NotAPrefix);
    assert_eq!(alarm.implied_root, Some(fork.root_at(37).unwrap()));
    alarm.verify(s.verifier()).unwrap();
    // Seen in the other order (the larger tree first), the same evidence appears.
    let WitnessDecision::Alarm(alarm2) = witness(s.verifier(), Some(&new), &old, &proof).unwrap()
    else {
        panic!("expected an alarm");
    };
    assert_eq!(alarm2.smaller, old.to_text());
}

#[test]
fn a_proof_that_does_not_reach_the_new_root_is_an_error_not_an_alarm() {
    let s = log_signer();
    let log = log_of(100);
    let old = log_of(37).checkpoint(&s).unwrap();
    let new = log.checkpoint(&s).unwrap();
    let mut proof = log.consistency_proof(37, 100).unwrap();
    proof.last_mut().unwrap().0[0] ^= 1;
    let err = witness(s.verifier(), Some(&old), &new, &proof).unwrap_err();
    assert_eq!(err.code(), "ledger.consistency_new_root_mismatch");
}

#[test]
fn unsigned_or_foreign_checkpoints_are_refused() {
    let s = log_signer();
    let other = comity_ledger::NoteSigner::from_seed(ORIGIN, &[9u8; 32]).unwrap();
    let cp = log_of(3).checkpoint(&other).unwrap();
    assert!(witness(s.verifier(), None, &cp, &[]).is_err());
}

#[test]
fn forged_alarm_evidence_does_not_verify() {
    let s = log_signer();
    let a = log_of(20).checkpoint(&s).unwrap();
    let mut alarm = match witness(
        s.verifier(),
        Some(&a),
        &forked(20, 1).checkpoint(&s).unwrap(),
        &[],
    )
    .unwrap()
    {
        WitnessDecision::Alarm(a) => a,
        d => panic!("{d:?}"),
    };
    alarm.larger = a.to_text();
    assert_eq!(
        alarm.verify(s.verifier()).unwrap_err().code(),
        "ledger.alarm_evidence"
    );
    let unsigned = SignedCheckpoint::sign(
        Checkpoint::new(ORIGIN, 20, a.checkpoint.root),
        &comity_ledger::NoteSigner::from_seed(ORIGIN, &[1; 32]).unwrap(),
    );
    alarm.larger = unsigned.to_text();
    assert!(alarm.verify(s.verifier()).is_err());
}

fn tiles_for(log: &MemoryLog, old: u64) -> comity_ledger::tile::TileSet {
    let mut set = comity_ledger::tile::TileSet::new(log.size());
    for id in comity_ledger::tile::tiles_for_consistency(old, log.size()).unwrap() {
        set.insert(&id, &log.tile(&id).unwrap()).unwrap();
    }
    set
}

#[test]
fn witnessing_from_fetched_tiles_cosigns_an_honest_log() {
    let s = log_signer();
    let log = log_of(70_000);
    let new = log.checkpoint(&s).unwrap();
    for old in [1, 255, 256, 4096, 65_536, 69_999] {
        let last = log_of(old).checkpoint(&s).unwrap();
        let tiles = tiles_for(&log, old);
        assert_eq!(
            comity_ledger::witness_from_tiles(s.verifier(), Some(&last), &new, &tiles).unwrap(),
            WitnessDecision::Cosign,
            "old size {old}"
        );
    }
    // Only a few tiles are needed, not the whole log.
    assert!(
        comity_ledger::tile::tiles_for_consistency(4096, 70_000)
            .unwrap()
            .len()
            <= 6
    );
}

#[test]
fn a_fork_at_a_power_of_two_size_is_proven_from_tiles() {
    let s = log_signer();
    for (old, fork_at) in [(256, 3), (64, 63), (37, 5)] {
        let honest = log_of(old).checkpoint(&s).unwrap();
        let fork = forked(1000, fork_at);
        let new = fork.checkpoint(&s).unwrap();
        let tiles = tiles_for(&fork, old);
        let WitnessDecision::Alarm(alarm) =
            comity_ledger::witness_from_tiles(s.verifier(), Some(&honest), &new, &tiles).unwrap()
        else {
            panic!("expected an alarm at old size {old}");
        };
        assert_eq!(alarm.kind, AlarmKind::NotAPrefix);
        assert_eq!(alarm.implied_root, Some(fork.root_at(old).unwrap()));
        alarm.verify(s.verifier()).unwrap();
    }
}

#[test]
fn corrupted_tiles_give_an_error_not_an_alarm() {
    let s = log_signer();
    let log = log_of(1000);
    let last = log_of(300).checkpoint(&s).unwrap();
    let new = log.checkpoint(&s).unwrap();
    let mut set = comity_ledger::tile::TileSet::new(1000);
    for id in comity_ledger::tile::tiles_for_consistency(300, 1000).unwrap() {
        let mut bytes = log.tile(&id).unwrap();
        bytes[40] ^= 1;
        set.insert(&id, &bytes).unwrap();
    }
    assert!(comity_ledger::witness_from_tiles(s.verifier(), Some(&last), &new, &set).is_err());
}
