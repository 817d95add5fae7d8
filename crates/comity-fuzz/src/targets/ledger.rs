//! Signed notes, checkpoints, cosignatures, tiles, entries and proof files of `comity-ledger`.

use comity_ledger::tile::{TileId, TileLevel, TileSet, decode_bundle, encode_bundle, parse_tile};
use comity_ledger::witness::Alarm;
use comity_ledger::{
    Checkpoint, Entry, Note, NoteVerifier, ProofBundle, SignedCheckpoint, leaf_hash,
};

use crate::Scratch;
use crate::fixtures::fixtures;

/// The texts of the checkpoints the fixture logs signed.
fn genuine_texts() -> Vec<String> {
    fixtures()
        .checkpoints
        .iter()
        .filter_map(|c| SignedCheckpoint::parse_unverified(c).ok())
        .map(|c| c.note.text)
        .collect()
}

pub(super) fn checkpoint(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(v) = NoteVerifier::parse(text)
    {
        assert_eq!(
            v.to_vkey(),
            text.trim(),
            "a verifier key read back must have one spelling"
        );
    }
    let Ok(note) = Note::parse(data) else {
        return;
    };
    assert_eq!(
        note.to_text().as_bytes(),
        data,
        "a note read back must have one spelling"
    );
    if let Ok(body) = Checkpoint::parse(&note.text) {
        assert_eq!(
            body.to_text(),
            note.text,
            "a checkpoint read back must have one spelling"
        );
    }
    let Ok(cp) = SignedCheckpoint::parse_unverified(data) else {
        return;
    };
    let texts = genuine_texts();
    for log in [f.dz.log_verifier(), f.fr.log_verifier()] {
        if cp.verify(&log).is_ok() {
            assert!(
                texts.contains(&cp.note.text),
                "a checkpoint the log never signed verified"
            );
        }
    }
    if cp.cosignatures(&f.witnesses()).is_ok_and(|c| !c.is_empty()) {
        assert!(
            texts.contains(&cp.note.text),
            "a checkpoint no witness cosigned verified"
        );
    }
}

pub(super) fn tile(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    if let Ok(entries) = decode_bundle(data) {
        assert_eq!(
            encode_bundle(&entries).ok().as_deref(),
            Some(data),
            "an entry bundle read back must have one spelling"
        );
    }
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (path, bytes) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let Ok(id) = TileId::parse_path(&String::from_utf8_lossy(path)) else {
        return;
    };
    assert_eq!(
        id.path().as_bytes(),
        path,
        "a tile path read back must have one spelling"
    );
    let genuine = f.tiles.iter().find(|(p, _)| p.as_bytes() == path);
    let root =
        f.dz.log
            .root_at(f.checkpoint_size)
            .expect("the fixture root");
    let mut set = TileSet::new(f.checkpoint_size);
    for (p, b) in &f.tiles {
        if let Ok(tid) = TileId::parse_path(p)
            && matches!(tid.level, TileLevel::Hashes(_))
        {
            let b = if p.as_bytes() == path { bytes } else { b };
            let _ = set.insert(&tid, b);
        }
    }
    match id.level {
        TileLevel::Hashes(_) => {
            if let Ok(hashes) = parse_tile(&id, bytes) {
                let back: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
                assert_eq!(back, bytes);
            }
            if set.verify(&root).is_ok()
                && let Some((_, want)) = genuine
            {
                assert_eq!(
                    bytes,
                    want.as_slice(),
                    "a tile the log never served verified"
                );
            }
        }
        TileLevel::Entries => {
            if let Ok(entries) = set.verify_bundle(&id, bytes) {
                let want = genuine.map(|(_, b)| b.as_slice());
                assert_eq!(
                    Some(bytes),
                    want,
                    "an entry bundle the log never served verified"
                );
                assert!(
                    entries
                        .iter()
                        .all(|e| f.dz.log.stored_hashes().contains(&leaf_hash(e)))
                );
            }
        }
    }
}

pub(super) fn ledger_entry(_: &Scratch, data: &[u8]) {
    if let Ok(e) = Entry::parse(data) {
        assert_eq!(
            e.to_bytes().ok().as_deref(),
            Some(data),
            "an entry read back must have one spelling"
        );
    }
}

pub(super) fn proof_bundle(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    let logs = [f.dz.log_verifier(), f.fr.log_verifier()];
    if let Ok(alarm) = serde_json::from_slice::<Alarm>(data) {
        for log in &logs {
            assert!(
                alarm.verify(log).is_err(),
                "an alarm against a log that never forked verified"
            );
        }
    }
    let Ok(bundle) = ProofBundle::from_json(data) else {
        return;
    };
    let again = ProofBundle::from_json(bundle.to_json().as_bytes());
    assert_eq!(
        again.ok().as_ref(),
        Some(&bundle),
        "a proof file must read back as itself"
    );
    let texts = genuine_texts();
    let leaves: Vec<_> = [&f.dz, &f.fr]
        .iter()
        .flat_map(|m| m.log.stored_hashes().iter().copied())
        .collect();
    for log in &logs {
        let Ok(v) = bundle.verify(log, &f.witnesses()) else {
            continue;
        };
        let proven = texts
            .iter()
            .any(|t| Checkpoint::parse(t).is_ok_and(|c| c.root == v.root && c.size == v.size));
        let story = f.story_proofs.iter().any(|p| {
            ProofBundle::from_json(p)
                .is_ok_and(|b| b.verify(log, &[]).is_ok_and(|g| g.root == v.root))
        });
        assert!(
            proven || story,
            "a proof against a tree the log never signed verified"
        );
        if let Some(leaf) = v.leaf_hash {
            assert!(
                leaves.contains(&leaf),
                "a proof of an entry the log never held verified"
            );
        }
    }
}
