//! Account, user and membership rules.

use serde::{Deserialize, Serialize};

/// Membership role inside an account. Members cannot manage keys, billing or the team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// API keys, billing and the team are managed by owners and admins only.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

pub const PASSWORD_MIN_LEN: usize = 10;
pub const PASSWORD_MAX_LEN: usize = 256;
pub const ACCOUNT_NAME_MAX_LEN: usize = 80;

/// Lower-cases and trims an email and checks its basic shape (`local@domain.tld`).
/// Deliverability is proven by the verification mail, not by a regex.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 {
        return Err("email is longer than 254 characters".into());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("email must look like name@example.com".into());
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty()
        || local.contains(char::is_whitespace)
        || local.contains(char::is_control)
        || !domain_ok
    {
        return Err("email must look like name@example.com".into());
    }
    Ok(email)
}

pub fn validate_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_LEN {
        return Err(format!(
            "password must be at least {PASSWORD_MIN_LEN} characters"
        ));
    }
    if n > PASSWORD_MAX_LEN {
        return Err(format!(
            "password must be at most {PASSWORD_MAX_LEN} characters"
        ));
    }
    Ok(())
}

pub fn validate_account_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("account name is required".into());
    }
    if name.chars().count() > ACCOUNT_NAME_MAX_LEN {
        return Err(format!(
            "account name must be at most {ACCOUNT_NAME_MAX_LEN} characters"
        ));
    }
    // The name appears in mails and pages: one line, no hidden characters.
    if name.chars().any(char::is_control) {
        return Err("account name must be one line without control characters".into());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@x.io",
            "ana@.x.io",
            "ana@x..io",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn password_length_is_enforced() {
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough pw").is_ok());
        assert!(validate_password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn roles_round_trip_and_permissions() {
        for r in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(Role::Admin.can_manage());
        assert!(!Role::Member.can_manage());
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn account_name_rules() {
        assert_eq!(validate_account_name("  Acme ").unwrap(), "Acme");
        assert!(validate_account_name("   ").is_err());
        assert!(validate_account_name(&"a".repeat(81)).is_err());
        assert!(validate_account_name("Acme\nClick https://evil.example").is_err());
        assert!(validate_account_name("Acme\u{0}").is_err());
    }
}
