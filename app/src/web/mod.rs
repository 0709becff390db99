//! HTTP plumbing shared by the Portal and hosted pages: session context, CSRF,
//! the API reference page.

pub mod billing;
pub mod client_ip;
pub mod csrf;
pub mod docs;
pub mod media;
pub mod meta_webhooks;
pub mod session;
