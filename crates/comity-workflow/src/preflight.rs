//! Pre-flight: the law engine's answers for the pair of states, kept with the request.

use chrono::NaiveDate;
use comity_law::{Channel, Cite, DualCriminalityAnswer, ExtraditionAnswer, LegalBasisAnswer};
use serde::{Deserialize, Serialize};

use crate::WorkflowError;
use crate::fields::Problems;

/// An instrument the engine found, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentNote {
    pub treaty: String,
    pub title: String,
    pub articles: Vec<String>,
    pub channels: Vec<String>,
    pub dual_criminality_required: bool,
    pub refusal_grounds: Vec<String>,
    /// What a request under this instrument must contain (e.g. Budapest Art. 29.2).
    pub required_content: Vec<String>,
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DualCriminalityNote {
    pub required: bool,
    pub satisfied: bool,
    pub criminal_in_both: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObstacleNote {
    pub code: String,
    pub cite: String,
    pub reason: String,
}

/// The stored pre-flight record. Sending against a negative record needs a written override
/// reason, which travels with the request so the recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preflight {
    pub requesting: String,
    pub requested: String,
    pub measure: String,
    pub date: NaiveDate,
    pub available: bool,
    pub instruments: Vec<InstrumentNote>,
    /// The national provision allowing assistance or extradition without a treaty.
    pub reciprocity: Option<String>,
    /// Every channel the request may use.
    pub channels: Vec<String>,
    /// The channel chosen for sending.
    pub channel: Option<String>,
    pub dual_criminality: Option<DualCriminalityNote>,
    pub obstacles: Vec<ObstacleNote>,
    /// Why the record is negative, one line each; empty when it is positive.
    pub negatives: Vec<String>,
    pub override_reason: Option<String>,
    /// The engine's explanation, one line per step: `cite: text`.
    pub explanation: Vec<String>,
}

/// A citation in one line.
pub fn cite_text(cite: &Cite<'_>) -> String {
    match cite {
        Cite::Treaty { treaty, article } => format!("{treaty} Art. {article}"),
        Cite::National { state, provision } => format!("{state}: {provision}"),
        Cite::Guidance { note } => format!("guidance: {note}"),
    }
}

