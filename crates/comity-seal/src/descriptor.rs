//! A node's signed public description: who it is, where it listens, which keys it uses.

use comity_model::{Jurisdiction, NodeId, Role, Timestamp};
use serde::{Deserialize, Serialize};

use crate::encoding::{base64_bytes, jcs, parse_canonical, tbs};
use crate::keys::sign;
use crate::{HpkeKey, NodeSecrets, PublicKey, SealError, Suite};

/// Domain-separation context of descriptor signatures.
pub const DESCRIPTOR_CONTEXT: &str = "comity/v1/descriptor";

/// The public facts about a node. Field order here is irrelevant: signed bytes are RFC 8785.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    /// 1 for a node's first descriptor, then +1 on each key rotation.
    pub version: u32,
    pub node: NodeId,
    pub jurisdiction: Jurisdiction,
    pub roles: Vec<Role>,
    pub name: String,
    /// `https://host:port`, where peers reach this node.
    pub endpoint: String,
    pub signing_key: PublicKey,
    /// The HPKE suites the node accepts, most preferred first, each with its recipient key.
    pub hpke_keys: Vec<HpkeKey>,
    pub tls_key: PublicKey,
    pub valid_from: Timestamp,
}

impl Descriptor {
    /// A version-1 descriptor holding the public parts of `secrets`.
    pub fn for_secrets(
        secrets: &NodeSecrets,
        node: NodeId,
        jurisdiction: Jurisdiction,
        roles: Vec<Role>,
        name: String,
        endpoint: String,
        valid_from: Timestamp,
    ) -> Descriptor {
        Descriptor {
            version: 1,
            node,
            jurisdiction,
            roles,
            name,
            endpoint,
            signing_key: secrets.signing_public(),
            hpke_keys: secrets.hpke_keys(),
            tls_key: secrets.tls_public(),
            valid_from,
        }
    }

    /// The bytes both descriptor signatures cover.
    pub fn signed_bytes(&self) -> Vec<u8> {
        tbs(DESCRIPTOR_CONTEXT, &[&jcs(self)])
    }

    /// The first suite in this node's list that this build supports, with its key.
    pub fn preferred_suite(&self) -> Option<(Suite, &HpkeKey)> {
        self.hpke_keys
            .iter()
            .find_map(|k| k.known_suite().map(|s| (s, k)))
    }

    fn check_fields(&self) -> Result<(), SealError> {
        let bad = |m: String| Err(SealError::BadDescriptor(format!("{}: {m}", self.node)));
        if self.version == 0 {
            return bad("version starts at 1".into());
        }
        if self.roles.is_empty() {
            return bad("needs at least one role".into());
        }
        let mut roles = self.roles.clone();
        roles.sort();
        roles.dedup();
        if roles.len() != self.roles.len() {
            return bad("lists a role twice".into());
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return bad("name must be 1 to 200 characters".into());
        }
        if !valid_endpoint(&self.endpoint) {
            return bad(format!(
                "endpoint {:?} must be https://host:port",
                self.endpoint
            ));
        }
        self.signing_key.check()?;
        self.tls_key.check()?;
        if self.hpke_keys.iter().all(|k| k.known_suite().is_none()) {
            return bad("lists no HPKE suite this node supports".into());
        }
        for k in &self.hpke_keys {
            if let Some(s) = k.known_suite()
                && k.key.0.len() != s.public_key_len()
            {
                return bad(format!("{} key must be {} bytes", s, s.public_key_len()));
            }
        }
        Ok(())
    }
}

fn valid_endpoint(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("https://") else {
        return false;
    };
    let Some((host, port)) = rest.rsplit_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c));
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0) && !port.starts_with('0')
}

/// A signature by a node's previous signing key, proving a rotation was made by the key holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySignature {
    pub key: PublicKey,
    #[serde(with = "base64_bytes")]
    pub signature: [u8; 64],
}

