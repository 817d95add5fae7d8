//! Request bodies read as they arrive, within a size limit and within the memory budget for
//! bodies the node holds at once (docs/protocol.md §12.2): a body reserves its bytes before
//! it is read, so a flood of large bodies waits or is refused instead of filling memory. A body
//! a route answers without reading to its end (a refusal) is still read and dropped for a
//! short while, so its sender sees the answer rather than a connection reset.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use comity_model::NodeId;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::NodeError;
use crate::limits::Limits;

/// How long an unread body is still read (and dropped) once its route answered.
const LINGER: Duration = Duration::from_secs(2);

/// The bytes of request bodies the node may hold at once, and each member's share of them.
pub(crate) struct BodyBudget {
    total: Arc<Semaphore>,
    /// What one member may hold at once: one batch, as an honest sender sends one at a time.
    per_member: usize,
    shares: Mutex<HashMap<NodeId, Arc<Semaphore>>>,
    wait: Duration,
}

/// A body read whole, holding its share of the budget until dropped.
pub(crate) struct HeldBody {
    pub(crate) bytes: Vec<u8>,
    _permits: Vec<OwnedSemaphorePermit>,
}

impl BodyBudget {
    pub(crate) fn new(limits: &Limits) -> Self {
        BodyBudget {
            total: Arc::new(Semaphore::new(limits.body_budget_bytes)),
            per_member: limits.max_batch_bytes,
            shares: Mutex::new(HashMap::new()),
            wait: limits.body_budget_wait(),
        }
    }

    fn share_of(&self, member: &NodeId) -> Arc<Semaphore> {
        let mut shares = self.shares.lock().unwrap_or_else(|p| p.into_inner());
        shares
            .entry(member.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_member)))
            .clone()
    }

    /// Reads a body of at most `limit` bytes, sent by `member` when it came over the
    /// federation. Its declared length (or, without one, `limit`) is reserved first: from the
    /// member's share, then from the node's budget, waiting at most the configured time.
    pub(crate) async fn read(
        &self,
        member: Option<&NodeId>,
        headers: &HeaderMap,
        body: Body,
        limit: usize,
    ) -> Result<HeldBody, NodeError> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut stream = body.into_data_stream();
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(NodeError::BodyTooLarge { limit });
        }
        let reserve = declared.map_or(limit, |n| n as usize);
        let permits = self.reserve(member, reserve).await?;
        let mut bytes = Vec::with_capacity(declared.map_or(0, |n| n as usize));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                NodeError::BadRequest(format!("the request body could not be read: {e}"))
            })?;
            let needed = bytes.len() + chunk.len();
            if needed > reserve {
                return Err(NodeError::BodyTooLarge { limit });
            }
            if needed > bytes.capacity() {
                // Grow by doubling, but never past what was reserved.
                let grown = (bytes.capacity() * 2).clamp(needed, reserve);
                bytes.reserve_exact(grown - bytes.len());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(HeldBody {
            bytes,
            _permits: permits,
        })
    }

    async fn reserve(
        &self,
        member: Option<&NodeId>,
        bytes: usize,
    ) -> Result<Vec<OwnedSemaphorePermit>, NodeError> {
        // Limits are validated under 4 GiB, so every reservation fits in a u32.
        let n = u32::try_from(bytes).unwrap_or(u32::MAX);
        let busy = || NodeError::Busy {
            retry_after_s: self.wait.as_secs().max(1),
        };
        let reserving = async {
            let mut permits = Vec::with_capacity(2);
            if let Some(member) = member {
                permits.push(self.share_of(member).acquire_many_owned(n).await);
            }
            permits.push(self.total.clone().acquire_many_owned(n).await);
            permits.into_iter().collect::<Result<Vec<_>, _>>()
        };
        match tokio::time::timeout(self.wait, reserving).await {
            Ok(Ok(permits)) => Ok(permits),
            Ok(Err(_)) => Err(NodeError::ShuttingDown),
            Err(_) => Err(busy()),
        }
    }
}

/// The middleware that gives every request body a drain: a route that answers without reading
/// its body to the end (a refusal before an upload, a throttled batch, a body over its limit)
/// would otherwise close a connection with unread bytes, which the kernel turns into a reset
/// that may reach the sender before the answer. At most `limit` bytes are read for it.
pub(crate) async fn drain_unread(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = Body::new(Unread {
        inner: Some(body),
        limit,
        ended: false,
    });
    next.run(Request::from_parts(parts, body)).await
}

/// A request body that, dropped before its end, is read to its end (or `limit` bytes, or
/// [`LINGER`]) in the background.
struct Unread {
    inner: Option<Body>,
    limit: usize,
    ended: bool,
}

impl HttpBody for Unread {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Unread {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if self.ended || body.is_end_stream() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let limit = self.limit;
        runtime.spawn(async move {
            let mut rest = body.into_data_stream();
            let drain = async {
                let mut read = 0;
                while let Some(Ok(chunk)) = rest.next().await {
                    read += chunk.len();
                    if read > limit {
                        return;
                    }
                }
            };
            let _ = tokio::time::timeout(LINGER, drain).await;
        });
    }
}
