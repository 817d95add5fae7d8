//! Evidence sent between nodes (docs/evidence.md "Transfers"). The provider records `sent` and
//! offers the item by reference in a sealed `evidence.offer` (digest, chunk digests, the custody
//! chain with the inclusion proof of every event, its use conditions); the recipient checks the
//! chain and stores a pending transfer that `evidence_pull` completes. The recipient reports how
//! it ended (`evidence.report`); the provider's consents travel as `evidence.consent`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get, routing::post};
use comity_evidence::{
    Action, Consent, CustodyEvent, Operation, SignedEvent, Timeline, TransferOffer, UseCondition,
    UseConditions, conditions::SignedConsent,
};
use comity_ledger::ProofBundle;
use comity_model::{
    Body, CustodyLink, EVIDENCE_MESSAGE_VERSION, EvidenceConsent, EvidenceOffer, EvidenceReport,
    MessageId, MessageKind, NodeId, Timestamp, TransferOutcome,
};
use comity_store::{Inbound, Transfer};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::ApiJson;
use crate::{Node, NodeError, SendRequest, now_ms};

pub(crate) fn routes() -> Router<Node> {
    Router::new()
        .route("/api/v1/evidence/transfers", get(list_transfers))
        .route("/api/v1/evidence/transfers/{id}/withdraw", post(withdraw))
        .route("/api/v1/evidence/{sha256}/send", post(send))
        .route("/api/v1/evidence/{sha256}/consents", post(consent))
}

/// What an officer asks to send.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendEvidence {
    to: NodeId,
    purpose: String,
    /// Conditions this node sets on the recipient's use of the item.
    #[serde(default)]
    conditions: Vec<UseCondition>,
    /// The legal bases cited for the conditions, e.g. `Budapest Art. 28`.
    #[serde(default)]
    legal_basis: Vec<String>,
    /// The cooperation request this answers.
    #[serde(default)]
    request: Option<MessageId>,
}

/// The provider's consent to one operation by the node that holds the item.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GiveConsent {
    holder: NodeId,
    operation: Operation,
}

pub(crate) fn transfer_view(t: &Transfer) -> Value {
    json!({
        "id": t.id,
        "direction": t.direction,
        "peer": t.peer,
        "sha256": t.sha256,
        "case": t.case_id,
        "name": t.name,
        "purpose": t.purpose,
        "request": t.request,
        "state": t.state,
        "chunks": t.chunks,
        "received": t.received,
        "error": t.error_code.as_ref().map(|c| json!({"code": c, "message": t.error_message})),
        "message_id": t.message_id,
        "conditions": serde_json::from_str::<Value>(&t.conditions).unwrap_or(Value::Null),
        "created_at": Timestamp::from_unix_ms(t.created_at).to_string(),
        "updated_at": Timestamp::from_unix_ms(t.updated_at).to_string(),
    })
}

fn bad(kind: &str, what: impl std::fmt::Display) -> NodeError {
    NodeError::BadRequest(format!("{kind}: {what}"))
}

impl Node {
    /// The nodes that sent the item on its way to this node, oldest first, each with the
    /// conditions it set: the `sent` events other nodes signed in the item's custody chain.
    async fn senders(
        &self,
        item: &comity_store::EvidenceItem,
    ) -> Result<Vec<(NodeId, Option<UseConditions>)>, NodeError> {
        let mut out = Vec::new();
        for r in self.store().custody_events(&item.sha256).await? {
            if r.ledger_index.is_some() {
                continue;
            }
            let signed = SignedEvent::from_json(&r.signed)?;
            if signed.event.action == Action::Sent && signed.event.node != *self.id() {
                out.push((signed.event.node, signed.event.conditions));
            }
        }
        Ok(out)
    }

    /// The consents recorded for an item.
    pub(crate) async fn consents_of(&self, sha: &str) -> Result<Vec<SignedConsent>, NodeError> {
        let mut out = Vec::new();
        for c in self.store().consents(sha).await? {
            out.push(serde_json::from_str(&c).map_err(|e| bad("stored consent", e))?);
        }
        Ok(out)
    }

