use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use comity_evidence::EvidenceError;
use comity_ledger::LedgerError;
use comity_model::{FieldProblem, ModelError};
use comity_pdq::PdqError;
use comity_seal::SealError;
use comity_store::StoreError;
use comity_workflow::WorkflowError;
use thiserror::Error;

/// Everything a user or a peer can get wrong, and the node's own failures.
///
/// Codes are stable: clients and peers match on them.
#[derive(Debug, Error)]
pub enum NodeError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Pdq(#[from] PdqError),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("unknown hash list or entry: {0}")]
    UnknownList(String),
    #[error("the peer could not answer: {0}")]
    PeerUnavailable(String),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// A question to the law engine it cannot answer as asked.
    #[error(transparent)]
    Law(#[from] comity_law::LawError),
    #[error("node {0} is not a member of the federation trust list")]
    UnknownNode(String),
    #[error("message is addressed to {to}, not to this node ({me})")]
    WrongRecipient { to: String, me: String },
    #[error(
        "message sent at {sent_at} is outside the allowed clock skew of {skew_s} s (now {now})"
    )]
    ClockSkew {
        sent_at: String,
        now: String,
        skew_s: i64,
    },
    #[error("message of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("message id {0} was already received with different content")]
    Replay(String),
    #[error(
        "a batch of more than {limit} envelopes is refused whole: send at most {limit} per request"
    )]
    BatchTooLarge { limit: usize },
    #[error(
        "{peer} reached its budget of {budget} refusals in this window: its batches are turned away unparsed until {until}; retry after {retry_after_s} s"
    )]
    Throttled {
        peer: String,
        budget: u64,
        until: String,
        retry_after_s: u64,
    },
    #[error("no message {0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "missing or wrong API token: send `Authorization: Bearer TOKEN` (the token is in the node directory's api.token)"
    )]
    Unauthorized,
    #[error(
        "acknowledgement refers to {0}, which is not a preservation request received from that node"
    )]
    UnknownRequest(String),
    #[error(
        "preservation until {until} is shorter than the {days} days requested (from reception at {received})"
    )]
    PreservationTooShort {
        until: String,
        days: u32,
        received: String,
    },
    #[error("evidence {0} is not offered to {1}")]
    NotOffered(String, String),
    #[error("transfer {id} has already ended ({state}); only an open offer can be withdrawn")]
    TransferEnded { id: String, state: String },
    #[error("evidence {0} is already held by this node; nothing was received")]
    AlreadyHeld(String),
    #[error(
        "custody event {seq} ({action}) is not proven in {node}'s ledger: {reason}; the offer is refused and nothing is registered"
    )]
    ProofRefused {
        seq: u64,
        action: String,
        node: String,
        reason: String,
    },
    #[error("the peer refused: [{code}] {message}")]
    PeerRefused { code: String, message: String },
    /// An export stopped before any `exported` event was recorded: nothing of it is left.
    #[error("export failed, nothing was recorded and nothing of the package is left: {0}")]
    ExportFailed(String),
    /// An export stopped after its `exported` events were recorded: nothing of the package is
    /// left, and an `export_unfinished` alarm names the events.
    #[error(
        "export of case {case} failed after its exported events were recorded (ledger {ledger}): {reason}; nothing of the package is left and an alarm records it; export again"
    )]
    ExportUnfinished {
        case: String,
        ledger: String,
        reason: String,
    },
    /// The descriptor the node was started with is not the one of its secrets.
    #[error("{0}")]
    IdentityMismatch(String),
    /// The database belongs to another node, or to keys this node never held.
    #[error("{0}")]
    ForeignStore(String),
    /// A checkpoint this node is said to have signed does not verify under its keys.
    #[error("{0}")]
    CheckpointInvalid(String),
    /// Stored content contradicts what was signed for it; the message names the row.
    #[error("{0}")]
    Tampered(String),
    /// A message stored before the node kept inner signatures (store migration 0008).
    #[error(
        "message {0} was stored before this node kept the sender's inner signature (store \
         migration 0008): what the sender signed cannot be shown without the recipient's key"
    )]
    SignatureNotKept(String),
    #[error("node is shutting down")]
    ShuttingDown,
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    #[error("cannot listen: {0}")]
    Listen(String),
    #[error("node configuration: {0}")]
    Config(String),
    #[error("the request body is over the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error(
        "the node holds as many request bodies as its memory budget allows: retry in {retry_after_s} s"
    )]
    Busy { retry_after_s: u64 },
    #[error("the request took longer than the limit of {limit_ms} ms")]
    RequestTimeout { limit_ms: u64 },
}

