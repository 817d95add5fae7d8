//! Placeholder: this crate's room is being built (see ARCHITECTURE.md).
