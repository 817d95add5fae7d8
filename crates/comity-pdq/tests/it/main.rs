mod bad_input;
mod index;
mod list;
mod oracle;
mod support;
