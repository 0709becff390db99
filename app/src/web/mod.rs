//! HTTP plumbing shared by the Portal and hosted pages: session context, CSRF,
//! the API reference page.

pub mod csrf;
pub mod docs;
pub mod session;
