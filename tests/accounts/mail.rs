//! How mail leaves the node: SMTP with authentication (and what happens without it), and the
//! debug-mode directory.

use super::{browser, node, PASSWORD};
use crate::harness::{eventually, smtp::SmtpServer, Node, NodeOptions};
use std::time::Duration;

async fn sign_up(node: &Node, name: &str, email: &str) {
    browser(node)
        .submit(
            "/sign-up",
            "/sign-up",
            &[("name", name), ("email", email), ("password", PASSWORD)],
        )
        .await
        .shows(200, "Check your email");
}

#[tokio::test]
async fn smtp_authentication_is_used_and_its_failure_keeps_the_mail_queued() {
    let smtp = SmtpServer::start_with_auth("roundtable", "s3cret pass").await;
    // Without credentials the server refuses (530): the message stays queued and is retried.
    let anonymous = node(&smtp, &[("ACCOUNTS__REGISTRATION", "open")]).await;
    sign_up(&anonymous, "una", "una@example.org").await;
    let stuck = eventually(Duration::from_secs(10), "two refused attempts", || async {
        let mails = anonymous.state.db.mail_to("una@example.org").await.ok()?;
        mails.into_iter().find(|m| m.attempts >= 2)
    })
    .await;
    assert!(
        stuck.sent_at.is_none() && stuck.failed_at.is_none(),
        "{stuck:?}"
    );
    assert!(
        stuck
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("53"),
        "{stuck:?}"
    );
    assert!(smtp.messages().is_empty());

    let signed = node(
        &smtp,
        &[
            ("ACCOUNTS__REGISTRATION", "open"),
            ("EMAIL__SMTP_USERNAME", "roundtable"),
            ("EMAIL__SMTP_PASSWORD", "s3cret pass"),
        ],
    )
    .await;
    sign_up(&signed, "vic", "vic@example.org").await;
    let mail = smtp.wait_for("vic@example.org", "Confirm your email").await;
    assert!(mail.text.contains("/verify-email?token="), "{}", mail.text);
}

#[tokio::test]
async fn debug_mode_without_smtp_writes_mail_to_a_directory() {
    let dir = std::env::temp_dir().join(format!("roundtable-outbox-{}", rand::random::<u32>()));
    let node = Node::start_with(NodeOptions {
        env: vec![
            ("ROUNDTABLE__ACCOUNTS__REGISTRATION".into(), "open".into()),
            (
                "ROUNDTABLE__EMAIL__OUTBOX_DIR".into(),
                dir.display().to_string(),
            ),
            ("ROUNDTABLE__EMAIL__POLL_INTERVAL_MS".into(), "50".into()),
        ],
        ..Default::default()
    })
    .await;
    sign_up(&node, "wes", "wes@example.org").await;
    let text = eventually(Duration::from_secs(10), "an .eml file", || async {
        let entry = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "eml"))?;
        std::fs::read_to_string(entry.path()).ok()
    })
    .await;
    assert!(text.contains("To: wes@example.org"), "{text}");
    assert!(text.contains("Confirm your email address"), "{text}");
    assert!(text.contains("text/html"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn starttls_and_tls_verify_the_server_certificate() {
    for mode in ["starttls", "tls"] {
        let smtp = SmtpServer::start_with_tls(mode).await;
        // Without trusting its certificate, nothing is sent: the message waits.
        let untrusting = node(
            &smtp,
            &[
                ("ACCOUNTS__REGISTRATION", "open"),
                ("EMAIL__SMTP_SECURITY", mode),
            ],
        )
        .await;
        sign_up(&untrusting, "tom", "tom@example.org").await;
        let stuck = eventually(Duration::from_secs(10), "a refused attempt", || async {
            let mails = untrusting.state.db.mail_to("tom@example.org").await.ok()?;
            mails.into_iter().find(|m| m.attempts >= 1)
        })
        .await;
        assert!(
            stuck.sent_at.is_none() && stuck.failed_at.is_none(),
            "{mode}: {stuck:?}"
        );
        assert!(smtp.messages().is_empty(), "{mode}");

        let cert = smtp.cert();
        let trusting = node(
            &smtp,
            &[
                ("ACCOUNTS__REGISTRATION", "open"),
                ("EMAIL__SMTP_SECURITY", mode),
                ("EMAIL__SMTP_CA_FILE", &cert),
            ],
        )
        .await;
        sign_up(&trusting, "uma", "uma@example.org").await;
        smtp.wait_for("uma@example.org", "Confirm your email").await;
    }
}

#[tokio::test]
async fn a_plain_server_gets_no_mail_when_starttls_is_required() {
    let smtp = SmtpServer::start().await;
    let node = node(
        &smtp,
        &[
            ("ACCOUNTS__REGISTRATION", "open"),
            ("EMAIL__SMTP_SECURITY", "starttls"),
        ],
    )
    .await;
    sign_up(&node, "val", "val@example.org").await;
    eventually(Duration::from_secs(10), "a refused attempt", || async {
        let mails = node.state.db.mail_to("val@example.org").await.ok()?;
        mails
            .into_iter()
            .find(|m| m.attempts >= 1 && m.sent_at.is_none())
    })
    .await;
    assert!(smtp.messages().is_empty());
}
