//! Sign-up, verification, log-in, throttling, sessions, CSRF, password reset,
//! invitations and roles (SPEC §1), through the Portal's server functions over HTTP.

mod common;

use common::{TestApp, link_in, query_param, spawn_app};

const PW: &str = "correct horse battery";

async fn text(res: reqwest::Response) -> (u16, String) {
    let s = res.status().as_u16();
    (s, res.text().await.unwrap())
}

async fn me(app: &TestApp) -> serde_json::Value {
    let res = app.rpc("me", &[]).await;
    assert!(res.status().is_success());
    res.json().await.unwrap()
}

#[tokio::test]
async fn sign_up_sends_a_single_use_verification_link() {
    let app = spawn_app().await;
    app.sign_up("Ana@Example.com", PW, "Ana's Shop").await;
    let m = me(&app).await;
    assert_eq!(m["email"], "ana@example.com");
    assert_eq!(m["role"], "owner");
    assert_eq!(m["email_verified"], false);

    let mail = app.last_mail_to("ana@example.com").await;
    assert!(mail.subject.contains("Confirm"));
    let link = link_in(&mail.body_text);
    assert!(
        link.starts_with(&format!("{}/verify-email?token=", app.base)),
        "{link}"
    );
    let token = query_param(&link, "token");

    // The verification page renders the result server-side.
    let html = app
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("is confirmed"), "{html}");
    assert_eq!(me(&app).await["email_verified"], true);

    // Single use.
    let (status, body) = text(app.rpc("verify_email", &[("token", &token)]).await).await;
    assert_ne!(status, 200);
    assert!(body.contains("already used"), "{body}");
}

#[tokio::test]
async fn verification_links_expire_after_an_hour() {
    let app = spawn_app().await;
    app.sign_up("late@example.com", PW, "Late").await;
    let token = query_param(
        &link_in(&app.last_mail_to("late@example.com").await.body_text),
        "token",
    );
    app.clock.advance(60 * 60 * 1000 + 1000);
    let (status, body) = text(app.rpc("verify_email", &[("token", &token)]).await).await;
    assert_ne!(status, 200);
    assert!(body.contains("expired"), "{body}");
    // A fresh link can be requested and works.
    assert!(
        app.rpc("resend_verification", &[])
            .await
            .status()
            .is_success()
    );
    let token = query_param(
        &link_in(&app.last_mail_to("late@example.com").await.body_text),
        "token",
    );
    assert!(
        app.rpc("verify_email", &[("token", &token)])
            .await
            .status()
            .is_success()
    );
}

