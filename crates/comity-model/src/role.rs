use std::fmt;
use std::str::FromStr;

use crate::ModelError;
use crate::ids::string_serde;

/// What an authority does in cooperation; a node may hold several roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    CentralAuthority,
    /// Budapest Convention Art. 35 point of contact, available 24 hours a day, 7 days a week.
    TwentyFourSeven,
    Extradition,
    Police,
    Judicial,
    HashContributor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::CentralAuthority,
        Role::TwentyFourSeven,
        Role::Extradition,
        Role::Police,
        Role::Judicial,
        Role::HashContributor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::CentralAuthority => "central-authority",
            Role::TwentyFourSeven => "24-7",
            Role::Extradition => "extradition",
            Role::Police => "police",
            Role::Judicial => "judicial",
            Role::HashContributor => "hash-contributor",
        }
    }
}

impl FromStr for Role {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ModelError::InvalidRole(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

string_serde!(Role);
