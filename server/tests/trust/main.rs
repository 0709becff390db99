//! Trust boundaries (SPEC §14, docs/security.md): each module performs one
//! class of attack over HTTP against a real server and asserts it is refused
//! and that nothing was stored or relayed.

#[path = "../common/mod.rs"]
mod common;
#[path = "../connect_support/mod.rs"]
mod connect_support;
#[path = "../relay_support/mod.rs"]
mod relay_support;
#[path = "../sandbox_support/mod.rs"]
mod sandbox_support;

mod abuse;
mod accounts;
mod at_rest;
mod licenses;
mod media;
mod meta_apps;
mod sandbox;
