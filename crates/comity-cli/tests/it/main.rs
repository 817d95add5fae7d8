//! Tests of the `comity` binary as a person (or a process supervisor) uses it.

mod architecture;
mod cli;
mod crash;
mod demo;
mod evidence;
mod forge;
mod integrity;
mod listen;
mod modes;
mod pdqshare;
mod request;
mod rollback;
mod token;
