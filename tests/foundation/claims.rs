//! The delivery queue's claim with many hosts: per-host order with one job in flight per host,
//! leases that expire, dead peers skipped, and query plans that read indexes, not the queue.
//! The node's workers poll once an hour and are never woken (they look once at start, before a
//! test queues anything): each test drives the queue by hand on its own clock.

use crate::harness::{on_postgres, quiet_env, Node, NodeOptions};
use roundtable::db::{
    queue::{Finished, NewJob},
    Db, DeliveryJob,
};
use std::collections::{BTreeMap, BTreeSet};

/// A node whose workers stay idle, and the id of a local actor to sign its jobs.
async fn node() -> (Node, i64) {
    let a = Node::start_with(NodeOptions {
        env: quiet_env(),
        ..Default::default()
    })
    .await;
    let alice = a.user("alice").await;
    (a, alice.id)
}

fn job(signer: i64, n: usize, host: &str) -> NewJob {
    NewJob {
        activity_id: format!("https://a.example/activities/{n}"),
        signer_actor_id: signer,
        inbox: format!("https://{host}/inbox"),
        host: host.to_string(),
        body: "{}".into(),
        kind: "Create".into(),
        audience: None,
    }
}

async fn enqueue(db: &Db, jobs: Vec<NewJob>) {
    db.enqueue(jobs)
        .await
        .expect("enqueue")
        .wake(&tokio::sync::Notify::new());
}

/// Far enough ahead that every job queued now is due.
fn later() -> i64 {
    roundtable::db::now_ms() + 365 * 86_400_000
}

const LEASE: i64 = 60_000;

#[tokio::test]
async fn many_hosts_get_their_jobs_in_order_one_at_a_time() {
    let (a, signer) = node().await;
    let db = &a.state.db;
    let hosts: Vec<String> = (0..40).map(|h| format!("h{h}.example")).collect();
    // 25 jobs per host, queued interleaved across hosts in batches of 50.
    let mut n = 0;
    let mut batch = Vec::new();
    for _ in 0..25 {
        for host in &hosts {
            n += 1;
            batch.push(job(signer, n, host));
            if batch.len() == 50 {
                enqueue(db, std::mem::take(&mut batch)).await;
            }
        }
    }
    enqueue(db, batch).await;
    let mut expected: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for j in db.delivery_jobs().await.expect("jobs") {
        expected.entry(j.host.clone()).or_default().push(j.id);
    }
    assert_eq!(expected.len(), 40);
    assert!(expected.values().all(|ids| ids.len() == 25));

    let mut clock = later();
    let mut in_flight: BTreeMap<String, DeliveryJob> = BTreeMap::new();
    let mut delivered: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut seed = 7u64;
    let mut rounds = 0;
    while delivered.values().map(Vec::len).sum::<usize>() < 1000 {
        rounds += 1;
        assert!(rounds < 5000, "the queue drains");
        clock += 1000;
        // Three workers claim up to 8 jobs each.
        for w in 0..3 {
            let jobs = db
                .claim_jobs(&format!("w{w}"), clock, clock + LEASE, 8)
                .await
                .expect("claim");
            assert!(jobs.len() <= 8);
            for j in jobs {
                let done = delivered.get(&j.host).map_or(0, Vec::len);
                assert_eq!(
                    j.id, expected[&j.host][done],
                    "only a host's oldest pending job is claimed"
                );
                assert!(
                    in_flight.insert(j.host.clone(), j).is_none(),
                    "never two jobs of one host in flight"
                );
            }
        }
        // About half of what is in flight ends: mostly delivered (recorded together, as a
        // worker records its batch), sometimes retried later.
        let mut ended = Vec::new();
        let hosts_in_flight: Vec<String> = in_flight.keys().cloned().collect();
        for host in hosts_in_flight {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let roll = (seed >> 33) % 10;
            if roll < 5 {
                continue;
            }
            let j = in_flight.remove(&host).expect("in flight");
            if roll == 9 {
                db.retry_job(&j, "503", clock + 3000, clock, i64::MAX / 4)
                    .await
                    .expect("retry");
            } else {
                delivered.entry(host).or_default().push(j.id);
                ended.push(j);
            }
        }
        db.finish_jobs(&delivered_all(&ended), clock)
            .await
            .expect("finish");
    }
    assert_eq!(delivered, expected, "every job once, each host in order");
    assert!(db
        .claim_jobs("w", clock + 10 * LEASE, clock + 11 * LEASE, 8)
        .await
        .expect("claim")
        .is_empty());
    assert_eq!(
        db.job_counts().await.expect("counts"),
        vec![("delivered".to_string(), 1000)]
    );
}

