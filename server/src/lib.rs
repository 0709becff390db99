//! The Switchboard binary's library half: start-up, router assembly, background
//! jobs and shutdown. `main.rs` parses the command line; tests start the same
//! router on an ephemeral port through [`startup`].

pub mod assets;
pub mod backup;
pub mod bench;
pub mod doctor;
pub mod ops;
pub mod page_watchdog;
pub mod sandbox;
pub mod startup;
pub mod telemetry;
pub mod workers;
