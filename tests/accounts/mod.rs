//! Issue 13 (first half): accounts, browser sessions and email, through real HTTP with a
//! browser-style client, a real SMTP server (aiosmtpd) and the node's real database.

mod cli;
mod mail;
mod oauth;
mod sessions;
mod signup;
mod sso;

use crate::harness::{
    browser::Browser,
    smtp::{smtp_env, SmtpServer},
    Node, NodeOptions,
};
use roundtable::service::accounts::admin::{self, NewAccount};

pub const PASSWORD: &str = "correct horse battery";

/// A node whose mail goes to `smtp`, with extra settings (`ACCOUNTS__…` without the prefix).
pub async fn node(smtp: &SmtpServer, settings: &[(&str, &str)]) -> Node {
    node_on_port(smtp.port, settings).await
}

pub async fn node_on_port(smtp_port: u16, settings: &[(&str, &str)]) -> Node {
    let mut env = smtp_env(smtp_port);
    env.extend(
        settings
            .iter()
            .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v.to_string())),
    );
    Node::start_with(NodeOptions {
        env,
        ..Default::default()
    })
    .await
}

pub fn browser(node: &Node) -> Browser {
    Browser::new(node.addr.port())
}

/// An active account with a confirmed email, made by the admin.
pub async fn member(node: &Node, name: &str, email: &str) {
    admin::create(
        &node.state,
        NewAccount {
            name,
            email: Some(email),
            password: Some(PASSWORD),
            admin: false,
            locale: None,
            time_zone: None,
        },
    )
    .await
    .expect("create an account");
}

/// Signs up through the form, then confirms the address from the mail.
pub async fn sign_up_and_verify(smtp: &SmtpServer, b: &Browser, name: &str, email: &str) {
    b.submit(
        "/sign-up",
        "/sign-up",
        &[("name", name), ("email", email), ("password", PASSWORD)],
    )
    .await
    .shows(200, "Check your email");
    verify_from_mail(smtp, b, email).await;
}

pub async fn verify_from_mail(smtp: &SmtpServer, b: &Browser, email: &str) {
    let mail = smtp
        .wait_for(&email.to_lowercase(), "Confirm your email")
        .await;
    let link = mail.link("http://");
    assert!(link.contains("/verify-email?token="), "{link}");
    b.submit(&link, "/verify-email", &[])
        .await
        .shows(200, "confirmed");
}
