//! The business logic, one module per capability. Portal server functions, REST
//! handlers and hosted pages all come through here, so each rule exists once.

pub mod accounts;
pub mod email;
pub mod keys;
pub mod rate_limit;
pub mod team;

/// A fresh UUID v7 as text: time-ordered ids keep indexes compact.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
