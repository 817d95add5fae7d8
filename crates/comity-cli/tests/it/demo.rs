//! `comity demo --exit`: the whole cross-border case between live nodes, checked from its output.

use crate::cli::comity;

/// The line of the agreement table for the request `kind` between `a` and `b`.
fn agreed<'a>(out: &'a str, kind: &str, a: &str, b: &str) -> Vec<&'a str> {
    let pair = format!("{a} ↔ {b}");
    out.lines()
        .filter(|l| {
            l.trim_start().starts_with(&format!("{kind} "))
                && l.contains(&pair)
                && l.ends_with("same on both")
        })
        .collect()
}

fn state_of(line: &str) -> &str {
    line.split_whitespace().nth(4).unwrap_or("")
}

#[test]
fn the_demo_runs_the_whole_case_between_live_nodes_and_both_sides_agree() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("demo");
    let out = comity(&["demo", "--exit", "--dir", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the demo failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Every request of the story is held identically by both of its nodes.
    let table: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with("same on both"))
        .collect();
    assert_eq!(table.len(), 10, "{text}");
    assert!(text.contains("10 requests; "), "{text}");

    // Preservation in France and onward in Morocco, the evidence returned, the forum agreed.
    assert_eq!(
        state_of(agreed(&text, "preservation", "dz-247", "fr-ocl")[0]),
        "closed"
    );
    assert_eq!(
        state_of(agreed(&text, "preservation", "dz-247", "ma-moj")[0]),
        "preserved"
    );
    assert_eq!(
        state_of(agreed(&text, "mutual_assistance", "dz-moj", "fr-moj")[0]),
        "closed"
    );
    assert!(
        text.contains("fr-moj as central-authority return_results → results_returned"),
        "{text}"
    );
    assert!(text.contains("SHA-256"), "{text}");
    // France's results reach Morocco only once France consented.
    assert!(
        text.contains("dz-moj's node refuses to pass France's results on: ")
            && text.contains("[workflow.consent_required]"),
        "{text}"
    );
    assert!(
        text.contains("fr-moj as central-authority consent"),
        "{text}"
    );
    assert_eq!(
        state_of(agreed(&text, "spontaneous_information", "dz-moj", "ma-moj")[0]),
        "delivered"
    );
    // The evidence travelled to Algeria and its court package verifies offline.
    assert!(
        text.contains("custody: acquired (fr-moj/api) → sealed (fr-moj/api) → sent (fr-moj/api) → received (dz-moj/node) → verified (dz-moj/node)"),
        "{text}"
    );
    assert!(
        text.contains("verified offline with no network against the federation root ")
            && text.contains("custody signed by fr-moj and dz-moj"),
        "{text}"
    );
    assert_eq!(
        state_of(agreed(&text, "jurisdiction_consultation", "dz-moj", "fr-moj")[0]),
        "agreed"
    );

    // Spain follows the scorecard: the winner's request is granted and carried out, the other
    // refused.
    let winner = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("scorecard winner: "))
        .expect("the demo names the scorecard's winner");
    assert!(text.contains(&format!("1. {winner}  score")), "{text}");
    let (won, lost) = match winner {
        "DZ" => ("dz-moj", "fr-moj"),
        "FR" => ("fr-moj", "dz-moj"),
        other => panic!("unexpected winner {other}"),
    };
    assert_eq!(
        state_of(agreed(&text, "extradition", won, "es-moj")[0]),
        "surrendered"
    );
    assert_eq!(
        state_of(agreed(&text, "extradition", lost, "es-moj")[0]),
        "refused"
    );

    // Morocco refuses its national and the prosecution in lieu is opened, linked, and submitted.
    assert_eq!(
        state_of(agreed(&text, "extradition", "dz-moj", "ma-moj")[0]),
        "refused_nationality"
    );
    assert!(
        text.contains("ma-moj as extradition refuse_nationality → refused_nationality"),
        "{text}"
    );
    assert!(text.contains("prosecution in lieu opened: "), "{text}");
    assert_eq!(
        state_of(agreed(&text, "prosecution_in_lieu", "dz-moj", "ma-moj")[0]),
        "submitted_for_prosecution"
    );
}
