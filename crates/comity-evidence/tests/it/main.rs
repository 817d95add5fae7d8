mod case_validate;
mod conditions;
mod custody;
mod package;
mod support;
mod transfer;
mod vault;
