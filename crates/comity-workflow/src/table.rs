//! The transition tables: for each kind, which action a party may take in which state, the
//! state it leads to and the articles it rests on.

use comity_model::Role;

use crate::{ActionTag as A, Kind as K, Party as P, State as S};

/// For notices: rows that apply only to targeted or only to broadcast notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    Any,
    Targeted,
    Broadcast,
}

#[derive(Debug)]
pub(crate) struct Row {
    pub kind: K,
    pub from: &'static [S],
    pub action: A,
    pub by: P,
    /// Roles the acting node must act in; empty: any role.
    pub roles: &'static [Role],
    pub to: S,
    pub articles: &'static [&'static str],
    pub guard: Guard,
}

const fn row(
    kind: K,
    from: &'static [S],
    action: A,
    by: P,
    to: S,
    articles: &'static [&'static str],
) -> Row {
    Row {
        kind,
        from,
        action,
        by,
        roles: &[],
        to,
        articles,
        guard: Guard::Any,
    }
}

const fn with_roles(mut r: Row, roles: &'static [Role]) -> Row {
    r.roles = roles;
    r
}

const fn guarded(mut r: Row, guard: Guard) -> Row {
    r.guard = guard;
    r
}

const EXTRADITION_ROLES: &[Role] = &[Role::Extradition, Role::CentralAuthority];
const JUDGE: &[Role] = &[Role::Judicial];
const URGENT: &[Role] = &[Role::TwentyFourSeven, Role::CentralAuthority];

const SENT_ACK: &[S] = &[S::Sent, S::Acknowledged];

