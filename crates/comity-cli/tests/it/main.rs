//! Tests of the `comity` binary as a person (or a process supervisor) uses it.

mod architecture;
mod cli;
mod crash;
mod demo;
mod evidence;
mod integrity;
mod pdqshare;
mod request;
