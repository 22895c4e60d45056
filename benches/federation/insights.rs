//! Community insights over a large community: a community of `posts` posts (a fifth threads,
//! each with four replies, by 150 people of three nodes, one thread every four minutes back
//! from now, half of them solved) written straight into the node's database with three SQL
//! statements, as `tests/insights/scale.rs` does (the API would take minutes to write so
//! many), then `GET …/insights?window=365d` timed from send to the end of the answer, one
//! request at a time.

use crate::{load, ms, node::NodeProcess, record, Options};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Writes `threads` threads with four replies each into the community `slug` of `node`.
pub async fn seed(db_url: &str, node: &NodeProcess, slug: &str, threads: usize) {
    let community = format!("{}/c/{slug}", node.base);
    let now = chrono::Utc::now().timestamp_millis();
    let conn = Database::connect(db_url)
        .await
        .expect("the node's database");
    let backend = conn.get_database_backend();
    let postgres = backend == sea_orm::DbBackend::Postgres;
    let author = |id: &str| format!("'http://n' || ({id} % 3) || '.example/u/p' || ({id} % 150)");
    let statements = [
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {threads}) \
             INSERT INTO posts (ap_id, community, author, title, content, published, local, created_at) \
             SELECT '{community}/t/' || i, '{community}', {}, 'Question ' || i, 'body ' || i, \
               {now} - 18000000 - CAST(i AS BIGINT) * 240000, 1 = 0, {now} FROM n",
            author("i")
        ),
        format!(
            "INSERT INTO posts (ap_id, community, author, thread_id, parent_id, content, published, local, created_at) \
             SELECT t.ap_id || '/r' || k.k, t.community, {}, t.id, t.id, 'answer', \
               t.published + CAST(k.k AS BIGINT) * 3600000, 1 = 0, {now} \
             FROM posts t CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k \
             WHERE t.community = '{community}' AND t.thread_id IS NULL",
            author("(t.id + k.k)")
        ),
        format!(
            "UPDATE posts SET answer_id = (SELECT MIN(r.id) FROM posts r WHERE r.thread_id = posts.id) \
             WHERE community = '{community}' AND thread_id IS NULL AND id % 2 = 0"
        ),
    ];
    for sql in statements {
        // Fresh statistics first, or PostgreSQL plans the answers' lookups as scans.
        if postgres && sql.starts_with("UPDATE") {
            analyze(&conn).await;
        }
        conn.execute_raw(Statement::from_string(backend, sql))
            .await
            .expect("seed the community");
    }
    // What autovacuum would do after such a load, so the requests meet current statistics.
    if postgres {
        analyze(&conn).await;
    } else {
        conn.execute_unprepared("ANALYZE").await.expect("analyze");
    }
    conn.close().await.ok();
}

async fn analyze(conn: &sea_orm::DatabaseConnection) {
    conn.execute_unprepared("ANALYZE posts")
        .await
        .expect("analyze");
}

/// Times `runs` requests of `path` one after another (the first one included: each request
/// computes the window afresh, as an open window is never remembered); checks every answer
/// with `check`. Returns the row's figure: median and max.
pub async fn time_requests(
    node: &NodeProcess,
    token: &str,
    path: &str,
    runs: usize,
    check: impl Fn(&Value),
) -> (String, Vec<Duration>) {
    let client = load::client(node.addr, 1);
    let url = format!("{}{path}", node.base);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let began = Instant::now();
        let answer = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("insights request");
        let status = answer.status();
        let body: Value = answer.json().await.expect("insights JSON");
        times.push(began.elapsed());
        assert!(status.is_success(), "insights: {status} {body}");
        check(&body);
    }
    let mut sorted = times.clone();
    sorted.sort();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    let max = sorted.last().copied().unwrap_or_default();
    (
        format!("median {}, max {} ({runs} runs)", ms(median), ms(max)),
        times,
    )
}

/// The community `big`'s insights: the last 365 days (an open window, computed by every
/// request), and a closed window (the 60 days before today: computed once, then remembered).
pub async fn rows(
    options: &Options,
    node: &NodeProcess,
    token: &str,
    rows: &mut Vec<(String, String)>,
) {
    let threads = options.insights_posts / 5;
    let (figure, _) = time_requests(
        node,
        token,
        "/api/roundtable/v1/communities/big/insights?window=365d",
        options.insights_runs,
        |body| {
            assert_eq!(
                body["questions"]["opened"], threads,
                "{}",
                body["questions"]
            );
            assert_eq!(body["exchange"]["replies"], 4 * threads);
            assert_eq!(body["questions"]["solved"], threads / 2);
        },
    )
    .await;
    record(
        rows,
        (
            format!(
                "insights of {} posts, `window=365d`, whole request, one at a time",
                options.insights_posts
            ),
            figure,
        ),
    );
    let today = chrono::Utc::now().date_naive();
    let path = format!(
        "/api/roundtable/v1/communities/big/insights?from={}&to={}",
        today - chrono::Days::new(60),
        today - chrono::Days::new(1)
    );
    let (_, times) = time_requests(node, token, &path, options.insights_runs + 1, |body| {
        // A small community (the smoke run) may have nothing that old.
        assert!(body["questions"]["opened"].is_u64(), "{body}");
    })
    .await;
    let mut later = times[1..].to_vec();
    later.sort();
    record(
        rows,
        (
            "the same, a closed window (60 days to yesterday): first request / the next ones"
                .into(),
            format!(
                "{} / median {}, max {}",
                ms(times[0]),
                ms(later.get(later.len() / 2).copied().unwrap_or_default()),
                ms(later.last().copied().unwrap_or_default())
            ),
        ),
    );
}