/// A descriptor with its signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedDescriptor {
    pub v: u32,
    pub descriptor: Descriptor,
    /// By `descriptor.signing_key`.
    #[serde(with = "base64_bytes")]
    pub self_signature: [u8; 64],
    /// Present when `descriptor.version > 1`: by the signing key of the version it replaces.
    pub previous_key_signature: Option<KeySignature>,
}

impl SignedDescriptor {
    /// Signs with the node's current key and, on rotation, with the previous version's key.
    /// [`verify`](Self::verify) reports a descriptor whose keys do not match `secrets`.
    pub fn sign(
        descriptor: Descriptor,
        secrets: &NodeSecrets,
        previous: Option<&NodeSecrets>,
    ) -> SignedDescriptor {
        let bytes = descriptor.signed_bytes();
        let self_signature = sign(secrets.signing_key(), &bytes);
        let previous_key_signature = previous.map(|p| KeySignature {
            key: p.signing_public(),
            signature: sign(p.signing_key(), &bytes),
        });
        SignedDescriptor {
            v: 1,
            descriptor,
            self_signature,
            previous_key_signature,
        }
    }

    /// Checks fields and signatures. Whether the previous key really belonged to this node is
    /// decided by the trust list (see [`SignedTrustList::verify`](crate::SignedTrustList::verify)).
    pub fn verify(&self) -> Result<(), SealError> {
        let d = &self.descriptor;
        if self.v != 1 {
            return Err(SealError::UnsupportedVersion {
                what: "descriptor",
                found: self.v.into(),
            });
        }
        d.check_fields()?;
        let bytes = d.signed_bytes();
        if !d.signing_key.verify(&bytes, &self.self_signature) {
            return Err(SealError::BadDescriptor(format!(
                "{}: self-signature does not verify",
                d.node
            )));
        }
        match (&self.previous_key_signature, d.version) {
            (None, 1) => Ok(()),
            (Some(_), 1) => Err(SealError::BadDescriptor(format!(
                "{}: version 1 must not carry a previous-key signature",
                d.node
            ))),
            (None, _) => Err(SealError::BadDescriptor(format!(
                "{}: version {} is a rotation and needs a signature by the previous key",
                d.node, d.version
            ))),
            (Some(prev), _) if prev.key == d.signing_key => Err(SealError::BadDescriptor(format!(
                "{}: a rotation must change the signing key",
                d.node
            ))),
            (Some(prev), _) if !prev.key.verify(&bytes, &prev.signature) => {
                Err(SealError::BadDescriptor(format!(
                    "{}: previous-key signature does not verify",
                    d.node
                )))
            }
            (Some(_), _) => Ok(()),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        jcs(self)
    }

    /// Reads canonical JSON and verifies it.
    pub fn from_json(bytes: &[u8]) -> Result<SignedDescriptor, SealError> {
        let value = parse_canonical(bytes, "descriptor").map_err(SealError::BadDescriptor)?;
        let signed: SignedDescriptor =
            serde_json::from_value(value).map_err(|e| SealError::BadDescriptor(e.to_string()))?;
        // A field left out (read as null) would give one signed descriptor two spellings.
        if signed.to_json() != bytes {
            return Err(SealError::BadDescriptor(
                "descriptor is not the encoding of its fields (a field is left out)".into(),
            ));
        }
        signed.verify()?;
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_endpoint;

    #[test]
    fn endpoints() {
        for ok in [
            "https://dz-moj.example:443",
            "https://127.0.0.1:8443",
            "https://[::1]:9000",
        ] {
            assert!(valid_endpoint(ok), "{ok}");
        }
        for bad in [
            "http://a:1",
            "https://a",
            "https://a:0",
            "https://a:080",
            "https://a:70000",
            "https://:1",
            "https://a b:1",
        ] {
            assert!(!valid_endpoint(bad), "{bad}");
        }
    }
}