    /// Refuses `op` on a received item unless the conditions of every node that sent it on its
    /// way here allow it or that node consented (`evidence.condition_refused`, naming the
    /// condition, the node and the articles). The first provider's conditions still bind after
    /// a second hop, whatever the node in between set (Budapest Art. 28.2, Second Additional
    /// Protocol Art. 14).
    pub(crate) async fn check_use(
        &self,
        item: &comity_store::EvidenceItem,
        op: &Operation,
    ) -> Result<(), NodeError> {
        let sets: Vec<UseConditions> = self
            .senders(item)
            .await?
            .into_iter()
            .filter_map(|(_, c)| c)
            .collect();
        if sets.is_empty() {
            return Ok(());
        }
        let consents = self.consents_of(&item.sha256).await?;
        let sha: comity_evidence::Sha256Digest = item.sha256.parse()?;
        for conditions in &sets {
            let key = self
                .trust()
                .member(&conditions.provider)
                .map(|d| d.signing_key)
                .ok_or_else(|| NodeError::UnknownNode(conditions.provider.to_string()))?;
            conditions.check(&sha, op, &consents, &key)?;
        }
        Ok(())
    }

    /// The custody chain of an item as it travels: each signed event with the inclusion proof
    /// of its ledger entry (this node's events proved now, other nodes' as they came).
    async fn custody_links(
        &self,
        records: Vec<comity_store::CustodyRecord>,
    ) -> Result<Vec<CustodyLink>, NodeError> {
        let mut links = Vec::new();
        for r in records {
            let proof = match (r.ledger_index, r.proof) {
                (Some(index), _) => {
                    let index = u64::try_from(index).unwrap_or(u64::MAX);
                    self.prove(index, None).await?.to_json()
                }
                (None, Some(proof)) => String::from_utf8_lossy(&proof).into_owned(),
                (None, None) => return Err(bad("stored custody event", "has no proof")),
            };
            links.push(CustodyLink {
                event: String::from_utf8_lossy(&r.signed).into_owned(),
                proof: Some(proof),
            });
        }
        Ok(links)
    }

    /// Refuses (`evidence.proof_refused`) unless `proof` is an inclusion proof of `event`'s
    /// ledger entry under a checkpoint signed with a log key the trust list gives its signer.
    pub(crate) fn check_proof(
        &self,
        event: &CustodyEvent,
        proof: Option<&str>,
    ) -> Result<(), NodeError> {
        let refuse = |reason: String| NodeError::ProofRefused {
            seq: event.seq,
            action: event.action.as_str().to_owned(),
            node: event.node.to_string(),
            reason,
        };
        let proof = proof.ok_or_else(|| refuse("no inclusion proof came with it".into()))?;
        let bundle = ProofBundle::from_json(proof.as_bytes())
            .map_err(|e| refuse(format!("[{}] {e}", e.code())))?;
        let want = event
            .ledger_entry()
            .and_then(|entry| Ok(entry.to_bytes()?))
            .map_err(|e| refuse(e.to_string()))?;
        let mut why = format!("the trust list gives no log key of {}", event.node);
        for log in crate::ledger::log_verifiers(self, &event.node) {
            match bundle.verify(&log, &[]) {
                Ok(v)
                    if v.entry.as_ref().and_then(|e| e.to_bytes().ok()).as_ref() == Some(&want) =>
                {
                    return Ok(());
                }
                Ok(_) => {
                    return Err(refuse(
                        "the proven ledger entry is not this event's entry".into(),
                    ));
                }
                Err(e) => why = format!("[{}] {e}", e.code()),
            }
        }
        Err(refuse(why))
    }

    /// Sends a message the node itself composes (offers, reports, consents).
    async fn send_evidence_message(&self, to: &NodeId, body: Body) -> Result<MessageId, NodeError> {
        let accepted = self
            .send(SendRequest {
                to: to.clone(),
                kind: body.kind().to_string(),
                body: body.to_json(),
                in_reply_to: None,
                handling: None,
            })
            .await?;
        Ok(accepted.id)
    }

