//! Findings of the targets whose fix belongs to another part of issue 12 and is not on this
//! branch. The bounded run still makes the target find each one (the run fails if it no longer
//! does: the fix landed, so the line below must go), and only these exact failures pass.

/// A failure the bounded run expects, named by the words of the target's assertion.
#[derive(Debug)]
pub struct Known {
    pub target: &'static str,
    pub says: &'static str,
    pub what: &'static str,
}

pub const KNOWN: &[Known] = &[
    Known {
        target: "package_edit",
        says: "a verified zip package holds two entries named ",
        what: "a zip with two entries of the same name verifies while an extractor shows the \
               other copy (issue 12, Deliver 5: the package reader refuses duplicate names)",
    },
    Known {
        target: "package_edit",
        says: "a verified zip package holds data under a folder entry",
        what: "a zip entry named like a folder (`a/`) may carry data the reader never looks at \
               (issue 12, Deliver 5: the package reader refuses entries it did not expect)",
    },
];
