//! Wire formats of `comity-seal` and the message bodies they carry.

use comity_model::{Body, MessageKind};
use comity_seal::{
    Envelope, Receipt, SignedDescriptor, SignedTrustList, Trust, open, verify_outer,
};
use serde_json::Value;

use crate::Scratch;
use crate::fixtures::fixtures;

pub(super) fn envelope(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    let Ok(env) = Envelope::from_bytes(data) else {
        return;
    };
    assert_eq!(
        env.to_bytes(),
        data,
        "an envelope read back must have one spelling"
    );
    assert!(
        !data.contains(&b'\n'),
        "an envelope must never hold a newline: batches are split on it"
    );
    let keys = f.keys();
    if verify_outer(&env, &keys).is_ok() {
        assert!(f.is_genuine(data), "an envelope nobody signed verified");
    }
    if let Ok(opened) = open(&env, &f.fr.secrets, &keys) {
        assert!(f.is_genuine(data), "an envelope nobody sealed opened");
        assert_eq!(opened.body.kind(), env.header.kind);
    }
}

pub(super) fn receipt(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    let Ok(r) = Receipt::from_bytes(data) else {
        return;
    };
    assert_eq!(
        r.to_bytes(),
        data,
        "a receipt read back must have one spelling"
    );
    let keys = f.keys();
    if r.verify(&keys, &r.digest).is_ok() {
        assert!(f.is_genuine(data), "a receipt nobody signed verified");
    }
}

pub(super) fn descriptor(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    if let Ok(d) = SignedDescriptor::from_json(data) {
        assert_eq!(
            d.to_json(),
            data,
            "a descriptor read back must have one spelling"
        );
        assert!(f.is_genuine(data), "a descriptor nobody signed verified");
    }
}

pub(super) fn trust_list(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    let Ok(list) = SignedTrustList::from_json(data) else {
        return;
    };
    assert_eq!(
        list.to_json(),
        data,
        "a trust list read back must have one spelling"
    );
    let root = f.root.public();
    if list.verify(&root).is_ok() {
        assert!(
            f.is_genuine(data),
            "a trust list the root never signed verified"
        );
    }
    if let Ok(trust) = Trust::from_verified(&list, &root) {
        assert!(
            f.is_genuine(data),
            "a trust list the root never signed was trusted"
        );
        assert!(trust.members().count() == list.list.members.len());
    }
}

pub(super) fn message_body(_: &Scratch, data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for kind in MessageKind::ALL {
        let Ok(body) = Body::from_json(kind, value.clone()) else {
            continue;
        };
        assert_eq!(body.kind(), kind);
        let back = body.to_json();
        assert_eq!(
            back, value,
            "a {kind} body read back must have one spelling"
        );
        assert_eq!(Body::from_json(kind, back).ok(), Some(body));
    }
}
