//! The business logic, one module per capability. Portal server functions, REST
//! handlers and hosted pages all come through here, so each rule exists once.

pub mod accounts;
pub mod channels;
pub mod connect;
pub mod email;
pub mod health;
pub mod keys;
pub mod licenses;
pub mod manual;
pub mod meta_errors;
pub mod rate_limit;
pub mod redirects;
pub mod team;
pub mod webhook_target;

/// A fresh UUID v7 as text: time-ordered ids keep indexes compact.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
