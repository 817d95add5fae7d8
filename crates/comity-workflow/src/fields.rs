//! Field validation that reports every faulty field, named by its JSON path.

use comity_model::FieldProblem;

use crate::WorkflowError;

#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<FieldProblem>,
    prefix: String,
}

impl Problems {
    pub(crate) fn new(prefix: &str) -> Self {
        Problems {
            list: Vec::new(),
            prefix: prefix.to_owned(),
        }
    }

    fn path(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    pub(crate) fn add(&mut self, field: &str, reason: impl Into<String>) {
        let field = self.path(field);
        self.list.push(FieldProblem {
            field,
            reason: reason.into(),
        });
    }

    /// Validates a nested value under `field`.
    pub(crate) fn nested(&mut self, field: &str, f: impl FnOnce(&mut Problems)) {
        let mut inner = Problems::new(&self.path(field));
        f(&mut inner);
        self.list.append(&mut inner.list);
    }

    pub(crate) fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "is required and must not be blank");
        } else if value.chars().count() > max {
            self.add(field, format!("is longer than {max} characters"));
        }
    }

    pub(crate) fn optional_text(&mut self, field: &str, value: &Option<String>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max);
        }
    }

    pub(crate) fn offences(&mut self, field: &str, offences: &[String], article: &str) {
        if offences.is_empty() {
            self.add(
                field,
                format!("needs at least one offence id of the shared taxonomy ({article})"),
            );
        }
        for (i, o) in offences.iter().enumerate() {
            let ok = !o.is_empty()
                && o.len() <= 100
                && o.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
            if !ok {
                self.add(
                    &format!("{field}[{i}]"),
                    "is not a taxonomy id (lowercase letters, digits, '.', '_', '-'), e.g. \"illegal_access\"",
                );
            }
        }
    }

    pub(crate) fn finish(self) -> Result<(), WorkflowError> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(WorkflowError::InvalidFields(self.list))
        }
    }
}