pub(crate) static ROWS: &[Row] = &[
    // Expedited preservation, Budapest Art. 29.
    with_roles(
        row(
            K::Preservation,
            &[S::Sent],
            A::Acknowledge,
            P::Requested,
            S::Acknowledged,
            &["Budapest Art. 29.3", "Budapest Art. 35.1.c"],
        ),
        URGENT,
    ),
    row(
        K::Preservation,
        SENT_ACK,
        A::Preserve,
        P::Requested,
        S::Preserved,
        &["Budapest Art. 29.3", "Budapest Art. 29.7"],
    ),
    row(
        K::Preservation,
        SENT_ACK,
        A::Inform,
        P::Requested,
        S::Consulting,
        &["Budapest Art. 29.6"],
    ),
    row(
        K::Preservation,
        &[S::Consulting],
        A::Proceed,
        P::Requesting,
        S::Acknowledged,
        &["Budapest Art. 29.6"],
    ),
    row(
        K::Preservation,
        SENT_ACK,
        A::Refuse,
        P::Requested,
        S::Refused,
        &["Budapest Art. 29.5"],
    ),
    row(
        K::Preservation,
        &[S::Preserved],
        A::Extend,
        P::Either,
        S::Preserved,
        &["Budapest Art. 29.7"],
    ),
    row(
        K::Preservation,
        &[S::Preserved],
        A::Release,
        P::Requesting,
        S::Closed,
        &["Budapest Art. 29.7"],
    ),
    // Expedited disclosure of preserved traffic data, Budapest Art. 30.
    with_roles(
        row(
            K::TrafficDisclosure,
            &[S::Sent],
            A::Acknowledge,
            P::Requested,
            S::Acknowledged,
            &["Budapest Art. 35.1"],
        ),
        URGENT,
    ),
    row(
        K::TrafficDisclosure,
        SENT_ACK,
        A::Disclose,
        P::Requested,
        S::ResultsReturned,
        &["Budapest Art. 30.1"],
    ),
    row(
        K::TrafficDisclosure,
        SENT_ACK,
        A::Refuse,
        P::Requested,
        S::Refused,
        &["Budapest Art. 30.2"],
    ),
    row(
        K::TrafficDisclosure,
        &[S::ResultsReturned],
        A::Close,
        P::Requesting,
        S::Closed,
        &["Budapest Art. 30.1"],
    ),
    // Mutual assistance, Budapest Arts. 25, 27, 31, 33, 34.
    row(
        K::MutualAssistance,
        &[S::Sent],
        A::Acknowledge,
        P::Requested,
        S::Acknowledged,
        &["Budapest Art. 27.2"],
    ),
    row(
        K::MutualAssistance,
        &[S::Acknowledged],
        A::Accept,
        P::Requested,
        S::Executing,
        &["Budapest Art. 25.1"],
    ),
    row(
        K::MutualAssistance,
        &[S::Acknowledged],
        A::Consult,
        P::Requested,
        S::Consulting,
        &["Budapest Art. 27.6"],
    ),
    row(
        K::MutualAssistance,
        &[S::Consulting],
        A::AcceptConditions,
        P::Requesting,
        S::Executing,
        &["Budapest Art. 27.6"],
    ),
    row(
        K::MutualAssistance,
        &[S::Consulting],
        A::DeclineConditions,
        P::Requesting,
        S::Acknowledged,
        &["Budapest Art. 27.6"],
    ),
    row(
        K::MutualAssistance,
        &[S::Acknowledged],
        A::Postpone,
        P::Requested,
        S::Postponed,
        &["Budapest Art. 27.5", "Budapest Art. 27.7"],
    ),
    row(
        K::MutualAssistance,
        &[S::Postponed],
        A::Resume,
        P::Requested,
        S::Executing,
        &["Budapest Art. 27.5"],
    ),
    row(
        K::MutualAssistance,
        &[S::Acknowledged, S::Consulting, S::Postponed],
        A::Refuse,
        P::Requested,
        S::Refused,
        &["Budapest Art. 27.4", "Budapest Art. 27.7"],
    ),
    row(
        K::MutualAssistance,
        &[S::Executing],
        A::ReturnPartial,
        P::Requested,
        S::Executing,
        &["Budapest Art. 27.6"],
    ),
    row(
        K::MutualAssistance,
        &[S::Executing],
        A::ReturnResults,
        P::Requested,
        S::ResultsReturned,
        &["Budapest Art. 25.1"],
    ),
    row(
        K::MutualAssistance,
        &[S::ResultsReturned],
        A::Close,
        P::Requesting,
        S::Closed,
        &[],
    ),
    // Letter rogatory, ETS 30.
    row(
        K::LetterRogatory,
        &[S::Sent],
        A::Acknowledge,
        P::Requested,
        S::Acknowledged,
        &["ETS 30 Art. 15"],
    ),
    with_roles(
        row(
            K::LetterRogatory,
            &[S::Acknowledged],
            A::Accept,
            P::Requested,
            S::Executing,
            &["ETS 30 Art. 3.1"],
        ),
        JUDGE,
    ),
    row(
        K::LetterRogatory,
        &[S::Acknowledged],
        A::Refuse,
        P::Requested,
        S::Refused,
        &["ETS 30 Art. 2", "ETS 30 Art. 19"],
    ),
    with_roles(
        row(
            K::LetterRogatory,
            &[S::Executing],
            A::ReturnResults,
            P::Requested,
            S::ResultsReturned,
            &["ETS 30 Art. 3"],
        ),
        JUDGE,
    ),
    row(
        K::LetterRogatory,
        &[S::ResultsReturned],
        A::Close,
        P::Requesting,
        S::Closed,
        &[],
    ),
    // Spontaneous information, Budapest Art. 26.
    row(
        K::SpontaneousInformation,
        &[S::Sent],
        A::AcceptConditions,
        P::Requested,
        S::Delivered,
        &["Budapest Art. 26.2"],
    ),
    row(
        K::SpontaneousInformation,
        &[S::Sent],
        A::DeclineConditions,
        P::Requested,
        S::ConditionsDeclined,
        &["Budapest Art. 26.2"],
    ),
    row(
        K::SpontaneousInformation,
        &[S::ConditionsDeclined],
        A::WaiveConditions,
        P::Requesting,
        S::Delivered,
        &["Budapest Art. 26.2"],
    ),
    // Extradition, Budapest Art. 24.
    with_roles(
        row(
            K::Extradition,
            &[S::Sent],
            A::Acknowledge,
            P::Requested,
            S::Acknowledged,
            &["Budapest Art. 24.7"],
        ),
        EXTRADITION_ROLES,
    ),
    with_roles(
        row(
            K::Extradition,
            &[S::Acknowledged],
            A::Grant,
            P::Requested,
            S::Granted,
            &["Budapest Art. 24.1", "Budapest Art. 24.5"],
        ),
        EXTRADITION_ROLES,
    ),
    with_roles(
        row(
            K::Extradition,
            &[S::Acknowledged],
            A::Refuse,
            P::Requested,
            S::Refused,
            &["Budapest Art. 24.5"],
        ),
        EXTRADITION_ROLES,
    ),
    with_roles(
        row(
            K::Extradition,
            &[S::Acknowledged],
            A::RefuseNationality,
            P::Requested,
            S::RefusedNationality,
            &["Budapest Art. 24.6"],
        ),
        EXTRADITION_ROLES,
    ),
    row(
        K::Extradition,
        &[S::Granted],
        A::Surrender,
        P::Requested,
        S::Surrendered,
        &["ETS 24 Art. 18"],
    ),
    // Provisional arrest, Budapest Art. 24.7 and ETS 24 Art. 16.
    row(
        K::ProvisionalArrest,
        &[S::Sent],
        A::Acknowledge,
        P::Requested,
        S::Acknowledged,
        &["ETS 24 Art. 16.3"],
    ),
    row(
        K::ProvisionalArrest,
        SENT_ACK,
        A::Arrest,
        P::Requested,
        S::Arrested,
        &["Budapest Art. 24.7", "ETS 24 Art. 16.1"],
    ),
    row(
        K::ProvisionalArrest,
        SENT_ACK,
        A::Refuse,
        P::Requested,
        S::Refused,
        &["ETS 24 Art. 16.3"],
    ),
    row(
        K::ProvisionalArrest,
        &[S::Arrested],
        A::ExtraditionReceived,
        P::Either,
        S::Closed,
        &["ETS 24 Art. 16.4"],
    ),
    row(
        K::ProvisionalArrest,
        &[S::Arrested],
        A::Release,
        P::Requested,
        S::Released,
        &["ETS 24 Art. 16.4"],
    ),
    // Prosecution in lieu of extradition, Budapest Art. 24.6.
    row(
        K::ProsecutionInLieu,
        &[S::Sent],
        A::Acknowledge,
        P::Requested,
        S::Acknowledged,
        &["Budapest Art. 24.6"],
    ),
    row(
        K::ProsecutionInLieu,
        &[S::Acknowledged],
        A::SubmitForProsecution,
        P::Requested,
        S::SubmittedForProsecution,
        &["Budapest Art. 24.6"],
    ),
    row(
        K::ProsecutionInLieu,
        &[S::SubmittedForProsecution],
        A::ReportOutcome,
        P::Requested,
        S::OutcomeReported,
        &["Budapest Art. 24.6"],
    ),
    // Criminal records, ETS 30 Arts. 13 and 22.
    row(
        K::CriminalRecord,
        &[S::Sent],
        A::Acknowledge,
        P::Requested,
        S::Acknowledged,
        &["ETS 30 Art. 13"],
    ),
    row(
        K::CriminalRecord,
        SENT_ACK,
        A::ReturnResults,
        P::Requested,
        S::ResultsReturned,
        &["ETS 30 Art. 13.1"],
    ),
    row(
        K::CriminalRecord,
        SENT_ACK,
        A::Refuse,
        P::Requested,
        S::Refused,
        &["ETS 30 Art. 19"],
    ),
    row(
        K::CriminalRecord,
        &[S::ResultsReturned],
        A::Close,
        P::Requesting,
        S::Closed,
        &[],
    ),
    row(
        K::ConvictionNotice,
        &[S::Sent],
        A::Acknowledge,
        P::Requested,
        S::Closed,
        &["ETS 30 Art. 22"],
    ),
    // Notices: broadcast ones pass the neutrality review of the reviewing office (the
    // request's requested node) first.
    guarded(
        row(
            K::Notice,
            &[S::Sent],
            A::Approve,
            P::Requested,
            S::Published,
            &["Interpol Constitution Art. 3"],
        ),
        Guard::Broadcast,
    ),
    guarded(
        row(
            K::Notice,
            &[S::Sent],
            A::Reject,
            P::Requested,
            S::Rejected,
            &["Interpol Constitution Art. 3"],
        ),
        Guard::Broadcast,
    ),
    guarded(
        row(
            K::Notice,
            &[S::Sent],
            A::Publish,
            P::Requesting,
            S::Published,
            &[],
        ),
        Guard::Targeted,
    ),
    guarded(
        row(
            K::Notice,
            &[S::Published],
            A::Update,
            P::Requesting,
            S::Published,
            &[],
        ),
        Guard::Targeted,
    ),
    guarded(
        row(
            K::Notice,
            &[S::Published],
            A::Update,
            P::Requesting,
            S::Sent,
            &["Interpol Constitution Art. 3"],
        ),
        Guard::Broadcast,
    ),
    row(
        K::Notice,
        &[S::Published],
        A::Cancel,
        P::Requesting,
        S::Cancelled,
        &[],
    ),
    // Emergency disclosure, Second Additional Protocol Arts. 9 and 10.
    with_roles(
        row(
            K::EmergencyDisclosure,
            &[S::Sent],
            A::Acknowledge,
            P::Requested,
            S::Acknowledged,
            &["Second Protocol Art. 9"],
        ),
        URGENT,
    ),
    row(
        K::EmergencyDisclosure,
        SENT_ACK,
        A::ReturnResults,
        P::Requested,
        S::ResultsReturned,
        &["Second Protocol Art. 9", "Second Protocol Art. 10"],
    ),
    row(
        K::EmergencyDisclosure,
        SENT_ACK,
        A::Refuse,
        P::Requested,
        S::Refused,
        &["Second Protocol Art. 10", "Budapest Art. 27.7"],
    ),
    row(
        K::EmergencyDisclosure,
        &[S::ResultsReturned],
        A::Close,
        P::Requesting,
        S::Closed,
        &[],
    ),
    // Jurisdiction consultation, Budapest Art. 22.5: each side answers the other's proposal.
    row(
        K::JurisdictionConsultation,
        &[S::Sent],
        A::Acknowledge,
        P::Requested,
        S::Acknowledged,
        &["Budapest Art. 22.5"],
    ),
    row(
        K::JurisdictionConsultation,
        SENT_ACK,
        A::Agree,
        P::Requested,
        S::Agreed,
        &["Budapest Art. 22.5"],
    ),
    row(
        K::JurisdictionConsultation,
        SENT_ACK,
        A::Propose,
        P::Requested,
        S::Consulting,
        &["Budapest Art. 22.5"],
    ),
    row(
        K::JurisdictionConsultation,
        &[S::Consulting],
        A::Agree,
        P::Requesting,
        S::Agreed,
        &["Budapest Art. 22.5"],
    ),
    row(
        K::JurisdictionConsultation,
        &[S::Consulting],
        A::Propose,
        P::Requesting,
        S::Sent,
        &["Budapest Art. 22.5"],
    ),
    row(
        K::JurisdictionConsultation,
        &[S::Sent, S::Acknowledged, S::Consulting],
        A::Disagree,
        P::Either,
        S::Disagreed,
        &["Budapest Art. 22.5"],
    ),
];

/// The rows of a kind.
pub(crate) fn rows(kind: K) -> impl Iterator<Item = &'static Row> {
    ROWS.iter().filter(move |r| r.kind == kind)
}

/// The states of a kind that some transition leads to or leaves from, plus `sent`.
pub fn states(kind: K) -> Vec<S> {
    let mut out = vec![S::Sent, S::Withdrawn];
    for r in rows(kind) {
        out.extend_from_slice(r.from);
        out.push(r.to);
    }
    if matches!(kind, K::Preservation) {
        out.push(S::Expired);
    }
    if matches!(kind, K::ProvisionalArrest) {
        out.push(S::Released);
    }
    out.sort();
    out.dedup();
    out
}