/// Builds the record from the engine's answers: the legal basis always, dual criminality and the
/// extradition answer where they were asked; `channel` is the one the officer picked.
pub fn preflight(
    basis: &LegalBasisAnswer<'_>,
    dual: Option<&DualCriminalityAnswer<'_>>,
    extradition: Option<&ExtraditionAnswer<'_>>,
    channel: Option<Channel>,
) -> Preflight {
    let instruments: Vec<InstrumentNote> = basis
        .instruments
        .iter()
        .map(|i| InstrumentNote {
            treaty: i.treaty.to_owned(),
            title: i.title.to_owned(),
            articles: i.articles.to_vec(),
            channels: i.channels.iter().map(|c| c.as_str().to_owned()).collect(),
            dual_criminality_required: i.dual_criminality_required,
            refusal_grounds: i
                .refusal_grounds
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            required_content: i.required_content.to_vec(),
            verified: i.verified,
        })
        .collect();
    let channels: Vec<String> = basis
        .channels
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let mut negatives = Vec::new();
    if !basis.available {
        negatives.push(format!(
            "no legal basis for {} from {} to {} on {}",
            basis.measure, basis.requesting, basis.requested, basis.date
        ));
    }
    if basis.national_measure.status == "not_available" {
        negatives.push(format!(
            "{} law does not provide the measure {}",
            basis.requested, basis.measure
        ));
    }
    if let Some(c) = channel
        && !basis.channels.contains(&c)
    {
        negatives.push(format!(
            "channel {c} is not one the bases allow ({})",
            channels.join(", ")
        ));
    }
    let dual_note = dual.map(|d| DualCriminalityNote {
        required: d.required,
        satisfied: d.satisfied,
        criminal_in_both: d.criminal_in_both,
    });
    if let Some(d) = &dual_note
        && !d.satisfied
    {
        negatives.push("dual criminality is required and not met".to_owned());
    }
    let mut obstacles = Vec::new();
    let mut explanation: Vec<String> = basis
        .explanation
        .iter()
        .map(|s| format!("{}: {}", cite_text(&s.cite), s.text))
        .collect();
    if let Some(d) = dual {
        explanation.extend(
            d.explanation
                .iter()
                .map(|s| format!("{}: {}", cite_text(&s.cite), s.text)),
        );
    }
    if let Some(x) = extradition {
        explanation.push(format!(
            "extradition question: {} (basis: {})",
            x.decision,
            x.basis.unwrap_or("none")
        ));
        for c in &x.conditions {
            explanation.push(format!(
                "condition {} ({}): {}",
                c.code,
                cite_text(&c.cite),
                c.reason
            ));
        }
        if let Some(sub) = &x.submit_for_prosecution {
            explanation.push(format!(
                "if refused, the case is to be submitted for prosecution{} ({})",
                if sub.on_request {
                    " when the requesting state asks"
                } else {
                    ""
                },
                cite_text(&sub.cite)
            ));
        }
        for o in &x.obstacles {
            obstacles.push(ObstacleNote {
                code: o.code.to_owned(),
                cite: cite_text(&o.cite),
                reason: o.reason.clone(),
            });
        }
        if x.decision == "refused" {
            negatives.push(format!(
                "extradition would be refused: {}",
                x.obstacles
                    .iter()
                    .map(|o| o.code)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        explanation.extend(
            x.explanation
                .iter()
                .map(|s| format!("{}: {}", cite_text(&s.cite), s.text)),
        );
    }
    Preflight {
        requesting: basis.requesting.to_string(),
        requested: basis.requested.to_string(),
        measure: basis.measure.as_str().to_owned(),
        date: basis.date,
        available: basis.available,
        instruments,
        reciprocity: basis.reciprocity.as_ref().map(|r| r.provision.to_owned()),
        channels,
        channel: channel.map(|c| c.as_str().to_owned()),
        dual_criminality: dual_note,
        obstacles,
        negatives,
        override_reason: None,
        explanation,
    }
}

impl Preflight {
    pub fn is_negative(&self) -> bool {
        !self.negatives.is_empty()
    }

    /// Records the officer's reason for sending against a negative record.
    pub fn with_override(mut self, reason: impl Into<String>) -> Self {
        self.override_reason = Some(reason.into());
        self
    }

    /// The content items the instruments require, each with the instrument asking for it.
    pub fn required_content(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for i in &self.instruments {
            for item in &i.required_content {
                if !out.iter().any(|(it, _)| it == item) {
                    out.push((item, &i.title));
                }
            }
        }
        out
    }

    /// Whether dual criminality was required for this pair (Budapest Art. 29.4 lets a state
    /// refuse preservation on it only then).
    pub fn dual_criminality_required(&self) -> bool {
        self.dual_criminality.as_ref().is_some_and(|d| d.required)
            || self.instruments.iter().any(|i| i.dual_criminality_required)
    }

    /// May the request leave? A negative record needs an override reason of some substance.
    pub fn clearance(&self) -> Result<(), WorkflowError> {
        if !self.is_negative() {
            return Ok(());
        }
        match &self.override_reason {
            None => Err(WorkflowError::OverrideRequired {
                negatives: self.negatives.clone(),
            }),
            Some(reason) => {
                let mut p = Problems::new("preflight");
                if reason.trim().chars().count() < 20 {
                    p.add(
                        "override_reason",
                        "must explain in at least 20 characters why the request is sent against the negative pre-flight check",
                    );
                } else if reason.chars().count() > 5_000 {
                    p.add("override_reason", "is longer than 5000 characters");
                }
                p.finish()
            }
        }
    }
}
