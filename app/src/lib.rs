//! Switchboard: one gateway between Meta's messaging platforms and a customer's software.
//!
//! This crate is shared by the server (feature `ssr`) and the browser (feature
//! `hydrate`). Plain types and rules live in [`domain`]; the Portal's pages in
//! [`portal`]; everything with I/O is behind `ssr`.

#![recursion_limit = "256"]

pub mod domain;
pub mod portal;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod heartbeat;
#[cfg(feature = "ssr")]
pub mod hosted;
#[cfg(feature = "ssr")]
pub mod meta;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod web;

pub use portal::{App, shell};

/// Version reported in `User-Agent` and `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
