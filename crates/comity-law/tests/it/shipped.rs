use std::path::Path;

use comity_law::{LawPacks, SHIPPED};

use crate::support::read_dir;

#[test]
fn shipped_packs_load() {
    let packs = LawPacks::shipped().unwrap_or_else(|e| panic!("{e}"));
    for state in ["DZ", "MA", "TN", "FR", "ES", "DE", "GB", "US"] {
        let s = comity_law::State::parse(state).unwrap();
        assert!(packs.jurisdiction(s).is_some(), "{state} has no pack");
    }
    for t in [
        "budapest",
        "budapest_protocol2",
        "un_cybercrime",
        "arab_it_2010",
        "ets24",
        "ets30",
        "eu_eaw",
        "eu_e_evidence",
        "dz_ma_judicial",
    ] {
        assert!(packs.treaty(t).is_some(), "treaty {t} missing");
    }
}

#[test]
fn every_file_under_lawpacks_is_shipped() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lawpacks");
    let on_disk: Vec<String> = read_dir(&dir).into_iter().map(|(n, _)| n).collect();
    let mut shipped: Vec<String> = SHIPPED.iter().map(|(n, _)| (*n).to_owned()).collect();
    shipped.sort();
    assert_eq!(
        on_disk, shipped,
        "lawpacks/ and the SHIPPED list in src/shipped.rs differ"
    );
}
