//! Seed inputs of every target, made from the fixtures and from the project's own vectors and
//! test data; `examples/seeds.rs` writes them to `corpus/`, and the bounded run starts from them.

use std::io::Cursor;

use comity_evidence::custody::SignedEvent;
use comity_ledger::witness::{Alarm, AlarmKind};
use comity_pdq::list::parse_signed_update_bytes;
use serde_json::Value;

use crate::Scratch;
use crate::fixtures::{draft_of, fixtures, genuine_package, ts};

/// Test data of other crates, embedded so the seeds are the same wherever they are made.
const LEDGER_DATA: &[&[u8]] = &[
    include_bytes!("../../comity-ledger/tests/data/c2sp/signed-note-example.txt"),
    include_bytes!("../../comity-ledger/tests/data/c2sp/cosigned-checkpoint-example.txt"),
    include_bytes!("../../comity-ledger/tests/data/c2sp/signed-note-example.vkey"),
    include_bytes!("../../comity-ledger/tests/data/log-sample/checkpoint"),
    include_bytes!("../../comity-ledger/tests/data/proofs/log.vkey"),
    include_bytes!("../../comity-ledger/tests/data/proofs/witness.vkey"),
];
const PROOF_DATA: &[&[u8]] = &[
    include_bytes!("../../comity-ledger/tests/data/proofs/inclusion.json"),
    include_bytes!("../../comity-ledger/tests/data/proofs/inclusion-tampered.json"),
    include_bytes!("../../comity-ledger/tests/data/proofs/consistency.json"),
];
const TILE_PATHS: &str = include_str!("../../comity-ledger/tests/data/c2sp/tile-paths.txt");
const TILE_PATHS_BAD: &str = include_str!("../../comity-ledger/tests/data/c2sp/tile-paths-bad.txt");
const SAMPLE_TILES: &[(&str, &[u8])] = &[
    (
        "tile/0/000.p/100",
        include_bytes!("../../comity-ledger/tests/data/log-sample/tile/0/000.p/100"),
    ),
    (
        "tile/entries/000.p/100",
        include_bytes!("../../comity-ledger/tests/data/log-sample/tile/entries/000.p/100"),
    ),
];
const ENTRY_DATA: &[u8] =
    include_bytes!("../../comity-ledger/tests/data/entry-v1-request-state.txt");
pub(crate) const ENVELOPE_VECTORS: &[&str] = &[
    include_str!("../../comity-seal/tests/vectors/envelope-x25519.json"),
    include_str!("../../comity-seal/tests/vectors/envelope-xwing.json"),
];
const EVENT_VECTOR: &str = include_str!("../../comity-evidence/tests/data/custody-event-v1.json");
const LAW_CASES: &[&str] = &[
    include_str!("../../comity-law/tests/data/cases/legal_basis.json"),
    include_str!("../../comity-law/tests/data/cases/dual_criminality.json"),
    include_str!("../../comity-law/tests/data/cases/extradition.json"),
    include_str!("../../comity-law/tests/data/cases/competing_requests.json"),
    include_str!("../../comity-law/tests/data/cases/jurisdiction.json"),
    include_str!("../../comity-law/tests/data/cases/shipped.json"),
    include_str!("../../comity-law/tests/data/cases/errors.json"),
];
const LAW_FILES: &[&str] = &[
    include_str!("../../comity-law/tests/data/broken/xa.toml"),
    include_str!("../../comity-law/tests/data/broken/nokind.toml"),
    include_str!("../../comity-law/tests/data/broken/syntax.toml"),
    include_str!("../../comity-law/tests/data/broken/taxonomy.toml"),
    include_str!("../../comity-law/tests/data/broken/shape.toml"),
    include_str!("../../comity-law/tests/data/fictional/taxonomy.toml"),
    include_str!("../../comity-law/tests/data/fictional/treaties/alpha.toml"),
    include_str!("../../comity-law/tests/data/fictional/jurisdictions/xa.toml"),
];

