//! Sign-in defences (CSRF, wrong passwords, lockout, rate limit), password reset, the
//! sessions list, revocation, expiry, sessions shared by processes, and mail that survives a
//! crash.

use super::{browser, member, node, node_on_port, PASSWORD};
use crate::harness::{
    browser::Browser,
    smtp::{free_port, SmtpServer},
    Node, NodeOptions,
};
use sea_orm::{ConnectionTrait, Database};

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[]).await;
    member(&node, "cy", "cy@example.org").await;

    // No session at all.
    let b = browser(&node);
    b.post("/sign-in", &[("login", "cy"), ("password", PASSWORD)])
        .await
        .shows(403, "security token");
    // A session, but no token in the form, or another one.
    let csrf = b.get("/sign-in").await.csrf();
    b.post("/sign-in", &[("login", "cy"), ("password", PASSWORD)])
        .await
        .shows(403, "This form has expired");
    b.post(
        "/sign-in",
        &[("csrf", "forged"), ("login", "cy"), ("password", PASSWORD)],
    )
    .await
    .shows(403, "security token");
    // Another browser's token does not open this one's session.
    let other = browser(&node);
    let theirs = other.get("/sign-in").await.csrf();
    assert_ne!(theirs, csrf);
    b.post(
        "/sign-in",
        &[("csrf", &theirs), ("login", "cy"), ("password", PASSWORD)],
    )
    .await
    .shows(403, "security token");
    assert_eq!(b.signed_in_as().await, None);
    for path in [
        "/sign-up",
        "/forgot-password",
        "/reset-password",
        "/verify-email",
        "/sign-out",
        "/sessions/1/revoke",
        "/sessions/revoke-others",
    ] {
        b.post(path, &[("email", "cy@example.org")])
            .await
            .shows(403, "security token");
    }
    // With it, the same post works; the session id changes at sign-in and the old one is gone.
    let before = b.get("/sign-in").await;
    let old_cookie = before.set_cookie.first().cloned();
    let signed = b
        .post(
            "/sign-in",
            &[("csrf", &csrf), ("login", "cy"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let new_cookie = signed
        .set_cookie
        .iter()
        .find(|c| c.starts_with("roundtable_session="))
        .expect("a new session cookie at sign-in");
    let old = old_cookie.expect("the sign-in page sets a cookie for its CSRF token");
    assert_ne!(old.split(';').next(), new_cookie.split(';').next());
    // Signed out, a session lasts two idle hours; signed in, accounts.session_idle_minutes.
    assert!(old.contains("Max-Age=7200"), "{old}");
    assert!(new_cookie.contains("Max-Age=604800"), "{new_cookie}");
    // The token of the signed-out session no longer works in the signed-in one.
    b.post("/sign-out", &[("csrf", &csrf)])
        .await
        .shows(403, "security token");
    assert_eq!(b.signed_in_as().await.as_deref(), Some("cy"));
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_and_a_reset_unlocks_it() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[("ACCOUNTS__LOCKOUT_AFTER", "3")]).await;
    member(&node, "lou", "lou@example.org").await;
    let b = browser(&node);

    b.sign_in("nobody", PASSWORD)
        .await
        .shows(401, "wrong user name or password");
    let wrong = b.sign_in("lou", "not the password").await;
    wrong.shows(401, "wrong user name or password");
    assert!(
        wrong.body.contains("id=\"field-password-error\""),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("value=\"lou\""), "the login is kept");
    assert!(
        !wrong.body.contains("not the password"),
        "the password is not echoed"
    );
    b.sign_in("lou", "not the password")
        .await
        .shows(401, "wrong");
    b.sign_in("lou", "not the password")
        .await
        .shows(422, "locked");
    // Locked: even the right password is refused.
    b.sign_in("lou", PASSWORD).await.shows(422, "locked");
    assert_eq!(b.signed_in_as().await, None);

    // Forgot password: the same answer for an unknown address, a mail for a known one.
    b.submit(
        "/forgot-password",
        "/forgot-password",
        &[("email", "ghost@example.org")],
    )
    .await
    .shows(200, "If an account uses this address");
    b.submit(
        "/forgot-password",
        "/forgot-password",
        &[("email", "lou@example.org")],
    )
    .await
    .shows(200, "If an account uses this address");
    let mail = smtp
        .wait_for("lou@example.org", "Reset your password")
        .await;
    let link = mail.link("http://");
    assert!(link.contains("/reset-password?token="), "{link}");
    b.submit(&link, "/reset-password", &[("password", "short")])
        .await
        .shows(422, "id=\"field-password-error\"");
    b.submit(
        &link,
        "/reset-password",
        &[("password", "a brand new password")],
    )
    .await
    .shows(200, "Password changed");
    b.get(&link).await.shows(410, "no longer works");
    b.sign_in("lou", PASSWORD).await.shows(401, "wrong");
    assert_eq!(b.sign_in("lou", "a brand new password").await.status, 303);
    assert!(smtp
        .messages()
        .iter()
        .all(|m| !m.to.contains(&"ghost@example.org".to_string())));
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_per_account() {
    let smtp = SmtpServer::start().await;
    let node = node(
        &smtp,
        &[
            ("ACCOUNTS__SIGN_IN_ATTEMPTS_PER_MINUTE", "4"),
            ("ACCOUNTS__LOCKOUT_AFTER", "100"),
        ],
    )
    .await;
    member(&node, "rae", "rae@example.org").await;
    let b = browser(&node);
    for _ in 0..4 {
        b.sign_in("rae", "guess guess guess")
            .await
            .shows(401, "wrong");
    }
    b.sign_in("rae", PASSWORD)
        .await
        .shows(429, "too many attempts");
    // Another account is not held back.
    member(&node, "ria", "ria@example.org").await;
    assert_eq!(b.sign_in("ria", PASSWORD).await.status, 303);
}

#[tokio::test]
async fn sessions_are_listed_per_device_and_revocable() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[]).await;
    member(&node, "dee", "dee@example.org").await;
    let laptop = Browser::with_agent(node.addr.port(), "Laptop Firefox");
    let phone = Browser::with_agent(node.addr.port(), "Phone Safari");
    // Signed out, the sessions page asks to sign in first, and comes back after.
    let asked = laptop.get("/sessions").await;
    assert_eq!(asked.status, 303);
    assert_eq!(asked.location.as_deref(), Some("/sign-in?next=%2Fsessions"));
    let signed = laptop
        .submit(
            "/sign-in?next=%2Fsessions",
            "/sign-in",
            &[("login", "dee"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        signed.location.as_deref(),
        Some("/sessions"),
        "{}",
        signed.body
    );
    assert_eq!(phone.sign_in("dee", PASSWORD).await.status, 303);

    let list = laptop.get("/sessions").await;
    list.shows(200, "Laptop Firefox (this browser)");
    assert!(list.body.contains("Phone Safari"), "{}", list.body);
    // The phone's row: the revoke form that follows its name.
    let at = list.body.find("Phone Safari").expect("phone row");
    let rest = &list.body[at..];
    let start = rest.find("/sessions/").expect("revoke form") + "/sessions/".len();
    let id: String = rest[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let csrf = list.csrf();
    let done = laptop
        .post(&format!("/sessions/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(phone.signed_in_as().await, None, "the phone is signed out");
    assert_eq!(laptop.signed_in_as().await.as_deref(), Some("dee"));
    assert!(!laptop.get("/sessions").await.body.contains("Phone Safari"));
    // Signing out every other browser keeps this one.
    let tablet = Browser::with_agent(node.addr.port(), "Tablet Chrome");
    let watch = Browser::with_agent(node.addr.port(), "Watch");
    assert_eq!(tablet.sign_in("dee", PASSWORD).await.status, 303);
    assert_eq!(watch.sign_in("dee", PASSWORD).await.status, 303);
    laptop
        .submit("/sessions", "/sessions/revoke-others", &[])
        .await
        .shows(200, "Signed out 2 other browsers.");
    assert_eq!(tablet.signed_in_as().await, None);
    assert_eq!(watch.signed_in_as().await, None);
    assert_eq!(laptop.signed_in_as().await.as_deref(), Some("dee"));
    // Nobody revokes another user's session, and bad ids are a readable 404.
    laptop
        .post("/sessions/abc/revoke", &[("csrf", &csrf)])
        .await
        .shows(404, "no such session");
    laptop
        .post(&format!("/sessions/{id}/revoke"), &[("csrf", &csrf)])
        .await
        .shows(404, "no such session");
}

/// A raw connection to a node's database, to move its clock forward.
async fn age_sessions(node: &Node, sql: &str) {
    let conn = Database::connect(node.db.url.as_str())
        .await
        .expect("connect");
    conn.execute_unprepared(sql).await.expect("update sessions");
    conn.close().await.ok();
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_their_absolute_lifetime() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[]).await;
    member(&node, "ida", "ida@example.org").await;
    let b = browser(&node);
    assert_eq!(b.sign_in("ida", PASSWORD).await.status, 303);
    // Idle past its expiry: gone.
    age_sessions(&node, "UPDATE browser_sessions SET expires_at = 1").await;
    assert_eq!(b.signed_in_as().await, None);

    assert_eq!(b.sign_in("ida", PASSWORD).await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("ida"));
    // Active, but signed in longer ago than the absolute lifetime: gone too.
    age_sessions(
        &node,
        "UPDATE browser_sessions SET data = REPLACE(data, '\"signed_in_at\":', '\"signed_in_at\":1,\"was\":') WHERE user_id IS NOT NULL",
    )
    .await;
    assert_eq!(b.signed_in_as().await, None);
}

#[tokio::test]
async fn processes_of_one_node_share_sessions() {
    let smtp = SmtpServer::start().await;
    let first = node(&smtp, &[]).await;
    member(&first, "pia", "pia@example.org").await;
    let mut env = smtp.env();
    env.push(("ROUNDTABLE__INSTANCE__DOMAIN".into(), first.domain.clone()));
    let second = Node::start_with(NodeOptions {
        db: Some(first.db.clone()),
        env,
        ..Default::default()
    })
    .await;
    let b = browser(&first);
    assert_eq!(b.sign_in("pia", PASSWORD).await.status, 303);
    let there = b.at(second.addr.port());
    assert_eq!(there.signed_in_as().await.as_deref(), Some("pia"));
    assert_eq!(
        there.submit("/sign-out", "/sign-out", &[]).await.status,
        303
    );
    assert_eq!(b.signed_in_as().await, None);
}

#[tokio::test]
async fn mail_queued_while_smtp_is_down_is_sent_after_a_crash_and_restart() {
    let port = free_port();
    let node = node_on_port(port, &[("ACCOUNTS__REGISTRATION", "open")]).await;
    let b = browser(&node);
    b.submit(
        "/sign-up",
        "/sign-up",
        &[
            ("name", "kim"),
            ("email", "kim@example.org"),
            ("password", PASSWORD),
        ],
    )
    .await
    .shows(200, "Check your email");
    // The server is down: the worker tries and keeps the message.
    crate::harness::eventually(
        std::time::Duration::from_secs(10),
        "a failed attempt",
        || async {
            let mails = node.state.db.mail_to("kim@example.org").await.ok()?;
            mails
                .first()
                .filter(|m| m.attempts > 0 && m.sent_at.is_none())
                .cloned()
        },
    )
    .await;
    let db = node.crash().await;

    let smtp = SmtpServer::start_on(port).await;
    let mut env = smtp.env();
    env.push(("ROUNDTABLE__ACCOUNTS__REGISTRATION".into(), "open".into()));
    let node = Node::start_with(NodeOptions {
        db: Some(db),
        env,
        ..Default::default()
    })
    .await;
    let mail = smtp.wait_for("kim@example.org", "Confirm your email").await;
    let link = mail.link("http://");
    assert!(link.contains("/verify-email?token="), "{link}");
    // Sent once.
    crate::harness::eventually(std::time::Duration::from_secs(5), "sent_at", || async {
        let mails = node.state.db.mail_to("kim@example.org").await.ok()?;
        mails.first().and_then(|m| m.sent_at)
    })
    .await;
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn bad_input_gets_a_readable_page_never_a_500() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[("ACCOUNTS__REGISTRATION", "open")]).await;
    let b = browser(&node);
    let csrf = b.get("/sign-up").await.csrf();
    let long = "x".repeat(5000);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("csrf", &csrf)],
        vec![
            ("csrf", &csrf),
            ("name", "ok_name"),
            ("email", "not an email"),
            ("password", PASSWORD),
        ],
        vec![
            ("csrf", &csrf),
            ("name", "ok_name"),
            ("email", "a@b"),
            ("password", PASSWORD),
        ],
        vec![
            ("csrf", &csrf),
            ("name", &long),
            ("email", "x@example.org"),
            ("password", PASSWORD),
        ],
        vec![
            ("csrf", &csrf),
            ("name", "ok_name"),
            ("email", &long),
            ("password", PASSWORD),
        ],
        vec![
            ("csrf", &csrf),
            ("name", "ok_name"),
            ("email", "x@example.org"),
            ("password", &long),
        ],
        vec![
            ("csrf", &csrf),
            ("name", "ok_name"),
            ("display_name", &long),
            ("email", "x@example.org"),
            ("password", PASSWORD),
        ],
        vec![
            ("csrf", &csrf),
            ("name", "\u{0}"),
            ("email", "x@example.org\r\nBcc: y@example.org"),
            ("password", PASSWORD),
        ],
    ];
    for fields in &cases {
        let page = b.post("/sign-up", fields).await;
        assert!(
            (400..500).contains(&page.status),
            "{}: {}",
            page.status,
            page.body
        );
        assert!(
            page.content_type.starts_with("text/html"),
            "{}",
            page.content_type
        );
        assert!(page.body.contains("class=\"error\""), "{}", page.body);
    }
    let sign_in_cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("csrf", &csrf)],
        vec![("csrf", &csrf), ("login", &long), ("password", &long)],
        vec![("csrf", &csrf), ("login", "x@"), ("password", "p")],
        vec![
            ("csrf", &csrf),
            ("login", "cy"),
            ("password", PASSWORD),
            ("next", "https://evil.example/"),
        ],
    ];
    for fields in &sign_in_cases {
        let page = b.post("/sign-in", fields).await;
        assert!(
            (400..500).contains(&page.status),
            "{}: {}",
            page.status,
            page.body
        );
        assert!(page.content_type.starts_with("text/html"));
    }
    // Bodies that are not forms at all.
    for (kind, body) in [
        ("application/json", b"{\"login\": 1}".to_vec()),
        (
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, b'%', b'z'],
        ),
        (
            "application/x-www-form-urlencoded",
            format!("csrf={csrf}&login=%ZZ&login=a").into_bytes(),
        ),
    ] {
        let page = b.post_raw("/sign-in", kind, body).await;
        assert!(
            (400..500).contains(&page.status),
            "{}: {}",
            page.status,
            page.body
        );
        assert!(page.content_type.starts_with("text/html"));
    }
    for path in [
        "/verify-email",
        "/verify-email?token=",
        "/verify-email?token=nope",
        "/reset-password?token=nope",
        "/invite/nope",
        "/reset-password?token=%ff%fe",
    ] {
        let page = b.get(path).await;
        assert!(
            (400..500).contains(&page.status),
            "{path}: {} {}",
            page.status,
            page.body
        );
        assert!(page.content_type.starts_with("text/html"), "{path}");
    }
    b.post("/verify-email", &[("csrf", &csrf), ("token", "nope")])
        .await
        .shows(410, "no longer works");
    b.post(
        "/reset-password",
        &[("csrf", &csrf), ("token", "nope"), ("password", PASSWORD)],
    )
    .await
    .shows(410, "no longer works");
    // An open redirect is not offered: `next` stays on this node.
    member(&node, "nia", "nia@example.org").await;
    let page = b
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("login", "nia"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/"), "{}", page.body);
}