    /// Tells the provider how an incoming transfer ended.
    pub(crate) async fn report_transfer(&self, t: &Transfer, error: Option<&NodeError>) {
        let report = EvidenceReport {
            v: EVIDENCE_MESSAGE_VERSION,
            transfer: t.id.clone(),
            sha256: t.sha256.clone(),
            outcome: if error.is_some() {
                TransferOutcome::Refused
            } else {
                TransferOutcome::Completed
            },
            code: error.map(|e| e.code().to_owned()),
            message: error.map(|e| e.to_string().chars().take(2000).collect()),
            at: Timestamp::from_unix_ms(now_ms()),
        };
        let sent = match t.peer.parse::<NodeId>() {
            Ok(peer) => {
                self.send_evidence_message(&peer, Body::EvidenceReport(report))
                    .await
            }
            Err(e) => Err(e.into()),
        };
        if let Err(e) = sent {
            tracing::warn!(transfer = %t.id, code = e.code(), "cannot report a transfer: {e}");
        }
    }

    /// Handles an evidence message accepted from a peer. A refusal is recorded with its code and
    /// never registers anything; a refused offer is reported to its provider.
    pub(crate) async fn accept_evidence_message(&self, m: &Inbound) {
        let outcome = match m.kind.as_str() {
            "evidence.offer" => self.accept_offer(m).await,
            "evidence.report" => self.accept_report(m).await,
            "evidence.consent" => self.accept_consent(m).await,
            _ => return,
        };
        if let Err(e) = outcome {
            self.refuse_message(m, &e, "refused").await;
        }
    }

    async fn accept_offer(&self, m: &Inbound) -> Result<(), NodeError> {
        let body: EvidenceOffer =
            serde_json::from_slice(&m.body).map_err(|e| bad("evidence.offer body", e))?;
        let now = now_ms();
        let mut transfer = Transfer {
            id: body.transfer.clone(),
            direction: "in".into(),
            peer: m.peer.clone(),
            sha256: String::new(),
            case_id: body.case.clone(),
            name: body.name.clone(),
            purpose: body.purpose.clone(),
            request: body.request.map(|r| r.to_string()),
            offer: body.offer.to_string(),
            conditions: body.conditions.to_string(),
            custody: serde_json::to_string(&body.custody).unwrap_or_else(|_| "[]".into()),
            chunks: 0,
            received: 0,
            state: "pending".into(),
            error_code: None,
            error_message: None,
            message_id: Some(m.id.clone()),
            created_at: now,
            updated_at: now,
        };
        let checked = self.check_offer(m, &body).await;
        match &checked {
            Ok(offer) => {
                transfer.sha256 = offer.sha256.hex();
                transfer.chunks = i64::try_from(offer.chunk_sha256.len()).unwrap_or(i64::MAX);
            }
            Err(e) => {
                transfer.sha256 = body
                    .offer
                    .get("sha256")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .chars()
                    .take(64)
                    .collect();
                transfer.state = "refused".into();
                transfer.error_code = Some(e.code().to_owned());
                transfer.error_message = Some(e.to_string());
            }
        }
        if !self.store().create_transfer(&transfer).await? {
            return Ok(());
        }
        match checked {
            Ok(_) => {
                self.inner.transfers_wake.notify_one();
                Ok(())
            }
            Err(e) => {
                self.report_transfer(&transfer, Some(&e)).await;
                Err(e)
            }
        }
    }

