//! Sign-up, log-in with throttling, email verification and password reset.
//! The limits themselves live in `services::throttle`.

use crate::clock::{DAY_MS, HOUR_MS, rfc3339};
use crate::crypto;
use crate::domain::{self, Me, Role};
use crate::error::{AppError, AppResult};
use crate::services::email::{LINK_SLOT, Outgoing, SealedLink, inert};
use crate::services::throttle;
use crate::state::AppState;
use crate::store::{
    self,
    accounts::{Account, User},
    tokens::Purpose,
};

/// Single-use email links live one hour (SPEC §1).
pub const LINK_TTL_MS: i64 = HOUR_MS;
/// A new account starts with a 7-day trial (SPEC §7).
pub const TRIAL_MS: i64 = 7 * DAY_MS;
/// At most this many failed log-ins per email+IP inside the window.
pub const LOGIN_MAX_FAILURES: i64 = throttle::LOGIN_PER_EMAIL_IP.max;
pub const LOGIN_WINDOW_MS: i64 = throttle::LOGIN_PER_EMAIL_IP.window_ms;

pub struct SignedUp {
    pub user: User,
    pub account: Account,
}

/// Creates the owner and their account and mails the confirmation link. The
/// mail counts against the confirmation-mail limits of the address and of
/// `ip`, checked before anything is created.
pub async fn sign_up(
    state: &AppState,
    email: &str,
    password: &str,
    account_name: &str,
    ip: &str,
) -> AppResult<SignedUp> {
    let address = domain::normalize_email(email).map_err(AppError::validation)?;
    let buckets = throttle::link_mail(&address, ip);
    throttle::check(state, &buckets).await?;
    let created = create_owner(state, email, password, account_name, false).await?;
    throttle::hit(state, &buckets).await?;
    send_verification(state, &created.user).await?;
    Ok(created)
}

/// Creates a user and account without mail, already verified: for operators
/// (`switchboard admin create-user`) and tests.
pub async fn create_verified(
    state: &AppState,
    email: &str,
    password: &str,
    account_name: &str,
) -> AppResult<SignedUp> {
    create_owner(state, email, password, account_name, true).await
}

fn email_taken() -> AppError {
    AppError::conflict(
        "email_taken",
        "an account with this email already exists; log in or reset the password",
    )
}

/// A new user who owns a new account with a trial, in one transaction.
async fn create_owner(
    state: &AppState,
    email: &str,
    password: &str,
    account_name: &str,
    verified: bool,
) -> AppResult<SignedUp> {
    let email = domain::normalize_email(email).map_err(AppError::validation)?;
    domain::validate_password(password).map_err(AppError::validation)?;
    let account_name = domain::validate_account_name(account_name).map_err(AppError::validation)?;
    if store::accounts::user_by_email(&state.db, &email)
        .await?
        .is_some()
    {
        return Err(email_taken());
    }
    let now = state.now();
    let user = User {
        id: super::new_id(),
        email,
        password_hash: crypto::hash_password(password).map_err(AppError::Internal)?,
        email_verified_at: verified.then_some(now),
        created_at: now,
    };
    let account = Account {
        id: super::new_id(),
        name: account_name,
        trial_ends_at: Some(now + TRIAL_MS),
        created_at: now,
    };
    let mut tx = state.db.begin().await?;
    store::accounts::insert_account(&mut tx, &account).await?;
    if let Err(e) = store::accounts::insert_user(&mut tx, &user).await {
        // A concurrent sign-up with the same email lost the race on the unique index.
        if e.as_database_error()
            .is_some_and(|d| d.is_unique_violation())
        {
            return Err(email_taken());
        }
        return Err(e.into());
    }
    store::accounts::insert_membership(&mut tx, &account.id, &user.id, Role::Owner, now).await?;
    tx.commit().await?;
    Ok(SignedUp { user, account })
}

async fn issue_link(state: &AppState, user_id: &str, purpose: Purpose) -> AppResult<String> {
    let now = state.now();
    store::tokens::revoke_open(&state.db, user_id, purpose, now).await?;
    let token = crypto::random_base62(40);
    store::tokens::insert(
        &state.db,
        &crypto::sha256_hex(&token),
        user_id,
        purpose,
        now,
        now + LINK_TTL_MS,
    )
    .await?;
    Ok(token)
}

