//! What a party does to a request.

use comity_law::RefusalGround;
use comity_model::{Jurisdiction, MessageId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::fields::Problems;
use crate::{ActionTag, Destination, UseConditions};

/// An action on a request, as stored and sent: `{"action": "refuse", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Acknowledge {
        /// The requested side's own reference.
        reference: String,
    },
    /// Data preserved; `until` defaults to the body's period (at least 60 days, Art. 29.7).
    Preserve {
        until: Option<Timestamp>,
    },
    /// The mutual-assistance request that follows the preservation arrived (Art. 29.7).
    Extend {
        mla: MessageId,
    },
    Release {
        reason: String,
    },
    /// Preservation will not ensure availability, or threatens confidentiality (Art. 29.6).
    Inform {
        reason: String,
    },
    /// The requesting side wants the request executed nevertheless (Art. 29.6).
    Proceed,
    /// Traffic data disclosed (Art. 30.1); `next_state` is where the path continues.
    Disclose {
        traffic_data: String,
        next_state: Option<Jurisdiction>,
        next_provider: Option<String>,
        /// Conditions on the use of what is disclosed; the owner is the disclosing node.
        use_conditions: Option<UseConditions>,
    },
    Accept {
        conditions: Vec<String>,
    },
    /// Partial or conditional execution proposed before refusing or postponing (Art. 27.6).
    Consult {
        proposal: String,
    },
    AcceptConditions,
    DeclineConditions {
        reason: String,
    },
    /// After a decline, the provider sends the information without its conditions (Art. 26.2).
    WaiveConditions,
    Postpone {
        until: Timestamp,
        reason: String,
    },
    Resume,
    ReturnPartial {
        summary: String,
        /// Conditions on the use of the results (Budapest Art. 28); the owner is the answering
        /// node.
        use_conditions: Option<UseConditions>,
    },
    ReturnResults {
        summary: String,
        use_conditions: Option<UseConditions>,
    },
    Close,
    Refuse {
        /// Grounds in the law engine's vocabulary (`political_offence`, `essential_interests`,
        /// ...), or `competing_request`, `insufficient_information`.
        grounds: Vec<String>,
        /// Reasons in words: every refusal is reasoned (Art. 27.7).
        reasons: String,
        /// Whether partial or conditional execution was considered with the requesting side
        /// (Art. 27.6).
        consulted: bool,
    },
    /// Refusal because the person is a national (Art. 24.6); the case must then be submitted
    /// for prosecution if the requesting state asks.
    RefuseNationality {
        reasons: String,
    },
    Grant {
        conditions: Vec<String>,
    },
    Surrender {
        place: String,
    },
    Arrest {
        place: String,
    },
    /// The extradition request that follows a provisional arrest arrived.
    ExtraditionReceived {
        extradition: MessageId,
    },
    SubmitForProsecution {
        authority: String,
    },
    ReportOutcome {
        outcome: String,
    },
    /// The neutrality and abuse review passed (Interpol Constitution Art. 3).
    Approve {
        note: String,
    },
    Reject {
        reasons: String,
    },
    Publish,
    Update {
        summary: String,
    },
    Cancel {
        reason: String,
    },
    /// A forum proposed in a jurisdiction consultation.
    Propose {
        forum: Jurisdiction,
        grounds: String,
    },
    Agree,
    Disagree {
        reasons: String,
    },
    Withdraw {
        reason: String,
    },
    /// The owner of information exchanged under the request consents to its passing on: to a
    /// destination, for a purpose (`None`: any of those it was given for). Budapest Art. 28.2,
    /// Second Additional Protocol Art. 14. It changes no state and may come at any time, also
    /// after the request ended, as the information outlives it.
    Consent {
        to: Destination,
        purpose: Option<String>,
        /// The owner's reference for the consent (a letter, a file number).
        reference: String,
    },
}

/// Grounds outside the law engine's vocabulary that a refusal may give.
pub const WORKFLOW_GROUNDS: &[&str] = &["competing_request", "insufficient_information"];

