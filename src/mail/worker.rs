//! The mail workers: claim a due message from the queue, send it, record the outcome. A failed
//! attempt is retried after `email.retry_base_ms`, doubling up to `email.retry_max_ms`, until
//! `email.max_attempts`; a message whose address the SMTP server refuses for good (5xx) or that
//! cannot be built is given up at once. Unsent messages stay queued across restarts (a claim
//! is a lease, so a crashed worker's message is taken again after it expires).

use crate::{
    config::{EmailSettings, SmtpSecurity},
    db::mail::QueuedMail,
    node::Node,
};
use lettre::{
    message::{Mailbox, MultiPart},
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// How messages leave the node.
pub enum Sender {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    /// Debug mode without SMTP: one `.eml` file per message.
    Directory(AsyncFileTransport<Tokio1Executor>),
    /// No SMTP server configured outside debug mode: messages stay queued.
    Nowhere,
}

/// Why an attempt failed: worth another try, or never going to work.
enum Failure {
    Retry(String),
    Permanent(String),
}

impl Sender {
    pub fn from_settings(email: &EmailSettings, debug: bool) -> Result<Sender, String> {
        if email.smtp_host.is_empty() {
            if !debug {
                return Ok(Sender::Nowhere);
            }
            std::fs::create_dir_all(&email.outbox_dir)
                .map_err(|e| format!("cannot create email.outbox_dir {}: {e}", email.outbox_dir))?;
            return Ok(Sender::Directory(AsyncFileTransport::new(
                &email.outbox_dir,
            )));
        }
        let host = email.smtp_host.as_str();
        let tls = || -> Result<TlsParameters, String> {
            let mut params = TlsParameters::builder(host.to_string());
            if !email.smtp_ca_file.is_empty() {
                let pem = std::fs::read(&email.smtp_ca_file).map_err(|e| {
                    format!("cannot read email.smtp_ca_file {}: {e}", email.smtp_ca_file)
                })?;
                let cert = Certificate::from_pem(&pem).map_err(|e| {
                    format!(
                        "email.smtp_ca_file {} is not a PEM certificate: {e}",
                        email.smtp_ca_file
                    )
                })?;
                params = params.add_root_certificate(cert);
            }
            params
                .build_native()
                .map_err(|e| format!("cannot set up TLS for {host:?}: {e}"))
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
        let builder = match email.smtp_security {
            // STARTTLS is required, never opportunistic: a server that does not offer it (or a
            // man in the middle that strips it) gets no mail.
            SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
            SmtpSecurity::None => builder,
        };
        let mut builder = builder
            .port(email.smtp_port)
            .timeout(Some(Duration::from_secs(email.smtp_timeout_secs.max(1))));
        if !email.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                email.smtp_username.clone(),
                email.smtp_password.clone(),
            ));
        }
        Ok(Sender::Smtp(Box::new(builder.build())))
    }

    async fn send(&self, from: &Mailbox, mail: &QueuedMail) -> Result<(), Failure> {
        let to: Mailbox = mail
            .to_addr
            .parse()
            .map_err(|e| Failure::Permanent(format!("bad recipient address: {e}")))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text_body.clone(),
                mail.html_body.clone(),
            ))
            .map_err(|e| Failure::Permanent(format!("cannot build the message: {e}")))?;
        match self {
            Sender::Smtp(transport) => transport.send(message).await.map(|_| ()).map_err(|e| {
                // 53x answers (authentication required or refused) are the node's own
                // configuration, not the message's fault: worth retrying once it is fixed.
                let auth = e.status().is_some_and(|c| c.to_string().starts_with("53"));
                if e.is_permanent() && !auth {
                    Failure::Permanent(e.to_string())
                } else {
                    Failure::Retry(e.to_string())
                }
            }),
            Sender::Directory(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| Failure::Retry(e.to_string())),
            Sender::Nowhere => Err(Failure::Retry("no SMTP server is configured".into())),
        }
    }
}

/// The delay before attempt `attempts + 1`: base, doubled per failure, capped.
pub fn backoff_ms(email: &EmailSettings, attempts: u32) -> u64 {
    let factor = 1u64 << attempts.min(30);
    email
        .retry_base_ms
        .saturating_mul(factor)
        .min(email.retry_max_ms)
}

/// Sends queued mail until `stop` turns true.
pub async fn run_worker(node: Node, name: String, mut stop: watch::Receiver<bool>) {
    let email = node.settings.email.clone();
    let sender = match Sender::from_settings(&email, node.settings.federation.debug) {
        Ok(s) => s,
        Err(e) => {
            warn!(worker = %name, error = %e, "mail worker cannot start; mail stays queued");
            return;
        }
    };
    if matches!(sender, Sender::Nowhere) {
        warn!("email.smtp_host is empty: mail stays queued until an SMTP server is configured");
        return;
    }
    let Ok(from) = email.from.parse::<Mailbox>() else {
        warn!(from = %email.from, "email.from is not an address; mail stays queued");
        return;
    };
    let poll = Duration::from_millis(email.poll_interval_ms.max(10));
    let lease_ms = i64::try_from(email.smtp_timeout_secs.saturating_mul(3000)).unwrap_or(60_000);
    loop {
        if *stop.borrow() {
            return;
        }
        let claimed = match node.db.claim_mail(lease_ms.max(30_000)).await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "cannot read the mail queue");
                None
            }
        };
        let Some(mail) = claimed else {
            let wakeup = node.mail_wakeup.notified();
            tokio::select! {
                _ = wakeup => {}
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        };
        let attempts = u32::try_from(mail.attempts).unwrap_or(0) + 1;
        let result = sender.send(&from, &mail).await;
        let recorded = match result {
            Ok(()) => {
                info!(id = mail.id, "mail sent");
                node.db.mail_sent(mail.id).await
            }
            Err(Failure::Permanent(e)) => {
                warn!(id = mail.id, error = %e, "mail given up");
                node.db.mail_failed(mail.id, &e, None).await
            }
            Err(Failure::Retry(e)) if attempts >= email.max_attempts => {
                warn!(id = mail.id, attempts, error = %e, "mail given up after its last attempt");
                node.db.mail_failed(mail.id, &e, None).await
            }
            Err(Failure::Retry(e)) => {
                let delay = backoff_ms(&email, attempts - 1);
                warn!(id = mail.id, attempts, retry_in_ms = delay, error = %e, "mail not sent; will retry");
                let at = crate::db::now_ms() + i64::try_from(delay).unwrap_or(i64::MAX / 2);
                node.db.mail_failed(mail.id, &e, Some(at)).await
            }
        };
        if let Err(e) = recorded {
            warn!(id = mail.id, error = %e, "cannot record the mail's outcome");
        }
    }
}