/// Mails a confirmation link (throttles are the caller's).
async fn send_verification(state: &AppState, user: &User) -> AppResult<()> {
    let token = issue_link(state, &user.id, Purpose::VerifyEmail).await?;
    let link = format!("{}/verify-email?token={token}", state.config.base());
    state
        .mailer
        .send_with_link(
            Outgoing {
                to: &user.email,
                subject: "Confirm your email for Switchboard".into(),
                body: format!(
                    "Welcome to Switchboard.\n\nConfirm that {} is your address by opening this link:\n\n{LINK_SLOT}\n\n\
                     The link works once and expires in one hour. If you did not sign up, ignore this mail.\n",
                    inert(&user.email)
                ),
                account_id: None,
            },
            SealedLink::new(&state.cipher, link),
        )
        .await?;
    Ok(())
}

pub async fn verify_email(state: &AppState, token: &str) -> AppResult<User> {
    let now = state.now();
    let Some(user_id) = store::tokens::consume(
        &state.db,
        &crypto::sha256_hex(token),
        Purpose::VerifyEmail,
        now,
    )
    .await?
    else {
        return Err(AppError::bad_request(
            "invalid_token",
            "this link is invalid, was already used or has expired; request a new one",
        ));
    };
    store::accounts::mark_verified(&state.db, &user_id, now).await?;
    store::accounts::user_by_id(&state.db, &user_id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))
}

/// Always succeeds from the caller's view, so the form does not reveal which
/// emails exist. Requests count against the address and the caller's IP
/// whether or not a user has that address, so the limit reveals nothing either.
pub async fn request_password_reset(state: &AppState, email: &str, ip: &str) -> AppResult<()> {
    let Ok(email) = domain::normalize_email(email) else {
        return Err(AppError::validation(
            "email must look like name@example.com",
        ));
    };
    throttle::spend(state, &throttle::link_mail(&email, ip)).await?;
    let Some(user) = store::accounts::user_by_email(&state.db, &email).await? else {
        return Ok(());
    };
    let token = issue_link(state, &user.id, Purpose::ResetPassword).await?;
    let link = format!("{}/reset-password?token={token}", state.config.base());
    state
        .mailer
        .send_with_link(
            Outgoing {
                to: &user.email,
                subject: "Reset your Switchboard password".into(),
                body: format!(
                    "Someone asked to reset the password of {}.\n\nChoose a new password here:\n\n{LINK_SLOT}\n\n\
                     The link works once and expires in one hour. If it was not you, ignore this mail; \
                     your password stays as it is.\n",
                    inert(&user.email)
                ),
                account_id: None,
            },
            SealedLink::new(&state.cipher, link),
        )
        .await?;
    Ok(())
}

pub async fn reset_link_valid(state: &AppState, token: &str) -> AppResult<bool> {
    Ok(store::tokens::is_valid(
        &state.db,
        &crypto::sha256_hex(token),
        Purpose::ResetPassword,
        state.now(),
    )
    .await?)
}

pub async fn reset_password(state: &AppState, token: &str, new_password: &str) -> AppResult<User> {
    domain::validate_password(new_password).map_err(AppError::validation)?;
    let now = state.now();
    let Some(user_id) = store::tokens::consume(
        &state.db,
        &crypto::sha256_hex(token),
        Purpose::ResetPassword,
        now,
    )
    .await?
    else {
        return Err(AppError::bad_request(
            "invalid_token",
            "this reset link is invalid, was already used or has expired; request a new one",
        ));
    };
    let hash = crypto::hash_password(new_password).map_err(AppError::Internal)?;
    store::accounts::set_password(&state.db, &user_id, &hash).await?;
    // The mail reached the owner of the address, which proves it as well.
    store::accounts::mark_verified(&state.db, &user_id, now).await?;
    store::sessions::delete_for_user(&state.db, &user_id).await?;
    store::accounts::user_by_id(&state.db, &user_id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))
}

