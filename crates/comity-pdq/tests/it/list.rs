//! Signed hash lists: canonical bytes, verification of the version chain, and matching.

use comity_model::Timestamp;
use comity_pdq::list::{
    HashList, ListEntry, ListUpdate, MatchKind, Matcher, SeriesId, SignedListUpdate,
    decode_list_file, encode_list_file, parse_update_bytes, update_bytes,
};
use comity_pdq::{DEFAULT_RADIUS, Dihedral, PdqHash, exact_digests};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn key(seed: u8) -> (SigningKey, VerifyingKey) {
    let sk = SigningKey::from_bytes(&[seed; 32]);
    let vk = sk.verifying_key();
    (sk, vk)
}

fn t(day: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_790_000_000_000 + day * 86_400_000)
}

fn entry(id: u64, rng: &mut StdRng) -> ListEntry {
    ListEntry {
        id,
        pdq: PdqHash::from_words(rng.random()),
        quality: 90,
        sha256: Some(rng.random()),
        md5: id.is_multiple_of(2).then(|| rng.random()),
        category: "csam-baseline".parse().unwrap(),
        series: (!id.is_multiple_of(3)).then(|| SeriesId::new(vec![id as u8, 0xaa, 0x55]).unwrap()),
        victim_identified: id.is_multiple_of(4),
        contributor: "fr-ocl".parse().unwrap(),
        added_at: t(0),
    }
}

/// Versions 1..=3 of a list: 5 entries, then 3 more, then one revocation and 2 more.
fn history(sk: &SigningKey) -> Vec<SignedListUpdate> {
    let mut rng = StdRng::seed_from_u64(42);
    let mut out: Vec<SignedListUpdate> = Vec::new();
    let plan: [(std::ops::Range<u64>, Vec<u64>); 3] =
        [(1..6, vec![]), (6..9, vec![]), (9..11, vec![2])];
    for (n, (ids, revoked)) in plan.into_iter().enumerate() {
        let update = ListUpdate {
            list: "fr-ocl/csam".parse().unwrap(),
            publisher: "fr-ocl".parse().unwrap(),
            version: n as u64 + 1,
            previous: out.last().map_or([0; 32], |u| u.update.digest()),
            issued_at: t(n as i64),
            added: ids.map(|id| entry(id, &mut rng)).rev().collect(),
            revoked,
        };
        out.push(update.sign(sk).unwrap());
    }
    out
}

#[test]
fn canonical_bytes_round_trip_and_reject_non_canonical_forms() {
    let (sk, _) = key(1);
    let h = history(&sk);
    for s in &h {
        let bytes = update_bytes(&s.update);
        assert_eq!(parse_update_bytes(&bytes).unwrap(), s.update);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            parse_update_bytes(&trailing).unwrap_err().code(),
            "pdq.list_format"
        );
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(
                parse_update_bytes(&bytes[..cut]).unwrap_err().code(),
                "pdq.list_format"
            );
        }
    }
    // Signing sorted the entries; swapping two on the wire is a second encoding and is refused.
    let u = &h[0].update;
    let mut swapped = u.clone();
    swapped.added.swap(0, 1);
    assert_eq!(
        parse_update_bytes(&update_bytes(&swapped))
            .unwrap_err()
            .code(),
        "pdq.list_format"
    );
    // A bad node id or category inside the bytes is a field error, not a panic.
    let bytes = update_bytes(u);
    let at = bytes.windows(6).position(|w| w == b"fr-ocl").unwrap();
    let mut bad = bytes.clone();
    bad[at] = b'F';
    assert_eq!(
        parse_update_bytes(&bad).unwrap_err().code(),
        "pdq.list_field"
    );
}

#[test]
fn a_valid_history_replays_and_matches_name_the_contributor_and_series() {
    let (sk, vk) = key(1);
    let h = history(&sk);
    let file = encode_list_file(&h);
    let list = HashList::replay(&decode_list_file(&file).unwrap(), &vk).unwrap();
    assert_eq!(list.version(), 3);
    assert_eq!(list.live_entries().count(), 9);
    assert!(!list.is_live(2));

    let mut matcher = Matcher::new();
    matcher.add_list(list).unwrap();
    let e7 = h[1]
        .update
        .added
        .iter()
        .find(|e| e.id == 7)
        .unwrap()
        .clone();
    let mut near = e7.pdq.words();
    near[0] ^= 0xff;
    near[3] ^= 0x7f_0000_0000;
    let found = matcher.match_pdq(&PdqHash::from_words(near), DEFAULT_RADIUS);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entry, 7);
    assert_eq!(found[0].contributor.as_str(), "fr-ocl");
    assert_eq!(found[0].series, e7.series);
    assert_eq!(found[0].list.as_str(), "fr-ocl/csam");
    assert_eq!(
        found[0].kind,
        MatchKind::Pdq {
            distance: 15,
            variant: Dihedral::Original
        }
    );
    assert_eq!(
        matcher.match_sha256(&e7.sha256.unwrap())[0].kind,
        MatchKind::Sha256
    );
    assert!(
        matcher
            .match_sha256(&exact_digests(b"something else").sha256)
            .is_empty()
    );

    // The revoked entry no longer matches, even by its exact hash.
    let e2 = h[0].update.added.iter().find(|e| e.id == 2).unwrap();
    assert!(matcher.match_pdq(&e2.pdq, 0).is_empty());
    assert!(matcher.match_sha256(&e2.sha256.unwrap()).is_empty());
}

