//! With `SWITCHBOARD_SMTP_URL` set, mail is handed to a real SMTP conversation
//! (here a minimal SMTP server on loopback) and still recorded in the outbox.

mod common;

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Accepts SMTP sessions and keeps each message's DATA section.
async fn smtp_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(data.take().unwrap());
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            w.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (format!("smtp://{addr}"), received)
}

#[tokio::test]
async fn verification_mail_goes_through_smtp_and_is_recorded() {
    let (url, received) = smtp_sink().await;
    let app = common::spawn_app_with(&[
        ("SWITCHBOARD_SMTP_URL", &url),
        ("SWITCHBOARD_MAIL_FROM", "Switchboard <sb@example.com>"),
    ])
    .await;
    app.sign_up("smtp@example.com", "correct horse battery", "Mail Co")
        .await;
    let mails = received.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "one SMTP message");
    let msg = &mails[0];
    assert!(msg.contains("To: smtp@example.com"), "{msg}");
    assert!(msg.contains("From: Switchboard <sb@example.com>"), "{msg}");
    assert!(msg.contains("/verify-email?token="), "{msg}");
    let row = app.last_mail_to("smtp@example.com").await;
    assert!(row.sent_at.is_some(), "handed over to SMTP");
    assert!(row.error.is_none());
}

#[tokio::test]
async fn an_unreachable_smtp_server_keeps_the_mail_with_its_error() {
    // A port nobody listens on: the sign-up still succeeds, the outbox keeps the error.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let app =
        common::spawn_app_with(&[("SWITCHBOARD_SMTP_URL", &format!("smtp://{closed}"))]).await;
    app.sign_up("down@example.com", "correct horse battery", "Down Co")
        .await;
    let row = app.last_mail_to("down@example.com").await;
    assert!(row.sent_at.is_none());
    assert!(row.error.is_some());
}
