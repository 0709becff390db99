//! The business logic, one module per capability. Portal server functions, REST
//! handlers and hosted pages all come through here, so each rule exists once.

pub mod account_events;
pub mod accounts;
pub mod billing;
pub mod channels;
pub mod connect;
pub mod deliveries;
pub mod email;
pub mod event_endpoints;
pub mod fanout;
pub mod health;
pub mod inbound;
pub mod keys;
pub mod licenses;
pub mod manual;
pub mod media;
pub mod messages;
pub mod meta_errors;
pub mod onboarding;
pub mod profiles;
pub mod rate_limit;
pub mod redirects;
pub mod registration;
pub mod relay;
pub mod team;
pub mod templates;
pub mod throttle;
pub mod token_refresh;
pub mod webhook_target;

/// A fresh UUID v7 as text: time-ordered ids keep indexes compact.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