    /// The offer must come from the provider of its conditions, carry a chain that verifies
    /// under the trust list and ends with the peer's `sent` to this node, and name an item this
    /// node does not hold yet.
    async fn check_offer(
        &self,
        m: &Inbound,
        body: &EvidenceOffer,
    ) -> Result<TransferOffer, NodeError> {
        let offer: TransferOffer =
            serde_json::from_value(body.offer.clone()).map_err(|e| bad("offer", e))?;
        offer.layout()?;
        let conditions: UseConditions = serde_json::from_value(body.conditions.clone())
            .map_err(|e| bad("use conditions", e))?;
        if conditions.provider.as_str() != m.peer {
            return Err(bad(
                "use conditions",
                format!("set by {}, offered by {}", conditions.provider, m.peer),
            ));
        }
        let mut events = Vec::with_capacity(body.custody.len());
        for link in &body.custody {
            events.push(SignedEvent::from_json(link.event.as_bytes())?);
        }
        let timeline = Timeline::new(events)?;
        let now = Timestamp::from_unix_ms(now_ms());
        for e in timeline.events() {
            let keys = self.trust().signing_keys_at(&e.event.node, now);
            if !keys.iter().any(|k| e.verify(k).is_ok()) {
                return Err(comity_evidence::EvidenceError::EventSignature(
                    e.event.node.to_string(),
                )
                .into());
            }
        }
        // The provider's `sent` may come without its proof (queued in the transaction that
        // recorded it); the puller fetches and checks that one before registering anything.
        let count = body.custody.len();
        for (k, (e, link)) in timeline.events().iter().zip(&body.custody).enumerate() {
            if k + 1 < count || link.proof.is_some() {
                self.check_proof(&e.event, link.proof.as_deref())?;
            }
        }
        let last = timeline.last();
        if timeline.evidence() != offer.sha256
            || last.action != Action::Sent
            || last.node.as_str() != m.peer
            || last.counterpart.as_ref() != Some(self.id())
            || last.conditions.as_ref() != Some(&conditions)
        {
            return Err(bad(
                "custody chain",
                format!(
                    "must end with {}'s `sent` of {} to {} under the offered conditions",
                    m.peer,
                    offer.sha256,
                    self.id()
                ),
            ));
        }
        if self
            .store()
            .evidence_item(&offer.sha256.hex())
            .await?
            .is_some()
        {
            return Err(NodeError::AlreadyHeld(offer.sha256.to_string()));
        }
        Ok(offer)
    }

    async fn accept_report(&self, m: &Inbound) -> Result<(), NodeError> {
        let report: EvidenceReport =
            serde_json::from_slice(&m.body).map_err(|e| bad("evidence.report body", e))?;
        let t = self
            .store()
            .transfer(&report.transfer)
            .await?
            .filter(|t| t.direction == "out" && t.peer == m.peer && t.sha256 == report.sha256)
            .ok_or_else(|| NodeError::NotFound(format!("transfer {}", report.transfer)))?;
        let (state, error) = match report.outcome {
            TransferOutcome::Completed => ("completed", None),
            TransferOutcome::Refused => (
                "refused",
                Some((
                    report.code.as_deref().unwrap_or("evidence.refused"),
                    report.message.as_deref().unwrap_or(""),
                )),
            ),
        };
        self.store()
            .end_transfer(&t.id, "out", state, error, now_ms())
            .await?;
        Ok(())
    }

    async fn accept_consent(&self, m: &Inbound) -> Result<(), NodeError> {
        let body: EvidenceConsent =
            serde_json::from_slice(&m.body).map_err(|e| bad("evidence.consent body", e))?;
        let signed: SignedConsent =
            serde_json::from_value(body.consent).map_err(|e| bad("consent", e))?;
        let c = &signed.consent;
        if c.provider.as_str() != m.peer {
            return Err(bad(
                "consent",
                format!("given by {}, sent by {}", c.provider, m.peer),
            ));
        }
        let not_held = || NodeError::NotFound(format!("evidence {} from {}", c.evidence, m.peer));
        let item = self
            .store()
            .evidence_item(&c.evidence.hex())
            .await?
            .ok_or_else(not_held)?;
        // Any node that sent the item on its way here may consent, not only the last one.
        if !self
            .senders(&item)
            .await?
            .iter()
            .any(|(n, _)| n.as_str() == m.peer)
        {
            return Err(not_held());
        }
        let key = self
            .trust()
            .member(&c.provider)
            .map(|d| d.signing_key)
            .ok_or_else(|| NodeError::UnknownNode(c.provider.to_string()))?;
        if !signed.verify(&key) {
            return Err(bad(
                "consent",
                format!("signature does not verify under {}'s key", m.peer),
            ));
        }
        self.store()
            .record_consent(
                &item.sha256,
                &operation_key(&c.operation),
                &m.peer,
                &json_of(&signed),
                now_ms(),
            )
            .await?;
        Ok(())
    }
}

