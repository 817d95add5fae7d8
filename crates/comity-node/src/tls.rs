//! Node-to-node TLS without certificate authorities: each node's TLS key is pinned by its signed
//! descriptor. Both sides present a self-signed certificate over their key (mutual TLS): clients
//! accept exactly the key the peer's descriptor names, servers accept only clients whose key is
//! a federation member's, so only members read a node's ledger tiles and hash lists.

use std::sync::Arc;

use comity_model::NodeId;
use comity_seal::{NodeSecrets, PublicKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};

use crate::NodeError;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Makes ring the process's default TLS provider (for HTTP clients built without an explicit
/// one); harmless when a default is already installed.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &str, e: impl std::fmt::Display) -> NodeError {
    NodeError::Tls(format!("{what}: {e}"))
}

/// A self-signed certificate over the node's pinned TLS key, and that key.
fn identity(
    secrets: &NodeSecrets,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), NodeError> {
    let pkcs8 = secrets.tls_pkcs8_der();
    let key = rcgen::KeyPair::try_from(pkcs8.as_slice()).map_err(|e| tls_error("TLS key", e))?;
    let params = rcgen::CertificateParams::new(vec!["comity-node".to_owned()])
        .map_err(|e| tls_error("certificate", e))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| tls_error("certificate", e))?;
    Ok((
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)),
    ))
}

/// The server side, TLS 1.3 only: the node's certificate, and client certificates required and
/// accepted only over the TLS key of a member (`members`, from the trust list).
pub fn server_config(
    secrets: &NodeSecrets,
    members: Vec<PublicKey>,
) -> Result<ServerConfig, NodeError> {
    let provider = provider();
    let verifier = MemberClients {
        members,
        algorithms: provider.signature_verification_algorithms,
    };
    let (cert, key) = identity(secrets)?;
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error("TLS versions", e))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![cert], key)
        .map_err(|e| tls_error("TLS server", e))
}

/// The client side for one peer: only a certificate whose key is the peer's pinned key passes;
/// this node authenticates with its own TLS key.
pub fn client_config(
    peer: &NodeId,
    pinned: PublicKey,
    own: &NodeSecrets,
) -> Result<ClientConfig, NodeError> {
    let provider = provider();
    let verifier = PinnedKey {
        peer: peer.clone(),
        pinned,
        algorithms: provider.signature_verification_algorithms,
    };
    let (cert, key) = identity(own)?;
    ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_error("TLS versions", e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(vec![cert], key)
        .map_err(|e| tls_error("TLS client", e))
}

/// The Ed25519 key a certificate is over, as its SubjectPublicKeyInfo bytes.
fn spki(end_entity: &CertificateDer<'_>, whose: &str) -> Result<Vec<u8>, rustls::Error> {
    let cert = webpki::EndEntityCert::try_from(end_entity)
        .map_err(|e| rustls::Error::General(format!("{whose}: unreadable TLS certificate: {e}")))?;
    Ok(cert.subject_public_key_info().as_ref().to_vec())
}

/// The member a client certificate was issued for (the handshake already required its key to
/// be a member's TLS key).
#[derive(Debug, Clone)]
pub(crate) struct PeerNode(pub(crate) NodeId);

pub(crate) fn member_of(
    cert: &CertificateDer<'_>,
    members: &[(NodeId, PublicKey)],
) -> Option<PeerNode> {
    let presented = spki(cert, "client").ok()?;
    members
        .iter()
        .find(|(_, key)| spki_of(key) == presented)
        .map(|(node, _)| PeerNode(node.clone()))
}

fn spki_of(key: &PublicKey) -> Vec<u8> {
    let mut expected = ED25519_SPKI_PREFIX.to_vec();
    expected.extend_from_slice(key.as_bytes());
    expected
}

#[derive(Debug)]
struct MemberClients {
    members: Vec<PublicKey>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for MemberClients {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let got = spki(end_entity, "client")?;
        if self.members.iter().any(|k| spki_of(k) == got) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "client TLS key (SPKI {}) is not the key of a federation member",
                hex::encode(&got)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(
            "TLS 1.2 is not used between Comity nodes".into(),
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

#[derive(Debug)]
struct PinnedKey {
    peer: NodeId,
    pinned: PublicKey,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = spki(end_entity, &format!("peer {}", self.peer))?;
        let expected = spki_of(&self.pinned);
        if got == expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "TLS key of peer {} does not match the key pinned by its descriptor (expected Ed25519 {}, got SPKI {})",
                self.peer,
                hex::encode(self.pinned.as_bytes()),
                hex::encode(&got),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(
            "TLS 1.2 is not used between Comity nodes".into(),
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}
