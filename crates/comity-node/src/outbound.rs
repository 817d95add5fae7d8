//! Messages from this node's users: checked, sealed, and committed before the API answers.

use comity_ledger::EntryKind;
use comity_model::{
    Body, Handling, Header, MessageId, MessageKind, NodeId, SCHEMA_VERSION, Timestamp,
};
use comity_model::{PreservationAck, PreservationRequest, PreservationStatus};
use comity_seal::Envelope;
use comity_store::{NewOutbound, Store, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::ledger::message_entry;
use crate::{Node, NodeError, now_ms};

/// What a user asks the node to send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub to: NodeId,
    pub kind: String,
    pub body: serde_json::Value,
    #[serde(default)]
    pub in_reply_to: Option<MessageId>,
    #[serde(default)]
    pub handling: Option<Handling>,
}

/// The answer once the message is durably queued.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub id: MessageId,
    pub conversation: MessageId,
    pub state: &'static str,
}

pub(crate) type Pending = (NewOutbound, oneshot::Sender<Result<(), StoreError>>);

/// Commits queued messages in groups: every caller waits for its own row to be durable, and
/// concurrent callers share one transaction (one fsync) instead of paying one each.
pub(crate) async fn run_writer(store: Store, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let rows: Vec<NewOutbound> = batch.iter().map(|(row, _)| row.clone()).collect();
        if store.enqueue(&rows).await.is_ok() {
            for (_, done) in batch {
                let _ = done.send(Ok(()));
            }
        } else {
            // One bad row must not fail its neighbours: commit them one by one.
            for (row, done) in batch {
                let _ = done.send(store.enqueue(std::slice::from_ref(&row)).await);
            }
        }
    }
}

impl Node {
    /// Checks, seals and durably queues a message; returns once it is committed.
    pub async fn send(&self, req: SendRequest) -> Result<Accepted, NodeError> {
        let (row, accepted) = self.seal_message(req).await?;
        let (done, committed) = oneshot::channel();
        self.inner
            .writer
            .send((row, done))
            .await
            .map_err(|_| NodeError::ShuttingDown)?;
        committed.await.map_err(|_| NodeError::ShuttingDown)??;
        self.inner.wake.notify_one();
        Ok(accepted)
    }

    /// Checks and seals a message into the row that queues it, without storing anything: the
    /// caller commits the row (`Store::enqueue`, or with a request's transition) and then calls
    /// `wake_delivery`.
    pub(crate) async fn seal_message(
        &self,
        req: SendRequest,
    ) -> Result<(NewOutbound, Accepted), NodeError> {
        let s = &self.inner;
        let kind: MessageKind = req.kind.parse()?;
        if req.to == s.me {
            return Err(NodeError::BadRequest(
                "a node does not send messages to itself".into(),
            ));
        }
        let recipient = self
            .trust()
            .member(&req.to)
            .cloned()
            .ok_or_else(|| NodeError::UnknownNode(req.to.to_string()))?;
        let body = Body::from_json(kind, req.body)?;
        let now = now_ms();
        let id = MessageId::from_parts(u64::try_from(now).unwrap_or(0), rand::random());
        let conversation = match req.in_reply_to {
            Some(parent) => self.conversation_of(&parent, &req.to).await?,
            None => id,
        };
        match &body {
            Body::PreservationAck(ack) => self.check_ack(ack, &req.to).await?,
            Body::PreservationRequest(_)
            | Body::Note(_)
            | Body::PdqMatchNotice(_)
            | Body::RequestOpen(_)
            | Body::RequestAction(_)
            | Body::EvidenceOffer(_)
            | Body::EvidenceReport(_)
            | Body::EvidenceConsent(_) => {}
        }
        let header = Header {
            id,
            from: s.me.clone(),
            to: req.to.clone(),
            kind,
            conversation,
            in_reply_to: req.in_reply_to,
            sent_at: Timestamp::from_unix_ms(now),
            schema: SCHEMA_VERSION,
            handling: req.handling.unwrap_or_default(),
        };
        let header_copy = header.clone();
        let envelope = comity_seal::seal(&s.secrets, &recipient, header, &body, &mut rand::rng())?;
        let bytes = envelope.to_bytes();
        if bytes.len() > s.config.max_message_bytes {
            return Err(NodeError::TooLarge {
                size: bytes.len(),
                limit: s.config.max_message_bytes,
            });
        }
        // Ed25519 is deterministic: this is the signature sealed inside the envelope, kept so
        // the node's own copy of the body stays checkable against what it signed.
        let inner_signature = comity_seal::sign_inner(&s.secrets, &header_copy, &body).to_vec();
        let body_bytes = String::from_utf8(comity_seal::canonical_body(&body))
            .map_err(|e| NodeError::BadRequest(format!("body is not UTF-8 JSON: {e}")))?;
        let digest = Envelope::digest(&bytes).to_vec();
        let ledger = message_entry(EntryKind::MessageSent, &s.me, &header_copy, &digest, now)?;
        let row = NewOutbound {
            id: id.to_string(),
            peer: req.to.to_string(),
            conversation: conversation.to_string(),
            in_reply_to: req.in_reply_to.map(|m| m.to_string()),
            kind: kind.to_string(),
            created_at: now,
            digest,
            envelope: bytes,
            body: body_bytes,
            inner_signature,
            ledger,
        };
        let accepted = Accepted {
            id,
            conversation,
            state: "queued",
        };
        Ok((row, accepted))
    }