impl Action {
    pub fn tag(&self) -> ActionTag {
        match self {
            Action::Acknowledge { .. } => ActionTag::Acknowledge,
            Action::Preserve { .. } => ActionTag::Preserve,
            Action::Extend { .. } => ActionTag::Extend,
            Action::Release { .. } => ActionTag::Release,
            Action::Inform { .. } => ActionTag::Inform,
            Action::Proceed => ActionTag::Proceed,
            Action::Disclose { .. } => ActionTag::Disclose,
            Action::Accept { .. } => ActionTag::Accept,
            Action::Consult { .. } => ActionTag::Consult,
            Action::AcceptConditions => ActionTag::AcceptConditions,
            Action::DeclineConditions { .. } => ActionTag::DeclineConditions,
            Action::WaiveConditions => ActionTag::WaiveConditions,
            Action::Postpone { .. } => ActionTag::Postpone,
            Action::Resume => ActionTag::Resume,
            Action::ReturnPartial { .. } => ActionTag::ReturnPartial,
            Action::ReturnResults { .. } => ActionTag::ReturnResults,
            Action::Close => ActionTag::Close,
            Action::Refuse { .. } => ActionTag::Refuse,
            Action::RefuseNationality { .. } => ActionTag::RefuseNationality,
            Action::Grant { .. } => ActionTag::Grant,
            Action::Surrender { .. } => ActionTag::Surrender,
            Action::Arrest { .. } => ActionTag::Arrest,
            Action::ExtraditionReceived { .. } => ActionTag::ExtraditionReceived,
            Action::SubmitForProsecution { .. } => ActionTag::SubmitForProsecution,
            Action::ReportOutcome { .. } => ActionTag::ReportOutcome,
            Action::Approve { .. } => ActionTag::Approve,
            Action::Reject { .. } => ActionTag::Reject,
            Action::Publish => ActionTag::Publish,
            Action::Update { .. } => ActionTag::Update,
            Action::Cancel { .. } => ActionTag::Cancel,
            Action::Propose { .. } => ActionTag::Propose,
            Action::Agree => ActionTag::Agree,
            Action::Disagree { .. } => ActionTag::Disagree,
            Action::Withdraw { .. } => ActionTag::Withdraw,
            Action::Consent { .. } => ActionTag::Consent,
        }
    }

    /// The use conditions the action attaches to what it hands over, if any.
    pub fn use_conditions(&self) -> Option<&UseConditions> {
        match self {
            Action::Disclose { use_conditions, .. }
            | Action::ReturnPartial { use_conditions, .. }
            | Action::ReturnResults { use_conditions, .. } => use_conditions.as_ref(),
            _ => None,
        }
    }

    /// Checks the action's own fields (what the kind and state allow is the machine's job).
    pub(crate) fn check(&self, p: &mut Problems) {
        match self {
            Action::Acknowledge { reference } => p.text("reference", reference, 100),
            Action::Release { reason }
            | Action::Inform { reason }
            | Action::DeclineConditions { reason }
            | Action::Cancel { reason }
            | Action::Withdraw { reason } => p.text("reason", reason, 5_000),
            Action::Postpone { reason, .. } => p.text("reason", reason, 5_000),
            Action::Disclose {
                traffic_data,
                next_provider,
                use_conditions,
                ..
            } => {
                p.text("traffic_data", traffic_data, 20_000);
                p.optional_text("next_provider", next_provider, 500);
                if let Some(c) = use_conditions {
                    p.nested("use_conditions", |p| c.check(p));
                }
            }
            Action::Accept { conditions } | Action::Grant { conditions } => {
                for (i, c) in conditions.iter().enumerate() {
                    p.text(&format!("conditions[{i}]"), c, 2_000);
                }
            }
            Action::Consult { proposal } => p.text("proposal", proposal, 5_000),
            Action::ReturnPartial {
                summary,
                use_conditions,
            }
            | Action::ReturnResults {
                summary,
                use_conditions,
            } => {
                p.text("summary", summary, 20_000);
                if let Some(c) = use_conditions {
                    p.nested("use_conditions", |p| c.check(p));
                }
            }
            Action::Update { summary } => p.text("summary", summary, 20_000),
            Action::Refuse {
                grounds, reasons, ..
            } => {
                if grounds.is_empty() {
                    p.add("grounds", "needs at least one ground of refusal");
                }
                for (i, g) in grounds.iter().enumerate() {
                    if RefusalGround::parse(g).is_none() && !WORKFLOW_GROUNDS.contains(&g.as_str())
                    {
                        p.add(
                            &format!("grounds[{i}]"),
                            format!(
                                "{g:?} is not a ground; expected one of {}, {}",
                                RefusalGround::spellings(),
                                WORKFLOW_GROUNDS.join(", ")
                            ),
                        );
                    }
                }
                p.text("reasons", reasons, 10_000);
            }
            Action::RefuseNationality { reasons }
            | Action::Reject { reasons }
            | Action::Disagree { reasons } => p.text("reasons", reasons, 10_000),
            Action::Surrender { place } | Action::Arrest { place } => p.text("place", place, 500),
            Action::SubmitForProsecution { authority } => p.text("authority", authority, 300),
            Action::ReportOutcome { outcome } => p.text("outcome", outcome, 10_000),
            Action::Approve { note } => p.text("note", note, 5_000),
            Action::Propose { grounds, .. } => p.text("grounds", grounds, 10_000),
            Action::Consent {
                to,
                purpose,
                reference,
            } => {
                p.text("reference", reference, 200);
                p.optional_text("purpose", purpose, 500);
                if let Destination::Domestic(d) = to {
                    p.text("to.domestic", d, 500);
                }
            }
            Action::Preserve { .. }
            | Action::Extend { .. }
            | Action::Proceed
            | Action::AcceptConditions
            | Action::WaiveConditions
            | Action::Resume
            | Action::Close
            | Action::ExtraditionReceived { .. }
            | Action::Publish
            | Action::Agree => {}
        }
    }
}
