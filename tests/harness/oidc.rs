//! A real OpenID provider for the single sign-on tests: the certified Node.js `oidc-provider`
//! (8.x, from npm), installed on first use under `~/.cache/roundtable-ci/npm-oidc` (`.ci/run`
//! installs it too) and run with the script `oidc_provider.mjs` beside this file: one client
//! whose redirect URI is a node's callback, test accounts set by `Idp::account`, and faults
//! the token endpoint injects into the ID token (`Idp::mode`).

use super::smtp::free_port;
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Mutex,
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

const PACKAGES: [&str; 2] = ["oidc-provider@8.8.1", "jose@5.9.6"];
const SCRIPT: &str = include_str!("oidc_provider.mjs");
/// The provider id the tests configure on their nodes.
pub const PROVIDER: &str = "acme";
pub const CLIENT_ID: &str = "roundtable-test";

static INSTALL: Mutex<()> = Mutex::new(());

/// The directory with `oidc-provider` installed (and the provider script), installed if
/// missing.
pub fn oidc_provider_dir() -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let dir = std::env::var("ROUNDTABLE_CI_OIDC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&home).join(".cache/roundtable-ci/npm-oidc"));
    let installed = |dir: &Path| {
        let version = std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["version"].as_str().map(str::to_string));
        version.as_deref() == Some("8.8.1") && dir.join("node_modules/jose/package.json").exists()
    };
    if !installed(&dir) {
        std::fs::create_dir_all(&dir).expect("create the npm cache dir");
        let out = std::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--save-exact",
            ])
            .args(PACKAGES)
            .current_dir(&dir)
            .output()
            .expect("run npm (Node.js 20 and npm are needed for the SSO tests)");
        assert!(
            out.status.success(),
            "npm install {PACKAGES:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            installed(&dir),
            "oidc-provider is missing after npm install"
        );
    }
    // ES modules resolve imports from the script's own directory: it lives beside node_modules.
    let script = dir.join("roundtable-test-provider.mjs");
    if std::fs::read_to_string(&script).ok().as_deref() != Some(SCRIPT) {
        let tmp = dir.join(format!(".provider-{}.mjs", std::process::id()));
        std::fs::write(&tmp, SCRIPT).expect("write the provider script");
        std::fs::rename(&tmp, &script).expect("place the provider script");
    }
    dir
}

/// A running `oidc-provider`, stopped on drop.
pub struct Idp {
    pub port: u16,
    /// `http://127.0.0.1:PORT`, the issuer.
    pub issuer: String,
    pub secret_file: PathBuf,
    child: Child,
    http: reqwest::Client,
}

impl Idp {
    /// Starts a provider whose client sends browsers back to a node on `node_port` (the node
    /// is started afterwards, on that port, with `Idp::env`).
    pub async fn start(node_port: u16) -> Idp {
        let dir = tokio::task::spawn_blocking(oidc_provider_dir)
            .await
            .expect("install oidc-provider");
        let port = free_port();
        let secret = format!("test-secret-{}", rand::random::<u64>());
        let node = format!("http://localhost:{node_port}");
        let client = serde_json::json!({
            "client_id": CLIENT_ID,
            "client_secret": secret,
            "redirect_uris": [format!("{node}/sso/{PROVIDER}/callback")],
            "post_logout_redirect_uris": [format!("{node}/")],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        });
        let secret_file = std::env::temp_dir().join(format!(
            "roundtable-oidc-secret-{}-{port}",
            std::process::id()
        ));
        std::fs::write(&secret_file, format!("{secret}\n")).expect("write the client secret");
        let mut child = Command::new("node")
            .arg(dir.join("roundtable-test-provider.mjs"))
            .arg(port.to_string())
            .arg(client.to_string())
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node (Node.js 20 is needed for the SSO tests)");
        // Its errors go to the test's output; its warning about the in-memory store does not.
        let stderr = child.stderr.take().expect("stderr");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if !line.starts_with("oidc-provider WARNING") {
                    eprintln!("oidc-provider: {line}");
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("oidc-provider starts in time")
            .expect("read oidc-provider's output");
        assert_eq!(
            ready.as_deref(),
            Some("READY"),
            "oidc-provider did not start"
        );
        // Keep reading what it prints, so a write never meets a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Idp {
            port,
            issuer: format!("http://127.0.0.1:{port}"),
            secret_file,
            child,
            http: super::http(),
        }
    }

    /// The node settings that configure this provider as `acme`, plus `extra` provider keys
    /// (`("ADMIN_CLAIM", "groups")`).
    pub fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let key = |k: &str| {
            format!(
                "ROUNDTABLE__SSO__PROVIDERS__{}__{k}",
                PROVIDER.to_uppercase()
            )
        };
        let mut env = vec![
            (key("ISSUER"), self.issuer.clone()),
            (key("CLIENT_ID"), CLIENT_ID.to_string()),
            (
                key("CLIENT_SECRET_FILE"),
                self.secret_file.display().to_string(),
            ),
            (key("DISPLAY_NAME"), "Acme Login".to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| (key(k), v.to_string())));
        env
    }

    /// Sets (or replaces) the test account `sub` with these claims.
    pub async fn account(&self, sub: &str, claims: serde_json::Value) {
        let mut body = claims;
        body["sub"] = serde_json::Value::String(sub.to_string());
        let r = self
            .http
            .post(format!("{}/__test/account", self.issuer))
            .body(body.to_string())
            .send()
            .await
            .expect("set a test account");
        assert_eq!(r.status().as_u16(), 204);
    }

    /// Makes the token endpoint return ID tokens `none` (as issued), `tamper`ed (a claim
    /// changed, the signature kept), `expired` or with another sign-in's `nonce` (re-signed).
    pub async fn mode(&self, mode: &str) {
        let r = self
            .http
            .post(format!("{}/__test/mode", self.issuer))
            .body(serde_json::json!({ "mode": mode }).to_string())
            .send()
            .await
            .expect("set the fault mode");
        assert_eq!(r.status().as_u16(), 204);
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.start_kill();
        let _ = std::fs::remove_file(&self.secret_file);
    }
}
