//! Signing up under each registration policy, email verification, allowed domains, and the
//! states that refuse a sign-in.

use super::{browser, member, node, sign_up_and_verify, verify_from_mail, PASSWORD};
use crate::harness::smtp::SmtpServer;

#[tokio::test]
async fn open_sign_up_verifies_the_email_then_signs_in_and_out() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[("ACCOUNTS__REGISTRATION", "open")]).await;
    let b = browser(&node);

    // The home page is a page, with a way in.
    let home = b.get("/").await;
    home.shows(200, "href=\"/sign-in\"");
    let raw = reqwest::get(format!("{}/sign-in", b.base))
        .await
        .expect("GET");
    let csp = raw.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert_eq!(raw.headers()["referrer-policy"], "no-referrer");
    assert_eq!(raw.headers()["cache-control"], "no-store");
    assert!(!home.body.contains("not found"), "{}", home.body);

    let form = b.get("/sign-up").await;
    form.shows(200, "<label for=\"field-email\">");
    for field in ["name", "display_name", "email", "password"] {
        assert!(
            form.body.contains(&format!("<label for=\"field-{field}\"")),
            "{field}: {}",
            form.body
        );
        assert!(
            form.body.contains(&format!("id=\"field-{field}\"")),
            "{field}"
        );
    }
    b.submit(
        "/sign-up",
        "/sign-up",
        &[
            ("name", "ada"),
            ("display_name", "Ada Lovelace"),
            ("email", "Ada@Example.org"),
            ("password", PASSWORD),
            ("time_zone", "America/New_York"),
        ],
    )
    .await
    .shows(200, "Check your email");

    // Not before the address is confirmed; trying mails a fresh link (the first may be lost).
    b.sign_in("ada", PASSWORD)
        .await
        .shows(403, "confirm your email address first");
    crate::harness::eventually(
        std::time::Duration::from_secs(10),
        "a second link",
        || async {
            let n = smtp
                .messages()
                .iter()
                .filter(|m| m.subject.contains("Confirm your email"))
                .count();
            (n == 2).then_some(())
        },
    )
    .await;

    let mail = smtp.wait_for("ada@example.org", "Confirm your email").await;
    assert_eq!(mail.multipart, "multipart/alternative");
    assert!(mail.html.contains("<a href=\"http://"), "{}", mail.html);
    assert!(mail.from.contains("roundtable@localhost"), "{}", mail.from);
    // A verification link past its expiry does nothing (the second one, aged by hand).
    let second = smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject.contains("Confirm your email"))
        .nth(1)
        .expect("the second link")
        .link("http://");
    let conn = sea_orm::Database::connect(node.db.url.as_str())
        .await
        .expect("connect");
    sea_orm::ConnectionTrait::execute_unprepared(
        &conn,
        "UPDATE account_links SET expires_at = 1 WHERE id = (SELECT MAX(id) FROM account_links)",
    )
    .await
    .expect("age the link");
    conn.close().await.ok();
    b.get(&second).await.shows(410, "no longer works");
    verify_from_mail(&smtp, &b, "ada@example.org").await;
    // The link works once.
    let link = mail.link("http://");
    b.get(&link).await.shows(410, "no longer works");

    // The same name or address cannot sign up twice.
    b.submit(
        "/sign-up",
        "/sign-up",
        &[
            ("name", "tzz"),
            ("email", "tzz@example.org"),
            ("password", PASSWORD),
            ("time_zone", "Nowhere/Land"),
        ],
    )
    .await
    .shows(400, "id=\"field-time_zone-error\"");
    let list = node.cli(&["user", "list"]).await.stdout;
    assert!(
        list.contains("ada\tactive\t-\tada@example.org\ten\tAmerica/New_York\t"),
        "{list}"
    );
    let again = b
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("name", "ada"),
                ("email", "other@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    again.shows(409, "already taken");
    assert!(
        again.body.contains("id=\"field-name-error\""),
        "beside the field: {}",
        again.body
    );
    b.submit(
        "/sign-up",
        "/sign-up",
        &[
            ("name", "ada2"),
            ("email", "ADA@example.org"),
            ("password", PASSWORD),
        ],
    )
    .await
    .shows(409, "exists already");

    // Signing in by name or by address.
    let signed = b.sign_in("ada", PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location.as_deref(), Some("/"));
    let cookie = signed
        .set_cookie
        .iter()
        .find(|c| c.starts_with("roundtable_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "debug mode is plain http: {cookie}"
    );
    assert_eq!(b.signed_in_as().await.as_deref(), Some("ada"));
    assert!(b.get("/").await.body.contains("Ada Lovelace"));

    let out = b.submit("/sign-out", "/sign-out", &[]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(b.signed_in_as().await, None);
    assert_eq!(b.sign_in("ADA@example.org", PASSWORD).await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("ada"));
}

#[tokio::test]
async fn closed_and_invite_policies_take_sign_ups_only_by_invitation() {
    let smtp = SmtpServer::start().await;
    for policy in ["closed", "invite"] {
        let node = node(&smtp, &[("ACCOUNTS__REGISTRATION", policy)]).await;
        let b = browser(&node);
        b.get("/sign-up").await.shows(403, "invitation");
        let home = b.get("/").await;
        assert!(
            !home.body.contains("create an account"),
            "{policy}: {}",
            home.body
        );
        // A form posted anyway (with a valid token) is refused too.
        let csrf = b.get("/sign-in").await.csrf();
        b.post(
            "/sign-up",
            &[
                ("csrf", &csrf),
                ("name", "eve"),
                ("email", "eve@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await
        .shows(403, "invitation");

        let out = node
            .cli(&["user", "invite", "--uses", "2", "--days", "3"])
            .await;
        assert!(out.ok, "{}", out.stderr);
        let link = out.stdout.trim().to_string();
        assert!(
            link.starts_with(&format!("{}/invite/", node.base)),
            "{link}"
        );
        let page = b.get(&link).await;
        page.shows(200, "Accept your invitation");
        for (i, name) in ["ivy", "ike"].iter().enumerate() {
            let email = format!("{name}.{policy}@example.org");
            let c = browser(&node);
            c.submit(
                &link,
                &link,
                &[("name", name), ("email", &email), ("password", PASSWORD)],
            )
            .await
            .shows(200, "Check your email");
            verify_from_mail(&smtp, &c, &email).await;
            assert_eq!(c.sign_in(name, PASSWORD).await.status, 303, "use {i}");
        }
        // Two uses, then it is spent; a failed sign-up does not spend one.
        b.get(&link).await.shows(410, "no longer works");
        b.get(&format!("{}/invite/nonsense", node.base))
            .await
            .shows(410, "no longer works");
        let csrf = b.get("/sign-in").await.csrf();
        b.post(
            &link,
            &[
                ("csrf", &csrf),
                ("name", "ian"),
                ("email", "ian@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await
        .shows(410, "expired or has been used up");
    }
    // A failed sign-up gives its use back.
    let node = node(&smtp, &[("ACCOUNTS__REGISTRATION", "invite")]).await;
    let link = node.cli(&["user", "invite"]).await.stdout;
    let b = browser(&node);
    b.submit(
        &link,
        &link,
        &[
            ("name", "Bad Name!"),
            ("email", "x@example.org"),
            ("password", PASSWORD),
        ],
    )
    .await
    .shows(400, "id=\"field-name-error\"");
    b.submit(
        &link,
        &link,
        &[
            ("name", "okname"),
            ("email", "x@example.org"),
            ("password", "short"),
        ],
    )
    .await
    .shows(422, "at least 8 characters");
    b.get(&link).await.shows(200, "Accept your invitation");
    // An invitation past its expiry no longer works.
    let link = node.cli(&["user", "invite", "--uses", "5"]).await.stdout;
    b.get(&link).await.shows(200, "Accept your invitation");
    let conn = sea_orm::Database::connect(node.db.url.as_str())
        .await
        .expect("connect");
    sea_orm::ConnectionTrait::execute_unprepared(&conn, "UPDATE invitations SET expires_at = 1")
        .await
        .expect("age the invitations");
    conn.close().await.ok();
    b.get(&link).await.shows(410, "no longer works");
    // An invitation mailed by the CLI arrives.
    let out = node
        .cli(&["user", "invite", "--email", "guest@example.org"])
        .await;
    assert!(out.ok, "{}", out.stderr);
    let mail = smtp.wait_for("guest@example.org", "invited").await;
    assert!(mail.text.contains(out.stdout.trim()), "{}", mail.text);
}

#[tokio::test]
async fn approval_policy_keeps_accounts_pending_until_an_admin_approves() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[("ACCOUNTS__REGISTRATION", "approval")]).await;
    make_root(&node).await;
    let b = browser(&node);
    b.get("/sign-up").await.shows(200, "approves new accounts");
    b.submit(
        "/sign-up",
        "/sign-up",
        &[
            ("name", "pat"),
            ("email", "pat@example.org"),
            ("password", PASSWORD),
        ],
    )
    .await
    .shows(200, "approves new accounts");
    smtp.wait_for("pat@example.org", "waits for approval").await;
    let request = smtp
        .wait_for("root@example.org", "pat waits for your approval")
        .await;
    assert!(
        request.text.contains("roundtable user approve pat"),
        "{}",
        request.text
    );
    verify_from_mail(&smtp, &b, "pat@example.org").await;
    b.sign_in("pat", PASSWORD)
        .await
        .shows(403, "waiting for an administrator");
    // A wrong password learns nothing about the account's state.
    b.sign_in("pat", "wrong password here")
        .await
        .shows(401, "wrong user name or password");

    let list = node.cli(&["user", "list"]).await;
    assert!(list.stdout.contains("pat\tpending"), "{}", list.stdout);
    let out = node.cli(&["user", "approve", "pat"]).await;
    assert!(out.ok, "{}", out.stderr);
    smtp.wait_for("pat@example.org", "is approved").await;
    assert_eq!(b.sign_in("pat", PASSWORD).await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("pat"));
    let again = node.cli(&["user", "approve", "pat"]).await;
    assert!(
        !again.ok && again.stderr.contains("not waiting"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn allowed_email_domains_refuse_other_addresses() {
    let smtp = SmtpServer::start().await;
    let node = node(
        &smtp,
        &[
            ("ACCOUNTS__REGISTRATION", "open"),
            ("ACCOUNTS__ALLOWED_EMAIL_DOMAINS", "[\"example.com\"]"),
        ],
    )
    .await;
    let b = browser(&node);
    b.get("/sign-up")
        .await
        .shows(200, "Use your address at example.com");
    let refused = b
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("name", "mallory"),
                ("email", "mallory@elsewhere.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    refused.shows(403, "only with an address at example.com");
    assert!(
        refused.body.contains(
            "aria-invalid=\"true\" aria-describedby=\"field-email-error field-email-hint\""
        ),
        "the error and the hint describe the field: {}",
        refused.body
    );
    assert!(
        refused.body.contains("id=\"field-email-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"mallory\""),
        "the form keeps what was typed"
    );
    // A subdomain is another domain.
    b.submit(
        "/sign-up",
        "/sign-up",
        &[
            ("name", "mallory"),
            ("email", "m@evil.example.com"),
            ("password", PASSWORD),
        ],
    )
    .await
    .shows(403, "example.com");
    sign_up_and_verify(&smtp, &b, "carol", "carol@EXAMPLE.com").await;
    assert_eq!(b.sign_in("carol", PASSWORD).await.status, 303);
}

#[tokio::test]
async fn suspended_accounts_cannot_sign_in_and_lose_their_sessions() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[]).await;
    member(&node, "sam", "sam@example.org").await;
    let b = browser(&node);
    assert_eq!(b.sign_in("sam", PASSWORD).await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("sam"));

    let out = node
        .cli(&["user", "suspend", "sam", "--reason", "spam"])
        .await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(b.signed_in_as().await, None, "the session ends");
    b.sign_in("sam", PASSWORD).await.shows(403, "suspended");
    assert!(node
        .cli(&["user", "list"])
        .await
        .stdout
        .contains("sam\tsuspended"));

    let out = node.cli(&["user", "unsuspend", "sam"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(b.sign_in("sam", PASSWORD).await.status, 303);
}

/// An administrator changes the registration policy on `/admin` (or with the CLI) without a
/// restart: the sign-up page, the page header, NodeInfo and the Mastodon instance follow at
/// once; a pending sign-up can be declined, and its owner is told.
#[tokio::test]
async fn admins_change_the_registration_policy_and_decline_sign_ups() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[("ACCOUNTS__REGISTRATION", "open")]).await;
    make_root(&node).await;
    let root = browser(&node);
    assert_eq!(root.sign_in("root", PASSWORD).await.status, 303);
    let visitor = browser(&node);
    visitor.get("/").await.shows(200, "href=\"/sign-up\"");

    let set = |policy: &'static str| {
        let root = &root;
        async move {
            root.submit(
                "/admin",
                "/admin",
                &[("action", "registration"), ("value", policy)],
            )
            .await
        }
    };
    let out = set("approval").await;
    assert_eq!(out.location.as_deref(), Some("/admin"), "{}", out.body);
    root.get("/admin")
        .await
        .shows(200, "Registration is approval now.")
        .shows(200, "<option value=\"approval\" selected>");
    visitor
        .get("/sign-up")
        .await
        .shows(200, "approves new accounts");
    visitor
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("name", "pat"),
                ("email", "pat@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await
        .shows(200, "approves new accounts");
    smtp.wait_for("pat@example.org", "waits for approval").await;
    root.get("/admin").await.shows(
        200,
        "<strong>pat</strong> <span class=\"meta\">pat@example.org</span>",
    );
    let out = root
        .submit(
            "/admin",
            "/admin",
            &[("action", "decline"), ("value", "pat")],
        )
        .await;
    assert_eq!(out.location.as_deref(), Some("/admin"), "{}", out.body);
    smtp.wait_for("pat@example.org", "was declined").await;
    let pat = node.state.db.user_by_email("pat@example.org").await;
    assert!(
        pat.expect("query").is_none(),
        "the declined account is gone"
    );
    // Only a pending account can be declined.
    let out = root
        .submit(
            "/admin",
            "/admin",
            &[("action", "decline"), ("value", "root")],
        )
        .await;
    assert_eq!(out.status, 409, "{}", out.body);
    assert!(out.body.contains("id=\"decline-error\""), "{}", out.body);

    assert!(set("closed").await.status < 400);
    visitor
        .get("/sign-up")
        .await
        .shows(403, "does not take sign-ups");
    let home = visitor.get("/").await;
    assert!(!home.body.contains("href=\"/sign-up\""), "{}", home.body);
    let nodeinfo = visitor.get("/nodeinfo/2.1").await;
    let nodeinfo: serde_json::Value = serde_json::from_str(&nodeinfo.body).expect("nodeinfo");
    assert_eq!(nodeinfo["openRegistrations"], false);
    let instance = visitor.get("/api/v2/instance").await;
    let instance: serde_json::Value = serde_json::from_str(&instance.body).expect("instance");
    assert_eq!(instance["registrations"]["enabled"], false);
    // A policy that does not exist is refused beside the form, and nothing changes.
    let out = set("everyone").await;
    assert_eq!(out.status, 400, "{}", out.body);
    assert!(
        out.body.contains("id=\"registration-error\""),
        "{}",
        out.body
    );

    // The CLI reads and sets the same policy; sign-up decisions follow at once.
    let shown = node.cli(&["user", "registration"]).await;
    assert_eq!(
        shown.stdout.trim(),
        "registration: closed",
        "{}",
        shown.stderr
    );
    let out = node.cli(&["user", "registration", "invite"]).await;
    assert!(out.ok, "{}", out.stderr);
    visitor.get("/sign-up").await.shows(403, "invitation only");
    let out = node.cli(&["user", "registration", "sometimes"]).await;
    assert!(!out.ok && out.stderr.contains("one of"), "{}", out.stderr);
    let log = node.state.db.audit_log(None, 50).await.expect("audit");
    let changes: Vec<(&str, &str)> = log
        .iter()
        .filter(|a| a.action == "accounts.registration")
        .map(|a| (a.actor.as_str(), a.target.as_str()))
        .collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[0], ("cli", "invite"));
    assert!(changes[2].0.ends_with("/u/root"), "{changes:?}");
}

/// An administrator `root` (root@example.org) with the test password.
async fn make_root(node: &crate::harness::Node) {
    roundtable::service::accounts::admin::create(
        &node.state,
        roundtable::service::accounts::admin::NewAccount {
            name: "root",
            email: Some("root@example.org"),
            password: Some(PASSWORD),
            admin: true,
            locale: Some("de-CH"),
            time_zone: Some("Europe/Zurich"),
        },
    )
    .await
    .expect("an admin");
}
