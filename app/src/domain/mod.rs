//! Plain types and validation rules shared by the server and the browser.
//! No I/O here: everything is unit-tested in place.

pub mod account;
pub mod api_key;
pub mod billing;
pub mod channel;
pub mod deliveries;
#[cfg(feature = "ssr")]
pub mod events;
pub mod media;
pub mod onboarding;
#[cfg(feature = "ssr")]
pub mod redirect;
pub mod retry;
pub mod templates;
pub mod views;

pub use account::*;
pub use api_key::*;
pub use channel::*;
pub use views::*;

/// A caller's value quoted in an error, cut short: a detail never echoes a
/// whole request back.
pub fn shown(s: &str) -> String {
    const SHOWN_MAX: usize = 40;
    match s.char_indices().nth(SHOWN_MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

use serde::{Deserialize, Serialize};

/// The body of every non-2xx response (SPEC §1): `code` is stable, `detail` is for humans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub detail: String,
    pub code: String,
}
