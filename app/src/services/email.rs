//! Outgoing mail. Every mail is first written to the `mails` table (the outbox);
//! with `SWITCHBOARD_SMTP_URL` it is then handed to the SMTP server via lettre,
//! without it the outbox is the destination and, in sandbox mode, the Mailbox
//! page shows each mail to its addressee (and to nobody else).
//!
//! A single-use link (password reset, email confirmation, invitation) is a
//! credential: whoever reads it can use it. The outbox therefore never holds
//! it readable: the stored body has [`LINK_SLOT`] where the link goes and the
//! link itself is stored encrypted with the installation's secret key
//! ([`SealedLink`]); the token tables keep only hashes. The link is put back
//! when the mail is handed to SMTP, and when the sandbox Mailbox shows the
//! mail to its signed-in addressee ([`render`]). A copy of the database alone
//! opens no account.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::clock::Clock;
use crate::crypto::Cipher;
use crate::error::{AppError, AppResult};
use crate::store::{self, Db};

/// Where a mail's link stands in the stored body. It holds control
/// characters, which no text put into a mail can carry (see [`inert`]), so a
/// name can never pose as the slot.
pub const LINK_SLOT: &str = "\u{1}link\u{1}";

/// A mail's single-use link: the URL for SMTP, and the same encrypted for
/// the outbox.
pub struct SealedLink {
    url: String,
    sealed: String,
}

impl SealedLink {
    pub fn new(cipher: &Cipher, url: String) -> SealedLink {
        SealedLink {
            sealed: cipher.encrypt(url.as_bytes()),
            url,
        }
    }
}

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
        self.deliver(mail, None).await
    }

    /// [`Mailer::send`] for a mail whose body names its link with [`LINK_SLOT`]:
    /// the outbox keeps the link sealed, SMTP gets it in place.
    pub async fn send_with_link(&self, mail: Outgoing<'_>, link: SealedLink) -> AppResult<String> {
        debug_assert!(mail.body.contains(LINK_SLOT), "a link mail needs its slot");
        self.deliver(mail, Some(link)).await
    }

    async fn deliver(&self, mail: Outgoing<'_>, link: Option<SealedLink>) -> AppResult<String> {
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
                link_sealed: link.as_ref().map(|l| l.sealed.clone()),
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
            let body = match &link {
                Some(l) => mail.body.replace(LINK_SLOT, &l.url),
                None => mail.body,
            };
            let msg = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject)
                .body(body)
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

/// A stored mail's body as its addressee reads it: the link unsealed into its slot.
pub fn render(cipher: &Cipher, mail: &store::mails::Mail) -> String {
    let Some(sealed) = &mail.link_sealed else {
        return mail.body_text.clone();
    };
    let link = cipher
        .decrypt(sealed)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| "(this link cannot be shown: the secret key changed)".into());
    mail.body_text.replace(LINK_SLOT, &link)
}

/// The sandbox Mailbox exists only where mail cannot reach a real inbox: in
/// sandbox mode without SMTP. With SMTP the inbox is the only place to read it.
pub fn mailbox_available(state: &crate::state::AppState) -> bool {
    state.config.sandbox() && !state.mailer.uses_smtp()
}

/// What the Mailbox page shows: the mail sent to the signed-in user's own
/// address, nothing else — not mail "about" their account to colleagues, and
/// nothing at all to someone signed out, whatever address they name.
pub async fn mailbox(
    state: &crate::state::AppState,
    me: Option<&crate::domain::Me>,
) -> AppResult<Vec<crate::domain::MailView>> {
    if !mailbox_available(state) {
        return Err(AppError::client(
            404,
            "mailbox_unavailable",
            "the Mailbox exists only in sandbox mode without SMTP; mail goes to real inboxes here",
        ));
    }
    let Some(me) = me else {
        return Err(AppError::unauthorized(
            "not_logged_in",
            "log in to read the mail sent to you",
        ));
    };
    Ok(store::mails::to_address(&state.db, &me.email, 100)
        .await?
        .into_iter()
        .map(|m| crate::domain::MailView {
            body: render(&state.cipher, &m),
            id: m.id,
            to: m.to_addr,
            subject: m.subject,
            created_at: crate::clock::rfc3339(m.created_at),
            delivered: m.sent_at.is_some(),
        })
        .collect())
}

/// Text from users (account names, inviters' addresses) made inert for a
/// plain-text mail: it cannot break a line, pose as the link slot, or become a
/// link in the reader's mail client. Control and invisible formatting
/// characters become spaces; a word that a client would turn into a link
/// (`https://…`, `www.…`, `evil.example`) is defanged the usual way
/// (`evil[.]example`, `https[:]//…`). A plain mail address stays as it is:
/// at most it opens a mail to that address.
pub fn inert(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if is_invisible(c) { ' ' } else { c })
        .collect();
    cleaned
        .split_whitespace()
        .map(|word| {
            if is_linkish(word) && !is_plain_address(word) {
                word.replace('.', "[.]").replace(':', "[:]")
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width spaces and marks
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202A}'..='\u{202E}' // bidirectional embeddings and overrides
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' // bidirectional isolates
            | '\u{FEFF}')
}

/// Would a mail client make a link of this word? A `:` or `.` with a letter or
/// digit after it (`x:y`, `evil.example`); numbers such as `2.0` are left alone.
fn is_linkish(word: &str) -> bool {
    if word
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return false;
    }
    let chars: Vec<char> = word.chars().collect();
    chars
        .windows(2)
        .any(|w| matches!(w[0], '.' | ':') && (w[1].is_alphanumeric() || w[1] == '/'))
}

fn is_plain_address(word: &str) -> bool {
    let Some((local, domain)) = word.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
        && domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_mails_are_inert() {
        assert_eq!(inert("Acme Inc."), "Acme Inc.");
        assert_eq!(inert("Version 2.0 Ltd"), "Version 2.0 Ltd");
        assert_eq!(inert("ana@example.com"), "ana@example.com");
        assert_eq!(
            inert("Acme\n\nReset here: https://evil.example/x"),
            "Acme Reset here: https[:]//evil[.]example/x"
        );
        assert_eq!(inert("go to evil.example now"), "go to evil[.]example now");
        assert_eq!(inert("www.evil.example"), "www[.]evil[.]example");
        assert_eq!(
            inert("http://evil.example/@x.io"),
            "http[:]//evil[.]example/@x[.]io"
        );
        assert_eq!(inert("a\u{1}link\u{1}b"), "a link b");
        assert_eq!(inert("x\u{202E}y\r\nz"), "x y z");
        assert!(!inert("javascript:alert(1)").contains("javascript:"));
    }
}
