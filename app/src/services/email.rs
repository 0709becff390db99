//! Outgoing mail. Every mail is first written to the `mails` table (the outbox);
//! with `SWITCHBOARD_SMTP_URL` it is then handed to the SMTP server via lettre,
//! without it the outbox is the destination and the sandbox Mailbox page shows it.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::clock::Clock;
use crate::error::{AppError, AppResult};
use crate::store::{self, Db};

#[derive(Clone)]
pub struct Mailer {
    db: Db,
    clock: Arc<dyn Clock>,
    from: Mailbox,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

/// A mail to send: plain text, because every client renders it and links stay visible.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: String,
    pub body: String,
    pub account_id: Option<&'a str>,
}

impl Mailer {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        from: &str,
        smtp_url: Option<&str>,
    ) -> Result<Mailer, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("SWITCHBOARD_MAIL_FROM: {e}"))?;
        let smtp = match smtp_url {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("SWITCHBOARD_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(10)))
                    .build(),
            ),
        };
        Ok(Mailer {
            db,
            clock,
            from,
            smtp,
        })
    }

    pub fn uses_smtp(&self) -> bool {
        self.smtp.is_some()
    }

    /// Records the mail, then hands it to SMTP when configured. A failing SMTP server
    /// does not fail the user's action: the error is kept on the outbox row.
    pub async fn send(&self, mail: Outgoing<'_>) -> AppResult<String> {
        let id = super::new_id();
        let now = self.clock.now_ms();
        store::mails::insert(
            &self.db,
            &store::mails::Mail {
                id: id.clone(),
                account_id: mail.account_id.map(str::to_string),
                to_addr: mail.to.to_string(),
                subject: mail.subject.clone(),
                body_text: mail.body.clone(),
                created_at: now,
                sent_at: None,
                error: None,
            },
        )
        .await?;
        if let Some(smtp) = &self.smtp {
            let to: Mailbox = mail.to.parse().map_err(|_| {
                AppError::validation(format!("`{}` is not a mail address", mail.to))
            })?;
            let msg = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject)
                .body(mail.body)
                .map_err(|e| AppError::Internal(format!("building mail: {e}")))?;
            match smtp.send(msg).await {
                Ok(_) => store::mails::mark_sent(&self.db, &id, self.clock.now_ms()).await?,
                Err(e) => {
                    tracing::warn!(mail_id = %id, error = %e, "SMTP delivery failed; mail kept in outbox");
                    store::mails::mark_failed(&self.db, &id, &e.to_string()).await?;
                }
            }
        }
        Ok(id)
    }
}

/// What the Mailbox page shows. Signed in: mail to the user and about their account.
/// Signed out, in sandbox mode only: mail to any address typed in, because the
/// sandbox's mail never leaves the machine and password resets must work offline.
pub async fn mailbox(
    state: &crate::state::AppState,
    me: Option<&crate::domain::Me>,
    lookup: Option<&str>,
) -> AppResult<Vec<crate::domain::MailView>> {
    let (account, address) = match (me, lookup) {
        (Some(me), _) => (Some(me.account_id.as_str()), me.email.clone()),
        (None, Some(addr)) if state.config.sandbox() => (
            None,
            crate::domain::normalize_email(addr).map_err(AppError::validation)?,
        ),
        (None, Some(_)) => {
            return Err(AppError::unauthorized(
                "not_logged_in",
                "log in to read your mail",
            ));
        }
        (None, None) => return Ok(Vec::new()),
    };
    Ok(store::mails::for_viewer(&state.db, account, &address, 100)
        .await?
        .into_iter()
        .map(|m| crate::domain::MailView {
            id: m.id,
            to: m.to_addr,
            subject: m.subject,
            body: m.body_text,
            created_at: crate::clock::rfc3339(m.created_at),
            delivered: m.sent_at.is_some(),
        })
        .collect())
}
