//! End-to-end tests: real nodes on 127.0.0.1 with pinned TLS, on SQLite and (when
//! `COMITY_TEST_POSTGRES` is set, mandatory in CI) PostgreSQL.

mod api;
mod delivery;
mod errors;
mod evidence;
mod exchange;
mod flood;
mod harness;
mod hashlists;
mod integrity;
mod ledger;
mod limits;
mod refusals;
mod request_flows;
mod requests;
mod transfer;
