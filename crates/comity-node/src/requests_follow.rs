//! Drafts the node offers once a request reached a state that calls for another request: the
//! prosecution in lieu after a refusal on nationality (Budapest Art. 24.6) and the preservation
//! in the next state on the path after a traffic disclosure named it (Art. 30). Offers are worked
//! out from the stored request each time; an officer opens one in one call.

use std::collections::BTreeMap;

use comity_law::Question;
use comity_model::{Jurisdiction, MessageId, NodeId, PreservationRequest, Timestamp};
use comity_workflow::{Action, Body, Draft, Kind, Request, State, UseConditions};
use serde::{Deserialize, Serialize};

use crate::requests::OpenRequest;
use crate::{Node, NodeError, now_ms};

/// What the node offers to open next from a request.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    /// `prosecution_in_lieu` or `onward_preservation`.
    pub follow_up: &'static str,
    /// The node the new request would go to.
    pub to: NodeId,
    /// Why it is offered and on which article.
    pub why: String,
    /// The request that would be opened: kind, body and conditions, linked to this one.
    pub draft: Draft,
}

/// The officer's go-ahead for an offer, with what only they can fill in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenFollowUp {
    pub follow_up: String,
    /// The node to ask, when the offer names more than one (several nodes of the next state).
    pub to: Option<NodeId>,
    /// For a prosecution in lieu: the evidence handed over with the case.
    pub evidence: Option<String>,
    /// For an onward preservation: a body replacing the one proposed.
    pub body: Option<PreservationRequest>,
    /// Conditions replacing those of the request followed up.
    pub conditions: Option<UseConditions>,
    #[serde(default)]
    pub content: BTreeMap<String, String>,
    /// The offence elements the facts establish, as in [`OpenRequest::facts`].
    #[serde(default)]
    pub facts: BTreeMap<String, bool>,
    pub channel: Option<String>,
    pub override_reason: Option<String>,
}

const PROSECUTION_IN_LIEU: &str = "prosecution_in_lieu";
const ONWARD_PRESERVATION: &str = "onward_preservation";
/// What the draft of a prosecution in lieu says until the officer names the evidence.
const EVIDENCE_TO_NAME: &str = "the evidence gathered for the extradition request";

fn next_state(request: &Request) -> Option<(Jurisdiction, Option<String>)> {
    request.history.iter().rev().find_map(|e| match &e.action {
        Some(Action::Disclose {
            next_state: Some(s),
            next_provider,
            ..
        }) => Some((*s, next_provider.clone())),
        _ => None,
    })
}

/// The preservation proposed to the next state, from the traffic disclosure's case.
fn onward_body(
    request: &Request,
    next: Jurisdiction,
    provider: Option<String>,
) -> Option<PreservationRequest> {
    let Body::TrafficDisclosure(t) = &request.body else {
        return None;
    };
    Some(PreservationRequest {
        requesting_authority: t.case.requesting_authority.clone(),
        case_reference: t.case.case_reference.clone(),
        offences: t.case.offences.clone(),
        facts: t.case.facts.clone(),
        data: format!("Traffic data of the communication: {}", t.communication),
        relation_to_offence: format!(
            "The communication passed through a service provider in {next}, as the traffic data disclosed by {} show (Budapest Art. 30.1).",
            request.requested
        ),
        custodian_or_location: provider.unwrap_or_else(|| format!("A service provider in {next}")),
        necessity: "Traffic data are kept for a short time only and may be erased before a mutual assistance request is executed.".to_owned(),
        mla_to_follow: true,
        preservation_days: 90,
    })
}

