//! Expedited preservation of stored computer data (Budapest Convention Art. 29).

use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::{MessageId, Timestamp};

/// Art. 29.7: preservation lasts "a period not less than sixty days".
pub const MIN_PRESERVATION_DAYS: u32 = 60;

/// The request, with the content Art. 29.2 (a)–(f) requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreservationRequest {
    /// (a) The authority seeking the preservation.
    pub requesting_authority: String,
    /// The requesting authority's own case reference.
    pub case_reference: String,
    /// (b) The offences, as ids of the shared offence taxonomy.
    pub offences: Vec<String>,
    /// (b) A brief summary of the related facts.
    pub facts: String,
    /// (c) The stored computer data to be preserved.
    pub data: String,
    /// (c) The data's relationship to the offence.
    pub relation_to_offence: String,
    /// (d) Information identifying the custodian of the data or the location of the system.
    pub custodian_or_location: String,
    /// (e) Why preservation is necessary.
    pub necessity: String,
    /// (f) The requesting state intends to follow with a request for mutual assistance.
    pub mla_to_follow: bool,
    /// How long the data must be kept, in days (at least 60).
    pub preservation_days: u32,
}

impl PreservationRequest {
    pub(crate) fn check(&self, p: &mut Problems) {
        p.require_text("requesting_authority", &self.requesting_authority, 300);
        p.require_text("case_reference", &self.case_reference, 100);
        if self.offences.is_empty() {
            p.add(
                "offences",
                "needs at least one offence of the shared taxonomy (Art. 29.2.b)",
            );
        }
        for (i, o) in self.offences.iter().enumerate() {
            let ok = !o.is_empty()
                && o.len() <= 100
                && o.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
            if !ok {
                p.add(
                    &format!("offences[{i}]"),
                    "is not a taxonomy id (lowercase letters, digits, '.', '_', '-')",
                );
            }
        }
        p.require_text("facts", &self.facts, 10_000);
        p.require_text("data", &self.data, 5_000);
        p.require_text("relation_to_offence", &self.relation_to_offence, 5_000);
        p.require_text("custodian_or_location", &self.custodian_or_location, 2_000);
        p.require_text("necessity", &self.necessity, 5_000);
        if !self.mla_to_follow {
            p.add("mla_to_follow", "must be true: Art. 29.2.f requires the intention to follow with a mutual-assistance request");
        }
        if self.preservation_days < MIN_PRESERVATION_DAYS {
            p.add(
                "preservation_days",
                format!("must be at least {MIN_PRESERVATION_DAYS} (Art. 29.7)"),
            );
        } else if self.preservation_days > 3_650 {
            p.add("preservation_days", "must be at most 3650");
        }
    }
}

/// The requested state's answer to a preservation request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreservationAck {
    pub request: MessageId,
    pub status: PreservationStatus,
    /// The requested state's own reference for the request.
    pub reference: String,
    /// Set when data is preserved: the end of the preservation period.
    pub preserved_until: Option<Timestamp>,
    pub remarks: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreservationStatus {
    Preserved,
    /// Received and being executed; a further acknowledgement follows.
    InProgress,
    Refused,
}

impl PreservationAck {
    pub(crate) fn check(&self, p: &mut Problems) {
        p.require_text("reference", &self.reference, 100);
        match (self.status, self.preserved_until) {
            (PreservationStatus::Preserved, None) => {
                p.add("preserved_until", "is required when status is preserved")
            }
            (PreservationStatus::Refused, _) if self.remarks.trim().is_empty() => p.add(
                "remarks",
                "must give the grounds when status is refused (Art. 27.7)",
            ),
            _ => {}
        }
        if self.remarks.chars().count() > 10_000 {
            p.add("remarks", "is longer than 10000 characters");
        }
    }
}
