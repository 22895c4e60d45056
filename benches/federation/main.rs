//! Roundtable's federation benchmark: real nodes (the release `roundtable` binary as a
//! process), loaded over loopback by this program, which also plays the remote server whose
//! actor signs the inbox requests. Prints one Markdown table, SQLite and PostgreSQL side by side.
//!
//!     cargo bench --bench federation
//!
//! Settings (environment):
//! - `BENCH_DATABASES`: `sqlite,postgres` (default), `sqlite` or `postgres`;
//! - `BENCH_POSTGRES_URL`: an administrator's URL (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`); a fresh database is made for each run and
//!   dropped after it;
//! - `BENCH_INBOX_REQUESTS` (default 2000 per concurrency), `BENCH_GET_REQUESTS` (default
//!   10000 for the actor and the post; a fifth of it for the outbox page and the HTML page);
//! - `BENCH_FANOUT`: receivers of the fan-out runs (default `10,100,1000`; empty: none);
//! - `BENCH_DRAIN_SECS`: how long to wait for the announces the inbox load causes (120);
//! - `BENCH_INSIGHTS_POSTS`: posts of the community whose insights are timed (default
//!   100000; 0: none), `BENCH_INSIGHTS_RUNS`: how many requests are timed (default 7);
//! - `ROUNDTABLE_BIN`: another `roundtable` binary to measure (an older build, for before/after).
//!
//! Run without `--bench` (`cargo test --bench federation`, or the binary alone) it is a smoke
//! run: SQLite only, a few requests of each kind, every answer checked.
//!
//! See docs/benchmarks.md for what each row means and the figures measured so far.

mod fanout;
mod insights;
mod load;
mod node;
mod peer;

use load::{Outcome, Prepared};
use node::{Backend, BenchDb, NodeProcess};
use peer::Peer;
use reqwest::{
    header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE},
    Method,
};
use roundtable::activitypub::signatures::{generate_key_pair, sign_request, PrivateKey, PublicKey};
use serde_json::{json, Value};
use std::{
    path::PathBuf,
    sync::atomic::Ordering,
    time::{Duration, Instant, SystemTime},
};

const AP: &str = "application/activity+json";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

struct Options {
    bin: PathBuf,
    backends: Vec<Backend>,
    inbox_requests: usize,
    get_requests: usize,
    fanout: Vec<usize>,
    drain_secs: u64,
    insights_posts: usize,
    insights_runs: usize,
    postgres_url: String,
    smoke: bool,
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn options() -> Options {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let databases = std::env::var("BENCH_DATABASES").unwrap_or_else(|_| {
        if smoke {
            "sqlite".into()
        } else {
            "sqlite,postgres".into()
        }
    });
    let backends = databases
        .split(',')
        .filter_map(|d| match d.trim() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        })
        .collect();
    Options {
        bin: std::env::var("ROUNDTABLE_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_BIN_EXE_roundtable"))),
        backends,
        inbox_requests: env_number("BENCH_INBOX_REQUESTS", if smoke { 20 } else { 2000 }),
        get_requests: env_number("BENCH_GET_REQUESTS", if smoke { 20 } else { 10_000 }),
        fanout: std::env::var("BENCH_FANOUT")
            .unwrap_or_else(|_| {
                if smoke {
                    "3".into()
                } else {
                    "10,100,1000".into()
                }
            })
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
        drain_secs: env_number("BENCH_DRAIN_SECS", 120) as u64,
        insights_posts: env_number("BENCH_INSIGHTS_POSTS", if smoke { 500 } else { 100_000 }),
        insights_runs: env_number("BENCH_INSIGHTS_RUNS", if smoke { 2 } else { 7 }),
        postgres_url: std::env::var("BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        smoke,
    }
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(options));
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn run(options: Options) {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "roundtable federation benchmark — binary {}, commit {commit}, {} cores, load average {}",
        options.bin.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let mut columns = Vec::new();
    for backend in &options.backends {
        eprintln!("== {} ==", backend.name());
        columns.push((*backend, bench_one(&options, *backend).await));
    }
    println!("load average at the end: {}", load_average());
    println!();
    print!("| workload |");
    for (backend, _) in &columns {
        print!(" {} |", backend.name());
    }
    println!();
    println!("| --- |{}", " --- |".repeat(columns.len()));
    let Some((_, first)) = columns.first() else {
        return;
    };
    for (i, (workload, _)) in first.iter().enumerate() {
        print!("| {workload} |");
        for (_, rows) in &columns {
            print!(" {} |", rows.get(i).map_or("", |(_, v)| v.as_str()));
        }
        println!();
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// `1,234/s, p50 3.1 ms, p99 12 ms` plus any answer that was not `expected`.
fn figure(outcome: &Outcome, expected: u16) -> String {
    let unexpected = outcome.unexpected(expected);
    let mut text = format!(
        "{:.0}/s, p50 {}, p99 {}",
        outcome.per_second(),
        ms(outcome.percentile(50.0)),
        ms(outcome.percentile(99.0))
    );
    if !unexpected.is_empty() {
        text.push_str(&format!(" (answers other than {expected}: {unexpected})"));
    }
    text
}

fn signed_post(url: &str, body: Vec<u8>, peer: &Peer) -> Prepared {
    signed_by(url, body, &peer.key_id(), &peer.private_key)
}

fn signed_by(url: &str, body: Vec<u8>, key_id: &str, key: &PrivateKey) -> Prepared {
    let parsed = url::Url::parse(url).expect("inbox URL");
    let signed = sign_request(
        "POST",
        &parsed,
        Some(&body),
        AP,
        key_id,
        key,
        SystemTime::now(),
    )
    .expect("sign");
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(AP));
    for (name, value) in [
        ("date", signed.date),
        ("digest", signed.digest.unwrap_or_default()),
        ("signature", signed.signature),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).expect("header"));
    }
    Prepared {
        method: Method::POST,
        url: url.to_string(),
        headers,
        body: Some(body.into()),
    }
}