impl Node {
    /// The drafts this node may open next because of request `id`.
    pub async fn follow_ups(&self, id: &str) -> Result<Vec<Offer>, NodeError> {
        let stored = self
            .store()
            .get_request(id)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("request {id}")))?;
        let request = self.read_request(&stored).await?;
        if request.requesting != *self.id() {
            return Ok(Vec::new());
        }
        let placeholder = MessageId::from_parts(0, [0; 10]);
        let mut out = Vec::new();
        if request.kind == Kind::Extradition && request.state == State::RefusedNationality {
            let duty = self.duty_to_prosecute(&request)?;
            let draft = request.prosecution_in_lieu(
                placeholder,
                EVIDENCE_TO_NAME.to_owned(),
                duty.clone(),
            )?;
            out.push(Offer {
                follow_up: PROSECUTION_IN_LIEU,
                to: request.requested.clone(),
                why: format!(
                    "{} refused to extradite its national: it must submit the case for prosecution when asked ({duty})",
                    request.requested
                ),
                draft,
            });
        }
        if request.kind == Kind::TrafficDisclosure
            && let Some((next, provider)) = next_state(&request)
            && let Some(body) = onward_body(&request, next, provider)
        {
            let nodes: Vec<NodeId> = self
                .trust()
                .members()
                .filter(|d| d.jurisdiction == next && d.node != *self.id())
                .map(|d| d.node.clone())
                .collect();
            for to in nodes {
                let draft = request.onward_preservation(placeholder, to.clone(), body.clone())?;
                out.push(Offer {
                    follow_up: ONWARD_PRESERVATION,
                    to,
                    why: format!(
                        "{} disclosed that the path continues in {next}: ask it to preserve the data there (Budapest Art. 30.1, 29)",
                        request.requested
                    ),
                    draft,
                });
            }
        }
        Ok(out)
    }

    /// Opens an offered draft: pre-flight, open, store and send like any request, linked to
    /// request `id`.
    pub async fn open_follow_up(&self, id: &str, req: OpenFollowUp) -> Result<Request, NodeError> {
        let offers = self.follow_ups(id).await?;
        let matching: Vec<&Offer> = offers
            .iter()
            .filter(|o| o.follow_up == req.follow_up)
            .filter(|o| req.to.as_ref().is_none_or(|to| *to == o.to))
            .collect();
        let offer = match matching.as_slice() {
            [one] => *one,
            [] => {
                let offered: Vec<String> = offers
                    .iter()
                    .map(|o| format!("{} to {}", o.follow_up, o.to))
                    .collect();
                return Err(NodeError::NotFound(format!(
                    "follow-up {:?} of request {id}{} (offered now: {})",
                    req.follow_up,
                    req.to
                        .as_ref()
                        .map(|t| format!(" to {t}"))
                        .unwrap_or_default(),
                    if offered.is_empty() {
                        "none".to_owned()
                    } else {
                        offered.join(", ")
                    }
                )));
            }
            many => {
                return Err(NodeError::BadRequest(format!(
                    "follow-up {:?} is offered to {}: name one in `to`",
                    req.follow_up,
                    many.iter()
                        .map(|o| o.to.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        };
        let mut draft = offer.draft.clone();
        match (&mut draft.body, req.evidence, req.body) {
            (Body::ProsecutionInLieu(p), Some(evidence), _) => p.evidence = evidence,
            (Body::Preservation(b), _, Some(body)) => *b = body,
            _ => {}
        }
        self.open_request(OpenRequest {
            to: draft.requested,
            body: draft.body,
            content: req.content,
            conditions: req.conditions.unwrap_or(draft.conditions),
            links: draft.links,
            facts: req.facts,
            channel: req.channel,
            override_reason: req.override_reason,
        })
        .await
    }

    /// What obliges the refusing state to prosecute, as the law engine cites it.
    fn duty_to_prosecute(&self, request: &Request) -> Result<String, NodeError> {
        let fallback = "Budapest Art. 24.6".to_owned();
        let Some(pf) = &request.preflight else {
            return Ok(fallback);
        };
        let Body::Extradition(x) = &request.body else {
            return Ok(fallback);
        };
        let law = &self.inner.workflows.law;
        let date = Timestamp::from_unix_ms(now_ms()).to_string();
        let q = law
            .question_from_json(&serde_json::json!({
                "question": "extradition",
                "requesting": pf.requesting,
                "requested": pf.requested,
                "person": {"nationalities": x.person.nationalities},
                "offences": x.case.offences,
                "purpose": x.purpose,
                "facts": {},
                "date": &date[..10],
            }))
            .map_err(|e| NodeError::Workflow(crate::requests::law_error(e)))?;
        let Question::Extradition(q) = q else {
            return Ok(fallback);
        };
        let answer = law
            .extradition(&q)
            .map_err(|e| NodeError::Workflow(crate::requests::law_error(e)))?;
        Ok(answer
            .submit_for_prosecution
            .map_or(fallback, |s| comity_workflow::cite_text(&s.cite)))
    }
}