/// The seeds of the target `name` (none for an unknown name); `scratch` is where the package
/// fixture is written.
pub fn seeds(name: &str, scratch: &Scratch) -> Vec<Vec<u8>> {
    let f = fixtures();
    match name {
        "envelope" => {
            let mut out = f.envelopes.clone();
            out.extend(vector_fields("envelope"));
            out
        }
        "receipt" => {
            let mut out = f.receipts.clone();
            out.extend(vector_fields("receipt"));
            out
        }
        "descriptor" => {
            let mut out = vec![f.dz.descriptor.to_json(), f.fr.descriptor.to_json()];
            out.extend(vector_fields("recipient_descriptor"));
            out
        }
        "trust_list" => vec![f.trust_list.clone()],
        "message_body" => {
            let mut out: Vec<Vec<u8>> = f.bodies.iter().map(|(_, b)| b.clone()).collect();
            out.extend(f.offers.iter().cloned());
            out.push(
                br#"{"list":"dz-moj/csam-baseline","entry":3,"series":"0a0b","distance":12,"note":"seen"}"#
                    .to_vec(),
            );
            out.extend(vector_fields("body_jcs"));
            out
        }
        "checkpoint" => {
            let mut out = f.checkpoints.clone();
            out.extend(LEDGER_DATA.iter().map(|d| d.to_vec()));
            out.push(f.dz.log_verifier().to_vkey().into_bytes());
            out.extend(f.witnesses().iter().map(|w| w.to_vkey().into_bytes()));
            out
        }
        "tile" => {
            let mut out: Vec<Vec<u8>> = f
                .tiles
                .iter()
                .chain(
                    SAMPLE_TILES
                        .iter()
                        .map(|(p, b)| (p.to_string(), b.to_vec()))
                        .collect::<Vec<_>>()
                        .iter(),
                )
                .map(|(p, b)| [p.as_bytes(), b"\n", b].concat())
                .collect();
            for line in TILE_PATHS.lines().chain(TILE_PATHS_BAD.lines()) {
                if let Some(path) = line
                    .split_whitespace()
                    .last()
                    .filter(|_| !line.starts_with('#'))
                {
                    out.push(path.as_bytes().to_vec());
                }
            }
            out
        }
        "ledger_entry" => {
            let mut out = f.entries.clone();
            out.push(ENTRY_DATA.to_vec());
            if let Ok(v) = serde_json::from_str::<Value>(EVENT_VECTOR) {
                out.extend(v["ledger_entry"].as_str().map(|s| s.as_bytes().to_vec()));
            }
            out.extend(f.story.iter().filter_map(|e| {
                e.event
                    .ledger_entry()
                    .ok()
                    .and_then(|en| en.to_bytes().ok())
            }));
            out
        }
        "proof_bundle" => {
            let mut out = f.proofs.clone();
            out.extend(PROOF_DATA.iter().map(|d| d.to_vec()));
            out.push(alarm());
            out
        }
        "hash_list" => {
            let mut out = f.list_updates.clone();
            out.push(f.list_file.clone());
            out.extend(f.list_updates.iter().filter_map(|u| {
                parse_signed_update_bytes(u)
                    .ok()
                    .map(|s| comity_pdq::list::update_bytes(&s.update))
            }));
            out
        }
        "pdq_index" => vec![f.pdq_index.clone()],
        "pdq_image" => images(),
        "custody_event" => {
            let mut out = f.events.clone();
            if let Ok(v) = serde_json::from_str::<Value>(EVENT_VECTOR) {
                out.extend(
                    serde_json::from_value::<SignedEvent>(v["signed_event"].clone())
                        .ok()
                        .map(|e| e.to_json()),
                );
                out.extend(v["canonical_event"].as_str().map(|s| s.as_bytes().to_vec()));
            }
            out
        }
        "evidence_message" => f.offers.clone(),
        "package_zip" => vec![genuine_package(scratch.dir()).zip.clone()],
        "package_edit" => package_edits(),
        "law_question" => law_questions(),
        "law_pack" => {
            let mut out: Vec<Vec<u8>> = comity_law::SHIPPED
                .iter()
                .enumerate()
                .map(|(i, (_, text))| [&[i as u8][..], text.as_bytes()].concat())
                .collect();
            out.extend(
                LAW_FILES
                    .iter()
                    .map(|t| [&[0u8][..], t.as_bytes()].concat()),
            );
            out
        }
        "workflow_draft" => story_requests()
            .iter()
            .filter_map(|r| serde_json::to_vec(&draft_of(r)).ok())
            .collect(),
        "workflow_actions" => story_requests()
            .iter()
            .filter_map(|r| {
                serde_json::to_vec(&serde_json::json!({
                    "draft": draft_of(r),
                    "actions": r.stamped(),
                }))
                .ok()
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A string field of every envelope test vector of `comity-seal`.
fn vector_fields(field: &str) -> Vec<Vec<u8>> {
    ENVELOPE_VECTORS
        .iter()
        .filter_map(|v| serde_json::from_str::<Value>(v).ok())
        .filter_map(|v| v[field].as_str().map(|s| s.as_bytes().to_vec()))
        .collect()
}

/// Alarm evidence that names two genuine checkpoints of one log but proves nothing.
fn alarm() -> Vec<u8> {
    let f = fixtures();
    let text = |b: &Vec<u8>| String::from_utf8_lossy(b).into_owned();
    let alarm = Alarm {
        version: 1,
        kind: AlarmKind::NotAPrefix,
        origin: f.dz.log.origin().to_owned(),
        smaller: text(&f.checkpoints[2]),
        larger: text(&f.checkpoints[0]),
        proof: Vec::new(),
        implied_root: None,
    };
    serde_json::to_vec(&alarm).unwrap_or_default()
}

/// A small picture in every format the decoder reads.
fn images() -> Vec<Vec<u8>> {
    let img = image::RgbImage::from_fn(48, 40, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 6) as u8, ((x ^ y) * 4) as u8])
    });
    let formats = [
        image::ImageFormat::Png,
        image::ImageFormat::Jpeg,
        image::ImageFormat::Gif,
        image::ImageFormat::Bmp,
        image::ImageFormat::WebP,
        image::ImageFormat::Tiff,
    ];
    formats
        .into_iter()
        .filter_map(|format| {
            let mut out = Cursor::new(Vec::new());
            img.write_to(&mut out, format).ok()?;
            Some(out.into_inner())
        })
        .collect()
}

/// Edit scripts for `package_edit`: each operation once on a few entries, as zip and directory,
/// and a folder entry that carries data.
fn package_edits() -> Vec<Vec<u8>> {
    let mut out = vec![vec![0, 0, 0, 3, 4, b'a', b'b', b'c', b'/', 2, b'h', b'i']];
    for form in 0..2u8 {
        for op in 0..7u8 {
            for entry in [0u8, 3, 7] {
                out.push(vec![form, 0, entry, op, 5, b'h', b'e', b'l', b'l', b'o', 2]);
            }
        }
    }
    out
}

/// Every question of the law engine's test cases.
fn law_questions() -> Vec<Vec<u8>> {
    LAW_CASES
        .iter()
        .filter_map(|c| serde_json::from_str::<Vec<Value>>(c).ok())
        .flatten()
        .filter_map(|case| serde_json::to_vec(&case["question"]).ok())
        .collect()
}

fn story_requests() -> Vec<comity_workflow::Request> {
    let packs = comity_law::LawPacks::shipped().expect("the shipped packs load");
    let rules = comity_workflow::Rules::shipped().expect("the shipped rules load");
    comity_workflow::scenario(&packs, &rules, ts(0))
        .map(|t| t.requests)
        .unwrap_or_default()
}
