//! Sealed messages from peers: every check runs before anything is stored, each message is
//! stored at most once, and every outcome (receipt or refusal) is answered per envelope.

use comity_ledger::EntryKind;
use comity_model::{Header, NodeId, Timestamp};
use comity_seal::{Envelope, Receipt};
use comity_store::{Inbound, InboundOutcome, LedgerAppend};

use crate::ledger::message_entry;
use crate::refusals::{Input, Refused};
use crate::{Node, NodeError, now_ms};

/// The node's answer for one envelope of a batch.
pub(crate) type Answer = Result<Vec<u8>, NodeError>;

enum Checked {
    /// New and valid: store it with its ledger entry, then answer with the receipt signed then.
    Fresh(Box<Fresh>),
    /// Accepted earlier with the same bytes: answer with the receipt given then.
    Known(Vec<u8>),
}

struct Fresh {
    message: Inbound,
    header: Header,
    entry: LedgerAppend,
}

impl Node {
    /// Processes a batch of envelopes (one per line) from `peer` (the member TLS authenticated)
    /// in order; returns one answer per envelope. Fresh messages of the batch are committed in
    /// one transaction before any answer is given; the batch's refusals are charged to `peer`.
    /// A batch of more envelopes than a member sends at once is refused whole, before any
    /// envelope is parsed.
    pub(crate) async fn receive_batch(
        &self,
        peer: &NodeId,
        batch: &[u8],
    ) -> Result<Vec<Answer>, NodeError> {
        let now = now_ms();
        let limit = self.inner.config.max_batch_envelopes;
        let lines: Vec<&[u8]> = batch
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .take(limit.saturating_add(1))
            .collect();
        if lines.len() > limit {
            let error = NodeError::BatchTooLarge { limit };
            let input = Input::Batch;
            self.refuse(
                peer.as_str(),
                &[Refused {
                    error: &error,
                    input,
                }],
            )
            .await;
            return Err(error);
        }
        let mut checked = Vec::with_capacity(lines.len());
        for line in &lines {
            checked.push(self.check(line, now).await);
        }
        let fresh: Vec<&Fresh> = checked
            .iter()
            .filter_map(|c| match c {
                Ok(Checked::Fresh(f)) => Some(&**f),
                _ => None,
            })
            .collect();
        let mut messages: Vec<Inbound> = fresh.iter().map(|f| f.message.clone()).collect();
        let entries: Vec<LedgerAppend> = fresh.iter().map(|f| f.entry.clone()).collect();
        let secrets = &self.inner.secrets;
        let received = Timestamp::from_unix_ms(now);
        let outcomes = self
            .inner
            .store
            .accept_inbound(&mut messages, &entries, |i, log_index| {
                let m = &fresh[i].message;
                Receipt::for_envelope(
                    secrets,
                    &fresh[i].header,
                    &m.envelope,
                    received,
                    Some(log_index),
                )
                .to_bytes()
            })
            .await?;
        let mut outcomes = outcomes.into_iter().zip(messages);
        let mut answers = Vec::with_capacity(checked.len());
        for c in checked {
            let answer = match c {
                Ok(Checked::Known(receipt)) => Ok(receipt),
                Ok(Checked::Fresh(_)) => match outcomes.next() {
                    Some((InboundOutcome::Accepted, m)) => {
                        self.replay_request_message(&m).await;
                        self.accept_evidence_message(&m).await;
                        Ok(m.receipt)
                    }
                    Some((InboundOutcome::Duplicate { receipt }, _)) => Ok(receipt),
                    Some((InboundOutcome::Replay, m)) => Err(NodeError::Replay(m.id)),
                    None => Err(NodeError::ShuttingDown),
                },
                Err(e) => Err(e),
            };
            answers.push(answer);
        }
        // This node's own failures (its store, its shutting down) are no fault of the peer's.
        let refused: Vec<Refused<'_>> = lines
            .iter()
            .zip(&answers)
            .filter_map(|(line, answer)| match answer {
                Err(error) if !error.is_transient() => Some(Refused {
                    error,
                    input: Input::Envelope(line),
                }),
                _ => None,
            })
            .collect();
        self.refuse(peer.as_str(), &refused).await;
        Ok(answers)
    }

    async fn check(&self, bytes: &[u8], now: i64) -> Result<Checked, NodeError> {
        let s = &self.inner;
        let limit = s.config.max_message_bytes;
        if bytes.len() > limit {
            return Err(NodeError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        let envelope = Envelope::from_bytes(bytes)?;
        let h = &envelope.header;
        if h.to != s.me {
            return Err(NodeError::WrongRecipient {
                to: h.to.to_string(),
                me: s.me.to_string(),
            });
        }
        let now_ts = Timestamp::from_unix_ms(now);
        let keys = {
            let trust = self.trust();
            if trust.member(&h.from).is_none() {
                return Err(NodeError::UnknownNode(h.from.to_string()));
            }
            trust.sender_keys(&h.from, &envelope.signer, now_ts)?
        };
        let sent = h.sent_at.unix_ms();
        if sent > now + s.config.clock_skew_ms || sent < now - s.config.max_message_age_ms {
            return Err(NodeError::ClockSkew {
                sent_at: h.sent_at.to_string(),
                now: now_ts.to_string(),
                skew_s: s.config.clock_skew_ms / 1000,
            });
        }
        let digest = Envelope::digest(bytes);
        if let Some((stored_digest, receipt)) = s.store.inbound_receipt(&h.id.to_string()).await? {
            return if stored_digest == digest {
                Ok(Checked::Known(receipt))
            } else {
                Err(NodeError::Replay(h.id.to_string()))
            };
        }
        let opened = comity_seal::open(&envelope, &s.secrets, &keys)?;
        let entry = message_entry(EntryKind::MessageReceived, &s.me, h, &digest, now)?;
        let message = Inbound {
            id: h.id.to_string(),
            peer: h.from.to_string(),
            conversation: h.conversation.to_string(),
            in_reply_to: h.in_reply_to.map(|m| m.to_string()),
            kind: h.kind.to_string(),
            sent_at: sent,
            received_at: now,
            envelope: bytes.to_vec(),
            digest: digest.to_vec(),
            body: opened.body_bytes,
            inner_signature: Some(opened.inner_signature.to_vec()),
            receipt: Vec::new(),
            log_index: None,
        };
        Ok(Checked::Fresh(Box::new(Fresh {
            message,
            header: h.clone(),
            entry,
        })))
    }
}
