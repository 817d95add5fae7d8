//! Canonical JSON (RFC 8785) and the binary-field encoding (standard base64 with padding).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::{Map, Value};

/// RFC 8785 bytes of a value.
///
/// Every value Comity signs holds only strings, booleans, null, arrays, objects and integers
/// below 2^53, for which JCS is exact.
pub(crate) fn jcs<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own types cannot fail: they have string keys and no floats.
    serde_json_canonicalizer::to_vec(value).unwrap_or_default()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes strict standard base64: padding required, no whitespace, no stray trailing bits.
pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

pub(crate) fn unb64_fixed<const N: usize>(text: &str) -> Option<[u8; N]> {
    unb64(text).and_then(|v| <[u8; N]>::try_from(v).ok())
}

/// Builds a domain-separated message: `context || 0x00 || part` for each length-prefixed part.
///
/// Each part is preceded by its length as a 4-byte big-endian integer, so no two different
/// sequences of parts produce the same bytes.
pub(crate) fn tbs(context: &str, parts: &[&[u8]]) -> Vec<u8> {
    let total: usize = parts.iter().map(|p| p.len() + 4).sum();
    let mut out = Vec::with_capacity(context.len() + 1 + total);
    out.extend_from_slice(context.as_bytes());
    out.push(0);
    for part in parts {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// A JSON object read field by field, refusing unknown and missing fields.
pub(crate) struct Fields {
    map: Map<String, Value>,
    what: &'static str,
}

impl Fields {
    pub(crate) fn new(value: Value, what: &'static str, allowed: &[&str]) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err(format!("{what} is not a JSON object"));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!("unknown field `{unknown}` in {what}"));
        }
        Ok(Self { map, what })
    }

    pub(crate) fn take(&mut self, name: &str) -> Result<Value, String> {
        self.map
            .remove(name)
            .ok_or_else(|| format!("missing field `{name}` in {}", self.what))
    }

    pub(crate) fn str(&mut self, name: &str) -> Result<String, String> {
        match self.take(name)? {
            Value::String(s) => Ok(s),
            _ => Err(format!("field `{name}` in {} must be a string", self.what)),
        }
    }

    pub(crate) fn u64(&mut self, name: &str) -> Result<u64, String> {
        let v = self.take(name)?;
        v.as_u64().filter(|n| *n < (1 << 53)).ok_or_else(|| {
            format!(
                "field `{name}` in {} must be an integer below 2^53",
                self.what
            )
        })
    }

    pub(crate) fn bytes(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let text = self.str(name)?;
        unb64(&text).ok_or_else(|| {
            format!(
                "field `{name}` in {} is not padded standard base64",
                self.what
            )
        })
    }

    pub(crate) fn fixed<const N: usize>(&mut self, name: &str) -> Result<[u8; N], String> {
        let text = self.str(name)?;
        unb64_fixed(&text).ok_or_else(|| {
            format!(
                "field `{name}` in {} must be {N} bytes in padded standard base64",
                self.what
            )
        })
    }

    pub(crate) fn parse<T: std::str::FromStr>(&mut self, name: &str) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.str(name)?;
        text.parse()
            .map_err(|e: T::Err| format!("field `{name}` in {}: {e}", self.what))
    }
}

/// Parses JSON and refuses bytes that are not exactly the canonical form of what they hold, so
/// that one value has one spelling on the wire and in signed storage.
pub(crate) fn parse_canonical(bytes: &[u8], what: &str) -> Result<Value, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{what} is not JSON: {e}"))?;
    if jcs(&value) != bytes {
        return Err(format!("{what} is not in canonical form (RFC 8785)"));
    }
    Ok(value)
}

pub(crate) mod base64_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer, T: AsRef<[u8]>>(
        bytes: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64(bytes.as_ref()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<Vec<u8>>>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = super::unb64(&text)
            .ok_or_else(|| serde::de::Error::custom("not padded standard base64"))?;
        let len = bytes.len();
        T::try_from(bytes).map_err(|_| serde::de::Error::custom(format!("wrong length {len}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tbs_is_length_prefixed() {
        assert_eq!(tbs("c", &[b"ab", b""]), b"c\0\0\0\0\x02ab\0\0\0\0".to_vec());
        assert_ne!(tbs("c", &[b"ab", b"c"]), tbs("c", &[b"a", b"bc"]));
    }

    #[test]
    fn base64_is_strict() {
        assert_eq!(unb64("AAE="), Some(vec![0, 1]));
        for bad in ["AAE", "AAF=", "AA E=", "AAE=\n", "AA-_"] {
            assert_eq!(unb64(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_only() {
        assert!(parse_canonical(br#"{"a":1,"b":[true,null]}"#, "x").is_ok());
        for bad in [
            &br#"{"b":1,"a":1}"#[..],
            br#"{"a":1,"a":1}"#,
            br#"{"a": 1}"#,
            br#"{"a":1.0}"#,
            br#"{"a":"\u0041"}"#,
        ] {
            assert!(
                parse_canonical(bad, "x").is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
