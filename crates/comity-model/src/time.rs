use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::ModelError;
use crate::ids::string_serde;

/// A UTC instant with millisecond precision.
///
/// Its one textual form, `2026-11-28T10:00:00.000Z`, is what appears in signed bytes, so parsing
/// accepts nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix_ms(ms: i64) -> Self {
        Self(ms)
    }

    pub fn unix_ms(self) -> i64 {
        self.0
    }

    pub fn plus_ms(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    pub fn plus_days(self, days: i64) -> Self {
        self.plus_ms(days.saturating_mul(86_400_000))
    }
}

impl FromStr for Timestamp {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let bad = || ModelError::InvalidTimestamp(s.to_owned());
        let parsed = DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
        let ts = Timestamp(parsed.timestamp_millis());
        if ts.to_string() != s {
            return Err(bad());
        }
        Ok(ts)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(dt) => f.write_str(&dt.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => write!(f, "@{}ms", self.0),
        }
    }
}

string_serde!(Timestamp);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling() {
        let t: Timestamp = "2026-11-28T10:00:00.123Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-28T10:00:00.123Z");
        for bad in [
            "2026-11-28T10:00:00Z",
            "2026-11-28T11:00:00.123+01:00",
            "2026-11-28",
            "x",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trip(ms in 0i64..253_402_300_799_000) {
            let t = Timestamp::from_unix_ms(ms);
            proptest::prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
    }
}
