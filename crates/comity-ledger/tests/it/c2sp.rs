//! Golden tests from the worked examples of the C2SP specifications (signed-note,
//! tlog-checkpoint, tlog-cosignature, tlog-tiles), kept as data in tests/data/c2sp.

use comity_ledger::note::{SIG_TYPE_ED25519, key_id};
use comity_ledger::tile::{TileLevel, entry_bundles_for_size, hash_tiles_for_size};
use comity_ledger::{
    Checkpoint, LedgerError, Note, NoteVerifier, SignedCheckpoint, TileId, cosignature,
};

use crate::support::data_dir;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data_dir().join("c2sp").join(name)).unwrap()
}

fn read_str(name: &str) -> String {
    String::from_utf8(read(name)).unwrap()
}

#[test]
fn signed_note_example_verifies_with_its_vkey() {
    let vkey = read_str("signed-note-example.vkey");
    let v = NoteVerifier::parse(&vkey).unwrap();
    assert_eq!(v.key_id(), 0x530d903a);
    assert_eq!(v.name(), "example.com/foo");
    assert_eq!(v.to_vkey(), vkey.trim());
    let note = Note::parse(&read("signed-note-example.txt")).unwrap();
    assert_eq!(note.text, "This is an example message.\n");
    let ok = note.verify(std::slice::from_ref(&v)).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(note.to_text().into_bytes(), read("signed-note-example.txt"));
}

/// Found by the `checkpoint` fuzz target: a key id spelt with capital hex digits was read as the
/// same key, so one vkey had two spellings.
#[test]
fn a_vkey_has_one_spelling_its_key_id_in_lowercase_hex() {
    let vkey = read_str("signed-note-example.vkey");
    let shouted = vkey.replacen("+530d903a+", "+530D903A+", 1);
    assert_ne!(shouted, vkey);
    let err = NoteVerifier::parse(&shouted).unwrap_err();
    assert_eq!(err.code(), "ledger.verifier_key");
    assert!(err.to_string().contains("lowercase"), "{err}");
}

#[test]
fn key_id_is_the_spec_hash_of_name_type_and_key() {
    let v = NoteVerifier::parse(&read_str("signed-note-example.vkey")).unwrap();
    let pubkey = &base64_decode("AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")[1..];
    assert_eq!(
        key_id("example.com/foo", SIG_TYPE_ED25519, pubkey),
        v.key_id()
    );
}

#[test]
fn signed_note_example_with_a_changed_text_is_refused() {
    let v = NoteVerifier::parse(&read_str("signed-note-example.vkey")).unwrap();
    let tampered =
        read_str("signed-note-example.txt").replace("example message", "exemplary message");
    let note = Note::parse(tampered.as_bytes()).unwrap();
    let err = note.verify(&[v]).unwrap_err();
    assert_eq!(err.code(), "ledger.note_bad_signature");
}

