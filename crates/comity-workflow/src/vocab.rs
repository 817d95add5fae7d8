//! The closed vocabularies of workflows: kinds, states, parties, actions.

use std::fmt;

use comity_law::Measure;
use serde::{Deserialize, Serialize};

/// Declares an enum with one snake_case spelling per variant, used by serde and `Display`.
macro_rules! spelled {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled! {
    /// What a request asks for.
    Kind {
        /// Budapest Art. 29.
        Preservation = "preservation",
        /// Budapest Art. 30.
        TrafficDisclosure = "traffic_disclosure",
        /// Budapest Arts. 27, 31, 33, 34: stored data, subscriber information, real-time traffic
        /// data, interception.
        MutualAssistance = "mutual_assistance",
        /// A judicial act performed by the requested state's judge (ETS 30 Art. 3).
        LetterRogatory = "letter_rogatory",
        /// Budapest Art. 26.
        SpontaneousInformation = "spontaneous_information",
        /// Budapest Art. 24.
        Extradition = "extradition",
        /// Budapest Art. 24.7, ETS 24 Art. 16.
        ProvisionalArrest = "provisional_arrest",
        /// Submission for prosecution after a refusal on nationality (Budapest Art. 24.6).
        ProsecutionInLieu = "prosecution_in_lieu",
        /// Request for a person's criminal record (ETS 30 Art. 13).
        CriminalRecord = "criminal_record",
        /// Periodic notification of convictions of the other state's nationals (ETS 30 Art. 22).
        ConvictionNotice = "conviction_notice",
        /// A notice in Interpol's colours.
        Notice = "notice",
        /// Second Additional Protocol Arts. 9–10.
        EmergencyDisclosure = "emergency_disclosure",
        /// Budapest Art. 22.5.
        JurisdictionConsultation = "jurisdiction_consultation",
    }
}

spelled! {
    /// Where a request stands. One vocabulary for every kind; each kind's table says which
    /// states it uses.
    State {
        Sent = "sent",
        Acknowledged = "acknowledged",
        /// Before refusing or postponing, the requested state consults (Budapest Art. 27.6) or
        /// the parties exchange proposals (Art. 22.5).
        Consulting = "consulting",
        Postponed = "postponed",
        /// Accepted and being executed (possibly partially or under conditions).
        Executing = "executing",
        Preserved = "preserved",
        ResultsReturned = "results_returned",
        Granted = "granted",
        Arrested = "arrested",
        SubmittedForProsecution = "submitted_for_prosecution",
        ConditionsDeclined = "conditions_declined",
        UnderReview = "under_review",
        Published = "published",
        // Terminal states.
        Closed = "closed",
        Refused = "refused",
        RefusedNationality = "refused_nationality",
        Withdrawn = "withdrawn",
        Expired = "expired",
        Released = "released",
        Surrendered = "surrendered",
        Delivered = "delivered",
        Agreed = "agreed",
        Disagreed = "disagreed",
        Rejected = "rejected",
        Cancelled = "cancelled",
        OutcomeReported = "outcome_reported",
    }
}

impl State {
    /// A terminal state has no deadline and admits no action.
    pub fn is_terminal(self) -> bool {
        self >= State::Closed
    }
}

spelled! {
    /// Which side of a request acts.
    Party {
        Requesting = "requesting",
        Requested = "requested",
        /// Either side (e.g. recording that a linked request arrived).
        Either = "either",
    }
}

spelled! {
    /// The name of an action, for tables and errors.
    ActionTag {
        Acknowledge = "acknowledge",
        Preserve = "preserve",
        Extend = "extend",
        Release = "release",
        Inform = "inform",
        Proceed = "proceed",
        Disclose = "disclose",
        Accept = "accept",
        Consult = "consult",
        AcceptConditions = "accept_conditions",
        DeclineConditions = "decline_conditions",
        WaiveConditions = "waive_conditions",
        Postpone = "postpone",
        Resume = "resume",
        ReturnPartial = "return_partial",
        ReturnResults = "return_results",
        Close = "close",
        Refuse = "refuse",
        RefuseNationality = "refuse_nationality",
        Grant = "grant",
        Surrender = "surrender",
        Arrest = "arrest",
        ExtraditionReceived = "extradition_received",
        SubmitForProsecution = "submit_for_prosecution",
        ReportOutcome = "report_outcome",
        Approve = "approve",
        Reject = "reject",
        Publish = "publish",
        Update = "update",
        Cancel = "cancel",
        Propose = "propose",
        Agree = "agree",
        Disagree = "disagree",
        Withdraw = "withdraw",
        Consent = "consent",
    }
}

spelled! {
    /// The assistance measures of [`Kind::MutualAssistance`].
    AssistanceMeasure {
        /// Budapest Art. 31.
        StoredData = "stored_data",
        /// Budapest Art. 31 with Art. 18.3.
        SubscriberInfo = "subscriber_info",
        /// Budapest Art. 33.
        RealTimeTraffic = "real_time_traffic",
        /// Budapest Art. 34.
        Interception = "interception",
    }
}

impl AssistanceMeasure {
    pub fn measure(self) -> Measure {
        match self {
            AssistanceMeasure::StoredData => Measure::StoredData,
            AssistanceMeasure::SubscriberInfo => Measure::SubscriberInfo,
            AssistanceMeasure::RealTimeTraffic => Measure::RealTimeTraffic,
            AssistanceMeasure::Interception => Measure::Interception,
        }
    }

    /// Measures collected over a period rather than in one production.
    pub fn is_real_time(self) -> bool {
        matches!(
            self,
            AssistanceMeasure::RealTimeTraffic | AssistanceMeasure::Interception
        )
    }
}

spelled! {
    /// Interpol's notice colours.
    Colour {
        /// Arrest with a view to extradition.
        Red = "red",
        /// Locate or identify a person, or obtain information about them.
        Blue = "blue",
        /// Warning about a person's criminal activities.
        Green = "green",
        /// Locate a missing person.
        Yellow = "yellow",
        /// Identify an unidentified body.
        Black = "black",
        /// Warning of an imminent threat (event, person, object, process).
        Orange = "orange",
        /// Information on modi operandi, objects, devices or concealment methods.
        Purple = "purple",
    }
}
