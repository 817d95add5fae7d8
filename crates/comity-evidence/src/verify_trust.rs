//! The trust anchor: the package's own trust list checked against the federation root the
//! verifier brings, then every descriptor the package carries and every node that signed checked
//! against that list. Without an anchor the list is checked only against the root it names
//! itself, which shows consistency and nothing about who signed: the report says so.

use std::collections::{BTreeMap, BTreeSet};

use comity_model::NodeId;
use comity_seal::{SignedDescriptor, SignedTrustList, Trust, key_id};

use crate::error::EvidenceError;
use crate::package::Index;
use crate::package_read::PackageSource;
use crate::report::{AnchorReport, AnchorStatus, UNANCHORED};
use crate::verify::{Checks, Failure, Kind, TrustAnchor, VerifyOptions};

/// What the trust checks read from the package and the checks before them.
pub(crate) struct TrustInput<'a> {
    pub src: &'a mut PackageSource,
    pub index: &'a Index,
    /// The descriptors that verified for themselves, by node.
    pub descriptors: &'a BTreeMap<NodeId, SignedDescriptor>,
    /// The exporter and every node that signed a custody event or set use conditions.
    pub signers: &'a BTreeSet<NodeId>,
}

fn unanchored(detail: &str) -> AnchorReport {
    AnchorReport {
        status: AnchorStatus::Unanchored,
        root: None,
        source: None,
        statement: format!(
            "none given, so {UNANCHORED}: nothing shows the keys in the package are the federation members' ({detail})"
        ),
    }
}

fn refused(a: &TrustAnchor, reason: &str) -> AnchorReport {
    AnchorReport {
        status: AnchorStatus::Refused,
        root: Some(key_id(&a.root)),
        source: Some(a.source.clone()),
        statement: format!(
            "federation root {} ({}): refused: {reason}",
            key_id(&a.root),
            a.source
        ),
    }
}

/// The anchor's outcome when the package could not be read far enough to check it: `what`
/// could not be read.
pub(crate) fn not_reached(options: &VerifyOptions, what: &str) -> AnchorReport {
    match &options.anchor {
        None => unanchored(&format!("{what} could not be read")),
        Some(a) => AnchorReport {
            statement: format!(
                "federation root {} ({}): not checked, {what} could not be read",
                key_id(&a.root),
                a.source
            ),
            ..refused(a, "")
        },
    }
}

