//! The closed vocabularies of the engine: states, measures, channels, refusal grounds, bases.
//!
//! Law packs and questions name these by their snake_case spelling; anything else is rejected
//! with the list of allowed spellings, so a typo never becomes a silent default.

use std::fmt;

use serde::Serialize;

/// A state by its ISO 3166-1 alpha-2 code.
///
/// Officially assigned codes are accepted, and so are the user-assigned ranges (`AA`, `QM`–`QZ`,
/// `XA`–`XZ`, `ZZ`) so that fictional jurisdictions can have packs of their own in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct State([u8; 2]);

impl State {
    pub fn parse(s: &str) -> Option<State> {
        let b = s.as_bytes();
        let [x, y] = b else { return None };
        if !x.is_ascii_uppercase() || !y.is_ascii_uppercase() {
            return None;
        }
        let user_assigned = *x == b'X' || (*x == b'Q' && *y >= b'M') || s == "AA" || s == "ZZ";
        if user_assigned || s.parse::<comity_model::Jurisdiction>().is_ok() {
            Some(State([*x, *y]))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// A dense index in `0..676`, used to look states up without hashing.
    pub(crate) fn index(self) -> usize {
        usize::from(self.0[0] - b'A') * 26 + usize::from(self.0[1] - b'A')
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Declares a closed vocabulary: an enum with a stable spelling per variant.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The allowed spellings, for error messages.
            pub fn spellings() -> String {
                [$($text),+].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// A cooperation measure a request can ask for.
    Measure {
        Preservation = "preservation",
        TrafficDisclosure = "traffic_disclosure",
        StoredData = "stored_data",
        SubscriberInfo = "subscriber_info",
        RealTimeTraffic = "real_time_traffic",
        Interception = "interception",
        LetterRogatory = "letter_rogatory",
        SpontaneousInformation = "spontaneous_information",
        CriminalRecord = "criminal_record",
        Extradition = "extradition",
        ProvisionalArrest = "provisional_arrest",
        EmergencyDisclosure = "emergency_disclosure",
    }
}

impl Measure {
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Extradition and provisional arrest follow extradition law; everything else is assistance.
    pub fn is_extradition(self) -> bool {
        matches!(self, Measure::Extradition | Measure::ProvisionalArrest)
    }
}

pub(crate) const MEASURE_COUNT: usize = 12;

vocabulary! {
    /// A route a request can travel by.
    Channel {
        CentralAuthority = "central_authority",
        DirectJudicial = "direct_judicial",
        TwentyFourSeven = "24_7",
        Diplomatic = "diplomatic",
        Interpol = "interpol",
        ServiceProvider = "service_provider",
    }
}

vocabulary! {
    /// What a dual-criminality question is asked for.
    Purpose {
        Mla = "mla",
        Extradition = "extradition",
        Preservation = "preservation",
    }
}

impl Purpose {
    /// The measure whose rules decide the requirement and threshold for this purpose.
    pub fn measure(self) -> Measure {
        match self {
            Purpose::Mla => Measure::StoredData,
            Purpose::Extradition => Measure::Extradition,
            Purpose::Preservation => Measure::Preservation,
        }
    }
}

vocabulary! {
    /// Why extradition is sought.
    ExtraditionPurpose {
        Prosecution = "prosecution",
        Enforcement = "enforcement",
    }
}

vocabulary! {
    /// Whether an instrument requires dual criminality for a measure.
    DualCriminalityRule {
        Required = "required",
        NotRequired = "not_required",
        NationalLaw = "national_law",
    }
}

vocabulary! {
    /// A ground on which the requested state may refuse.
    RefusalGround {
        PoliticalOffence = "political_offence",
        MilitaryOffence = "military_offence",
        EssentialInterests = "essential_interests",
        Discrimination = "discrimination",
        NeBisInIdem = "ne_bis_in_idem",
        FundamentalRights = "fundamental_rights",
        Immunity = "immunity",
        PressFreedom = "press_freedom",
        DeathPenalty = "death_penalty",
        Nationality = "nationality",
        LapseOfTime = "lapse_of_time",
        DualCriminality = "dual_criminality",
        DomesticLawBar = "domestic_law_bar",
        OngoingProceedings = "ongoing_proceedings",
    }
}

vocabulary! {
    /// A basis on which a state claims jurisdiction over an offence.
    Basis {
        TerritorialityAct = "territoriality_act",
        TerritorialitySystem = "territoriality_system",
        Effects = "effects",
        ActiveNationality = "active_nationality",
        PassivePersonality = "passive_personality",
        Protective = "protective",
        PresenceNoExtradition = "presence_no_extradition",
    }
}

vocabulary! {
    /// A factor weighed when several states ask for the same person.
    Factor {
        Seriousness = "seriousness",
        PlaceOfCommission = "place_of_commission",
        DatesOfRequests = "dates_of_requests",
        Nationality = "nationality",
        ReExtradition = "re_extradition",
        Purpose = "purpose",
    }
}

vocabulary! {
    /// What the requested state's law does with its own nationals.
    NationalsRule {
        Refused = "refused",
        Permitted = "permitted",
        PermittedWithReturn = "permitted_with_return",
    }
}

vocabulary! {
    /// How an instrument treats the surrender of the requested state's nationals.
    InstrumentNationals {
        NationalLaw = "national_law",
        Surrender = "surrender",
        SurrenderWithReturn = "surrender_with_return",
    }
}

vocabulary! {
    /// What the requested state does when the requesting state's penalty is death.
    DeathPenaltyRule {
        AssuranceRequired = "assurance_required",
        Refused = "refused",
        NoObjection = "no_objection",
    }
}

vocabulary! {
    /// Whether a refusal ground of national law is applied.
    GroundRule {
        Refused = "refused",
        Permitted = "permitted",
    }
}

vocabulary! {
    /// The kind of a deadline.
    DeadlineKind {
        Minimum = "minimum",
        Maximum = "maximum",
        Target = "target",
    }
}

vocabulary! {
    /// What a reservation or declaration changes.
    Effect {
        ExcludeMeasure = "exclude_measure",
        RequireDualCriminality = "require_dual_criminality",
        CentralAuthorityOnly = "central_authority_only",
        PenaltyThreshold = "penalty_threshold",
        NoJurisdictionBasis = "no_jurisdiction_basis",
    }
}
