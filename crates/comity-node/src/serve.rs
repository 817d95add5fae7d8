//! The node's two listeners, HTTP/1 only, within the limits of `Limits` (docs/protocol.md
//! §12.2). Federation connections are counted twice over: before the TLS handshake completes
//! (a short-lived, bounded pool where the oldest waiting handshake makes room for a new one,
//! since an honest one completes in milliseconds), then under the member their client
//! certificate names (a cap per member and one for all). A stranger can thus only compete with
//! other strangers' handshakes, and a member only with its own connections.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::IntoResponse;
use axum::{Extension, Router};
use comity_model::NodeId;
use comity_seal::PublicKey;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::NodeError;
use crate::accept::Accepting;
use crate::conns::{Busy, Slot, Table, Watched};
use crate::limits::{Caps, Limits};

/// What a listener is given.
pub(crate) struct Listening {
    pub(crate) listener: TcpListener,
    pub(crate) router: Router,
    pub(crate) limits: Limits,
    pub(crate) caps: Caps,
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// Serves peers over TLS until shutdown. Open connections end with the server: a peer's
/// keep-alive connection must not outlive the node state it was served from. Each request
/// carries the member its client certificate belongs to (`PeerNode`), for routes that answer
/// only some members.
pub(crate) async fn federation(
    mut listening: Listening,
    tls: Arc<rustls::ServerConfig>,
    members: Vec<(NodeId, PublicKey)>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let members = Arc::new(members);
    let caps = listening.caps;
    let pending = Table::<()>::new(caps.pending, caps.pending, true);
    let peers = Table::<NodeId>::new(caps.peers, caps.per_member, false);
    let pressure = Arc::new(Pressure::new("federation"));
    let mut accepting = Accepting::new(listening.listener, "federation");
    let mut connections = JoinSet::new();
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = accepting.next() => accepted,
            Some(_) = connections.join_next() => continue,
            _ = listening.shutdown.changed() => return,
        };
        // A handshake never has a request in progress, so the oldest always makes room.
        let Ok((handshake, evicted)) = pending.admit(()) else {
            continue;
        };
        if evicted {
            pressure.note("too many pending TLS handshakes: the oldest was dropped");
        }
        let (acceptor, members, peers) = (acceptor.clone(), members.clone(), peers.clone());
        let (router, limits, pressure) = (
            listening.router.clone(),
            listening.limits.clone(),
            pressure.clone(),
        );
        connections.spawn(async move {
            let waiting = handshake.conn();
            let accepting = acceptor.accept(Watched::new(tcp, waiting.clone()));
            let tls = tokio::select! {
                done = tokio::time::timeout(limits.tls_handshake_timeout(), accepting) => match done {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(%remote, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "TLS handshake timed out");
                        return;
                    }
                },
                _ = waiting.evicted() => {
                    tracing::debug!(%remote, "pending TLS handshake dropped to make room");
                    return;
                }
            };
            drop(handshake);
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(|cert| crate::tls::member_of(cert, &members));
            let Some(peer) = peer else {
                tracing::debug!(%remote, "client certificate names no member");
                return;
            };
            let slot = match peers.admit(peer.0.clone()) {
                Ok((slot, evicted)) => {
                    if evicted {
                        pressure.note("a member reached its connection cap: its oldest idle connection was dropped");
                    }
                    slot
                }
                Err(_) => {
                    pressure.note("a member's connection cap (or the cap of all members) is reached with every connection busy: a connection was refused");
                    return;
                }
            };
            let router = router.layer(Extension(peer));
            let timeout = Some(limits.request_timeout());
            serve_http(tls, slot, router, &limits, timeout, remote).await;
        });
    }
}

/// Serves the user API (plain HTTP: bind it to loopback) until shutdown.
pub(crate) async fn plain(mut listening: Listening) {
    let caps = listening.caps;
    let table = Table::<()>::new(caps.api, caps.api, false);
    let pressure = Pressure::new("api");
    let mut accepting = Accepting::new(listening.listener, "api");
    let mut connections = JoinSet::new();
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = accepting.next() => accepted,
            Some(_) = connections.join_next() => continue,
            _ = listening.shutdown.changed() => return,
        };
        let slot = match table.admit(()) {
            Ok((slot, evicted)) => {
                if evicted {
                    pressure.note("at its connection cap: the longest idle connection was dropped");
                }
                slot
            }
            Err(_) => {
                pressure.note(
                    "at its connection cap with every connection busy: a connection was refused",
                );
                continue;
            }
        };
        let (router, limits) = (listening.router.clone(), listening.limits.clone());
        connections.spawn(async move {
            serve_http(tcp, slot, router, &limits, None, remote).await;
        });
    }
}

/// Serves HTTP/1 requests on one connection until the client closes it, it idles or sends a
/// request head too slowly, or its table drops it. A request that outlasts `request_timeout`
/// (body included) is answered `http.timeout`.
async fn serve_http<IO, K>(
    io: IO,
    slot: Slot<K>,
    router: Router,
    limits: &Limits,
    request_timeout: Option<Duration>,
    remote: SocketAddr,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    K: PartialEq + Send + Sync + 'static,
{
    let conn = slot.conn();
    let serving = conn.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let busy = serving.begin();
        let call = router.clone().oneshot(request.map(Body::new));
        async move {
            let response = match request_timeout {
                Some(limit) => match tokio::time::timeout(limit, call).await {
                    Ok(answered) => answered,
                    Err(_) => Ok(NodeError::RequestTimeout {
                        limit_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                    }
                    .into_response()),
                },
                None => call.await,
            };
            let response = response.unwrap_or_else(|never: Infallible| match never {});
            Ok::<_, Infallible>(response.map(|body| Tracked { body, _busy: busy }))
        }
    });
    let http = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .max_buf_size(limits.max_header_bytes)
        .serve_connection(TokioIo::new(Watched::new(io, conn.clone())), service);
    tokio::select! {
        served = http => {
            if let Err(e) = served {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        }
        ended = conn.watch(limits.idle_timeout(), limits.header_read_timeout()) => {
            tracing::debug!(%remote, "connection {ended}");
        }
    }
}

/// A response body that keeps its request counted as in progress until it is sent.
struct Tracked<K> {
    body: Body,
    _busy: Busy<K>,
}

impl<K> hyper::body::Body for Tracked<K> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Logs that a listener drops or refuses connections: once a minute at most, with how many
/// times it happened since the last line, so that a flood costs one line a minute.
struct Pressure {
    listener: &'static str,
    seen: Mutex<(Option<Instant>, u64)>,
}

const PRESSURE_LOG_EVERY: Duration = Duration::from_secs(60);

impl Pressure {
    fn new(listener: &'static str) -> Self {
        Pressure {
            listener,
            seen: Mutex::new((None, 0)),
        }
    }

    fn note(&self, what: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.1 += 1;
        let due = seen.0.is_none_or(|at| at.elapsed() >= PRESSURE_LOG_EVERY);
        if due {
            tracing::warn!(
                listener = self.listener,
                times = seen.1,
                "{what} (limits in node.toml [limits]; logged once a minute)"
            );
            *seen = (Some(Instant::now()), 0);
        }
    }
}