/// A worker's batch is recorded in a fixed number of statements, however many hosts it sent
/// to: a fan-out to 1,000 receivers no longer pays five statements per receiver.
#[tokio::test]
async fn a_batch_of_outcomes_is_recorded_in_a_few_statements() {
    let (a, signer) = node().await;
    let db = &a.state.db;
    // 30 hosts with one job each, and one host with two more behind its head.
    let mut jobs: Vec<NewJob> = (0..30)
        .map(|n| job(signer, n, &format!("f{n}.example")))
        .collect();
    jobs.extend((30..33).map(|n| job(signer, n, "busy.example")));
    enqueue(db, jobs).await;
    let clock = later();
    let claimed = db
        .claim_jobs("w", clock, clock + LEASE, 64)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 31, "every host's head, one of busy's three");
    let (refused, sent) = claimed.split_at(1);
    let mut finished = delivered_all(sent);
    finished.push(Finished {
        job: &refused[0],
        delivered: false,
        error: Some("410 Gone".into()),
    });
    let before = db.query_count();
    db.finish_jobs(&finished, clock).await.expect("finish");
    let spent = db.query_count() - before;
    // The delivered jobs, the refused one, the hosts' heads, their next jobs, one update of
    // busy's head, the emptied hosts' rows, the peers: 7 (31 × 5 recorded one by one).
    assert!(spent <= 7, "{spent} statements for 31 outcomes");
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for j in db.delivery_jobs().await.expect("jobs") {
        *states.entry(j.state).or_default() += 1;
    }
    assert_eq!(
        states,
        BTreeMap::from([
            ("delivered".to_string(), 30),
            ("failed".to_string(), 1),
            ("pending".to_string(), 2)
        ])
    );
    let failed = db
        .delivery_jobs()
        .await
        .expect("jobs")
        .into_iter()
        .find(|j| j.state == "failed")
        .expect("failed");
    assert_eq!(failed.id, refused[0].id);
    assert_eq!(failed.last_error.as_deref(), Some("410 Gone"));
    // The delivered hosts are healthy peers; only busy's next job is offered now, then its last.
    for job in sent {
        let peer = db.peer(&job.host).await.expect("peer").expect("recorded");
        assert_eq!(peer.last_success_at, Some(clock), "{}", job.host);
    }
    let next = db
        .claim_jobs("w", clock + 1, clock + 1 + LEASE, 64)
        .await
        .expect("claim");
    let busy: Vec<i64> = claimed_ids(db, "busy.example").await;
    assert_eq!(next.iter().map(|j| j.id).collect::<Vec<_>>(), [busy[1]]);
    db.finish_job(&next[0], "delivered", None, clock + 2)
        .await
        .expect("finish");
    let last = db
        .claim_jobs("w", clock + 3, clock + 3 + LEASE, 64)
        .await
        .expect("claim");
    assert_eq!(last.iter().map(|j| j.id).collect::<Vec<_>>(), [busy[2]]);
}

/// Each of `jobs` delivered.
fn delivered_all(jobs: &[DeliveryJob]) -> Vec<Finished<'_>> {
    jobs.iter()
        .map(|job| Finished {
            job,
            delivered: true,
            error: None,
        })
        .collect()
}