fn get(url: &str, accept: &'static str, n: usize) -> Vec<Prepared> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static(accept));
    let one = Prepared {
        method: Method::GET,
        url: url.to_string(),
        headers,
        body: None,
    };
    vec![one; n]
}

/// `n` remote replies `Create(Note)` to `thread`, each signed by the peer's actor.
fn replies(node: &NodeProcess, peer: &Peer, thread: &str, label: &str, n: usize) -> Vec<Prepared> {
    let inbox = format!("{}/inbox", node.base);
    let published = chrono::Utc::now().to_rfc3339();
    (0..n)
        .map(|i| {
            let note_id = format!("{}/statuses/{label}-{i}", peer.actor);
            let activity = json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{note_id}/activity"),
                "type": "Create",
                "actor": peer.actor,
                "to": [PUBLIC],
                "cc": [format!("{}/followers", peer.actor)],
                "object": {
                    "id": note_id,
                    "type": "Note",
                    "attributedTo": peer.actor,
                    "inReplyTo": thread,
                    "to": [PUBLIC],
                    "cc": [format!("{}/followers", peer.actor)],
                    "content": format!("<p>Reply {i}: we roll out with canary releases and watch the error budget.</p>"),
                    "published": published,
                },
            });
            signed_post(&inbox, activity.to_string().into_bytes(), peer)
        })
        .collect()
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let began = Instant::now();
    while began.elapsed() < limit {
        if done() {
            return Some(began.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("gave up waiting for {what}");
    None
}

/// One node on one database: every workload, as (label, figure) rows in a fixed order.
async fn bench_one(options: &Options, backend: Backend) -> Vec<(String, String)> {
    let work = std::env::temp_dir().join(format!(
        "roundtable-bench-{}-{}",
        std::process::id(),
        backend.name()
    ));
    std::fs::create_dir_all(&work).expect("work directory");
    let mut db = BenchDb::create(backend, &work, &options.postgres_url).await;
    let mut node = NodeProcess::new(&options.bin, &work, &db.url);
    let mut rows = Vec::new();

    node.cli(
        &[
            "user",
            "create",
            "bench",
            "--password-stdin",
            "--email",
            "bench@example.org",
        ],
        Some("correct horse battery staple\n"),
    );
    node.cli(
        &[
            "community",
            "create",
            "practice",
            "--owner",
            "bench",
            "--title",
            "Benchmark practice",
        ],
        None,
    );
    node.cli(
        &[
            "community",
            "create",
            "fanout",
            "--owner",
            "bench",
            "--title",
            "Announcements",
        ],
        None,
    );
    let token = node.cli(
        &["token", "create", "bench", "--scopes", "read write"],
        None,
    );
    let token = token
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string();
    if options.insights_posts > 0 {
        node.cli(
            &[
                "community",
                "create",
                "big",
                "--owner",
                "bench",
                "--title",
                "Big",
            ],
            None,
        );
        let began = Instant::now();
        insights::seed(&db.url, &node, "big", options.insights_posts / 5).await;
        eprintln!(
            "seeded {} posts in {}",
            options.insights_posts,
            ms(began.elapsed())
        );
    }

    let cold = node.start().await;
    record(
        &mut rows,
        (
            "cold start (spawn → /readyz 200, migrated database)".into(),
            ms(cold),
        ),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_rss, _) = node.rss_mib();

    // Twenty threads, so the outbox page is a full one.
    let api = load::client(node.addr, 4);
    let mut thread = String::new();
    for i in 0..20 {
        let created: Value = api
            .post(format!("{}/api/roundtable/v1/communities/practice/threads", node.base))
            .bearer_auth(&token)
            .json(&json!({"title": format!("Thread {i} about deployment pipelines"), "content": "How do you **roll out**?"}))
            .send()
            .await
            .expect("create a thread")
            .json()
            .await
            .expect("thread JSON");
        if thread.is_empty() {
            thread = created["ap_id"].as_str().expect("thread ap_id").to_string();
        }
    }

    // The peer's actor joins the community.
    let peer = Peer::start().await;
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/1", peer.actor),
        "type": "Follow",
        "actor": peer.actor,
        "object": format!("{}/c/practice", node.base),
    });
    let follow = signed_post(
        &format!("{}/inbox", node.base),
        follow.to_string().into_bytes(),
        &peer,
    );
    let joined = load::run(&api, vec![follow], 1).await;
    assert!(
        joined.unexpected(202).is_empty(),
        "Follow refused: {:?}",
        joined.statuses
    );
    wait_for("the Accept of the Follow", Duration::from_secs(30), || {
        peer.counts.accepts.load(Ordering::Relaxed) > 0
    })
    .await
    .expect("the community accepted the peer");

    // Reads at concurrency 64, before the inbox load (whose deliveries would still be running).
    let n = options.get_requests;
    let c = format!("{}/c/practice", node.base);
    let reads = [
        ("GET community actor", get(&c, AP, n)),
        ("GET a post object", get(&thread, AP, n)),
        (
            "GET outbox page",
            get(&format!("{c}/outbox?page=true"), AP, n.div_ceil(5)),
        ),
        (
            "GET community HTML page",
            get(&c, "text/html", n.div_ceil(5)),
        ),
    ];
    let client = load::client(node.addr, 64);
    for (label, requests) in reads {
        // Warm the connections and the caches first.
        let _ = load::run(&client, requests[..64.min(requests.len())].to_vec(), 64).await;
        let count = requests.len();
        let outcome = load::run(&client, requests, 64).await;
        record(
            &mut rows,
            (format!("{label} ({count}, c=64)"), figure(&outcome, 200)),
        );
        if options.smoke {
            assert!(
                outcome.unexpected(200).is_empty(),
                "{label}: {:?}",
                outcome.statuses
            );
        }
    }

    if options.insights_posts > 0 {
        insights::rows(options, &node, &token, &mut rows).await;
    }
    fan_out(options, &node, &token, &mut rows).await;
    // Inbox: pre-signed replies, at two concurrencies.
    let mut accepted = 0;
    for concurrency in [32, 256] {
        let requests = replies(
            &node,
            &peer,
            &thread,
            &format!("c{concurrency}"),
            options.inbox_requests,
        );
        let client = load::client(node.addr, concurrency);
        let outcome = load::run(&client, requests, concurrency).await;
        accepted += outcome.statuses.get(&202).copied().unwrap_or(0);
        record(
            &mut rows,
            (
                format!(
                    "inbox: {} signed replies, c={concurrency}",
                    options.inbox_requests
                ),
                figure(&outcome, 202),
            ),
        );
        if options.smoke {
            assert!(outcome.unexpected(202).is_empty(), "{:?}", outcome.statuses);
        }
    }
    // The community announces every reply to its follower, the peer, one at a time (a peer
    // receives its activities in order).
    let before = peer.counts.announces.load(Ordering::Relaxed);
    let drained = wait_for(
        "the announces",
        Duration::from_secs(options.drain_secs),
        || peer.counts.announces.load(Ordering::Relaxed) >= accepted,
    )
    .await;
    record(
        &mut rows,
        (
            "announces of those replies to the one peer, after the load (in order)".into(),
            match drained {
                Some(t) => {
                    let remaining = accepted.saturating_sub(before);
                    format!(
                        "{remaining} left after the load, delivered in {} ({:.0}/s)",
                        ms(t),
                        remaining as f64 / t.as_secs_f64().max(0.001)
                    )
                }
                None => format!(
                    "{} of {accepted} delivered {} s after the load",
                    peer.counts.announces.load(Ordering::Relaxed),
                    options.drain_secs
                ),
            },
        ),
    );

    let (rss, peak) = node.rss_mib();
    record(
        &mut rows,
        (
            "RSS idle / after the load (peak)".into(),
            format!("{idle_rss:.0} MiB / {rss:.0} MiB ({peak:.0} MiB)"),
        ),
    );
    node.stop();
    db.drop_database().await;
    let _ = std::fs::remove_dir_all(&work);
    rows
}

