use std::fmt;
use std::str::FromStr;

use crate::ModelError;
use crate::ids::string_serde;

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted.
const ASSIGNED: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A state, by its ISO 3166-1 alpha-2 code (upper case, officially assigned codes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Jurisdiction([u8; 2]);

impl Jurisdiction {
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for Jurisdiction {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let assigned = s.len() == 2
            && s.bytes().all(|b| b.is_ascii_uppercase())
            && ASSIGNED.split(' ').any(|code| code == s);
        match s.as_bytes() {
            [a, b] if assigned => Ok(Self([*a, *b])),
            _ => Err(ModelError::InvalidJurisdiction(s.to_owned())),
        }
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

string_serde!(Jurisdiction);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(ASSIGNED.split(' ').count(), 249);
        for ok in ["DZ", "MA", "TN", "FR", "ES", "DE", "GB", "US"] {
            assert_eq!(ok.parse::<Jurisdiction>().unwrap().as_str(), ok);
        }
        for bad in ["dz", "UK", "XX", "D", "DZA", "", "ÉÉ"] {
            assert!(bad.parse::<Jurisdiction>().is_err(), "{bad}");
        }
    }
}