/// One row per item and operation: the operation's JSON names it.
fn operation_key(op: &Operation) -> String {
    serde_json::to_string(op).unwrap_or_default()
}

fn json_of(c: &SignedConsent) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

async fn send(
    State(node): State<Node>,
    Path(sha): Path<String>,
    ApiJson(req): ApiJson<SendEvidence>,
) -> Result<Response, NodeError> {
    let item = node.item_or_404(&sha).await?;
    if req.to == *node.id() {
        return Err(NodeError::BadRequest(
            "a node does not send evidence to itself".into(),
        ));
    }
    if node.trust().member(&req.to).is_none() {
        return Err(NodeError::UnknownNode(req.to.to_string()));
    }
    if req.purpose.trim().is_empty() || req.purpose.len() > 1024 {
        return Err(NodeError::BadRequest(
            "purpose must be 1 to 1024 bytes".into(),
        ));
    }
    node.check_use(
        &item,
        &Operation::Forward {
            to: req.to.clone(),
            purpose: req.purpose.clone(),
        },
    )
    .await?;
    let digest: comity_evidence::Sha256Digest = item.sha256.parse()?;
    let offer = node.inner.vault.offer(&digest).await;
    let offer = node.reported(&digest, "offer", offer).await?;
    let conditions = UseConditions {
        provider: node.id().clone(),
        legal_basis: req.legal_basis,
        conditions: req.conditions,
    };
    let offer_json = serde_json::to_value(&offer).map_err(|e| bad("offer", e))?;
    let conditions_json = serde_json::to_value(&conditions).map_err(|e| bad("conditions", e))?;
    let id = hex::encode(rand::random::<[u8; 16]>());
    let store = node.store();
    let mut stored = false;
    for _ in 0..crate::evidence::APPEND_ATTEMPTS {
        let records = store.custody_events(&item.sha256).await?;
        let last = records
            .last()
            .ok_or_else(|| NodeError::NotFound(format!("evidence {digest}")))?;
        let prev = SignedEvent::from_json(&last.signed)?;
        let now = now_ms();
        let mut sent = CustodyEvent::next_after(
            &prev.event,
            Action::Sent,
            Timestamp::from_unix_ms(now),
            node.id().clone(),
            crate::evidence::API_USER,
        );
        sent.counterpart = Some(req.to.clone());
        sent.conditions = Some(conditions.clone());
        let sent = node.to_record(sent)?;
        let mut custody = node.custody_links(records).await?;
        custody.push(CustodyLink {
            event: String::from_utf8_lossy(&sent.signed).into_owned(),
            proof: None,
        });
        let body = Body::EvidenceOffer(EvidenceOffer {
            v: EVIDENCE_MESSAGE_VERSION,
            transfer: id.clone(),
            offer: offer_json.clone(),
            name: item.name.clone(),
            case: item.case_id.clone(),
            purpose: req.purpose.clone(),
            request: req.request,
            conditions: conditions_json.clone(),
            custody,
        });
        // Sealed first: a message that cannot leave (too large, unknown peer) records nothing.
        let (outbound, accepted) = node
            .seal_message(SendRequest {
                to: req.to.clone(),
                kind: body.kind().to_string(),
                body: body.to_json(),
                in_reply_to: None,
                handling: None,
            })
            .await?;
        let transfer = Transfer {
            id: id.clone(),
            direction: "out".into(),
            peer: req.to.to_string(),
            sha256: item.sha256.clone(),
            case_id: item.case_id.clone(),
            name: item.name.clone(),
            purpose: req.purpose.clone(),
            request: req.request.map(|r| r.to_string()),
            offer: offer_json.to_string(),
            conditions: conditions_json.to_string(),
            custody: "[]".into(),
            chunks: i64::try_from(offer.chunk_sha256.len()).unwrap_or(i64::MAX),
            received: 0,
            state: "offered".into(),
            error_code: None,
            error_message: None,
            message_id: Some(accepted.id.to_string()),
            created_at: now,
            updated_at: now,
        };
        if store
            .offer_evidence(&sent, &transfer, &outbound)
            .await?
            .is_some()
        {
            stored = true;
            break;
        }
    }
    if !stored {
        return Err(NodeError::BadRequest(format!(
            "evidence {digest}: custody events kept changing; try again"
        )));
    }
    node.wake_delivery();
    let stored = node
        .store()
        .transfer(&id)
        .await?
        .ok_or_else(|| NodeError::NotFound(format!("transfer {id}")))?;
    Ok((StatusCode::ACCEPTED, Json(transfer_view(&stored))).into_response())
}