/// The ids of `host`'s jobs, oldest first.
async fn claimed_ids(db: &Db, host: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = db
        .delivery_jobs()
        .await
        .expect("jobs")
        .into_iter()
        .filter(|j| j.host == host)
        .map(|j| j.id)
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn an_expired_lease_is_claimed_again() {
    let (a, signer) = node().await;
    let db = &a.state.db;
    enqueue(
        db,
        vec![
            job(signer, 1, "peer.example"),
            job(signer, 2, "peer.example"),
        ],
    )
    .await;
    let t0 = later();
    let first = db
        .claim_job("crashing", t0, t0 + LEASE)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(first.attempts, 1);
    assert!(
        db.claim_job("other", t0 + 1000, t0 + 1000 + LEASE)
            .await
            .expect("claim")
            .is_none(),
        "the host is leased: neither its head nor the job behind it is offered"
    );
    // The worker never reports back; its lease ends and the same job is taken over.
    let t1 = t0 + LEASE + 1;
    let again = db
        .claim_job("other", t1, t1 + LEASE)
        .await
        .expect("claim")
        .expect("taken over");
    assert_eq!(again.id, first.id);
    assert_eq!(again.attempts, 2);
    assert_eq!(again.locked_by.as_deref(), Some("other"));
    assert!(db
        .claim_job("third", t1 + 1, t1 + 1 + LEASE)
        .await
        .expect("claim")
        .is_none());
    // The crashed worker's late report does not move the host's head twice.
    db.finish_job(&again, "delivered", None, t1 + 2)
        .await
        .expect("finish");
    db.finish_job(&first, "delivered", None, t1 + 3)
        .await
        .expect("late finish");
    let second = db
        .claim_job("other", t1 + 4, t1 + 4 + LEASE)
        .await
        .expect("claim")
        .expect("next job");
    assert!(second.id > first.id);
    assert!(db
        .claim_job("third", t1 + 5, t1 + 5 + LEASE)
        .await
        .expect("claim")
        .is_none());
}

#[tokio::test]
async fn a_dead_hosts_jobs_are_skipped_until_it_comes_back() {
    let (a, signer) = node().await;
    let db = &a.state.db;
    let mut jobs = Vec::new();
    for n in 0..6 {
        let host = if n % 2 == 0 {
            "dead.example"
        } else {
            "live.example"
        };
        jobs.push(job(signer, n, host));
    }
    enqueue(db, jobs).await;
    let t0 = later();
    let claimed = db.claim_jobs("w", t0, t0 + LEASE, 8).await.expect("claim");
    assert_eq!(claimed.len(), 2, "one head per host");
    for j in &claimed {
        if j.host == "dead.example" {
            // Failing for longer than `dead_after` (here: at once) marks the peer dead.
            assert!(db
                .retry_job(j, "refused", t0 + 10, t0, 0)
                .await
                .expect("retry"));
        } else {
            db.finish_job(j, "delivered", None, t0)
                .await
                .expect("finish");
        }
    }
    let mut live = 1;
    let mut t = t0;
    loop {
        t += 86_400_000;
        let claimed = db.claim_jobs("w", t, t + LEASE, 8).await.expect("claim");
        if claimed.is_empty() {
            break;
        }
        for j in claimed {
            assert_eq!(j.host, "live.example", "a dead peer's jobs are held");
            db.finish_job(&j, "delivered", None, t)
                .await
                .expect("finish");
            live += 1;
        }
    }
    assert_eq!(live, 3);

    // It contacts us: its jobs are due at once, in order, the first one retried.
    db.peer_contacted("dead.example").await.expect("contact");
    let now = roundtable::db::now_ms();
    let mut order = Vec::new();
    while let Some(j) = db.claim_job("w", now, now + LEASE).await.expect("claim") {
        assert_eq!(j.host, "dead.example");
        order.push((j.id, j.attempts));
        db.finish_job(&j, "delivered", None, now)
            .await
            .expect("finish");
    }
    assert_eq!(order.len(), 3);
    assert_eq!(order[0].1, 2, "the failed head is tried again first");
    assert!(order.windows(2).all(|w| w[0].0 < w[1].0));
}

#[tokio::test]
async fn the_claim_reads_indexes_not_the_queue() {
    let (a, signer) = node().await;
    let db = &a.state.db;
    // 20,000 pending jobs for 1,000 hosts.
    let mut n = 0;
    for _ in 0..20 {
        let mut batch = Vec::new();
        for h in 0..1000 {
            n += 1;
            batch.push(job(signer, n, &format!("h{h}.example")));
        }
        enqueue(db, batch).await;
    }
    let plans = db.claim_plans().await.expect("plans");
    let text = plans.join("\n");
    // One plan per statement: leasing the due hosts, marking their heads, finding a host's
    // next head.
    let statements: Vec<String> = text
        .split("\n\n")
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
        .collect();
    assert_eq!(statements.len(), 3, "{text}");
    let (hosts, heads, next) = (&statements[0], &statements[1], &statements[2]);
    assert!(
        hosts.contains("delivery_hosts_due"),
        "due hosts from their index:\n{text}"
    );
    if on_postgres() {
        assert!(
            !text.contains("Seq Scan"),
            "no statement scans a table:\n{text}"
        );
        assert!(
            heads.contains("delivery_jobs_pkey"),
            "heads by primary key:\n{text}"
        );
        assert!(
            next.contains("delivery_jobs_state_host") && next.contains("host)::text ="),
            "a host's next head is one index lookup by state and host:\n{text}"
        );
    } else {
        for line in &plans {
            assert!(
                !line.starts_with("SCAN") || line.contains("INDEX"),
                "no statement scans a table ({line}):\n{text}"
            );
        }
        assert!(
            heads.contains("PRIMARY KEY"),
            "heads by primary key:\n{text}"
        );
        assert!(
            next.contains("delivery_jobs_state_host (state=? AND host=?)"),
            "a host's next head is one index lookup by state and host:\n{text}"
        );
    }

    // And the claim at this size: eight hosts' heads.
    let mut heads: BTreeMap<String, i64> = BTreeMap::new();
    for j in db.delivery_jobs().await.expect("jobs") {
        heads.entry(j.host).or_insert(j.id);
    }
    assert_eq!(heads.len(), 1000);
    let t = later();
    let jobs = db.claim_jobs("w", t, t + LEASE, 8).await.expect("claim");
    assert_eq!(jobs.len(), 8);
    let hosts: BTreeSet<&str> = jobs.iter().map(|j| j.host.as_str()).collect();
    assert_eq!(hosts.len(), 8, "eight different hosts");
    assert!(
        jobs.iter().all(|j| heads[&j.host] == j.id),
        "each a host's first job"
    );
}
