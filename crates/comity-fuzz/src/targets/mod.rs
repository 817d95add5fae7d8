//! The targets, one function each, grouped by the crate whose parser they drive.

mod evidence;
mod law;
mod ledger;
mod pdq;
mod seal;
mod workflow;

use crate::Target;

const fn t(name: &'static str, parses: &'static str, run: fn(&crate::Scratch, &[u8])) -> Target {
    Target {
        name,
        parses,
        run,
        max_len: 64 * 1024,
    }
}

pub(crate) const ALL: &[Target] = &[
    t(
        "envelope",
        "sealed envelopes from peers (comity_seal::Envelope::from_bytes, verify_outer, open)",
        seal::envelope,
    ),
    t(
        "receipt",
        "receipts from peers (comity_seal::Receipt::from_bytes, verify)",
        seal::receipt,
    ),
    t(
        "descriptor",
        "signed descriptors (comity_seal::SignedDescriptor::from_json)",
        seal::descriptor,
    ),
    t(
        "trust_list",
        "federation trust lists (comity_seal::SignedTrustList::from_json, verify, Trust)",
        seal::trust_list,
    ),
    t(
        "message_body",
        "message bodies inside opened envelopes and from the user API (comity_model::Body::from_json)",
        seal::message_body,
    ),
    t(
        "checkpoint",
        "signed notes, checkpoints, cosignatures and verifier keys (comity_ledger::Note, SignedCheckpoint, NoteVerifier)",
        ledger::checkpoint,
    ),
    t(
        "tile",
        "tile paths, hash tiles and entry bundles (comity_ledger::tile)",
        ledger::tile,
    ),
    t(
        "ledger_entry",
        "ledger entries (comity_ledger::Entry::parse)",
        ledger::ledger_entry,
    ),
    t(
        "proof_bundle",
        "proof files and alarm evidence (comity_ledger::ProofBundle, Alarm)",
        ledger::proof_bundle,
    ),
    t(
        "hash_list",
        "hash-list updates and list files (comity_pdq::list codec, HashList)",
        pdq::hash_list,
    ),
    t(
        "pdq_index",
        "PDQ index files (comity_pdq::HashIndex::from_bytes)",
        pdq::pdq_index,
    ),
    Target {
        max_len: 256 * 1024,
        ..t(
            "pdq_image",
            "images to hash (comity_pdq::decode, hash)",
            pdq::pdq_image,
        )
    },
    t(
        "custody_event",
        "signed custody events (comity_evidence::SignedEvent::from_json, verify, Timeline)",
        evidence::custody_event,
    ),
    t(
        "evidence_message",
        "evidence offers and consents from peers (EvidenceOffer, TransferOffer, UseConditions, SignedConsent, custody links)",
        evidence::evidence_message,
    ),
    Target {
        max_len: 256 * 1024,
        ..t(
            "package_zip",
            "evidence packages as zip files (comity_evidence::verify_package_with)",
            evidence::package_zip,
        )
    },
    t(
        "package_edit",
        "evidence packages edited entry by entry, as zip and directory (comity_evidence::verify_package_with)",
        evidence::package_edit,
    ),
    t(
        "law_question",
        "law questions (comity_law::LawPacks::eval_json)",
        law::law_question,
    ),
    t(
        "law_pack",
        "law pack files (comity_law::LawPacks::load)",
        law::law_pack,
    ),
    t(
        "workflow_draft",
        "request drafts from users and request.open bodies (comity_workflow::Draft, Request::open)",
        workflow::workflow_draft,
    ),
    t(
        "workflow_actions",
        "request actions from users and request.action bodies (comity_workflow::Action, Request::apply, merge)",
        workflow::workflow_actions,
    ),
];
