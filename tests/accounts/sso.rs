//! Single sign-on through a real OpenID provider (Node.js `oidc-provider`): provisioning on the
//! first sign-in and matching on issuer + subject afterwards, linking by verified email, the
//! registration policy and allowed domains, refused ID tokens (tampered, expired, another
//! sign-in's nonce), state mismatch and the provider's own refusal, the admin claim, the
//! provider's logout, and nodes that turned local passwords off.

use super::{member, verify_from_mail, PASSWORD};
use crate::harness::{
    browser::{Browser, Page},
    oidc::{Idp, PROVIDER},
    smtp::{free_port, SmtpServer},
    Node, NodeOptions,
};
use roundtable::service::accounts::{account_named, admin};
use serde_json::json;

/// A node on a fresh port with the provider `acme` (`provider` are its extra keys) and extra
/// node settings (`ACCOUNTS__…`), and the provider started for it.
async fn setup(provider: &[(&str, &str)], settings: &[(&str, &str)]) -> (Idp, Node) {
    setup_with(provider, settings, Vec::new()).await
}

async fn setup_with(
    provider: &[(&str, &str)],
    settings: &[(&str, &str)],
    mut env: Vec<(String, String)>,
) -> (Idp, Node) {
    let port = free_port();
    let idp = Idp::start(port).await;
    env.extend(idp.env(provider));
    env.extend(
        settings
            .iter()
            .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v.to_string())),
    );
    let node = Node::start_with(NodeOptions {
        port,
        env,
        ..Default::default()
    })
    .await;
    (idp, node)
}

fn browser(node: &Node) -> Browser {
    Browser::new(node.addr.port())
}

/// Starts a sign-in at the node and goes through the provider's login as `login`; returns
/// the URL the provider sends the browser back to (the node's callback), not yet opened.
async fn through_provider(b: &Browser, idp: &Idp, node: &Node, fields: &[(&str, &str)]) -> String {
    through_provider_from(b, idp, node, "/sessions", fields).await
}

