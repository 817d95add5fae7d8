use comity_model::MessageKind;
use comity_seal::{
    FederationRoot, NodeSecrets, RetiredKey, SignedDescriptor, SignedTrustList, Trust, TrustList,
    key_id, open, seal,
};

use crate::support::*;

struct Fed {
    root: FederationRoot,
    dz_old: NodeSecrets,
    dz_new: NodeSecrets,
    fr: NodeSecrets,
}

fn fed() -> Fed {
    Fed {
        root: FederationRoot::generate(&mut DetRng::new("root")),
        dz_old: node("dz-v1"),
        dz_new: node("dz-v2"),
        fr: node("fr"),
    }
}

const RETIRE_AT: i64 = 86_400_000;

/// dz-moj rotated from `dz_old` to `dz_new`; the old key stays valid for one more day.
fn rotated_list(f: &Fed) -> TrustList {
    let mut d2 = descriptor(&f.dz_new, "dz-moj", "DZ", 8001);
    d2.version = 2;
    d2.valid_from = ts(1_000);
    TrustList {
        federation: "comity-test".into(),
        serial: 2,
        issued_at: ts(1_000),
        members: vec![
            SignedDescriptor::sign(d2, &f.dz_new, Some(&f.dz_old)),
            SignedDescriptor::sign(descriptor(&f.fr, "fr-ocl", "FR", 8002), &f.fr, None),
        ],
        retired_keys: vec![RetiredKey {
            node: "dz-moj".parse().unwrap(),
            key: f.dz_old.signing_public(),
            not_after: ts(RETIRE_AT),
        }],
    }
}

#[test]
fn descriptor_signatures_and_json() {
    let f = fed();
    let signed = SignedDescriptor::sign(descriptor(&f.fr, "fr-ocl", "FR", 8002), &f.fr, None);
    signed.verify().unwrap();
    let back = SignedDescriptor::from_json(&signed.to_json()).unwrap();
    assert_eq!(back, signed);
    let mut tampered = signed.clone();
    tampered.descriptor.endpoint = "https://evil.example:443".into();
    assert_eq!(tampered.verify().unwrap_err().code(), "seal.bad_descriptor");
    // Signed with keys that are not the descriptor's own.
    let wrong = SignedDescriptor::sign(descriptor(&f.fr, "fr-ocl", "FR", 8002), &f.dz_old, None);
    assert_eq!(wrong.verify().unwrap_err().code(), "seal.bad_descriptor");
    for endpoint in [
        "http://a:1",
        "https://a",
        "https://a:0",
        "https://a:99999",
        "https://:1",
    ] {
        let mut d = descriptor(&f.fr, "fr-ocl", "FR", 8002);
        d.endpoint = endpoint.into();
        let err = SignedDescriptor::sign(d, &f.fr, None).verify().unwrap_err();
        assert_eq!(err.code(), "seal.bad_descriptor", "{endpoint}");
    }
    let mut d = descriptor(&f.fr, "fr-ocl", "FR", 8002);
    d.roles.clear();
    assert_eq!(
        SignedDescriptor::sign(d, &f.fr, None)
            .verify()
            .unwrap_err()
            .code(),
        "seal.bad_descriptor"
    );
}

#[test]
fn rotation_needs_the_previous_key() {
    let f = fed();
    let mut d2 = descriptor(&f.dz_new, "dz-moj", "DZ", 8001);
    d2.version = 2;
    assert_eq!(
        SignedDescriptor::sign(d2.clone(), &f.dz_new, None)
            .verify()
            .unwrap_err()
            .code(),
        "seal.bad_descriptor"
    );
    SignedDescriptor::sign(d2.clone(), &f.dz_new, Some(&f.dz_old))
        .verify()
        .unwrap();
    let mut forged = SignedDescriptor::sign(d2, &f.dz_new, Some(&f.fr));
    forged.previous_key_signature.as_mut().unwrap().key = f.dz_old.signing_public();
    assert_eq!(forged.verify().unwrap_err().code(), "seal.bad_descriptor");
}

#[test]
fn trust_list_pins_the_root() {
    let f = fed();
    let signed = SignedTrustList::sign(rotated_list(&f), &f.root);
    signed.verify(&f.root.public()).unwrap();
    let back = SignedTrustList::from_json(&signed.to_json()).unwrap();
    assert_eq!(back, signed);
    let other_root = FederationRoot::generate(&mut DetRng::new("other root"));
    let by_other = SignedTrustList::sign(rotated_list(&f), &other_root);
    assert_eq!(
        by_other.verify(&f.root.public()).unwrap_err().code(),
        "seal.bad_trust_list"
    );
    // Claiming the pinned root's key does not help without its signature.
    let mut claimed = by_other.clone();
    claimed.root_key = f.root.public();
    assert_eq!(
        claimed.verify(&f.root.public()).unwrap_err().code(),
        "seal.bad_trust_list"
    );
    let mut tampered = signed.clone();
    tampered.list.serial = 3;
    assert_eq!(
        tampered.verify(&f.root.public()).unwrap_err().code(),
        "seal.bad_trust_list"
    );
    assert!(Trust::from_verified(&by_other, &f.root.public()).is_err());
}