async fn consent(
    State(node): State<Node>,
    Path(sha): Path<String>,
    ApiJson(req): ApiJson<GiveConsent>,
) -> Result<Response, NodeError> {
    let item = node.item_or_404(&sha).await?;
    // The holder may have it from a node this one sent it to (a second hop this node consented
    // to): any member but this node, once this node has sent the item.
    let sent = node
        .store()
        .transfers(Some(&item.sha256))
        .await?
        .iter()
        .any(|t| t.direction == "out");
    if !sent || req.holder == *node.id() {
        return Err(NodeError::NotFound(format!(
            "transfer of {} to {}: a consent goes to a node that holds the item after this node              sent it",
            item.sha256, req.holder
        )));
    }
    if node.trust().member(&req.holder).is_none() {
        return Err(NodeError::UnknownNode(req.holder.to_string()));
    }
    let signed = Consent {
        v: 1,
        evidence: item.sha256.parse()?,
        provider: node.id().clone(),
        operation: req.operation,
        time: Timestamp::from_unix_ms(now_ms()),
    }
    .sign(node.inner.secrets.signing_key());
    let value = serde_json::to_value(&signed).map_err(|e| bad("consent", e))?;
    let message = node
        .send_evidence_message(
            &req.holder,
            Body::EvidenceConsent(EvidenceConsent {
                v: EVIDENCE_MESSAGE_VERSION,
                consent: value.clone(),
            }),
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"holder": req.holder, "message_id": message, "consent": value})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Withdraw {
    reason: String,
}

/// The provider withdraws an offer still open (sent to the wrong node, or no longer to be
/// given): its chunks are no longer served, so the recipient's pull ends refused
/// (`evidence.not_offered`) and nothing partial is registered there. The `sent` event stays in
/// the custody chain: the item was offered.
async fn withdraw(
    State(node): State<Node>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Withdraw>,
) -> Result<Json<Value>, NodeError> {
    if req.reason.trim().is_empty() || req.reason.len() > 1024 {
        return Err(NodeError::BadRequest(
            "reason must be 1 to 1024 bytes".into(),
        ));
    }
    let store = node.store();
    let t = store
        .transfer(&id)
        .await?
        .filter(|t| t.direction == "out")
        .ok_or_else(|| NodeError::NotFound(format!("outgoing transfer {id}")))?;
    let reason = format!("withdrawn by {}: {}", node.id(), req.reason.trim());
    let ended = store
        .end_transfer(
            &t.id,
            "out",
            "withdrawn",
            Some(("evidence.withdrawn", &reason)),
            now_ms(),
        )
        .await?;
    if !ended {
        return Err(NodeError::TransferEnded { id, state: t.state });
    }
    let t = store
        .transfer(&id)
        .await?
        .ok_or_else(|| NodeError::NotFound(format!("outgoing transfer {id}")))?;
    Ok(Json(transfer_view(&t)))
}

async fn list_transfers(State(node): State<Node>) -> Result<Json<Value>, NodeError> {
    let transfers = node.store().transfers(None).await?;
    Ok(Json(
        json!({"transfers": transfers.iter().map(transfer_view).collect::<Vec<_>>()}),
    ))
}

/// Evidence messages are composed by the node (they carry its custody events and signatures).
pub(crate) fn is_evidence_kind(kind: &str) -> bool {
    [
        MessageKind::EvidenceOffer,
        MessageKind::EvidenceReport,
        MessageKind::EvidenceConsent,
    ]
    .iter()
    .any(|k| k.as_str() == kind)
}
