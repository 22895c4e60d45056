//! A real SMTP server for the tests: Python's `aiosmtpd` (from PyPI), installed on first use in
//! a virtualenv under `~/.cache/roundtable-ci/venv` (`.ci/run` installs it too). Every message
//! it receives is parsed by Python's `email` package and written as one JSON file, which
//! `SmtpServer::wait_for` reads.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

const SERVER: &str = r#"
import email, json, logging, os, sys, warnings
from email import policy
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)
out, port = sys.argv[1], int(sys.argv[2])
credentials = (sys.argv[3].encode(), sys.argv[4].encode()) if len(sys.argv) > 4 else None

def authenticate(server, session, envelope, mechanism, auth_data):
    ok = credentials is not None and (auth_data.login, auth_data.password) == credentials
    return AuthResult(success=ok)

class Capture:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        Capture.count += 1
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
            "multipart": msg.get_content_type(),
        }
        tmp = os.path.join(out, ".%d.tmp" % Capture.count)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out, "%06d.json" % Capture.count))
        return "250 Message accepted"

options = {}
if credentials:
    options.update(authenticator=authenticate, auth_required=True, auth_require_tls=False)
tls = os.environ.get("SMTP_TLS", "")
if tls:
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.environ["SMTP_CERT"], os.environ["SMTP_KEY"])
    if tls == "starttls":
        options.update(tls_context=context, require_starttls=True)
    else:
        options.update(ssl_context=context)
controller = Controller(Capture(), hostname="127.0.0.1", port=port, **options)
controller.start()
print("READY", flush=True)
sys.stdin.read()
controller.stop()
"#;

/// A free TCP port on 127.0.0.1 for a server the test starts next (nothing listens on it once
/// this returns). It is drawn at random below the kernel's ephemeral range (32768 and up on
/// Linux), so the ports the kernel hands to nodes bound on port 0 and to outgoing connections
/// of tests running meanwhile can never take it before its server binds it.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = 20_000 + (rand::random::<u16>() % 12_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000")
}

/// One message as the SMTP server received it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub multipart: String,
}

impl Mail {
    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let start = self
            .text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link starting with {prefix} in {}", self.text));
        self.text[start..]
            .split_whitespace()
            .next()
            .expect("a link")
            .to_string()
    }
}

/// A running aiosmtpd, stopped on drop.
pub struct SmtpServer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::start_on(free_port()).await
    }

    /// A server that takes mail only after `AUTH` with these credentials.
    pub async fn start_with_auth(user: &str, password: &str) -> SmtpServer {
        SmtpServer::launch(free_port(), &[user, password]).await
    }

    pub async fn start_on(port: u16) -> SmtpServer {
        SmtpServer::launch(port, &[]).await
    }

    /// A server that speaks TLS — `starttls` (required) or `tls` (from the first byte) — with
    /// a self-signed certificate for 127.0.0.1, whose PEM file is `SmtpServer::cert`.
    pub async fn start_with_tls(mode: &str) -> SmtpServer {
        SmtpServer::launch_with(free_port(), &[], Some(mode)).await
    }

    async fn launch(port: u16, credentials: &[&str]) -> SmtpServer {
        SmtpServer::launch_with(port, credentials, None).await
    }

    /// The server's certificate (PEM), when it speaks TLS.
    pub fn cert(&self) -> String {
        self.dir.join("cert.pem").display().to_string()
    }

    async fn launch_with(port: u16, credentials: &[&str], tls: Option<&str>) -> SmtpServer {
        let python = tokio::task::spawn_blocking(super::python::python)
            .await
            .expect("install aiosmtpd");
        let dir = std::env::temp_dir().join(format!(
            "roundtable-smtp-{}-{port}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).expect("mail dir");
        let script = dir.join("server.py");
        std::fs::write(&script, SERVER).expect("write the server script");
        let mut command = Command::new(python);
        if let Some(mode) = tls {
            let out = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args([
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                ])
                .arg("-keyout")
                .arg(dir.join("key.pem"))
                .arg("-out")
                .arg(dir.join("cert.pem"))
                .output()
                .await
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            command
                .env("SMTP_TLS", mode)
                .env("SMTP_CERT", dir.join("cert.pem"))
                .env("SMTP_KEY", dir.join("key.pem"));
        }
        let mut child = command
            .arg(&script)
            .arg(&dir)
            .arg(port.to_string())
            .args(credentials)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("aiosmtpd starts in time")
            .expect("read aiosmtpd's output");
        assert_eq!(ready.as_deref(), Some("READY"), "aiosmtpd did not start");
        SmtpServer { port, dir, child }
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .expect("mail dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                serde_json::from_str(&std::fs::read_to_string(p).expect("read a message"))
                    .expect("a message record")
            })
            .collect()
    }

    /// Waits for a message to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> Mail {
        let start = Instant::now();
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| m.to.iter().any(|t| t == to) && m.subject.contains(subject))
            {
                return m;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no message to {to} about {subject:?}; got {:?}",
                self.messages()
                    .iter()
                    .map(|m| (&m.to, &m.subject))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The node settings that send mail here.
    pub fn env(&self) -> Vec<(String, String)> {
        smtp_env(self.port)
    }
}

/// Settings that send a node's mail to an SMTP server on `port` (which may not listen yet).
pub fn smtp_env(port: u16) -> Vec<(String, String)> {
    [
        ("EMAIL__SMTP_HOST", "127.0.0.1".to_string()),
        ("EMAIL__SMTP_PORT", port.to_string()),
        ("EMAIL__SMTP_SECURITY", "none".to_string()),
        ("EMAIL__SMTP_TIMEOUT_SECS", "5".to_string()),
        ("EMAIL__POLL_INTERVAL_MS", "50".to_string()),
        ("EMAIL__RETRY_BASE_MS", "100".to_string()),
        ("EMAIL__RETRY_MAX_MS", "400".to_string()),
        ("EMAIL__MAX_ATTEMPTS", "1000".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v))
    .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