impl NodeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Model(e) => e.code(),
            Self::Seal(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Ledger(e) => e.code(),
            Self::Pdq(e) => e.code(),
            Self::Evidence(e) => e.code(),
            Self::UnknownList(_) => "pdq.unknown_list",
            Self::PeerUnavailable(_) => "node.peer_unavailable",
            Self::Workflow(e) => e.code(),
            Self::Law(e) => e.code(),
            Self::UnknownNode(_) => "fed.unknown_node",
            Self::WrongRecipient { .. } => "fed.wrong_recipient",
            Self::ClockSkew { .. } => "fed.clock_skew",
            Self::TooLarge { .. } => "fed.too_large",
            Self::Replay(_) => "fed.replay",
            Self::BatchTooLarge { .. } => "fed.batch_too_large",
            Self::Throttled { .. } => "fed.throttled",
            Self::NotFound(_) => "api.not_found",
            Self::BadRequest(_) => "api.bad_request",
            Self::Unauthorized => "api.unauthorized",
            Self::UnknownRequest(_) => "request.unknown",
            Self::PreservationTooShort { .. } => "request.preservation_too_short",
            Self::NotOffered(..) => "evidence.not_offered",
            Self::AlreadyHeld(_) => "evidence.already_held",
            Self::TransferEnded { .. } => "evidence.transfer_ended",
            Self::ProofRefused { .. } => "evidence.proof_refused",
            Self::PeerRefused { .. } => "evidence.peer_refused",
            Self::ExportFailed(_) => "evidence.export_failed",
            Self::ExportUnfinished { .. } => "evidence.export_unfinished",
            Self::IdentityMismatch(_) => "node.identity_mismatch",
            Self::ForeignStore(_) => "store.foreign",
            Self::CheckpointInvalid(_) => "node.checkpoint_invalid",
            Self::Tampered(_) => "store.tampered",
            Self::SignatureNotKept(_) => "store.signature_not_kept",
            Self::ShuttingDown => "node.shutting_down",
            Self::Tls(_) => "node.tls",
            Self::Listen(_) => "node.listen",
            Self::Config(_) => "node.config",
            Self::BodyTooLarge { .. } => "http.too_large",
            Self::UnsupportedMediaType(_) => "http.unsupported_media_type",
            Self::Busy { .. } => "node.busy",
            Self::RequestTimeout { .. } => "http.timeout",
        }
    }

    /// Whether the failure lies with the node itself (so a sender should retry later) rather than
    /// with the input (so retrying the same bytes cannot help).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store(e) if !matches!(e, StoreError::Conflict(_)) && !damaged(e))
            || matches!(self, Self::ShuttingDown)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            Self::Store(e) if damaged(e) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Tampered(_)
            | Self::IdentityMismatch(_)
            | Self::ForeignStore(_)
            | Self::CheckpointInvalid(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::SignatureNotKept(_) => StatusCode::NOT_FOUND,
            Self::Store(_) | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Workflow(e) => workflow_status(e),
            Self::Law(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Tls(_)
            | Self::Listen(_)
            | Self::Config(_)
            | Self::ExportFailed(_)
            | Self::ExportUnfinished { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            // The node's own stored evidence failed its check: not the caller's fault, and a
            // peer pulling chunks should try again once the operator has restored the object.
            Self::Evidence(EvidenceError::Tampered { .. } | EvidenceError::WrongWrapKey { .. }) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::PeerUnavailable(_) => StatusCode::BAD_GATEWAY,
            Self::NotFound(_) | Self::UnknownList(_) | Self::NotOffered(..) => {
                StatusCode::NOT_FOUND
            }
            Self::Ledger(
                LedgerError::IndexBeyondSize { .. } | LedgerError::SizeBeyondLog { .. },
            ) => StatusCode::NOT_FOUND,
            Self::Evidence(EvidenceError::ConditionRefused { .. }) => StatusCode::FORBIDDEN,
            Self::AlreadyHeld(_) | Self::TransferEnded { .. } => StatusCode::CONFLICT,
            Self::Evidence(EvidenceError::NotFound(_)) => StatusCode::NOT_FOUND,
            Self::Evidence(EvidenceError::Storage(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::TooLarge { .. } | Self::BatchTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Replay(_) => StatusCode::CONFLICT,
            Self::Model(ModelError::InvalidFields(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Seal(_)
            | Self::UnknownNode(_)
            | Self::WrongRecipient { .. }
            | Self::ClockSkew { .. } => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn problems(&self) -> Option<&[FieldProblem]> {
        match self {
            Self::Model(ModelError::InvalidFields(p)) => Some(p),
            Self::Workflow(e @ WorkflowError::InvalidFields(_)) => Some(e.problems()),
            _ => None,
        }
    }

    /// The JSON error object of the API: `{"code", "message", "problems"?}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        if let Some(p) = self.problems() {
            v["problems"] = serde_json::json!(p);
        }
        if let Self::Law(e) = self
            && !e.field().is_empty()
        {
            v["field"] = e.field().into();
        }
        v
    }
}

/// Damage to the store that waiting cannot mend: only a backup can.
fn damaged(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Damaged(_) | StoreError::LedgerDiverged(_) | StoreError::LedgerBehind { .. }
    )
}

fn workflow_status(e: &WorkflowError) -> StatusCode {
    match e {
        WorkflowError::InvalidFields(_) | WorkflowError::OverrideRequired { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        WorkflowError::WrongParty { .. }
        | WorkflowError::NotOwner { .. }
        | WorkflowError::WrongRole { .. }
        | WorkflowError::ConsentRequired { .. }
        | WorkflowError::PurposeNotAllowed { .. } => StatusCode::FORBIDDEN,
        WorkflowError::IllegalTransition { .. } | WorkflowError::Expired { .. } => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for NodeError {
    fn into_response(self) -> Response {
        if self.is_transient() {
            tracing::warn!(code = self.code(), error = %self, "request failed");
        }
        let body = serde_json::json!({ "error": self.to_json() });
        let mut response = (self.status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            Self::Busy { retry_after_s } | Self::Throttled { retry_after_s, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            }
            Self::RequestTimeout { .. } => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}