#[test]
fn vkey_with_wrong_name_or_id_is_refused() {
    let vkey = read_str("signed-note-example.vkey");
    let renamed = vkey.replace("example.com/foo", "example.com/bar");
    assert_eq!(
        NoteVerifier::parse(&renamed).unwrap_err().code(),
        "ledger.verifier_key"
    );
    let reid = vkey.replace("530d903a", "530d903b");
    assert_eq!(
        NoteVerifier::parse(&reid).unwrap_err().code(),
        "ledger.verifier_key"
    );
    for bad in [
        "example.com/foo+530d903a",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "a b+530d903a+AA==",
    ] {
        assert!(NoteVerifier::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn unknown_signers_are_ignored_but_one_known_is_required() {
    let v = NoteVerifier::parse(&read_str("signed-note-example.vkey")).unwrap();
    // The checkpoint example is signed by keys we do not know.
    let note = Note::parse(&read("cosigned-checkpoint-example.txt")).unwrap();
    assert_eq!(note.signatures.len(), 2);
    let err = note.verify(&[v]).unwrap_err();
    assert!(matches!(err, LedgerError::NoteUnverified(_)));
}

#[test]
fn checkpoint_example_parses_and_round_trips() {
    let bytes = read("cosigned-checkpoint-example.txt");
    let cp = SignedCheckpoint::parse_unverified(&bytes).unwrap();
    assert_eq!(cp.checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.checkpoint.size, 20852163);
    assert_eq!(
        cp.checkpoint.root.to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(cp.checkpoint.extensions.is_empty());
    assert_eq!(cp.note.signatures[0].key_id, 0x033de0ae);
    assert_eq!(cp.to_text().into_bytes(), bytes);
    assert_eq!(
        Checkpoint::parse(&cp.note.text).unwrap().to_text(),
        cp.note.text
    );
}

#[test]
fn cosignature_example_has_the_spec_timestamp_and_message() {
    let cp = SignedCheckpoint::parse_unverified(&read("cosigned-checkpoint-example.txt")).unwrap();
    let w = &cp.note.signatures[1];
    assert_eq!(w.name, "witness.example.com/w1");
    assert_eq!(w.key_id, 0x8d66cf3f);
    let (ts, sig) = cosignature::split(&w.signature).unwrap();
    assert_eq!(ts, 1679315147);
    assert_eq!(sig.len(), 64);
    assert_eq!(
        cosignature::message(ts, &cp.note.text),
        read("cosignature-message-example.txt")
    );
}

#[test]
fn checkpoint_text_rules_are_enforced() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    for bad in [
        format!("o\n012\n{root}\n"),
        format!("o\n-1\n{root}\n"),
        format!("o\n 12\n{root}\n"),
        format!("\n12\n{root}\n"),
        "o\n12\nAAAA\n".to_owned(),
        format!("o\n12\n{root}"),
        format!("o\n12\n{root}\n\n"),
        "o\n12\n".to_owned(),
        format!("o\n18446744073709551616\n{root}\n"),
    ] {
        assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
    }
    let ext = Checkpoint::parse(&format!("o\n0\n{root}\nextension one\n")).unwrap();
    assert_eq!(ext.extensions, vec!["extension one".to_owned()]);
}

#[test]
fn tile_path_examples_encode_and_parse() {
    for line in read_str("tile-paths.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split(' ').collect();
        let level = match f[0] {
            "entries" => TileLevel::Entries,
            l => TileLevel::Hashes(l.parse().unwrap()),
        };
        let id = TileId {
            level,
            index: f[1].parse().unwrap(),
            width: f[2].parse().unwrap(),
        };
        assert_eq!(id.path(), f[3], "{line}");
        assert_eq!(TileId::parse_path(f[3]).unwrap(), id, "{line}");
    }
}

#[test]
fn non_canonical_tile_paths_are_refused() {
    for line in read_str("tile-paths-bad.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
    {
        let err = TileId::parse_path(line).unwrap_err();
        assert_eq!(err.code(), "ledger.tile_path", "{line}");
    }
}

fn count(tiles: &[TileId], level: u8) -> (usize, Vec<u16>) {
    let at: Vec<&TileId> = tiles
        .iter()
        .filter(|t| t.level == TileLevel::Hashes(level))
        .collect();
    (
        at.iter().filter(|t| t.is_full()).count(),
        at.iter()
            .filter(|t| !t.is_full())
            .map(|t| t.width)
            .collect(),
    )
}

#[test]
fn tree_of_70000_has_the_tiles_the_spec_lists() {
    let tiles = hash_tiles_for_size(70_000);
    assert_eq!(count(&tiles, 0), (273, vec![112]));
    assert_eq!(count(&tiles, 1), (1, vec![17]));
    assert_eq!(count(&tiles, 2), (0, vec![1]));
    assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
    let bundles = entry_bundles_for_size(70_000);
    assert_eq!(bundles.len(), 274);
    assert_eq!(bundles.last().map(|b| b.width), Some(112));
}

#[test]
fn tree_of_256_has_one_full_tile_and_a_level_1_partial() {
    let tiles = hash_tiles_for_size(256);
    assert_eq!(count(&tiles, 0), (1, vec![]));
    assert_eq!(count(&tiles, 1), (0, vec![1]));
    assert_eq!(tiles.len(), 2);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