/// `switchboard admin reset-password`: the operator sets a password directly
/// (they vouch for the person, so the address counts as confirmed); every
/// session of the user ends.
pub async fn set_password_by_operator(
    state: &AppState,
    email: &str,
    new_password: &str,
) -> AppResult<User> {
    let email = domain::normalize_email(email).map_err(AppError::validation)?;
    domain::validate_password(new_password).map_err(AppError::validation)?;
    let user = store::accounts::user_by_email(&state.db, &email)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    let hash = crypto::hash_password(new_password).map_err(AppError::Internal)?;
    store::accounts::set_password(&state.db, &user.id, &hash).await?;
    store::accounts::mark_verified(&state.db, &user.id, state.now()).await?;
    store::sessions::delete_for_user(&state.db, &user.id).await?;
    Ok(user)
}

/// Checks the credentials. Failures count per email+IP (ten in 15 minutes lock
/// that pair out until the oldest leaves the window), per IP and
/// installation-wide (`services::throttle`); a success clears its email+IP.
pub async fn log_in(state: &AppState, email: &str, password: &str, ip: &str) -> AppResult<User> {
    let email = domain::normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
    let user = store::accounts::user_by_email(&state.db, &email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.as_str());
    check_password(state, &email, hash, password, ip).await?;
    Ok(user.expect("a password matched"))
}

/// The one password check behind every door that takes a password from a
/// stranger (log-in, accepting an invitation as an existing user): refused
/// while a log-in throttle is full, a failure counted like a failed log-in.
/// `hash` is `None` for an unknown email, which is checked against a dummy
/// hash so that the answer takes as long.
pub async fn check_password(
    state: &AppState,
    email: &str,
    hash: Option<&str>,
    password: &str,
    ip: &str,
) -> AppResult<()> {
    let buckets = throttle::login(email, ip);
    throttle::check(state, &buckets).await?;
    let ok = crypto::verify_password(password, hash.unwrap_or(crypto::dummy_password_hash()))
        && hash.is_some();
    if !ok {
        throttle::hit(state, &buckets).await?;
        return Err(AppError::unauthorized(
            "invalid_credentials",
            "email or password is incorrect",
        ));
    }
    throttle::clear(state, &buckets[0]).await
}

/// The Portal's view of a signed-in user in their current account.
pub async fn me(state: &AppState, user_id: &str, account_id: &str) -> AppResult<Option<Me>> {
    let Some(user) = store::accounts::user_by_id(&state.db, user_id).await? else {
        return Ok(None);
    };
    let Some(role) = store::accounts::membership_role(&state.db, account_id, user_id).await? else {
        return Ok(None);
    };
    let Some(account) = store::accounts::account(&state.db, account_id).await? else {
        return Ok(None);
    };
    Ok(Some(Me {
        user_id: user.id,
        email: user.email,
        email_verified: user.email_verified_at.is_some(),
        account_id: account.id,
        account_name: account.name,
        role,
        sandbox: state.config.sandbox(),
    }))
}

pub async fn dashboard(state: &AppState, me: &Me) -> AppResult<domain::DashboardView> {
    let account = store::accounts::account(&state.db, &me.account_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    Ok(domain::DashboardView {
        account_name: account.name,
        sandbox: state.config.sandbox(),
        email_verified: me.email_verified,
        active_keys: store::keys::count_active(&state.db, &me.account_id).await?,
        members: store::accounts::members(&state.db, &me.account_id)
            .await?
            .len() as i64,
        trial_ends_at: account.trial_ends_at.map(rfc3339),
    })
}

/// The account a user lands in after log-in.
pub async fn primary_account(state: &AppState, user_id: &str) -> AppResult<String> {
    store::accounts::primary_membership(&state.db, user_id)
        .await?
        .map(|(account, _)| account)
        .ok_or_else(|| {
            AppError::forbidden_role("this user is not a member of any account any more")
        })
}

/// Mails a new confirmation link, within the limits of the address and `ip`.
pub async fn resend_verification(state: &AppState, user_id: &str, ip: &str) -> AppResult<()> {
    let user = store::accounts::user_by_id(&state.db, user_id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    if user.email_verified_at.is_some() {
        return Err(AppError::bad_request(
            "already_verified",
            "this email is already confirmed",
        ));
    }
    throttle::spend(state, &throttle::link_mail(&user.email, ip)).await?;
    send_verification(state, &user).await
}
