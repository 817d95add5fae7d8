//! The legal reasoning engine: one module per question kind.

pub mod basis;
pub mod competing;
pub mod dual;
pub mod extradition;
pub mod jurisdiction;

use crate::answer::{Answer, Cite};
use crate::error::LawError;
use crate::pack::{LawPacks, Reservation, Treaty};
use crate::question::Question;

impl LawPacks {
    /// Answers a question. Pure: everything it needs is in the packs and the question.
    pub fn answer(&self, q: &Question) -> Result<Answer<'_>, LawError> {
        Ok(match q {
            Question::LegalBasis(q) => Answer::LegalBasis(self.legal_basis(q)),
            Question::DualCriminality(q) => Answer::DualCriminality(self.dual_criminality(q)),
            Question::Extradition(q) => Answer::Extradition(self.extradition(q)?),
            Question::CompetingRequests(q) => Answer::CompetingRequests(self.competing_requests(q)),
            Question::Jurisdiction(q) => Answer::Jurisdiction(self.jurisdiction_conflict(q)),
        })
    }

    /// Reads a JSON question and returns the JSON answer.
    pub fn eval_json(&self, text: &str) -> Result<serde_json::Value, LawError> {
        let q = self.question_from_str(text)?;
        let a = self.answer(&q)?;
        serde_json::to_value(&a).map_err(|e| LawError::Malformed {
            field: String::new(),
            reason: e.to_string(),
        })
    }

    /// Reads a JSON question and returns the answer as JSON text, its fields in a stable,
    /// readable order (the question's kind and decision first, the explanation last).
    pub fn eval_to_string(&self, text: &str, pretty: bool) -> Result<String, LawError> {
        let q = self.question_from_str(text)?;
        let a = self.answer(&q)?;
        let out = if pretty {
            serde_json::to_string_pretty(&a)
        } else {
            serde_json::to_string(&a)
        };
        out.map_err(|e| LawError::Malformed {
            field: String::new(),
            reason: e.to_string(),
        })
    }
}

pub(crate) fn treaty_cite<'a>(t: &'a Treaty, article: &'a str) -> Cite<'a> {
    Cite::Treaty {
        treaty: &t.id,
        article,
    }
}

pub(crate) fn reservation_cite<'a>(t: &'a Treaty, r: &'a Reservation) -> Cite<'a> {
    Cite::Treaty {
        treaty: &t.id,
        article: &r.article,
    }
}
