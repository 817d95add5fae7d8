//! The verification report a lawyer reads: first what was proved and against which trust
//! anchor, then one line per check (item, check, pass or fail with a stable code, reason).

use serde::Serialize;

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `package`, `exhibit 1 (photo.jpg)`, `node dz-moj`, a file path...
    pub item: String,
    /// Which check: `entry`, `file digest`, `event signature`, `ledger inclusion`...
    pub check: String,
    pub passed: bool,
    /// The stable code of a failed check (`evidence.package_duplicate`...); none when it passed.
    pub code: Option<&'static str>,
    pub reason: String,
}

/// What the trust anchor established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorStatus {
    /// The package's trust list verifies under the given federation root, and every node that
    /// signed is a member with the key that signed.
    Authenticated,
    /// No federation root was given: the signers are not authenticated.
    Unanchored,
    /// A federation root was given, and the package's signers are not shown to be its members.
    Refused,
}

/// The trust anchor and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnchorReport {
    pub status: AnchorStatus,
    /// Key id of the federation root verified against; none when unanchored.
    pub root: Option<String>,
    /// Where that root came from, as the caller described it.
    pub source: Option<String>,
    /// One sentence: what the anchor shows, or why it does not.
    pub statement: String,
}

/// What an unanchored report says, word for word.
pub const UNANCHORED: &str = "signatures consistent, signers not authenticated";

/// Every check made, the trust anchor's outcome and the verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub package: String,
    /// Every check passed and the signers were authenticated against the trust anchor.
    pub verified: bool,
    /// Every check passed: the contents, signatures, chains and proofs agree with the keys the
    /// package carries (whether or not those keys were authenticated).
    pub consistent: bool,
    pub anchor: AnchorReport,
    /// What the package shows when it is consistent, in one sentence.
    pub summary: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The verdict line.
    pub fn verdict(&self) -> String {
        let failed = self.failures().count();
        match (self.verified, self.consistent, &self.anchor) {
            (true, _, a) => format!(
                "VERIFIED against federation root {} ({})",
                a.root.as_deref().unwrap_or("?"),
                a.source.as_deref().unwrap_or("given by the verifier")
            ),
            (false, true, a) if a.status == AnchorStatus::Unanchored => {
                format!("NOT VERIFIED: {UNANCHORED}")
            }
            _ => format!(
                "NOT VERIFIED: {failed} of {} checks failed",
                self.checks.len()
            ),
        }
    }

    /// Plain text for people: the package, the verdict, what holds and against what, then
    /// `PASS`/`FAIL` lines.
    pub fn to_text(&self) -> String {
        let mut s = format!("Package {}\n{}\n", self.package, self.verdict());
        if self.consistent {
            s.push_str(&format!("What holds: {}\n", self.summary));
        }
        s.push_str(&format!("Trust anchor: {}\n", self.anchor.statement));
        s.push_str(&format!(
            "{} checks, {} failed\n\n",
            self.checks.len(),
            self.failures().count()
        ));
        for c in &self.checks {
            match c.code {
                Some(code) if !c.passed => s.push_str(&format!(
                    "FAIL {} | {} | [{code}] {}\n",
                    c.item, c.check, c.reason
                )),
                _ => s.push_str(&format!(
                    "{} {} | {} | {}\n",
                    if c.passed { "PASS" } else { "FAIL" },
                    c.item,
                    c.check,
                    c.reason
                )),
            }
        }
        s
    }
}
