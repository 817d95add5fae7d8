//! Request drafts and actions of `comity-workflow`, as users and peers send them.

use std::sync::OnceLock;

use comity_model::Timestamp;
use comity_workflow::{Draft, Request, Rules, Stamped};
use serde_json::Value;

use crate::Scratch;
use crate::fixtures::ts;

fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| Rules::shipped().expect("the shipped rules load"))
}

/// A stored request must read back as itself.
fn check_stored(r: &Request) {
    let json = serde_json::to_string(r).expect("a request serialises");
    let back = Request::from_json(&json);
    assert_eq!(
        back.as_ref().ok(),
        Some(r),
        "a stored request must read back as itself"
    );
}

pub(super) fn workflow_draft(_: &Scratch, data: &[u8]) {
    let Ok(draft) = serde_json::from_slice::<Draft>(data) else {
        return;
    };
    if let Ok((request, t)) = Request::open(draft, rules(), ts(0)) {
        assert_eq!(t.to, request.state);
        assert!(request.due.is_some() || request.state.is_terminal());
        check_stored(&request);
    }
}

/// `{"draft": <draft>, "actions": [<stamped action>...]}`: the draft is opened, then each
/// action is applied by its actor (a refused one must leave the request as it was) and merged
/// into a copy as the other side would (merging never fails and the result reads back).
pub(super) fn workflow_actions(_: &Scratch, data: &[u8]) {
    let Ok(Value::Object(mut script)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(Ok(draft)) = script.remove("draft").map(serde_json::from_value::<Draft>) else {
        return;
    };
    let Ok((mut applied, _)) = Request::open(draft, rules(), ts(0)) else {
        return;
    };
    let mut merged = applied.clone();
    let Some(Value::Array(actions)) = script.remove("actions") else {
        return;
    };
    for a in actions.into_iter().take(32) {
        let Ok(s) = serde_json::from_value::<Stamped>(a) else {
            continue;
        };
        let before = applied.clone();
        if applied
            .apply(rules(), &s.actor, s.action.clone(), s.at)
            .is_err()
        {
            assert_eq!(
                applied, before,
                "a refused action must leave the request as it was"
            );
        }
        let _ = merged.merge(rules(), s);
    }
    check_stored(&applied);
    check_stored(&merged);
    let _ = merged.allowed();
    let _ = merged.expire(Timestamp::from_unix_ms(i64::MAX));
}
