//! Entry format v1: canonical bytes, exact parsing, size limit.

use std::collections::BTreeMap;

use comity_ledger::entry::{Digest, Subject};
use comity_ledger::{Entry, EntryKind};

fn sample() -> Entry {
    Entry {
        kind: EntryKind::RequestState,
        time_ms: 1_764_324_000_123,
        actor: "dz-moj/officer-17".into(),
        subjects: vec![
            Subject {
                kind: "request".into(),
                id: "mla-2026-0017".into(),
            },
            Subject {
                kind: "message".into(),
                id: "0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d".into(),
            },
        ],
        digests: vec![Digest {
            label: "message".into(),
            sha256: "ab".repeat(32),
        }],
        attrs: BTreeMap::from([
            ("to".into(), "accepted".into()),
            ("from".into(), "submitted".into()),
        ]),
    }
}

#[test]
fn canonical_bytes_are_the_documented_text() {
    let bytes = sample().to_bytes().unwrap();
    let golden =
        std::fs::read(crate::support::data_dir().join("entry-v1-request-state.txt")).unwrap();
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        String::from_utf8(golden).unwrap()
    );
    assert_eq!(Entry::parse(&bytes).unwrap(), sample());
}

#[test]
fn every_kind_round_trips() {
    for kind in EntryKind::ALL {
        let e = Entry { kind, ..sample() };
        assert_eq!(Entry::parse(&e.to_bytes().unwrap()).unwrap(), e);
    }
}

#[test]
fn non_canonical_or_invalid_entries_are_refused() {
    let good = String::from_utf8(sample().to_bytes().unwrap()).unwrap();
    let cases = [
        good.replace("comity-ledger-entry/v1", "comity-ledger-entry/v2"),
        good.replace(
            "attr from submitted\nattr to accepted\n",
            "attr to accepted\nattr from submitted\n",
        ),
        good.replace("kind request_state", "kind request_State"),
        good.replace("time 1764324000123", "time 01764324000123"),
        good.replace("actor ", "actor  "),
        good.replace(&"ab".repeat(32), &"AB".repeat(32)),
        good.trim_end().to_owned(),
        good.replace("subject message", "subject request")
            .replace("0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "mla-2026-0017"),
        format!("{good}note free text\n"),
    ];
    for c in cases {
        let err = Entry::parse(c.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "ledger.entry_format", "{c}");
    }
    let mut e = sample();
    e.actor = "has space".into();
    assert!(e.to_bytes().is_err());
    e.actor = "x".repeat(129);
    assert!(e.to_bytes().is_err());
}

#[test]
fn json_form_is_stable() {
    let json = serde_json::to_value(sample()).unwrap();
    assert_eq!(json["kind"], "request_state");
    assert_eq!(json["subjects"][0]["type"], "request");
}
