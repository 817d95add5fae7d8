//! Integration tests of comity-ledger (one binary; modules by topic).

mod bundle;
mod c2sp;
mod entry;
mod faults;
mod memlog;
mod oracle;
mod props;
mod support;
mod tiles;
mod vectors;
mod witness;
