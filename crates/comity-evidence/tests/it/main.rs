mod case_validate;
mod conditions;
mod custody;
mod package;
mod props;
mod support;
mod transfer;
mod vault;
