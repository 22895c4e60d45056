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

/// A member changes their address on the settings page: refused input is explained beside
/// the field, the old address is told, the account keeps its old address until the link
/// mailed to the new one is opened, and the link works once.
#[tokio::test]
async fn members_change_their_email_address_through_a_mailed_link() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[]).await;
    super::member(&node, "olga", "olga@example.org").await;
    super::member(&node, "pia", "pia@example.org").await;
    let b = browser(&node);
    assert_eq!(b.sign_in("olga", PASSWORD).await.status, 303);

    // Bad input, each beside its field.
    let page = b
        .submit(
            "/settings",
            "/settings/email",
            &[("new_email", "not an address"), ("password", PASSWORD)],
        )
        .await;
    page.shows(400, "enter an email address like name@example.org");
    assert!(
        page.body.contains("id=\"field-new_email-error\""),
        "{}",
        page.body
    );
    b.submit(
        "/settings",
        "/settings/email",
        &[("new_email", "olga@new.example"), ("password", "wrong one")],
    )
    .await
    .shows(422, "this is not your current password");
    b.submit(
        "/settings",
        "/settings/email",
        &[("new_email", "PIA@example.org"), ("password", PASSWORD)],
    )
    .await
    .shows(409, "another account uses this email address");

    // A good request: a link to the new address, a notice to the old one, nothing changed yet.
    b.submit(
        "/settings",
        "/settings/email",
        &[("new_email", "Olga@New.Example"), ("password", PASSWORD)],
    )
    .await
    .shows(200, "We mailed a link to olga@new.example");
    let notice = smtp
        .wait_for("olga@example.org", "is about to change")
        .await;
    assert!(notice.text.contains("olga@new.example"), "{}", notice.text);
    let mail = smtp
        .wait_for("olga@new.example", "Confirm your new email address")
        .await;
    let link = mail.link("http://");
    assert!(link.contains("/confirm-email?token="), "{link}");
    let account = |name: &'static str| {
        let node = &node;
        async move {
            roundtable::service::accounts::account_named(&node.state.db, name)
                .await
                .expect("account")
        }
    };
    assert_eq!(
        account("olga").await.user.email.as_deref(),
        Some("olga@example.org")
    );
    b.get("/settings")
        .await
        .shows(200, "Your address is <strong>olga@example.org</strong>");

    // Opening the link shows the address; only the button changes it, once.
    b.get(&link.replace(&node.base, ""))
        .await
        .shows(200, "olga@new.example");
    assert_eq!(
        account("olga").await.user.email.as_deref(),
        Some("olga@example.org")
    );
    b.submit(&link, "/confirm-email", &[])
        .await
        .shows(200, "your email address is now olga@new.example");
    let changed = account("olga").await;
    assert_eq!(changed.user.email.as_deref(), Some("olga@new.example"));
    assert!(changed.user.email_verified);
    b.get(&link.replace(&node.base, ""))
        .await
        .shows(410, "expired or has been used");
    // The new address signs in.
    let other = browser(&node);
    assert_eq!(
        other.sign_in("olga@new.example", PASSWORD).await.status,
        303
    );
}
