use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::ModelError;

/// A node's identifier within a federation, e.g. `dz-moj` or `fr-ocl`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(String);

impl NodeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for NodeId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let ok_len = (3..=40).contains(&s.len());
        let ok_start = s.starts_with(|c: char| c.is_ascii_lowercase());
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let ok_dashes = !s.ends_with('-') && !s.contains("--");
        if ok_len && ok_start && ok_chars && ok_dashes {
            Ok(Self(s.to_owned()))
        } else {
            Err(ModelError::InvalidNodeId(s.to_owned()))
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Message ids are UUIDv7 so that they sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(Uuid);

impl MessageId {
    /// Builds a UUIDv7 from a Unix time in milliseconds and 10 random bytes supplied by the caller.
    pub fn from_parts(unix_ms: u64, random: [u8; 10]) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&unix_ms.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&random);
        bytes[6] = 0x70 | (bytes[6] & 0x0f);
        bytes[8] = 0x80 | (bytes[8] & 0x3f);
        Self(Uuid::from_bytes(bytes))
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl FromStr for MessageId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let uuid = Uuid::try_parse(s).map_err(|_| ModelError::InvalidMessageId(s.to_owned()))?;
        // The canonical (hyphenated lowercase) form is the only one accepted, so that one id has
        // exactly one spelling in signed bytes.
        if uuid.get_version_num() != 7 || uuid.hyphenated().to_string() != s {
            return Err(ModelError::InvalidMessageId(s.to_owned()));
        }
        Ok(Self(uuid))
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// A conversation groups a request with every message that answers it; it is the id of the
/// message that opened it.
pub type ConversationId = MessageId;

macro_rules! string_serde {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_serde;

string_serde!(NodeId);
string_serde!(MessageId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        for ok in ["dz-moj", "fr-ocl", "us-doj-oia", "abc"] {
            assert_eq!(ok.parse::<NodeId>().unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "DZ-moj",
            "1dz",
            "dz--moj",
            "dz-",
            "dz_moj",
            "ab",
            &"a".repeat(41),
        ] {
            assert!(bad.parse::<NodeId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn message_id_is_v7_and_sorts_by_time() {
        let a = MessageId::from_parts(1_000, [0xff; 10]);
        let b = MessageId::from_parts(1_001, [0; 10]);
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(a.to_string().parse::<MessageId>().unwrap(), a);
        assert!(
            "0190d1a8-7f0e-4cc5-9f0e-000000000000"
                .parse::<MessageId>()
                .is_err()
        );
        assert!(a.to_string().to_uppercase().parse::<MessageId>().is_err());
    }
}
