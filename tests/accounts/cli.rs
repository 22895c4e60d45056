//! The account commands of the `roundtable` binary: one line and a non-zero exit on bad input.

use super::{browser, node, PASSWORD};
use crate::harness::{smtp::SmtpServer, test_env, Node};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

async fn cli_with_stdin(node: &Node, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roundtable"))
        .args(args)
        .envs(test_env(&node.domain, &node.db.url))
        .env("ROUNDTABLE__LOG__FILTER", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run roundtable");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    let out = child.wait_with_output().await.expect("roundtable ran");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

fn one_line_error(ok: bool, stderr: &str, needle: &str) {
    assert!(!ok, "expected a failure");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error:") && stderr.contains(needle),
        "{stderr:?} should mention {needle:?}"
    );
}

#[tokio::test]
async fn account_commands_create_list_set_passwords_and_delete() {
    let smtp = SmtpServer::start().await;
    let node = node(&smtp, &[]).await;
    let (ok, out, err) = cli_with_stdin(
        &node,
        &[
            "user",
            "create",
            "olga",
            "--email",
            "Olga@Example.org",
            "--password-stdin",
            "--time-zone",
            "Europe/Berlin",
            "--locale",
            "de",
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("created user olga@"), "{out}");
    let b = browser(&node);
    assert_eq!(
        b.sign_in("olga@example.org", PASSWORD).await.status,
        303,
        "an admin's email counts as confirmed"
    );

    let (ok, _, err) = cli_with_stdin(
        &node,
        &["user", "create", "olga2", "--email", "olga@example.org"],
        "",
    )
    .await;
    one_line_error(ok, &err, "already taken");
    let (ok, _, err) =
        cli_with_stdin(&node, &["user", "create", "olga3", "--email", "nope"], "").await;
    one_line_error(ok, &err, "email address");

    let list = node.cli(&["user", "list"]).await;
    assert!(list.ok, "{}", list.stderr);
    assert!(
        list.stdout
            .contains("olga\tactive\t-\tolga@example.org\tde\tEurope/Berlin\t"),
        "{}",
        list.stdout
    );
    let (ok, _, err) = cli_with_stdin(
        &node,
        &["user", "create", "tz", "--time-zone", "Mars/Olympus"],
        "",
    )
    .await;
    one_line_error(ok, &err, "not a time zone");
    let (ok, _, err) = cli_with_stdin(
        &node,
        &["user", "create", "lc", "--locale", "no such locale"],
        "",
    )
    .await;
    one_line_error(ok, &err, "not a language tag");

    let (ok, _, err) = cli_with_stdin(&node, &["user", "set-password", "olga"], "tiny\n").await;
    one_line_error(ok, &err, "8 characters");
    let (ok, _, err) = cli_with_stdin(
        &node,
        &["user", "set-password", "ghost"],
        "long enough pass\n",
    )
    .await;
    one_line_error(ok, &err, "ghost");
    let (ok, _, err) = cli_with_stdin(
        &node,
        &["user", "set-password", "olga"],
        "another long password\n",
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        b.signed_in_as().await,
        None,
        "setting a password ends the sessions"
    );
    assert_eq!(b.sign_in("olga", "another long password").await.status, 303);

    let out = node.cli(&["user", "invite", "--uses", "0"]).await;
    one_line_error(out.ok, &out.stderr, "1 to 1000");
    let out = node.cli(&["user", "invite", "--days", "999"]).await;
    one_line_error(out.ok, &out.stderr, "1 to 365");
    let out = node.cli(&["user", "approve", "ghost"]).await;
    one_line_error(out.ok, &out.stderr, "ghost");

    // Deleting: refused while the user owns a community; afterwards the name stays taken.
    let out = node
        .cli(&["community", "create", "olgas_club", "--owner", "olga"])
        .await;
    assert!(out.ok, "{}", out.stderr);
    let out = node.cli(&["user", "delete", "olga"]).await;
    one_line_error(out.ok, &out.stderr, "owns communities");
    let (ok, _, err) = cli_with_stdin(
        &node,
        &[
            "user",
            "create",
            "pete",
            "--email",
            "pete@example.org",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(ok, "{err}");
    let pete = browser(&node);
    assert_eq!(pete.sign_in("pete", PASSWORD).await.status, 303);
    let out = node.cli(&["user", "delete", "pete"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(pete.signed_in_as().await, None);
    pete.sign_in("pete", PASSWORD).await.shows(401, "wrong");
    let person = reqwest::get(node.url("/u/pete")).await.expect("GET");
    assert_eq!(person.status(), 410, "the actor is a tombstone");
    let (ok, _, err) = cli_with_stdin(&node, &["user", "create", "pete"], "").await;
    one_line_error(ok, &err, "taken");
    let out = node.cli(&["user", "delete", "pete"]).await;
    one_line_error(out.ok, &out.stderr, "pete");
    assert!(!node.cli(&["user", "list"]).await.stdout.contains("pete"));
}

#[tokio::test]
async fn deleting_a_user_sends_a_delete_of_the_actor_to_the_nodes_that_know_them() {
    use crate::harness::eventually;
    use serde_json::json;
    use std::time::Duration;
    let alpha = Node::start().await;
    let beta = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let amy = alpha.api_user("amy").await;
    let bert = beta.api_user("bert").await;
    let (status, body) = olga
        .post("/communities", json!({"slug": "guild", "title": "Guild"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let handle = format!("guild@{}", alpha.domain);
    let (status, body) = amy.post("/communities/guild/join", json!({})).await;
    assert!(status < 300, "{body}");
    let (status, body) = bert
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    eventually(Duration::from_secs(10), "bert is a member", || async {
        let (_, c) = bert.get(&format!("/communities/{handle}")).await;
        (c["membership"]["state"] == "accepted").then_some(())
    })
    .await;

    // Bert's node tells the community's node, which verifies the Delete with the key it
    // cached when bert joined (bert's actor itself now answers 410).
    let out = beta.cli(&["user", "delete", "bert"]).await;
    assert!(out.ok, "{}", out.stderr);
    let actor = format!("{}/u/bert", beta.base);
    let gone = reqwest::get(&actor).await.expect("GET the actor");
    assert_eq!(gone.status(), 410);
    eventually(Duration::from_secs(10), "the Delete arrives", || async {
        let seen = alpha.state.db.received_activities().await.ok()?;
        seen.into_iter()
            .find(|(_, kind, by)| kind == "Delete" && *by == actor)
    })
    .await;
    // Amy's account goes too; the community and its owner stay.
    let out = alpha.cli(&["user", "delete", "amy"]).await;
    assert!(out.ok, "{}", out.stderr);
    let (status, _) = olga.get("/communities/guild").await;
    assert_eq!(status, 200);
}