    /// Tells the delivery task that messages were queued.
    pub(crate) fn wake_delivery(&self) {
        self.inner.wake.notify_one();
    }

    /// A reply joins its parent's conversation; the parent must be a message exchanged with the
    /// same peer.
    async fn conversation_of(
        &self,
        parent: &MessageId,
        peer: &NodeId,
    ) -> Result<MessageId, NodeError> {
        let store = &self.inner.store;
        let id = parent.to_string();
        let found = match store.get_inbound(&id).await? {
            Some(m) if m.peer == peer.as_str() => Some(m.conversation),
            _ => match store.get_outbound(&id).await? {
                Some(m) if m.peer == peer.as_str() => Some(m.conversation),
                _ => None,
            },
        };
        let conversation = found.ok_or_else(|| {
            NodeError::NotFound(format!(
                "{parent} (in_reply_to must name a message exchanged with {peer})"
            ))
        })?;
        Ok(conversation.parse()?)
    }

    /// An acknowledgement must answer a preservation request received from that peer and, when
    /// data is preserved, keep it at least as long as requested (Art. 29.7).
    async fn check_ack(&self, ack: &PreservationAck, peer: &NodeId) -> Result<(), NodeError> {
        let unknown = || NodeError::UnknownRequest(ack.request.to_string());
        let request = self
            .inner
            .store
            .get_inbound(&ack.request.to_string())
            .await?
            .ok_or_else(unknown)?;
        if request.peer != peer.as_str()
            || request.kind != MessageKind::PreservationRequest.as_str()
        {
            return Err(unknown());
        }
        let checked = self
            .check_inbound(&request)
            .map_err(crate::integrity::CheckError::from);
        self.verdict(checked).await?;
        let asked: PreservationRequest = serde_json::from_slice(&request.body).map_err(|e| {
            NodeError::BadRequest(format!("stored request {} is unreadable: {e}", ack.request))
        })?;
        if let (PreservationStatus::Preserved, Some(until)) = (ack.status, ack.preserved_until) {
            let received = Timestamp::from_unix_ms(request.received_at);
            if until < received.plus_days(i64::from(asked.preservation_days)) {
                return Err(NodeError::PreservationTooShort {
                    until: until.to_string(),
                    days: asked.preservation_days,
                    received: received.to_string(),
                });
            }
        }
        Ok(())
    }
}
