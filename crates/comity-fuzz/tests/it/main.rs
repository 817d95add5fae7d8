//! The fuzz targets in the test suite: a bounded, deterministic run of each over its corpus and
//! seeded mutations, checks that the fixtures make the properties bite, and that the target list,
//! the libFuzzer binaries and the documentation agree.

mod bounded;
mod fixtures;
mod inventory;
