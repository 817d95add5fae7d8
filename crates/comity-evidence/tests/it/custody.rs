use comity_evidence::Sha256Digest;
use comity_evidence::custody::{Action, CustodyEvent, SignedEvent, Timeline};
use comity_ledger::{Entry, EntryKind};

use crate::support::{Node, acquired, node, story, ts};

#[test]
fn events_are_signed_chained_and_map_to_ledger_entries() {
    let sha = Sha256Digest::of(b"mailbox");
    let s = story(sha);
    let t = Timeline::new(s.events.clone()).unwrap();
    let keys = |n: &comity_model::NodeId| {
        [&s.dz, &s.fr]
            .into_iter()
            .find(|x| &x.id == n)
            .map(|x| x.descriptor.descriptor.signing_key)
    };
    t.verify_signatures(keys).unwrap();
    assert_eq!(t.last().action, Action::Exported);
    assert_eq!(t.lines().len(), 6);
    assert!(
        t.lines()[0].contains("FTK Imager 4.7.1"),
        "{}",
        t.lines()[0]
    );

    let e = &s.events[2].event;
    let entry = Entry::parse(&e.ledger_entry().unwrap().to_bytes().unwrap()).unwrap();
    assert_eq!(entry.kind, EntryKind::CustodyEvent);
    assert_eq!(entry.actor, "dz-moj/clerk-2");
    assert_eq!(entry.subjects[0].kind, "evidence");
    assert_eq!(entry.subjects[0].id, sha.hex());
    assert_eq!(entry.digests[0].label, "event");
    assert_eq!(entry.digests[0].sha256, e.digest().hex());
    assert_eq!(entry.attrs["action"], "sent");
    assert_eq!(entry.attrs["counterpart"], "fr-ocl");

    // Canonical JSON round trip, and nothing else parses.
    let json = s.events[0].to_json();
    assert_eq!(SignedEvent::from_json(&json).unwrap(), s.events[0]);
    let mut spaced = json.clone();
    spaced.insert(1, b' ');
    assert_eq!(
        SignedEvent::from_json(&spaced).unwrap_err().code(),
        "evidence.event_format"
    );
}

#[test]
fn broken_chains_are_named() {
    let s = story(Sha256Digest::of(b"x"));
    let mut removed = s.events.clone();
    removed.remove(2);
    let err = Timeline::new(removed).unwrap_err();
    assert_eq!(err.code(), "evidence.chain");
    assert!(err.to_string().contains("event 2"), "{err}");

    let mut swapped = s.events.clone();
    swapped.swap(3, 4);
    assert!(
        Timeline::new(swapped)
            .unwrap_err()
            .to_string()
            .contains("event 3")
    );

    // An event re-signed by another node's key fails signature verification.
    let mallory = Node::new("xx-bad", "FR");
    let mut resigned = s.events.clone();
    resigned[1] = resigned[1]
        .event
        .clone()
        .sign(mallory.secrets.signing_key())
        .unwrap();
    let t = Timeline::new(resigned).unwrap();
    let err = t
        .verify_signatures(|n| {
            [&s.dz, &s.fr]
                .into_iter()
                .find(|x| &x.id == n)
                .map(|x| x.descriptor.descriptor.signing_key)
        })
        .unwrap_err();
    assert!(err.to_string().contains("event 1"), "{err}");

    let mut t = Timeline::new(s.events[..2].to_vec()).unwrap();
    assert!(t.push(s.events[3].clone()).is_err());
    assert_eq!(t.events().len(), 2);
    t.push(s.events[2].clone()).unwrap();
}

#[test]
fn invalid_events_are_refused_before_signing() {
    let dz = Node::new("dz-moj", "DZ");
    let sha = Sha256Digest::of(b"x");
    let mut no_acq = acquired(sha);
    no_acq.acquisition = None;
    let mut bad_user = acquired(sha);
    bad_user.user = "a user".into();
    let mut orphan =
        CustodyEvent::next_after(&acquired(sha), Action::Sent, ts(5), node("dz-moj"), "u");
    orphan.counterpart = None;
    for e in [no_acq, bad_user, orphan] {
        assert_eq!(
            e.sign(dz.secrets.signing_key()).unwrap_err().code(),
            "evidence.event_format"
        );
    }
}

/// Found by the `custody_event` fuzz target: these events passed `validate` (and so parsed from
/// a peer) although no ledger entry can record them.
#[test]
fn events_that_no_ledger_entry_can_record_are_invalid() {
    let dz = Node::new("dz-moj", "DZ");
    let sha = Sha256Digest::of(b"x");
    let mut before_1970 = acquired(sha);
    before_1970.time = comity_model::Timestamp::from_unix_ms(-1);
    let mut long_user = acquired(sha);
    long_user.user = "u".repeat(125);
    for e in [before_1970, long_user] {
        assert!(e.ledger_entry().is_err());
        assert_eq!(e.validate().unwrap_err().code(), "evidence.event_format");
        let signed = SignedEvent {
            event: e.clone(),
            signature: "AAAA".into(),
        };
        let err = SignedEvent::from_json(&signed.to_json()).unwrap_err();
        assert_eq!(err.code(), "evidence.event_format");
        assert_eq!(
            e.sign(dz.secrets.signing_key()).unwrap_err().code(),
            "evidence.event_format"
        );
    }
}
