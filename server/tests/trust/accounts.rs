//! People and their mail (SPEC §14): the Mailbox shows a signed-in user the
//! mail sent to them and nothing else; the outbox holds no usable link;
//! invitations belong to the address they were sent to and work once; wrong
//! passwords, reset and confirmation mails and invitations are throttled, by
//! the client's IP even behind a trusted reverse proxy; server functions answer
//! malformed calls with 400; names cannot smuggle links into mails; an
//! unconfirmed account cannot invite.

use serde_json::Value;

use super::common::{self, TestApp, link_in, query_param};

const PW: &str = "correct horse battery";

/// A browser of its own (cookies, the Portal's Origin).
fn browser(app: &TestApp) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", app.base.parse().unwrap());
    headers.insert("accept", "application/json".parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn rpc(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let res = client
        .post(app.url(&format!("/rpc/{name}")))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Signs up through the Portal in `app.browser` and confirms the address
/// through the link in the mail.
async fn confirmed_owner(app: &TestApp, email: &str, account: &str) {
    app.sign_up(email, PW, account).await;
    let link = link_in(&app.last_mail_to(email).await.body_text);
    let res = app
        .rpc("verify_email", &[("token", &query_param(&link, "token"))])
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

/// The owner (signed in in `app.browser`) invites `email`; the token from the mail.
async fn invite(app: &TestApp, email: &str, role: &str) -> String {
    let res = app
        .rpc("invite_member", &[("email", email), ("role", role)])
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let body = app.last_mail_to(email).await.body_text;
    let link = body
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{}/invite?token=", app.base)))
        .unwrap_or_else(|| panic!("no invitation link in {body}"));
    query_param(link, "token")
}

async fn user_exists(app: &TestApp, email: &str) -> bool {
    app::store::accounts::user_by_email(&app.state.db, email)
        .await
        .unwrap()
        .is_some()
}

async fn members(app: &TestApp) -> Vec<String> {
    let account: String = sqlx::query_scalar("SELECT id FROM accounts WHERE name = 'Team Co'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    app::store::accounts::members(&app.state.db, &account)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.email)
        .collect()
}

async fn mails_to(app: &TestApp, email: &str) -> usize {
    app::store::mails::to_address(&app.state.db, email, 1000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_member_reads_only_the_mail_sent_to_them() {
    let app = common::spawn_app().await;
    confirmed_owner(&app, "boss@example.com", "Team Co").await;
    let member_token = invite(&app, "mem@example.com", "member").await;
    let member = browser(&app);
    let (s, body) = rpc(
        &app,
        &member,
        "accept_invite",
        &[("token", &member_token), ("password", "member password 1")],
    )
    .await;
    assert!(s < 400, "{s} {body}");
    // Mail about the account to others: a pending admin invitation and the
    // owner's password reset.
    let admin_token = invite(&app, "future-admin@example.com", "admin").await;
    assert!(
        app.rpc("forgot_password", &[("email", "boss@example.com")])
            .await
            .status()
            .is_success()
    );
    let reset = link_in(&app.last_mail_to("boss@example.com").await.body_text);
    let reset_token = query_param(&reset, "token");

    let (s, body) = rpc(&app, &member, "mailbox", &[]).await;
    assert_eq!(s, 200, "{body}");
    let mails: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(!mails.is_empty(), "the member's own invitation is there");
    assert!(
        mails.iter().all(|m| m["to"] == "mem@example.com"),
        "only mail to the member: {body}"
    );
    for secret in [&admin_token, &reset_token] {
        assert!(
            !body.contains(secret.as_str()),
            "another person's link leaked"
        );
    }
    // The page renders the same.
    let html = member
        .get(app.url("/mailbox"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(&admin_token) && !html.contains(&reset_token));
    assert!(!html.contains("future-admin@example.com"));
    // The admin invitation is still open, for its addressee only.
    assert!(!user_exists(&app, "future-admin@example.com").await);
}

#[tokio::test]
async fn a_signed_out_mailbox_lookup_is_refused() {
    let app = common::spawn_app().await;
    app::services::accounts::create_verified(&app.state, "victim@example.com", PW, "Victim")
        .await
        .unwrap();
    assert!(
        app.rpc("forgot_password", &[("email", "victim@example.com")])
            .await
            .status()
            .is_success()
    );
    let token = query_param(
        &link_in(&app.last_mail_to("victim@example.com").await.body_text),
        "token",
    );
    let stranger = browser(&app);
    let (s, body) = rpc(&app, &stranger, "mailbox", &[("to", "victim@example.com")]).await;
    assert_eq!(s, 401, "{body}");
    assert!(!body.contains(&token) && !body.contains("reset-password?token"));
    let html = stranger
        .get(app.url("/mailbox?to=victim%40example.com"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains(&token) && !html.contains("reset-password?token"),
        "{html}"
    );
    // The link still works for its addressee: nothing was used up.
    assert!(
        app::services::accounts::reset_link_valid(&app.state, &token)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_mailbox_is_refused_when_mail_goes_out_by_smtp() {
    // A port nobody listens on: the mail stays in the outbox with its error.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let app =
        common::spawn_app_with(&[("SWITCHBOARD_SMTP_URL", &format!("smtp://{closed}"))]).await;
    app.sign_up("smtp-user@example.com", PW, "Smtp Co").await;
    let res = app.rpc("mailbox", &[]).await;
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("verify-email"), "{body}");
    assert!(body.contains("sandbox mode without SMTP"), "{body}");
}

#[tokio::test]
async fn an_invitation_cannot_be_accepted_as_someone_else() {
    let app = common::spawn_app().await;
    confirmed_owner(&app, "boss@example.com", "Team Co").await;
    // A member holding (somehow) the token of an admin invitation meant for
    // an address without a user yet.
    let member_token = invite(&app, "mem@example.com", "member").await;
    let member = browser(&app);
    let (s, _) = rpc(
        &app,
        &member,
        "accept_invite",
        &[("token", &member_token), ("password", "member password 1")],
    )
    .await;
    assert!(s < 400);
    let admin_token = invite(&app, "future-admin@example.com", "admin").await;
    let (s, body) = rpc(
        &app,
        &member,
        "accept_invite",
        &[("token", &admin_token), ("password", "member password 1")],
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body.contains("this invitation is for future-admin@example.com"),
        "{body}"
    );
    // Nothing was created or used up, and the member is still a member.
    assert!(!user_exists(&app, "future-admin@example.com").await);
    let info = app::services::team::invite_info(&app.state, &admin_token).await;
    assert!(info.is_ok(), "the invitation is still open");
    let me: Value = serde_json::from_str(&rpc(&app, &member, "me", &[]).await.1).unwrap();
    assert_eq!(
        (me["email"].as_str(), me["role"].as_str()),
        (Some("mem@example.com"), Some("member"))
    );
    assert_eq!(members(&app).await.len(), 2);
}

#[tokio::test]
async fn an_invitation_works_once() {
    let app = common::spawn_app().await;
    confirmed_owner(&app, "boss@example.com", "Team Co").await;
    let token = invite(&app, "new@example.com", "member").await;
    let first = browser(&app);
    let (s, body) = rpc(
        &app,
        &first,
        "accept_invite",
        &[("token", &token), ("password", "first password 1")],
    )
    .await;
    assert!(s < 400, "{s} {body}");
    // A second use, signed out, choosing another password.
    let second = browser(&app);
    let (s, body) = rpc(
        &app,
        &second,
        "accept_invite",
        &[("token", &token), ("password", "second password 2")],
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body.contains("invalid") || body.contains("already used"),
        "{body}"
    );
    let (s, me) = rpc(&app, &second, "me", &[]).await;
    assert_eq!(
        (s, me.as_str()),
        (200, "null"),
        "the second caller is not signed in"
    );
    // The user keeps the first password.
    let (s, _) = rpc(
        &app,
        &second,
        "login",
        &[
            ("email", "new@example.com"),
            ("password", "second password 2"),
        ],
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(members(&app).await.len(), 2);
}

#[tokio::test]
async fn wrong_passwords_on_accept_invite_are_throttled_like_log_ins() {
    let app = common::spawn_app().await;
    confirmed_owner(&app, "boss@example.com", "Team Co").await;
    app::services::accounts::create_verified(&app.state, "known@example.com", PW, "Elsewhere")
        .await
        .unwrap();
    let token = invite(&app, "known@example.com", "member").await;
    let guesser = browser(&app);
    for i in 0..app::services::throttle::LOGIN_PER_EMAIL_IP.max {
        let (s, body) = rpc(
            &app,
            &guesser,
            "accept_invite",
            &[
                ("token", &token),
                ("password", &format!("guess number {i}")),
            ],
        )
        .await;
        assert_eq!(s, 401, "{body}");
    }
    // Now even the right password waits, on the invitation and on log-in.
    let res = guesser
        .post(app.url("/rpc/accept_invite"))
        .form(&[("token", token.as_str()), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let (s, _) = rpc(
        &app,
        &guesser,
        "login",
        &[("email", "known@example.com"), ("password", PW)],
    )
    .await;
    assert_eq!(s, 429, "one throttle for every password door");
    assert!(
        !members(&app)
            .await
            .contains(&"known@example.com".to_string())
    );
    // After the window, the right password joins.
    app.clock
        .advance(app::services::throttle::LOGIN_PER_EMAIL_IP.window_ms + 1000);
    let (s, body) = rpc(
        &app,
        &guesser,
        "accept_invite",
        &[("token", &token), ("password", PW)],
    )
    .await;
    assert!(s < 400, "{s} {body}");
    assert!(
        members(&app)
            .await
            .contains(&"known@example.com".to_string())
    );
}

#[tokio::test]
async fn the_outbox_holds_no_usable_link() {
    let app = common::spawn_app().await;
    confirmed_owner(&app, "boss@example.com", "Team Co").await;
    let invite_token = invite(&app, "invitee@example.com", "admin").await;
    assert!(
        app.rpc("forgot_password", &[("email", "boss@example.com")])
            .await
            .status()
            .is_success()
    );
    let reset_link = link_in(&app.last_mail_to("boss@example.com").await.body_text);
    let reset_token = query_param(&reset_link, "token");
    assert!(
        app::services::accounts::reset_link_valid(&app.state, &reset_token)
            .await
            .unwrap(),
        "the rendered link is the real one"
    );
    // What a reader of the database sees: every column of every row, and the
    // token tables.
    let mut dump = String::new();
    for table in ["mails", "email_tokens", "invites"] {
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
        for row in rows {
            use sqlx::Row;
            for i in 0..row.len() {
                if let Ok(Some(v)) = row.try_get::<Option<String>, _>(i) {
                    dump.push_str(&v);
                    dump.push('\n');
                }
            }
        }
    }
    assert!(
        dump.contains("Reset your Switchboard password"),
        "the dump has the mails"
    );
    for token in [&reset_token, &invite_token] {
        assert!(!dump.contains(token.as_str()), "a usable token is stored");
    }
    assert!(!dump.contains("token="), "no link is stored readable");
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let app = common::spawn_app().await;
    app::services::accounts::create_verified(&app.state, "lock@example.com", PW, "Lock")
        .await
        .unwrap();
    let attempt = |xff: String, password: &'static str| {
        app.browser
            .post(app.url("/rpc/login"))
            .header("accept", "application/json")
            .header("x-forwarded-for", xff)
            .form(&[("email", "lock@example.com"), ("password", password)])
            .send()
    };
    // A fresh spoofed address on every guess does not buy fresh attempts.
    for i in 0..app::services::throttle::LOGIN_PER_EMAIL_IP.max {
        let res = attempt(format!("198.51.100.{i}"), "not the password")
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = attempt("203.0.113.99".into(), PW).await.unwrap();
    assert_eq!(res.status(), 429);
}

#[tokio::test]
async fn forwarded_for_names_the_client_behind_a_trusted_proxy() {
    let app = common::spawn_app_with(&[("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    app::services::accounts::create_verified(&app.state, "lock@example.com", PW, "Lock")
        .await
        .unwrap();
    let attempt = |xff: &'static str, password: &'static str| {
        app.http
            .post(app.url("/rpc/login"))
            .header("origin", app.base.as_str())
            .header("accept", "application/json")
            .header("x-forwarded-for", xff)
            .form(&[("email", "lock@example.com"), ("password", password)])
            .send()
    };
    // The client varies what it writes itself (left); the proxy appends
    // the address it saw (right), which is what counts.
    for xff in [
        "1.1.1.1, 203.0.113.5",
        "2.2.2.2, 203.0.113.5",
        "3.3.3.3, 203.0.113.5",
        "4.4.4.4, 203.0.113.5",
        "5.5.5.5, 203.0.113.5",
        "6.6.6.6, 203.0.113.5",
        "7.7.7.7, 203.0.113.5",
        "8.8.8.8, 203.0.113.5",
        "9.9.9.9, 203.0.113.5",
        "10.10.10.10, 203.0.113.5",
    ] {
        assert_eq!(
            attempt(xff, "not the password").await.unwrap().status(),
            401
        );
    }
    for xff in ["203.0.113.5", "192.0.2.1, 203.0.113.5"] {
        let res = attempt(xff, PW).await.unwrap();
        assert_eq!(res.status(), 429, "{xff}");
    }
    // Another client behind the same proxy is not locked out.
    let res = attempt("203.0.113.6", PW).await.unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
}

#[tokio::test]
async fn password_reset_and_confirmation_floods_are_limited() {
    use app::services::throttle::{MAIL_PER_ADDRESS, MAIL_PER_IP};
    let app = common::spawn_app().await;
    app::services::accounts::create_verified(&app.state, "flood@example.com", PW, "Flood")
        .await
        .unwrap();
    // Per address.
    for _ in 0..MAIL_PER_ADDRESS.max {
        let res = app
            .rpc("forgot_password", &[("email", "flood@example.com")])
            .await;
        assert!(res.status().is_success());
    }
    let res = app
        .rpc("forgot_password", &[("email", "flood@example.com")])
        .await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(
        mails_to(&app, "flood@example.com").await,
        MAIL_PER_ADDRESS.max as usize
    );
    // Per IP, across addresses (unknown ones count too: the limit reveals nothing).
    let mut refused = 0;
    for i in 0..MAIL_PER_IP.max {
        let email = format!("other{i}@example.com");
        let status = app
            .rpc("forgot_password", &[("email", &email)])
            .await
            .status();
        if status == 429 {
            refused += 1;
        }
    }
    assert!(
        refused > 0,
        "one IP cannot request mail for any number of addresses"
    );

    // Confirmation mails, on another installation: sign-up sent one.
    let app = common::spawn_app().await;
    app.sign_up("unconfirmed@example.com", PW, "Unconfirmed")
        .await;
    for _ in 1..MAIL_PER_ADDRESS.max {
        assert!(
            app.rpc("resend_verification", &[])
                .await
                .status()
                .is_success()
        );
    }
    let res = app.rpc("resend_verification", &[]).await;
    assert_eq!(res.status(), 429);
    assert_eq!(
        mails_to(&app, "unconfirmed@example.com").await,
        MAIL_PER_ADDRESS.max as usize
    );
}

#[tokio::test]
async fn invitations_to_one_address_are_limited() {
    let app = common::spawn_app().await;
    confirmed_owner(&app, "boss@example.com", "Team Co").await;
    let max = app::services::throttle::INVITES_PER_ADDRESS.max;
    for _ in 0..max {
        invite(&app, "spammed@example.com", "member").await;
    }
    let res = app
        .rpc(
            "invite_member",
            &[("email", "spammed@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(mails_to(&app, "spammed@example.com").await, max as usize);
    // A new invitation replaced the older ones: only the newest link is open.
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invites WHERE email = 'spammed@example.com' AND revoked_at IS NULL",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(open, 1);
}

#[tokio::test]
async fn malformed_server_function_calls_get_400() {
    let app = common::spawn_app().await;
    confirmed_owner(&app, "boss@example.com", "Team Co").await;
    let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .filter(|p| p.starts_with("/rpc/") && p != "/rpc/logout")
        .collect();
    paths.sort();
    paths.dedup();
    assert!(paths.len() > 30, "{paths:?}");
    let mut rewritten = Vec::new();
    // Nothing at all; fields of the wrong shape (numbers that are not,
    // nested keys where a string goes, broken escapes).
    let bodies = [
        "",
        "id[a]=1&id[b]=2&email[x]=y&limit=abc&quantity=x&days=x&page=-&enabled=maybe",
        "%%%&=&&==",
    ];
    for path in &paths {
        for body in bodies {
            let res = app
                .browser
                .post(app.url(path))
                .header("accept", "application/json")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            assert!(status < 500, "{path} [{body}] answered {status}: {text}");
            for raw in ["Args|", "MissingArg|", "Deserialization|"] {
                assert!(!text.starts_with(raw), "{path} [{body}]: {text}");
            }
            if status == 400 && text.starts_with("ServerError|the form is incomplete") {
                rewritten.push(path.clone());
            }
        }
    }
    // The functions that take arguments were among them.
    for p in [
        "/rpc/login",
        "/rpc/invite_member",
        "/rpc/accept_invite",
        "/rpc/create_key",
    ] {
        assert!(rewritten.contains(&p.to_string()), "{p}: {rewritten:?}");
    }
}

#[tokio::test]
async fn an_account_name_cannot_carry_a_link_into_an_invitation() {
    let app = common::spawn_app().await;
    // A line break is refused at the door.
    let res = app
        .rpc(
            "signup",
            &[
                (
                    "account_name",
                    "Acme\n\nYour account is locked. Unlock it: https://evil.example/unlock",
                ),
                ("email", "evil@example.com"),
                ("password", PW),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(!user_exists(&app, "evil@example.com").await);
    // On one line, the text is the account's name; in a mail it stays text.
    confirmed_owner(
        &app,
        "evil@example.com",
        "Acme - unlock at https://evil.example/unlock or www.evil.example",
    )
    .await;
    invite(&app, "target@example.com", "member").await;
    let mail = app.last_mail_to("target@example.com").await;
    let links: Vec<&str> = mail
        .body_text
        .split_whitespace()
        .filter(|w| w.contains("://") || w.starts_with("www."))
        .collect();
    assert_eq!(links.len(), 1, "{}", mail.body_text);
    assert!(links[0].starts_with(&format!("{}/invite?token=", app.base)));
    for text in [&mail.body_text, &mail.subject] {
        assert!(!text.contains("evil.example"), "{text}");
    }
    // A name stored before the rule (or by another door) is made inert too.
    let account: String = sqlx::query_scalar(
        "SELECT account_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'evil@example.com'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    app::store::accounts::rename(&app.state.db, &account, "Acme\r\nhttps://evil.example/x\n")
        .await
        .unwrap();
    invite(&app, "target2@example.com", "member").await;
    let mail = app.last_mail_to("target2@example.com").await;
    assert!(
        !mail.body_text.contains("evil.example"),
        "{}",
        mail.body_text
    );
    assert!(
        mail.body_text
            .starts_with("evil@example.com invited you to join the account \"Acme https[:]//"),
        "{}",
        mail.body_text
    );
}

#[tokio::test]
async fn an_unconfirmed_account_cannot_invite() {
    let app = common::spawn_app().await;
    app.sign_up("fresh@example.com", PW, "Fresh").await;
    let res = app
        .rpc(
            "invite_member",
            &[("email", "someone@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("confirm your email"));
    assert_eq!(mails_to(&app, "someone@example.com").await, 0);
    let invites: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invites")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(invites, 0);
}