/// Like `through_provider`, asking to go to `next` (percent-encoded) afterwards.
async fn through_provider_from(
    b: &Browser,
    idp: &Idp,
    node: &Node,
    next: &str,
    fields: &[(&str, &str)],
) -> String {
    let start = b.get(&format!("/sso/{PROVIDER}?next={next}")).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let mut url = start.location.expect("a redirect to the provider");
    assert!(url.starts_with(&idp.issuer), "{url}");
    let callback = node.url(&format!("/sso/{PROVIDER}/callback"));
    for _ in 0..10 {
        if url.starts_with(&callback) {
            return url;
        }
        let page = b.get_url(&url).await;
        let base = url::Url::parse(&url).expect("a URL");
        let next = match page.status {
            302 | 303 => page.location.clone().expect("a location"),
            200 => {
                // The provider's login form.
                let action = page
                    .body
                    .split("action=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .expect("the provider's form")
                    .to_string();
                let posted = b
                    .post_url(base.join(&action).expect("action").as_str(), fields)
                    .await;
                assert_eq!(posted.status, 303, "{}", posted.body);
                posted.location.expect("a location")
            }
            other => panic!("the provider answered {other}: {}", page.body),
        };
        url = base.join(&next).expect("a location URL").to_string();
    }
    panic!("the provider never sent the browser back; last at {url}");
}

/// Signs in through the provider as `login` and opens the node's callback.
async fn sso_sign_in(b: &Browser, idp: &Idp, node: &Node, login: &str) -> Page {
    let back = through_provider(b, idp, node, &[("login", login)]).await;
    b.get(&back).await
}

async fn user_count(node: &Node) -> usize {
    admin::list(&node.state).await.expect("list").len()
}

#[tokio::test]
async fn first_sign_in_provisions_a_user_and_the_second_matches_it() {
    let (idp, node) = setup(&[], &[("ACCOUNTS__REGISTRATION", "open")]).await;
    idp.account(
        "sub-ada",
        json!({"email": "Ada@Example.org", "email_verified": true,
               "preferred_username": "Ada.Lovelace", "name": "Ada Lovelace", "groups": ["staff"]}),
    )
    .await;
    let before = user_count(&node).await;

    let b = browser(&node);
    let done = sso_sign_in(&b, &idp, &node, "sub-ada").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/sessions"));
    assert_eq!(b.signed_in_as().await.as_deref(), Some("ada_lovelace"));
    b.get("/sessions")
        .await
        .shows(200, "Your sessions")
        .shows(200, "Roundtable test browser");
    let ada = account_named(&node.state.db, "ada_lovelace")
        .await
        .expect("provisioned");
    assert_eq!(ada.user.email.as_deref(), Some("ada@example.org"));
    assert!(ada.user.email_verified);
    assert!(ada.user.password_hash.is_none(), "an SSO-only account");
    assert!(!ada.user.is_admin);
    assert_eq!(ada.actor.display_name, "Ada Lovelace");
    let identity = node
        .state
        .db
        .identity(&idp.issuer, "sub-ada")
        .await
        .expect("query")
        .expect("linked");
    assert_eq!(identity.user_id, ada.user.id);
    assert_eq!(user_count(&node).await, before + 1);

    // The provider's logout is offered at sign-out, with the ID token as hint.
    let out = b.submit("/sign-out", "/sign-out", &[]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    let logout = out.location.expect("a redirect");
    assert!(
        logout.starts_with(&format!("{}/session/end?", idp.issuer)),
        "{logout}"
    );
    let parsed = url::Url::parse(&logout).expect("URL");
    let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["post_logout_redirect_uri"], node.url("/"));
    assert_eq!(q["id_token_hint"].split('.').count(), 3, "a JWT");
    // The provider accepts the hint and the return address (it asks to confirm the logout).
    let confirm = b.get_url(&logout).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_eq!(b.signed_in_as().await, None);

    // The second sign-in (another browser, the email changed at the provider) matches the
    // same user by issuer and subject.
    idp.account(
        "sub-ada",
        json!({"email": "ada@example.net", "email_verified": true, "preferred_username": "countess"}),
    )
    .await;
    let again = browser(&node);
    let done = sso_sign_in(&again, &idp, &node, "sub-ada").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(again.signed_in_as().await.as_deref(), Some("ada_lovelace"));
    assert_eq!(user_count(&node).await, before + 1);
    let identity = node
        .state
        .db
        .identity(&idp.issuer, "sub-ada")
        .await
        .expect("query")
        .expect("linked");
    assert_eq!(identity.user_id, ada.user.id);
    assert_eq!(identity.email.as_deref(), Some("ada@example.net"));
}

#[tokio::test]
async fn a_first_sign_in_links_the_account_with_the_verified_email() {
    // Closed registration: nobody new, but existing accounts may sign in with the provider.
    let (idp, node) = setup(&[], &[]).await;
    member(&node, "carol", "carol@example.org").await;
    member(&node, "dave", "dave@example.org").await;
    let carol = account_named(&node.state.db, "carol").await.expect("carol");
    idp.account(
        "sub-carol",
        json!({"email": "carol@example.org", "email_verified": true, "preferred_username": "caroline"}),
    )
    .await;
    idp.account(
        "sub-dave",
        json!({"email": "dave@example.org", "email_verified": false, "preferred_username": "dave"}),
    )
    .await;
    let before = user_count(&node).await;

    let b = browser(&node);
    let done = sso_sign_in(&b, &idp, &node, "sub-carol").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("carol"));
    let identity = node
        .state
        .db
        .identity(&idp.issuer, "sub-carol")
        .await
        .expect("query")
        .expect("linked");
    assert_eq!(identity.user_id, carol.user.id);
    // Her password still works too; signing out of that session stays on this node.
    let other = browser(&node);
    assert_eq!(other.sign_in("carol", PASSWORD).await.status, 303);
    let out = other.submit("/sign-out", "/sign-out", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/"), "{}", out.body);

    // An address the provider has not verified links nothing.
    let b = browser(&node);
    sso_sign_in(&b, &idp, &node, "sub-dave")
        .await
        .shows(409, "has not confirmed that this address is yours");
    assert_eq!(b.signed_in_as().await, None);
    assert!(node
        .state
        .db
        .identity(&idp.issuer, "sub-dave")
        .await
        .expect("query")
        .is_none());
    assert_eq!(user_count(&node).await, before);
}

#[tokio::test]
async fn an_address_the_provider_has_not_verified_waits_for_its_confirmation() {
    let smtp = SmtpServer::start().await;
    let (idp, node) = setup_with(&[], &[("ACCOUNTS__REGISTRATION", "open")], smtp.env()).await;
    idp.account(
        "sub-pat",
        json!({"email": "pat@example.org", "email_verified": false, "preferred_username": "pat"}),
    )
    .await;
    let b = browser(&node);
    sso_sign_in(&b, &idp, &node, "sub-pat")
        .await
        .shows(403, "confirm your email address first");
    assert_eq!(b.signed_in_as().await, None);
    let pat = account_named(&node.state.db, "pat").await.expect("made");
    assert!(!pat.user.email_verified);
    verify_from_mail(&smtp, &b, "pat@example.org").await;
    assert_eq!(sso_sign_in(&b, &idp, &node, "sub-pat").await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("pat"));
}

#[tokio::test]
async fn closed_registration_refuses_to_provision() {
    let (idp, node) = setup(&[], &[("ACCOUNTS__REGISTRATION", "closed")]).await;
    idp.account(
        "sub-erin",
        json!({"email": "erin@example.org", "email_verified": true, "preferred_username": "erin"}),
    )
    .await;
    let before = user_count(&node).await;
    let b = browser(&node);
    sso_sign_in(&b, &idp, &node, "sub-erin")
        .await
        .shows(403, "does not create accounts on sign-in");
    assert_eq!(b.signed_in_as().await, None);
    assert_eq!(user_count(&node).await, before);
    assert!(account_named(&node.state.db, "erin").await.is_err());
}

#[tokio::test]
async fn a_disallowed_email_domain_is_refused() {
    let (idp, node) = setup(
        &[("ALLOWED_EMAIL_DOMAINS", r#"["example.org"]"#)],
        &[("ACCOUNTS__REGISTRATION", "open")],
    )
    .await;
    idp.account(
        "sub-frank",
        json!({"email": "frank@elsewhere.example", "email_verified": true, "preferred_username": "frank"}),
    )
    .await;
    idp.account(
        "sub-gina",
        json!({"email": "gina@example.org", "email_verified": true, "preferred_username": "gina"}),
    )
    .await;
    let before = user_count(&node).await;
    let b = browser(&node);
    sso_sign_in(&b, &idp, &node, "sub-frank")
        .await
        .shows(403, "open only to addresses at example.org");
    assert_eq!(b.signed_in_as().await, None);
    assert_eq!(user_count(&node).await, before);

    let b = browser(&node);
    assert_eq!(sso_sign_in(&b, &idp, &node, "sub-gina").await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("gina"));

    // The provider's domains hold on later sign-ins too.
    idp.account(
        "sub-gina",
        json!({"email": "gina@elsewhere.example", "email_verified": true}),
    )
    .await;
    let b = browser(&node);
    sso_sign_in(&b, &idp, &node, "sub-gina")
        .await
        .shows(403, "open only to addresses at example.org");
    assert_eq!(b.signed_in_as().await, None);
}

#[tokio::test]
async fn approval_makes_a_pending_account_within_the_nodes_domains() {
    let (idp, node) = setup(
        &[],
        &[
            ("ACCOUNTS__REGISTRATION", "approval"),
            ("ACCOUNTS__ALLOWED_EMAIL_DOMAINS", r#"["example.org"]"#),
        ],
    )
    .await;
    idp.account(
        "sub-hal",
        json!({"email": "hal@elsewhere.example", "email_verified": true, "preferred_username": "hal"}),
    )
    .await;
    idp.account(
        "sub-ida",
        json!({"email": "ida@example.org", "email_verified": true, "preferred_username": "ida"}),
    )
    .await;
    let b = browser(&node);
    sso_sign_in(&b, &idp, &node, "sub-hal")
        .await
        .shows(403, "only with an address at example.org");
    assert!(account_named(&node.state.db, "hal").await.is_err());

    let b = browser(&node);
    sso_sign_in(&b, &idp, &node, "sub-ida")
        .await
        .shows(403, "waiting for an administrator");
    assert_eq!(b.signed_in_as().await, None);
    let ida = account_named(&node.state.db, "ida").await.expect("made");
    assert_eq!(ida.user.state.as_str(), "pending");

    admin::approve(&node.state, "ida").await.expect("approve");
    let b = browser(&node);
    assert_eq!(sso_sign_in(&b, &idp, &node, "sub-ida").await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("ida"));
}

#[tokio::test]
async fn tampered_expired_and_wrong_nonce_id_tokens_are_refused() {
    let (idp, node) = setup(&[], &[("ACCOUNTS__REGISTRATION", "open")]).await;
    idp.account(
        "sub-jo",
        json!({"email": "jo@example.org", "email_verified": true, "preferred_username": "jo"}),
    )
    .await;
    let before = user_count(&node).await;
    for (mode, says) in [
        ("tamper", "has no valid signature"),
        ("expired", "has expired"),
        ("nonce", "belongs to another sign-in (wrong nonce)"),
    ] {
        idp.mode(mode).await;
        let b = browser(&node);
        let page = sso_sign_in(&b, &idp, &node, "sub-jo").await;
        page.shows(403, says);
        assert_eq!(b.signed_in_as().await, None, "{mode}");
        assert_eq!(user_count(&node).await, before, "{mode}");
    }
    // The same provider with untouched tokens signs in.
    idp.mode("none").await;
    let b = browser(&node);
    assert_eq!(sso_sign_in(&b, &idp, &node, "sub-jo").await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("jo"));
}

#[tokio::test]
async fn a_wrong_state_a_missing_flow_and_the_providers_refusal_are_refused() {
    let (idp, node) = setup(&[], &[("ACCOUNTS__REGISTRATION", "open")]).await;
    idp.account(
        "sub-kim",
        json!({"email": "kim@example.org", "email_verified": true, "preferred_username": "kim"}),
    )
    .await;

    // The provider's answer with another state.
    let b = browser(&node);
    let back = through_provider(&b, &idp, &node, &[("login", "sub-kim")]).await;
    let mut url = url::Url::parse(&back).expect("URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    b.get(url.as_str()).await.shows(400, "state mismatch");
    assert_eq!(b.signed_in_as().await, None);
    // The flow is used up: the genuine answer no longer works either.
    b.get(&back)
        .await
        .shows(400, "no sign-in with this provider under way");
    assert_eq!(b.signed_in_as().await, None);

    // An answer in a browser that never started a sign-in.
    let stranger = browser(&node);
    let b = browser(&node);
    let back = through_provider(&b, &idp, &node, &[("login", "sub-kim")]).await;
    stranger
        .get(&back)
        .await
        .shows(400, "no sign-in with this provider under way");
    assert_eq!(stranger.signed_in_as().await, None);

    // The person cancels at the provider: its error comes back and is shown.
    let b = browser(&node);
    let back = through_provider(&b, &idp, &node, &[("abort", "1")]).await;
    assert!(back.contains("error=access_denied"), "{back}");
    b.get(&back).await.shows(
        403,
        "did not sign you in (access_denied: the user cancelled the sign-in)",
    );
    assert_eq!(b.signed_in_as().await, None);

    // Unknown providers and garbage are pages, not errors.
    b.get("/sso/nope").await.shows(404, "no sign-in provider");
    b.get("/sso/nope/callback?code=x&state=y")
        .await
        .shows(404, "no sign-in provider");
    b.get(&format!("/sso/{PROVIDER}/callback?code=x&code=y"))
        .await
        .shows(400, "could not be read");
    assert!(account_named(&node.state.db, "kim").await.is_err());
}

#[tokio::test]
async fn the_admin_claim_makes_an_admin() {
    let (idp, node) = setup(
        &[
            ("ADMIN_CLAIM", "groups"),
            ("ADMIN_VALUE", "roundtable-admins"),
        ],
        &[("ACCOUNTS__REGISTRATION", "open")],
    )
    .await;
    idp.account(
        "sub-lee",
        json!({"email": "lee@example.org", "email_verified": true, "preferred_username": "lee",
               "groups": ["staff", "roundtable-admins"]}),
    )
    .await;
    idp.account(
        "sub-max",
        json!({"email": "max@example.org", "email_verified": true, "preferred_username": "max",
               "groups": ["staff"]}),
    )
    .await;
    // (Where to go afterwards must be a path on this node that fits in a header.)
    for (who, next, to) in [
        (
            "sub-lee",
            "%2Fc%2Fsome_community%3Fpage%3D2",
            "/c/some_community?page=2",
        ),
        ("sub-max", "%2F%0D%0ASet-Cookie:%20x=y", "/"),
    ] {
        let b = browser(&node);
        let back = through_provider_from(&b, &idp, &node, next, &[("login", who)]).await;
        let done = b.get(&back).await;
        assert_eq!(done.status, 303, "{who}: {}", done.body);
        assert_eq!(done.location.as_deref(), Some(to), "{who}");
    }
    let lee = account_named(&node.state.db, "lee").await.expect("lee");
    let max = account_named(&node.state.db, "max").await.expect("max");
    assert!(lee.user.is_admin);
    assert!(!max.user.is_admin);

    // The provider's groups decide on every sign-in: out of the group, no longer admin.
    idp.account(
        "sub-lee",
        json!({"email": "lee@example.org", "email_verified": true, "groups": ["staff"]}),
    )
    .await;
    let b = browser(&node);
    assert_eq!(sso_sign_in(&b, &idp, &node, "sub-lee").await.status, 303);
    let lee = account_named(&node.state.db, "lee").await.expect("lee");
    assert!(!lee.user.is_admin);
}

#[tokio::test]
async fn with_local_passwords_off_the_password_forms_are_refused() {
    let (idp, node) = setup(
        &[],
        &[
            ("ACCOUNTS__LOCAL_PASSWORDS", "false"),
            ("ACCOUNTS__REGISTRATION", "open"),
        ],
    )
    .await;
    member(&node, "nia", "nia@example.org").await;
    let b = browser(&node);
    let page = b.get("/sign-in").await;
    page.shows(200, "Sign in with Acme Login");
    assert!(!page.body.contains("name=\"password\""), "{}", page.body);
    assert!(
        page.body.contains(&format!("href=\"/sso/{PROVIDER}")),
        "{}",
        page.body
    );

    // The right password, posted anyway with a valid CSRF token, is refused.
    b.submit(
        "/sign-out",
        "/sign-in",
        &[("login", "nia"), ("password", PASSWORD)],
    )
    .await
    .shows(403, "does not use passwords: sign in with Acme Login");
    assert_eq!(b.signed_in_as().await, None);
    b.get("/sign-up").await.shows(403, "does not use passwords");
    b.get("/forgot-password")
        .await
        .shows(403, "does not use passwords");
    b.submit(
        "/sign-out",
        "/sign-up",
        &[
            ("name", "oz"),
            ("email", "oz@example.org"),
            ("password", PASSWORD),
        ],
    )
    .await
    .shows(403, "does not use passwords");
    assert!(account_named(&node.state.db, "oz").await.is_err());
    b.submit(
        "/sign-out",
        "/forgot-password",
        &[("email", "nia@example.org")],
    )
    .await
    .shows(403, "does not use passwords");

    // Single sign-on still works, for the same account.
    idp.account(
        "sub-nia",
        json!({"email": "nia@example.org", "email_verified": true}),
    )
    .await;
    assert_eq!(sso_sign_in(&b, &idp, &node, "sub-nia").await.status, 303);
    assert_eq!(b.signed_in_as().await.as_deref(), Some("nia"));
}

#[tokio::test]
async fn a_provider_that_is_down_does_not_stop_the_node() {
    // Nothing listens at the issuer: the node starts (it reads nothing from the provider at
    // start), shows its pages, and answers a sign-in through the provider with a page.
    let issuer = format!("http://127.0.0.1:{}", free_port());
    let node = Node::start_with(NodeOptions {
        env: vec![
            ("ROUNDTABLE__SSO__PROVIDERS__ACME__ISSUER".into(), issuer),
            (
                "ROUNDTABLE__SSO__PROVIDERS__ACME__CLIENT_ID".into(),
                "rt".into(),
            ),
        ],
        ..Default::default()
    })
    .await;
    let b = browser(&node);
    b.get("/sign-in").await.shows(200, "Sign in with acme");
    b.get(&format!("/sso/{PROVIDER}"))
        .await
        .shows(503, "the identity provider cannot be reached right now");
    assert_eq!(b.signed_in_as().await, None);
}

#[test]
fn sso_settings_are_checked() {
    use roundtable::config::Settings;
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v.to_string()))
            .collect()
    };
    let err = Settings::load_from(None, env(&[("ACCOUNTS__LOCAL_PASSWORDS", "false")]))
        .expect_err("nobody could sign in");
    assert!(err.to_string().contains("local_passwords"), "{err}");
    let err = Settings::load_from(
        None,
        env(&[
            ("SSO__PROVIDERS__ACME__ISSUER", "http://idp.example"),
            ("SSO__PROVIDERS__ACME__CLIENT_ID", "rt"),
        ]),
    )
    .expect_err("http outside debug mode");
    assert!(err.to_string().contains("https"), "{err}");
    let err = Settings::load_from(
        None,
        env(&[("SSO__PROVIDERS__ACME__ISSUER", "https://idp.example")]),
    )
    .expect_err("no client id");
    assert!(err.to_string().contains("client_id"), "{err}");
    let s = Settings::load_from(
        None,
        env(&[
            (
                "SSO__PROVIDERS__ACME__ISSUER",
                "https://idp.example/realms/staff",
            ),
            ("SSO__PROVIDERS__ACME__CLIENT_ID", "roundtable"),
            (
                "SSO__PROVIDERS__ACME__ALLOWED_EMAIL_DOMAINS",
                r#"["example.org"]"#,
            ),
            ("ACCOUNTS__LOCAL_PASSWORDS", "false"),
        ]),
    )
    .expect("a provider from the environment");
    let acme = &s.sso.providers["acme"];
    assert_eq!(acme.client_id, "roundtable");
    assert_eq!(acme.allowed_email_domains, vec!["example.org".to_string()]);
    assert_eq!(acme.label("acme"), "acme");
    assert!(!s.accounts.local_passwords);
}
