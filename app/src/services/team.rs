//! Members and invitations (owner / admin / member).
//!
//! An invitation is bound to the address it was sent to: the person who
//! accepts becomes (or proves to be) the user of that address, a signed-in
//! user of another address is refused, and the token works once. Only
//! accounts whose owner confirmed their address invite, within the limits of
//! `services::throttle`.

use crate::clock::{DAY_MS, rfc3339};
use crate::crypto;
use crate::domain::{self, InviteView, Me, MemberView, Role, TeamView};
use crate::error::{AppError, AppResult};
use crate::services::email::{LINK_SLOT, Outgoing, SealedLink, inert};
use crate::services::throttle;
use crate::state::AppState;
use crate::store::{self, accounts::User, invites::Invite};

pub const INVITE_TTL_MS: i64 = 7 * DAY_MS;

fn require_manager(me: &Me) -> AppResult<()> {
    if me.role.can_manage() {
        Ok(())
    } else {
        Err(AppError::forbidden_role(
            "only owners and admins can manage the team",
        ))
    }
}

pub async fn list(state: &AppState, me: &Me) -> AppResult<TeamView> {
    let members = store::accounts::members(&state.db, &me.account_id)
        .await?
        .into_iter()
        .map(|m| MemberView {
            user_id: m.user_id,
            email: m.email,
            role: m.role,
            joined_at: rfc3339(m.joined_at),
        })
        .collect();
    let invites = if me.role.can_manage() {
        store::invites::open_for_account(&state.db, &me.account_id, state.now())
            .await?
            .into_iter()
            .map(|i| InviteView {
                id: i.id,
                email: i.email,
                role: i.role,
                created_at: rfc3339(i.created_at),
                expires_at: rfc3339(i.expires_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(TeamView { members, invites })
}

/// Invitations go out in the name of the inviter and the account: both must
/// stand behind a confirmed address, or anyone could send mail from this
/// installation to any address in a name of their choosing.
async fn require_confirmed(state: &AppState, me: &Me) -> AppResult<()> {
    let unconfirmed = |detail: &str| AppError::client(403, "email_unverified", detail);
    if !me.email_verified {
        return Err(unconfirmed(
            "confirm your email address before inviting anyone; the link is in your mail, and the dashboard sends it again",
        ));
    }
    let members = store::accounts::members(&state.db, &me.account_id).await?;
    for owner in members.iter().filter(|m| m.role == Role::Owner) {
        let confirmed = store::accounts::user_by_id(&state.db, &owner.user_id)
            .await?
            .is_some_and(|u| u.email_verified_at.is_some());
        if !confirmed {
            return Err(unconfirmed(
                "the owner of this account has not confirmed their email address yet; invitations can be sent once they have",
            ));
        }
    }
    Ok(())
}

pub async fn invite(state: &AppState, me: &Me, email: &str, role: Role) -> AppResult<InviteView> {
    require_manager(me)?;
    require_confirmed(state, me).await?;
    let email = domain::normalize_email(email).map_err(AppError::validation)?;
    if role == Role::Owner {
        return Err(AppError::validation(
            "role: invite as admin or member; an account has one owner",
        ));
    }
    if role == Role::Admin && me.role != Role::Owner {
        return Err(AppError::forbidden_role("only the owner can invite admins"));
    }
    let members = store::accounts::members(&state.db, &me.account_id).await?;
    if members.iter().any(|m| m.email == email) {
        return Err(AppError::conflict(
            "already_member",
            format!("{email} is already a member of this account"),
        ));
    }
    throttle::spend(state, &throttle::invitation(&me.account_id, &email)).await?;
    let now = state.now();
    // One open invitation per address and account: a new one replaces the old.
    store::invites::revoke_open_for_email(&state.db, &me.account_id, &email, now).await?;
    let token = crypto::random_base62(40);
    let invite = Invite {
        id: super::new_id(),
        account_id: me.account_id.clone(),
        email: email.clone(),
        role,
        expires_at: now + INVITE_TTL_MS,
        created_at: now,
    };
    store::invites::insert(&state.db, &invite, &crypto::sha256_hex(&token), &me.user_id).await?;
    let link = format!("{}/invite?token={token}", state.config.base());
    // The names are the inviter's to choose: they go in inert (no line
    // breaks, nothing a mail client turns into a link).
    let inviter = inert(&me.email);
    let account_name = inert(&me.account_name);
    state
        .mailer
        .send_with_link(
            Outgoing {
                to: &email,
                subject: format!("{inviter} invited you to {account_name} on Switchboard"),
                body: format!(
                    "{inviter} invited you to join the account \"{account_name}\" on Switchboard as {}.\n\n\
                     Accept the invitation here:\n\n{LINK_SLOT}\n\n\
                     The invitation expires in 7 days.\n",
                    role.as_str()
                ),
                account_id: Some(&me.account_id),
            },
            SealedLink::new(&state.cipher, link),
        )
        .await?;
    Ok(InviteView {
        id: invite.id,
        email,
        role,
        created_at: rfc3339(now),
        expires_at: rfc3339(invite.expires_at),
    })
}

pub async fn revoke_invite(state: &AppState, me: &Me, invite_id: &str) -> AppResult<()> {
    require_manager(me)?;
    match store::invites::revoke(&state.db, &me.account_id, invite_id, state.now()).await? {
        0 => Err(AppError::not_found("invitation")),
        _ => Ok(()),
    }
}

/// What the invitation page shows before the person accepts.
pub struct InviteInfo {
    pub email: String,
    pub account_name: String,
    pub role: Role,
    pub has_user: bool,
}

pub async fn invite_info(state: &AppState, token: &str) -> AppResult<InviteInfo> {
    let invite = open_invite(state, token).await?;
    let account = store::accounts::account(&state.db, &invite.account_id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    Ok(InviteInfo {
        has_user: store::accounts::user_by_email(&state.db, &invite.email)
            .await?
            .is_some(),
        email: invite.email,
        account_name: account.name,
        role: invite.role,
    })
}

async fn open_invite(state: &AppState, token: &str) -> AppResult<Invite> {
    store::invites::open_by_token(&state.db, &crypto::sha256_hex(token), state.now())
        .await?
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_token",
                "this invitation is invalid, was already used, revoked or has expired",
            )
        })
}

/// Accepts an invitation for the address it was sent to. A person without a
/// user sets a password now (the link in their inbox proves the address); an
/// existing user confirms with their password, checked and throttled like a
/// log-in. Someone signed in as another address is refused: the invitation is
/// not theirs. `ip` is the caller's, for the log-in throttle.
pub async fn accept(
    state: &AppState,
    token: &str,
    password: &str,
    ip: &str,
    signed_in: Option<&Me>,
) -> AppResult<(User, String)> {
    let invite = open_invite(state, token).await?;
    if let Some(me) = signed_in
        && me.email != invite.email
    {
        return Err(AppError::client(
            403,
            "invite_email_mismatch",
            format!(
                "this invitation is for {}, and you are logged in as {}; log out and open the link again, \
                 or ask for an invitation to your own address",
                invite.email, me.email
            ),
        ));
    }
    let now = state.now();
    let existing = store::accounts::user_by_email(&state.db, &invite.email).await?;
    let is_new = existing.is_none();
    let user = match existing {
        Some(u) => {
            super::accounts::check_password(
                state,
                &invite.email,
                Some(&u.password_hash),
                password,
                ip,
            )
            .await?;
            u
        }
        None => {
            domain::validate_password(password).map_err(AppError::validation)?;
            User {
                id: super::new_id(),
                email: invite.email.clone(),
                password_hash: crypto::hash_password(password).map_err(AppError::Internal)?,
                email_verified_at: Some(now),
                created_at: now,
            }
        }
    };
    if store::accounts::membership_role(&state.db, &invite.account_id, &user.id)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "already_member",
            format!("{} is already a member of this account", invite.email),
        ));
    }
    let mut tx = state.db.begin().await?;
    if !store::invites::accept(&mut tx, &invite.id, now).await? {
        return Err(AppError::bad_request(
            "invalid_token",
            "this invitation was already used",
        ));
    }
    if is_new && let Err(e) = store::accounts::insert_user(&mut tx, &user).await {
        // Someone signed up with this address meanwhile; the transaction
        // rolls back and the invitation stays open for them.
        if e.as_database_error()
            .is_some_and(|d| d.is_unique_violation())
        {
            return Err(AppError::conflict(
                "email_taken",
                "a user with this email was just created; open the link again and use its password",
            ));
        }
        return Err(e.into());
    }
    store::accounts::insert_membership(&mut tx, &invite.account_id, &user.id, invite.role, now)
        .await?;
    tx.commit().await?;
    Ok((user, invite.account_id))
}

pub async fn set_role(state: &AppState, me: &Me, user_id: &str, role: Role) -> AppResult<()> {
    if me.role != Role::Owner {
        return Err(AppError::forbidden_role("only the owner can change roles"));
    }
    if role == Role::Owner || user_id == me.user_id {
        return Err(AppError::validation(
            "role: the owner's role cannot be given or changed here",
        ));
    }
    match store::accounts::set_role(&state.db, &me.account_id, user_id, role).await? {
        0 => Err(AppError::not_found("member")),
        _ => Ok(()),
    }
}

pub async fn remove(state: &AppState, me: &Me, user_id: &str) -> AppResult<()> {
    require_manager(me)?;
    let target = store::accounts::membership_role(&state.db, &me.account_id, user_id)
        .await?
        .ok_or_else(|| AppError::not_found("member"))?;
    if target == Role::Owner {
        return Err(AppError::forbidden_role("the owner cannot be removed"));
    }
    if target == Role::Admin && me.role != Role::Owner {
        return Err(AppError::forbidden_role("only the owner can remove admins"));
    }
    store::accounts::remove_member(&state.db, &me.account_id, user_id).await?;
    Ok(())
}