/// One thread of the community `fanout` delivered to 10, 100, 1,000 followers on as many
/// hosts, timed from the API call that posts it until every receiver verified its delivery.
async fn fan_out(
    options: &Options,
    node: &NodeProcess,
    token: &str,
    rows: &mut Vec<(String, String)>,
) {
    let Some(&most) = options.fanout.iter().max() else {
        return;
    };
    let keys = generate_key_pair().expect("receiver keys");
    let private = PrivateKey::from_pem(&keys.private_pem).expect("receiver key");
    let receivers = fanout::Receivers::start(most, &keys).await;
    let tally = receivers.tally.clone();
    let api = load::client(node.addr, 32);
    let community = format!("{}/c/fanout", node.base);
    let doc: Value = api
        .get(&community)
        .header(ACCEPT, AP)
        .send()
        .await
        .expect("community actor")
        .json()
        .await
        .expect("community JSON");
    let pem = doc["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap_or_default();
    let _ = tally
        .community_key
        .set(PublicKey::from_pem(pem).expect("the community's key"));
    let mut following = 0;
    let mut sizes = options.fanout.clone();
    sizes.sort_unstable();
    for n in sizes {
        let follows = receivers.actors[following..n]
            .iter()
            .map(|actor| {
                let follow = json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{actor}/follows/fanout"),
                    "type": "Follow",
                    "actor": actor,
                    "object": community,
                });
                signed_by(
                    &format!("{}/inbox", node.base),
                    follow.to_string().into_bytes(),
                    &format!("{actor}#main-key"),
                    &private,
                )
            })
            .collect();
        let joined = load::run(&api, follows, 32).await;
        assert!(
            joined.unexpected(202).is_empty(),
            "Follows: {:?}",
            joined.statuses
        );
        following = n;
        wait_for(
            "the Accepts of the follows",
            Duration::from_secs(300),
            || tally.accepts.load(Ordering::Relaxed) >= n,
        )
        .await;
        let marker = format!("fan-out marker {n}");
        if let Ok(mut watch) = tally.watch.lock() {
            *watch = marker.clone();
        }
        if let Ok(mut hosts) = tally.verified.lock() {
            hosts.clear();
        }
        tally.refused.store(0, Ordering::Relaxed);
        let began = Instant::now();
        let posted = api
            .post(format!(
                "{}/api/roundtable/v1/communities/fanout/threads",
                node.base
            ))
            .bearer_auth(token)
            .json(&json!({"title": marker, "content": "Release notes for everyone."}))
            .send()
            .await
            .expect("post the thread");
        assert!(posted.status().is_success(), "thread: {}", posted.status());
        let done = wait_for("the fan-out", Duration::from_secs(600), || {
            tally.verified() >= n
        })
        .await;
        let refused = tally.refused.load(Ordering::Relaxed);
        record(
            rows,
            (
                format!("fan-out of one thread to {n} receivers, each signature verified"),
                match done {
                    Some(_) => {
                        let t = began.elapsed();
                        let mut text = ms(t);
                        if refused > 0 {
                            text.push_str(&format!(" ({refused} failed verification)"));
                        }
                        text
                    }
                    None => format!("{} of {n} after 600 s", tally.verified()),
                },
            ),
        );
    }
}

/// Adds a row, and shows it at once on stderr (the table comes at the end).
fn record(rows: &mut Vec<(String, String)>, row: (String, String)) {
    eprintln!("{}: {}", row.0, row.1);
    rows.push(row);
}