#[test]
fn updates_apply_incrementally_and_redelivery_is_harmless() {
    let (sk, vk) = key(1);
    let h = history(&sk);
    let mut matcher = Matcher::new();
    matcher
        .add_list(HashList::from_first(&h[0], &vk).unwrap())
        .unwrap();
    assert!(matcher.apply(&h[1], &vk).unwrap());
    assert!(!matcher.apply(&h[1], &vk).unwrap());
    assert!(matcher.apply(&h[2], &vk).unwrap());
    let e10 = &h[2].update.added.iter().find(|e| e.id == 10).unwrap();
    assert_eq!(matcher.match_pdq(&e10.pdq, 0)[0].entry, 10);
    assert_eq!(matcher.indexed_hashes(), 10);
}

#[test]
fn gaps_forks_reordering_and_bad_signatures_are_refused() {
    let (sk, vk) = key(1);
    let (other_sk, other_vk) = key(2);
    let h = history(&sk);

    let gap = HashList::replay(&[h[0].clone(), h[2].clone()], &vk).unwrap_err();
    assert_eq!(gap.code(), "pdq.list_gap");
    assert_eq!(
        HashList::replay(&h[1..], &vk).unwrap_err().code(),
        "pdq.list_gap"
    );

    let mut list = HashList::replay(&h, &vk).unwrap();
    assert_eq!(list.apply(&h[1], &vk).unwrap_err().code(), "pdq.list_stale");

    // The publisher signs a different version 2: a fork, evidence of misbehaviour.
    let mut forked = h[1].update.clone();
    forked.revoked = vec![1];
    let forked = forked.sign(&sk).unwrap();
    assert_eq!(
        list.apply(&forked, &vk).unwrap_err().code(),
        "pdq.list_fork"
    );

    // Version 4 that does not chain to version 3.
    let mut unchained = list.next_update(t(9));
    unchained.previous = h[1].update.digest();
    assert_eq!(
        list.apply(&unchained.sign(&sk).unwrap(), &vk)
            .unwrap_err()
            .code(),
        "pdq.list_chain"
    );

    // Signed by someone else, or altered after signing.
    let next = list.next_update(t(9));
    assert_eq!(
        list.apply(&next.clone().sign(&other_sk).unwrap(), &vk)
            .unwrap_err()
            .code(),
        "pdq.list_signature"
    );
    let mut altered = next.clone().sign(&sk).unwrap();
    altered.update.issued_at = t(10);
    assert_eq!(
        list.apply(&altered, &vk).unwrap_err().code(),
        "pdq.list_signature"
    );
    assert_eq!(
        HashList::replay(&h, &other_vk).unwrap_err().code(),
        "pdq.list_signature"
    );

    // Dated before the previous version.
    let early = list.next_update(t(-1)).sign(&sk).unwrap();
    assert_eq!(
        list.apply(&early, &vk).unwrap_err().code(),
        "pdq.list_field"
    );

    // Reusing an id, revoking twice or revoking what does not exist.
    let mut rng = StdRng::seed_from_u64(7);
    let mut reuse = list.next_update(t(9));
    reuse.added = vec![entry(3, &mut rng)];
    assert_eq!(
        list.apply(&reuse.sign(&sk).unwrap(), &vk)
            .unwrap_err()
            .code(),
        "pdq.list_entry"
    );
    let mut again = list.next_update(t(9));
    again.revoked = vec![2];
    assert_eq!(
        list.apply(&again.sign(&sk).unwrap(), &vk)
            .unwrap_err()
            .code(),
        "pdq.list_entry"
    );
    let mut missing = list.next_update(t(9));
    missing.revoked = vec![999];
    assert_eq!(
        list.apply(&missing.sign(&sk).unwrap(), &vk)
            .unwrap_err()
            .code(),
        "pdq.list_entry"
    );
    let mut zero = list.next_update(t(9));
    zero.added = vec![ListEntry {
        pdq: PdqHash::default(),
        ..entry(list.next_entry_id(), &mut rng)
    }];
    assert_eq!(
        list.apply(&zero.sign(&sk).unwrap(), &vk)
            .unwrap_err()
            .code(),
        "pdq.list_entry"
    );

    // After all those refusals the list is unchanged and still accepts the real next version.
    assert_eq!(list.version(), 3);
    let mut good = list.next_update(t(9));
    good.added = vec![entry(list.next_entry_id(), &mut rng)];
    assert!(list.apply(&good.sign(&sk).unwrap(), &vk).unwrap());
    assert_eq!(list.version(), 4);
}

#[test]
fn damaged_list_files_are_refused_with_an_offset() {
    let (sk, _) = key(1);
    let file = encode_list_file(&history(&sk));
    assert_eq!(
        decode_list_file(b"CMTYPDQX").unwrap_err().code(),
        "pdq.list_format"
    );
    for cut in [3, 14, 40, file.len() - 1] {
        assert_eq!(
            decode_list_file(&file[..cut]).unwrap_err().code(),
            "pdq.list_format",
            "cut {cut}"
        );
    }
    let mut extra = file.clone();
    extra.push(1);
    assert_eq!(
        decode_list_file(&extra).unwrap_err().code(),
        "pdq.list_format"
    );
    let mut huge = file.clone();
    huge[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        decode_list_file(&huge).unwrap_err().code(),
        "pdq.list_format"
    );
}
