use std::sync::Arc;

use axum::{Extension, Router};
use comity_model::NodeId;
use comity_seal::PublicKey;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Serves peers over TLS until shutdown. Open connections end with the server: a peer's
/// keep-alive connection must not outlive the node state it was served from. Each request
/// carries the member its client certificate belongs to (`PeerNode`), for routes that answer
/// only some members.
pub(crate) async fn federation(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    members: Vec<(NodeId, PublicKey)>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next() => continue,
            _ = shutdown.changed() => return,
        };
        let Ok((tcp, remote)) = accepted else {
            continue;
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let members = members.clone();
        connections.spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(|cert| crate::tls::member_of(cert, &members));
            let service = match peer {
                Some(peer) => TowerToHyperService::new(router.layer(Extension(peer))),
                None => TowerToHyperService::new(router),
            };
            let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
            if let Err(e) = conn {
                tracing::debug!(%remote, error = %e, "federation connection ended with an error");
            }
        });
    }
}

/// Serves the user API (plain HTTP: bind it to loopback) until shutdown.
pub(crate) async fn plain(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = shutdown.changed().await;
        })
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "API server stopped");
    }
}
