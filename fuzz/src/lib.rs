//! The product code under fuzz, compiled from the product's own source files
//! with the same module paths, so the files are used unchanged:
//!
//! - `app::meta::webhook` (Meta webhook payload parser), which uses
//!   `app::clock::rfc3339` and `app::domain::events`;
//! - `app::domain::redirect` (redirect URI patterns).
//!
//! In the `app` crate these modules sit behind the `ssr` feature, whose
//! dependencies dominate a clean build; these four files need only serde,
//! serde_json, time and url. If one of them starts to use another `crate::`
//! module, add that file here the same way (or depend on `app` with `ssr`).

#[path = "../../app/src/clock.rs"]
pub mod clock;

#[path = "../../app/src/domain"]
pub mod domain {
    pub mod events;
    pub mod redirect;
}

#[path = "../../app/src/meta"]
pub mod meta {
    pub mod webhook;
}
