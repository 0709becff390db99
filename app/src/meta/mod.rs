//! Everything that speaks Meta: the Graph API client, its typed shapes and
//! errors, webhook signatures and the webhook payload parser. Used by the
//! product in both Meta modes and by the sandbox (which signs with the same
//! code the product verifies with).

pub mod client;
pub mod error;
pub mod signature;
pub mod types;
pub mod webhook;

pub use client::{GraphClient, GraphSettings};
pub use error::{ErrorClass, GraphError, MetaError};