#[test]
fn a_rotation_must_be_backed_by_a_retired_key_of_the_same_node() {
    let f = fed();
    let mut list = rotated_list(&f);
    list.retired_keys.clear();
    let err = SignedTrustList::sign(list, &f.root)
        .verify(&f.root.public())
        .unwrap_err();
    assert_eq!(err.code(), "seal.bad_trust_list");
    let mut list = rotated_list(&f);
    list.retired_keys[0].node = "fr-ocl".parse().unwrap();
    let err = SignedTrustList::sign(list, &f.root)
        .verify(&f.root.public())
        .unwrap_err();
    assert_eq!(err.code(), "seal.bad_trust_list");
    let mut list = rotated_list(&f);
    list.members.push(list.members[1].clone());
    let err = SignedTrustList::sign(list, &f.root)
        .verify(&f.root.public())
        .unwrap_err();
    assert_eq!(err.code(), "seal.bad_trust_list");
}

#[test]
fn retired_key_is_accepted_until_not_after_then_refused() {
    let f = fed();
    let trust = Trust::from_verified(
        &SignedTrustList::sign(rotated_list(&f), &f.root),
        &f.root.public(),
    )
    .unwrap();
    let dz = "dz-moj".parse().unwrap();
    let fr_desc = trust.member(&"fr-ocl".parse().unwrap()).unwrap().clone();
    assert_eq!(trust.member(&dz).unwrap().version, 2);
    assert!(trust.member(&"ma-moj".parse().unwrap()).is_none());

    let before = ts(RETIRE_AT - 1);
    let after = ts(RETIRE_AT);
    assert_eq!(
        trust.signing_keys_at(&dz, before),
        vec![f.dz_new.signing_public(), f.dz_old.signing_public()]
    );
    assert_eq!(
        trust.signing_keys_at(&dz, after),
        vec![f.dz_new.signing_public()]
    );

    // A message still signed with the old key.
    let env = seal(
        &f.dz_old,
        &fr_desc,
        header("dz-moj", "fr-ocl", MessageKind::Note, 1),
        &note("old key"),
        &mut DetRng::new("s"),
    )
    .unwrap();
    let keys = trust.sender_keys(&dz, &env.signer, before).unwrap();
    open(&env, &f.fr, &keys).unwrap();
    let err = trust.sender_keys(&dz, &env.signer, after).unwrap_err();
    assert_eq!(err.code(), "seal.key_retired");
    assert_eq!(
        open(&env, &f.fr, &trust.signing_keys_at(&dz, after))
            .unwrap_err()
            .code(),
        "seal.unknown_signer"
    );

    // The new key works at any time; strangers and non-members do not.
    let env = seal(
        &f.dz_new,
        &fr_desc,
        header("dz-moj", "fr-ocl", MessageKind::Note, 2),
        &note("new key"),
        &mut DetRng::new("s"),
    )
    .unwrap();
    open(
        &env,
        &f.fr,
        &trust.sender_keys(&dz, &env.signer, after).unwrap(),
    )
    .unwrap();
    let stranger = key_id(&node("stranger").signing_public());
    assert_eq!(
        trust
            .sender_keys(&dz, &stranger, before)
            .unwrap_err()
            .code(),
        "seal.unknown_signer"
    );
    let err = trust
        .sender_keys(&"ma-moj".parse().unwrap(), &env.signer, before)
        .unwrap_err();
    assert_eq!(err.code(), "seal.unknown_signer");
}

/// Found by the `descriptor` and `trust_list` fuzz targets: leaving out
/// `previous_key_signature` (read as `null`) gave a signed descriptor or trust list a second
/// spelling that still verified.
#[test]
fn descriptors_and_trust_lists_with_a_field_left_out_are_refused() {
    let f = fed();
    let drop_previous = |bytes: Vec<u8>| {
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("\"previous_key_signature\":null,"));
        text.replacen("\"previous_key_signature\":null,", "", 1)
            .into_bytes()
    };
    let d = SignedDescriptor::sign(descriptor(&f.fr, "fr-ocl", "FR", 8002), &f.fr, None);
    let err = SignedDescriptor::from_json(&drop_previous(d.to_json())).unwrap_err();
    assert_eq!(err.code(), "seal.bad_descriptor");
    let list = SignedTrustList::sign(rotated_list(&f), &f.root);
    let err = SignedTrustList::from_json(&drop_previous(list.to_json())).unwrap_err();
    assert_eq!(err.code(), "seal.bad_trust_list");
}