/// Checks the trust list, each descriptor and each signer; returns the anchor's outcome.
pub(crate) fn trust_checks(
    checks: &mut Checks,
    options: &VerifyOptions,
    input: TrustInput<'_>,
) -> AnchorReport {
    let anchor = options.anchor.as_ref();
    let Some(file) = &input.index.trust_list else {
        return match anchor {
            Some(a) => {
                let reason = format!(
                    "the package holds no trust list, so no signer can be shown to be a member of the federation of root {}",
                    key_id(&a.root)
                );
                checks.coded(
                    "package",
                    Kind::TrustAnchor,
                    Err(("evidence.package_no_trust_list", reason.clone())),
                );
                refused(a, &reason)
            }
            None => unanchored(
                "the package holds no trust list; compare the descriptors' key ids with the federation's",
            ),
        };
    };
    let list = input.src.read_metadata(&file.path).and_then(|b| {
        SignedTrustList::from_json(&b)
            .map_err(|e| EvidenceError::PackageFormat(format!("[{}] {e}", e.code())))
    });
    let list = match list {
        Ok(l) => l,
        Err(e) => {
            let failure = match e {
                EvidenceError::PackageFormat(_) => Kind::TrustList.code(),
                _ => e.code(),
            };
            checks.coded(&file.path, Kind::TrustList, Err((failure, e.to_string())));
            return match anchor {
                Some(a) => refused(a, "the package's trust list cannot be read"),
                None => unanchored("the package's trust list cannot be read"),
            };
        }
    };
    let own = key_id(&list.root_key);
    let (root, kind) = match anchor {
        Some(a) if list.root_key != a.root => {
            let reason = format!(
                "the package's trust list is signed by root {own}, not by federation root {} ({}): the keys in the package are not that federation's",
                key_id(&a.root),
                a.source
            );
            checks.add("package", Kind::TrustAnchor, Err(reason.clone()));
            return refused(a, &reason);
        }
        Some(a) => (a.root, Kind::TrustAnchor),
        None => (list.root_key, Kind::TrustList),
    };
    let trust = match Trust::from_verified(&list, &root) {
        Ok(t) => t,
        Err(e) => {
            let reason = format!(
                "the trust list does not verify under root {}: {e}",
                key_id(&root)
            );
            checks.coded("package", kind, Err((e.code(), reason.clone())));
            return match anchor {
                Some(a) => refused(a, &reason),
                None => unanchored(&reason),
            };
        }
    };
    let (federation, serial) = (trust.federation().to_owned(), trust.serial());
    let scope = match anchor {
        Some(a) => {
            checks.add(
                "package",
                Kind::TrustAnchor,
                Ok(format!(
                    "trust list of federation {federation} (serial {serial}) verifies under federation root {} ({})",
                    key_id(&a.root),
                    a.source
                )),
            );
            format!("federation {federation}'s trust list")
        }
        None => {
            checks.add(
                "package",
                Kind::TrustList,
                Ok(format!(
                    "trust list of federation {federation} (serial {serial}) verifies under the root it names itself, {own}; not authenticated: no federation root was given"
                )),
            );
            "the package's trust list (not authenticated)".to_owned()
        }
    };

    let mut first_refusal: Option<String> = None;
    for (node, d) in input.descriptors {
        let outcome = member(&list, node, d, &scope);
        if let Err((_, r)) = &outcome {
            first_refusal.get_or_insert_with(|| r.clone());
        }
        checks.coded(&format!("node {node}"), Kind::Member, outcome);
    }
    for node in input
        .signers
        .iter()
        .filter(|n| !input.descriptors.contains_key(*n))
    {
        let reason = format!(
            "{node} signed in this package, which carries no valid descriptor for it: not shown to be a member"
        );
        first_refusal.get_or_insert_with(|| reason.clone());
        checks.add(&format!("node {node}"), Kind::Member, Err(reason));
    }

    match (anchor, first_refusal) {
        (None, _) => unanchored(&format!(
            "the package's own trust list names root {own}; compare it with the federation's published root key"
        )),
        (Some(a), Some(reason)) => refused(a, &reason),
        (Some(a), None) => {
            let signers: Vec<String> = input.signers.iter().map(ToString::to_string).collect();
            AnchorReport {
                status: AnchorStatus::Authenticated,
                root: Some(key_id(&a.root)),
                source: Some(a.source.clone()),
                statement: format!(
                    "federation root {} ({}): the package's trust list (federation {federation}, serial {serial}) verifies under it, and the exporter {} and every signer ({}) are members with the keys the package carries",
                    key_id(&a.root),
                    a.source,
                    input.index.exporter,
                    signers.join(", ")
                ),
            }
        }
    }
}

/// `node`'s descriptor in the package is the one the list holds for it, byte for byte, or an
/// earlier one whose key the list names as retired for that node.
fn member(
    list: &SignedTrustList,
    node: &NodeId,
    d: &SignedDescriptor,
    scope: &str,
) -> std::result::Result<String, Failure> {
    let key = d.descriptor.signing_key;
    let Some(held) = list
        .list
        .members
        .iter()
        .find(|m| m.descriptor.node == *node)
    else {
        return Err((
            Kind::Member.code(),
            format!("{node} (key {}) is not a member in {scope}", key_id(&key)),
        ));
    };
    if held.to_json() == d.to_json() {
        return Ok(format!(
            "{node}'s descriptor, key {}, is the one {scope} holds",
            key_id(&key)
        ));
    }
    if let Some(r) = list
        .list
        .retired_keys
        .iter()
        .find(|r| r.node == *node && r.key == key)
    {
        return Ok(format!(
            "{node}'s descriptor is an earlier one, with key {}, which {scope} names as retired for {node} (valid until {})",
            key_id(&key),
            r.not_after
        ));
    }
    Err((
        "evidence.package_descriptor_mismatch",
        format!(
            "{node}'s descriptor in the package (key {}) is not the one {scope} holds (key {})",
            key_id(&key),
            key_id(&held.descriptor.signing_key)
        ),
    ))
}
