//! The `roundtable` binary: admin commands, their errors, and `serve` from an empty directory.

use crate::harness::{http, on_postgres, TestDb};
use roundtable::{db::Db, service::accounts::token_hash};
use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_roundtable");

fn run(db_url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ROUNDTABLE__DATABASE__URL", db_url)
        .env("ROUNDTABLE__LOG__FILTER", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn roundtable");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("roundtable ran")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// A failure: non-zero exit and exactly one line on stderr that contains `needle`.
fn assert_fails(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one line, got: {err}");
    assert!(err.starts_with("error:"), "{err}");
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[tokio::test]
async fn admin_commands_succeed_and_fail_cleanly() {
    let db = TestDb::create().await;
    let url = db.url.as_str();

    let out = run(url, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(url, &["user", "create", "alice", "--admin"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_fails(&run(url, &["user", "create", "alice"], None), "taken");
    assert_fails(&run(url, &["user", "create", "Not OK!"], None), "name");
    assert_fails(
        &run(
            url,
            &["user", "create", "bob", "--password-stdin"],
            Some("short\n"),
        ),
        "8 characters",
    );
    let out = run(
        url,
        &["user", "create", "bob", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(
        url,
        &[
            "community",
            "create",
            "rust_guild",
            "--owner",
            "alice",
            "--title",
            "Rust guild",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_fails(
        &run(
            url,
            &["community", "create", "rust_guild", "--owner", "alice"],
            None,
        ),
        "taken",
    );
    assert_fails(
        &run(
            url,
            &["community", "create", "alice", "--owner", "alice"],
            None,
        ),
        "taken",
    );
    assert_fails(
        &run(
            url,
            &["community", "create", "Bad-Slug", "--owner", "alice"],
            None,
        ),
        "slug",
    );
    assert_fails(
        &run(
            url,
            &["community", "create", "docs", "--owner", "ghost"],
            None,
        ),
        "ghost",
    );
    assert_fails(
        &run(
            url,
            &[
                "community",
                "create",
                "docs",
                "--owner",
                "alice",
                "--visibility",
                "secret",
            ],
            None,
        ),
        "secret",
    );

    assert_fails(
        &run(
            url,
            &["token", "create", "alice", "--scopes", "read fly"],
            None,
        ),
        "fly",
    );
    assert_fails(&run(url, &["token", "create", "ghost"], None), "ghost");
    let out = run(url, &["token", "create", "alice", "--scopes", "read"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout);
    assert!(token.starts_with("rt_") && token.len() > 40, "{token}");

    // The federation policy.
    let out = run(url, &["federation", "mode", "allowlist"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_fails(
        &run(url, &["federation", "mode", "lottery"], None),
        "allowlist",
    );
    assert_fails(
        &run(url, &["partner", "add", "not a domain"], None),
        "not a domain",
    );
    let out = run(
        url,
        &[
            "partner",
            "add",
            "Partner.Example",
            "--reason",
            "joint roundtable",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(url, &["block", "add", "spam.example"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(url, &["federation", "show"], None);
    let shown = text(&out.stdout);
    assert!(shown.contains("mode: allowlist"), "{shown}");
    assert!(
        shown.contains("partner\tpartner.example\tjoint roundtable"),
        "{shown}"
    );
    assert!(shown.contains("blocked\tspam.example"), "{shown}");
    assert_fails(
        &run(url, &["partner", "remove", "spam.example"], None),
        "not listed as partner",
    );
    let out = run(url, &["block", "remove", "spam.example"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Only the hash is stored, and it maps back to alice with the scopes asked for.
    let store = Db::connect(url, 1).await.expect("db");
    let (user, scopes) = store
        .token_owner(&token_hash(&token))
        .await
        .expect("query")
        .expect("token stored");
    let (_, alice) = roundtable::service::accounts::user_by_name(&store, "alice")
        .await
        .expect("alice");
    assert_eq!(user.id, alice.id);
    assert_eq!(scopes, "read");
    assert!(store.token_owner(&token).await.expect("query").is_none());
    store.close().await;
}

#[test]
fn configuration_and_database_errors_are_one_line() {
    let out = Command::new(BIN)
        .args(["migrate"])
        .env(
            "ROUNDTABLE__DATABASE__URL",
            "postgres://nobody@127.0.0.1:1/none",
        )
        .output()
        .expect("ran");
    assert_fails(&out, "database");

    let out = Command::new(BIN)
        .args(["migrate"])
        .env("ROUNDTABLE__HTTP__NO_SUCH_KEY", "1")
        .output()
        .expect("ran");
    assert_fails(&out, "no_such_key");

    let out = Command::new(BIN)
        .args(["--config", "/nonexistent/roundtable.toml", "migrate"])
        .output()
        .expect("ran");
    assert_fails(&out, "/nonexistent/roundtable.toml");
}

/// `roundtable serve` with nothing but a port: it creates its SQLite database under `data/`
/// of the working directory, answers WebFinger for a community made with the CLI, and exits
/// cleanly on SIGTERM.
#[tokio::test]
async fn serve_runs_from_an_empty_directory_and_stops_on_sigterm() {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "roundtable-serve-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let pg = if on_postgres() {
        Some(TestDb::create().await)
    } else {
        None
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let domain = format!("localhost:{port}");
    let command = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.current_dir(&dir)
            .args(args)
            .env("ROUNDTABLE__INSTANCE__DOMAIN", &domain)
            .env("ROUNDTABLE__HTTP__BIND", format!("127.0.0.1:{port}"))
            .env("ROUNDTABLE__FEDERATION__DEBUG", "true")
            .env("ROUNDTABLE__LOG__FILTER", "warn");
        if let Some(db) = &pg {
            c.env("ROUNDTABLE__DATABASE__URL", &db.url);
        }
        c
    };
    let out = command(&["user", "create", "owner"]).output().expect("ran");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = command(&["community", "create", "guild", "--owner", "owner"])
        .output()
        .expect("ran");
    assert!(out.status.success(), "{}", text(&out.stderr));
    if pg.is_none() {
        assert!(
            dir.join("data/roundtable.db").exists(),
            "default SQLite file"
        );
    }

    let mut server = command(&["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let client = http();
    let webfinger = format!("http://{domain}/.well-known/webfinger?resource=acct:guild@{domain}");
    let start = Instant::now();
    let jrd: serde_json::Value = loop {
        if let Ok(r) = client.get(&webfinger).send().await {
            if r.status() == 200 {
                break r.json().await.expect("jrd");
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let href = jrd["links"][0]["href"].as_str().expect("href").to_string();
    let group: serde_json::Value = client
        .get(&href)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("group")
        .json()
        .await
        .expect("json");
    assert_eq!(group["type"], "Group");
    assert_eq!(group["id"], href.as_str());

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = server.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "serve ignored SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "graceful stop exits 0, got {exit:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
