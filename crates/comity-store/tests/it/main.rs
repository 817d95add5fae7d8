//! Every store query, run on SQLite and, when `COMITY_TEST_POSTGRES` gives a server URL, on
//! PostgreSQL. In CI (`CI` set) the PostgreSQL run is mandatory.

mod backends;
mod delivery;
mod evidence;
mod hashlists;
mod inbox;
mod integrity;
mod ledger;
mod refusals;
mod requests;
