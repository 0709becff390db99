//! Meta's platform as it is in 2026 (SPEC §13), over HTTP against a real
//! server with the sandbox playing Meta: Embedded Signup v4 and registration
//! at connect (`signup`), the conversation features (`conversation`), and
//! account signals and the per-channel retry horizon (`signals`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../connect_support/mod.rs"]
mod connect_support;
#[path = "../customer_support/mod.rs"]
mod customer_support;
#[path = "../sandbox_support/mod.rs"]
mod sandbox_support;

mod conversation;
mod signals;
mod signup;