#[tokio::test]
async fn sign_up_validates_and_refuses_duplicates() {
    let app = spawn_app().await;
    let (_, body) = text(
        app.rpc(
            "signup",
            &[("account_name", "X"), ("email", "nope"), ("password", PW)],
        )
        .await,
    )
    .await;
    assert!(body.contains("name@example.com"), "{body}");
    let (_, body) = text(
        app.rpc(
            "signup",
            &[
                ("account_name", "X"),
                ("email", "a@b.io"),
                ("password", "short"),
            ],
        )
        .await,
    )
    .await;
    assert!(body.contains("at least 10"), "{body}");
    app.sign_up("dup@example.com", PW, "One").await;
    let other = spawn_app_client(&app);
    let res = other
        .post(app.url("/rpc/signup"))
        .form(&[
            ("account_name", "Two"),
            ("email", "DUP@example.com"),
            ("password", PW),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("already exists"));
}

fn spawn_app_client(app: &TestApp) -> reqwest::Client {
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

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sb_session="))
        .map(str::to_string)
}

#[tokio::test]
async fn log_in_rotates_the_session_and_log_out_ends_it() {
    let app = spawn_app().await;
    app.sign_up("rot@example.com", PW, "Rot").await;
    assert!(app.rpc("logout", &[]).await.status().is_success());
    assert!(me(&app).await.is_null(), "logged out");

    let client = spawn_app_client(&app);
    // A session that exists before log-in (e.g. planted) …
    let res = client
        .post(app.url("/rpc/login"))
        .form(&[
            ("email", "rot@example.com"),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("email or password is incorrect")
    );
    let res = client
        .post(app.url("/rpc/login"))
        .form(&[("email", "rot@example.com"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let cookie = session_cookie(&res).expect("session cookie set at log-in");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http base url: {cookie}");
    assert!(cookie.contains("Max-Age=1209600"), "14 days: {cookie}");
    let first_id = cookie.split(';').next().unwrap().to_string();

    // … is replaced by a new id at each log-in.
    let res = client
        .post(app.url("/rpc/login"))
        .form(&[("email", "rot@example.com"), ("password", PW)])
        .send()
        .await
        .unwrap();
    let second = session_cookie(&res).expect("new cookie");
    assert_ne!(second.split(';').next().unwrap(), first_id);
    let old = reqwest::Client::new()
        .post(app.url("/rpc/me"))
        .header("origin", &app.base)
        .header("cookie", &first_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.text().await.unwrap(),
        "null",
        "the pre-rotation id is dead"
    );
}

#[tokio::test]
async fn ten_failures_lock_the_email_and_ip_for_fifteen_minutes() {
    let app = spawn_app().await;
    app::services::accounts::create_verified(&app.state, "lock@example.com", PW, "Lock")
        .await
        .unwrap();
    for _ in 0..10 {
        let (status, body) = text(
            app.rpc(
                "login",
                &[
                    ("email", "lock@example.com"),
                    ("password", "not the password"),
                ],
            )
            .await,
        )
        .await;
        assert_eq!(status, 401);
        assert!(body.contains("email or password is incorrect"), "{body}");
    }
    let res = app
        .rpc("login", &[("email", "lock@example.com"), ("password", PW)])
        .await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let (_, body) = text(res).await;
    assert!(
        body.contains("too many failed log-ins"),
        "even the right password waits: {body}"
    );
    app.clock.advance(15 * 60 * 1000 + 1000);
    let res = app
        .rpc("login", &[("email", "lock@example.com"), ("password", PW)])
        .await;
    assert!(res.status().is_success());
    assert_eq!(me(&app).await["email"], "lock@example.com");
}

#[tokio::test]
async fn state_changing_calls_from_another_origin_are_refused() {
    let app = spawn_app().await;
    for origin in [Some("https://evil.example"), None] {
        let mut req = app.http.post(app.url("/rpc/signup")).form(&[
            ("account_name", "X"),
            ("email", "x@example.com"),
            ("password", PW),
        ]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{origin:?}");
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(v["code"], "csrf_origin_mismatch");
    }
    assert!(
        app::store::accounts::user_by_email(&app.state.db, "x@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn password_reset_is_single_use_and_does_not_reveal_emails() {
    let app = spawn_app().await;
    app::services::accounts::create_verified(&app.state, "reset@example.com", PW, "Reset")
        .await
        .unwrap();
    // Unknown emails look the same to the caller.
    assert!(
        app.rpc("forgot_password", &[("email", "nobody@example.com")])
            .await
            .status()
            .is_success()
    );
    assert!(
        app.rpc("forgot_password", &[("email", "reset@example.com")])
            .await
            .status()
            .is_success()
    );
    let link = link_in(&app.last_mail_to("reset@example.com").await.body_text);
    assert!(link.contains("/reset-password?token="));
    let token = query_param(&link, "token");
    let html = app
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("New password"), "form shown for a valid link");

    assert!(
        app.rpc(
            "reset_password",
            &[("token", &token), ("password", "a brand new password")]
        )
        .await
        .status()
        .is_success()
    );
    let (_, body) = text(
        app.rpc(
            "reset_password",
            &[("token", &token), ("password", "another new password")],
        )
        .await,
    )
    .await;
    assert!(body.contains("already used"), "{body}");
    let html = app
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Request a new one"));

    let (_, body) = text(
        app.rpc("login", &[("email", "reset@example.com"), ("password", PW)])
            .await,
    )
    .await;
    assert!(body.contains("incorrect"), "old password is gone: {body}");
    assert!(
        app.rpc(
            "login",
            &[
                ("email", "reset@example.com"),
                ("password", "a brand new password")
            ]
        )
        .await
        .status()
        .is_success()
    );
}

#[tokio::test]
async fn invitations_and_roles() {
    let owner = spawn_app().await;
    owner.sign_up("boss@example.com", PW, "Team Co").await;
    // Only a confirmed owner's account invites.
    let confirm = link_in(&owner.last_mail_to("boss@example.com").await.body_text);
    assert!(
        owner
            .rpc(
                "verify_email",
                &[("token", &query_param(&confirm, "token"))]
            )
            .await
            .status()
            .is_success()
    );
    let res = owner
        .rpc(
            "invite_member",
            &[("email", "mem@example.com"), ("role", "member")],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let link = link_in(&owner.last_mail_to("mem@example.com").await.body_text);
    let token = query_param(&link, "token");
    let html = owner
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Team Co") && html.contains("Choose a password"),
        "{html}"
    );

    // The invitee accepts in their own browser and becomes a member.
    let member = spawn_app_client(&owner);
    let res = member
        .post(owner.url("/rpc/accept_invite"))
        .form(&[("token", token.as_str()), ("password", "member password 1")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let me: serde_json::Value = member
        .post(owner.url("/rpc/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "member");
    assert_eq!(me["account_name"], "Team Co");
    // Used once only.
    let res = member
        .post(owner.url("/rpc/accept_invite"))
        .form(&[("token", token.as_str()), ("password", "member password 1")])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("invalid"));

    // Members cannot manage keys or the team.
    let res = member
        .post(owner.url("/rpc/create_key"))
        .form(&[("name", "sneaky")])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("only owners and admins"));
    let res = member
        .post(owner.url("/rpc/invite_member"))
        .form(&[("email", "x@example.com"), ("role", "member")])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("only owners and admins"));

    // The owner can promote; admins then manage keys.
    let team: serde_json::Value = owner.rpc("team", &[]).await.json().await.unwrap();
    let member_id = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "mem@example.com")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        owner
            .rpc(
                "set_member_role",
                &[("user_id", &member_id), ("role", "admin")]
            )
            .await
            .status()
            .is_success()
    );
    let res = member
        .post(owner.url("/rpc/create_key"))
        .form(&[("name", "admin key")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let created: serde_json::Value = res.json().await.unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("sb_test_"));
    // An admin cannot remove the owner.
    let owner_id = me_id(&owner).await;
    let res = member
        .post(owner.url("/rpc/remove_member"))
        .form(&[("user_id", owner_id.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("owner cannot be removed")
    );
    // The owner removes the admin, whose session then has no account.
    assert!(
        owner
            .rpc("remove_member", &[("user_id", &member_id)])
            .await
            .status()
            .is_success()
    );
    let me: serde_json::Value = member
        .post(owner.url("/rpc/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(me.is_null());
}

async fn me_id(app: &TestApp) -> String {
    me(app).await["user_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn portal_keys_are_shown_once_and_listed_masked() {
    let app = spawn_app().await;
    app.sign_up("keys@example.com", PW, "Keys").await;
    let created: serde_json::Value = app
        .rpc("create_key", &[("name", "ci")])
        .await
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    let list: serde_json::Value = app.rpc("list_keys", &[]).await.json().await.unwrap();
    let listed = list.to_string();
    assert!(
        !listed.contains(&secret),
        "the full key is never listed again"
    );
    assert_eq!(
        list[0]["masked"],
        format!("sb_test_…{}", &secret[secret.len() - 4..])
    );
    assert!(list[0]["last_used_at"].is_null());
    let res = app
        .http
        .get(app.url("/api/v1/account"))
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list: serde_json::Value = app.rpc("list_keys", &[]).await.json().await.unwrap();
    assert!(list[0]["last_used_at"].is_string());
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert!(
        app.rpc("revoke_key", &[("id", &id)])
            .await
            .status()
            .is_success()
    );
    let res = app
        .http
        .get(app.url("/api/v1/account"))
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn portal_pages_redirect_to_log_in_and_render_when_signed_in() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(app.url("/keys"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/login");
    app.sign_up("pages@example.com", PW, "Pages Inc").await;
    for path in [
        "/",
        "/channels",
        "/deliveries",
        "/keys",
        "/redirects",
        "/onboarding",
        "/billing",
        "/team",
        "/sandbox",
        "/mailbox",
    ] {
        let res = app
            .browser
            .get(app.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("Pages Inc") || path == "/mailbox",
            "{path} renders the shell"
        );
    }
    let res = app
        .browser
        .get(app.url("/no-such-page"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
