//! Every figure of a community's insights over March 2026, computed by hand, from a seeded
//! three-node scenario: `practice` on alpha (olga, ana), with bert and bea on beta and gina
//! on gamma. The API cannot backdate, so the scenario's threads, replies, article revisions,
//! events and RSVPs are written with chosen times directly through `roundtable::db` on alpha
//! (the community's node), and the memberships' join times are set with SQL; the figures are
//! then read through the API as any member would.

use crate::discussions::federation::three_nodes;
use chrono::{NaiveDate, NaiveTime};
use roundtable::db::articles::{NewArticle, NewRevision};
use roundtable::db::discussions::{NewMembership, NewPost, Post};
use roundtable::db::Db;
use roundtable::domain::{EventStatus, JoinMode, MemberState, Role, RsvpState};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;
use std::collections::BTreeMap;

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

fn day(text: &str) -> i64 {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .expect("date")
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
}

struct Seed<'a> {
    db: &'a Db,
    community: String,
    base: String,
}

impl Seed<'_> {
    async fn post(
        &self,
        key: &str,
        author: &str,
        thread: Option<&Post>,
        published: i64,
        content: &str,
    ) -> Post {
        let (post, _) = self
            .db
            .insert_post(NewPost {
                ap_id: format!("{}/p/{key}", self.base),
                community: self.community.clone(),
                author: author.to_string(),
                thread_id: thread.map(|t| t.id),
                parent_id: thread.map(|t| t.id),
                title: thread.is_none().then(|| format!("Question {key}")),
                content: content.to_string(),
                source: None,
                summary: None,
                published,
                updated: None,
                local: false,
                signed_object: None,
                mentions: Vec::new(),
                attachments: Vec::new(),
            })
            .await
            .expect("post");
        post
    }

    async fn article(&self, key: &str, author: &str, at: i64, interval: Option<i32>) -> String {
        let ap_id = format!("{}/a/{key}", self.base);
        self.db
            .insert_article(
                NewArticle {
                    ap_id: ap_id.clone(),
                    community: self.community.clone(),
                    slug: key.to_string(),
                    review_interval_days: interval,
                    local: true,
                },
                revision(key, 1, None, author, at),
                Vec::new(),
            )
            .await
            .expect("article")
            .wake(&tokio::sync::Notify::new());
        ap_id
    }

    async fn edit(&self, ap_id: &str, seq: i32, author: &str, at: i64) {
        let article = self
            .db
            .article_by_ap_id(ap_id)
            .await
            .expect("db")
            .expect("article");
        let head = article.current_rev.clone();
        let done = self
            .db
            .append_revision(
                &article,
                &head,
                revision(&article.slug, seq, Some(head.clone()), author, at),
                None,
                Vec::new(),
            )
            .await
            .expect("revision")
            .wake(&tokio::sync::Notify::new());
        assert!(done);
    }

    async fn event(&self, key: &str, starts: i64, capacity: Option<i32>, cancelled: bool) -> i64 {
        let event = roundtable::db::events::Event {
            id: 0,
            ap_id: format!("{}/e/{key}", self.base),
            community: self.community.clone(),
            organizer: format!("{}/u/olga", self.base),
            title: format!("Meetup {key}"),
            description: String::new(),
            starts_at: starts,
            ends_at: starts + 2 * H,
            timezone: "UTC".into(),
            place_name: None,
            place_address: None,
            latitude: None,
            longitude: None,
            online_url: None,
            capacity,
            join_mode: JoinMode::Free,
            external_url: None,
            status: if cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            },
            category: None,
            participant_count: 0,
            sequence: 0,
            local: true,
            created_at: starts - 10 * D,
            updated_at: starts - 10 * D,
        };
        self.db
            .save_event(event, Vec::new())
            .await
            .expect("event")
            .wake(&tokio::sync::Notify::new())
            .id
    }
}

fn revision(key: &str, seq: i32, parent: Option<String>, author: &str, at: i64) -> NewRevision {
    NewRevision {
        rev_id: format!("rev-{key}-{seq}"),
        parent_rev: parent,
        author: author.to_string(),
        message: String::new(),
        title: format!("Article {key}"),
        content: format!("Version {seq}"),
        edit_id: None,
        created_at: at,
    }
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

#[tokio::test]
async fn every_figure_of_a_seeded_three_node_month() {
    let t = three_nodes().await;
    let db = &t.alpha.state.db;
    let base = t.olga.node_base.clone();
    let seed = Seed {
        db,
        community: format!("{base}/c/practice"),
        base: base.clone(),
    };
    let (alpha, beta, gamma) = (
        t.alpha.domain.clone(),
        t.beta.domain.clone(),
        t.gamma.domain.clone(),
    );
    let olga = t.olga.ap_id();
    let bert = t.bert.ap_id();
    let gina = t.gina.ap_id();
    let ana = format!("{base}/u/ana");
    let bea = format!("{}/u/bea", t.bert.node_base);
    // March 2026: Monday 2 … Sunday 29, four ISO weeks (W10–W13); the window ends on the 30th.
    let t0 = day("2026-03-02");
    let end = day("2026-03-30");

    // Memberships: olga and bert from before; gina, bea and ana join in March.
    for who in [&ana, &bea] {
        db.upsert_membership(NewMembership {
            community: seed.community.clone(),
            actor: who.clone(),
            user_id: None,
            role: Role::Member,
            state: MemberState::Accepted,
            follow_id: None,
            inbox: None,
        })
        .await
        .expect("membership");
    }
    let conn = Database::connect(t.alpha.db.url.as_str())
        .await
        .expect("db");
    let backend = conn.get_database_backend();
    for (who, at) in [
        (&olga, day("2026-01-10")),
        (&bert, day("2026-02-01")),
        (&gina, t0 + D),
        (&bea, t0 + 2 * D),
        (&ana, t0 + 9 * D),
    ] {
        conn.execute_raw(Statement::from_string(
            backend,
            format!("UPDATE memberships SET created_at = {at} WHERE actor = '{who}'"),
        ))
        .await
        .expect("backdate membership");
    }

    // Knowledge base: K1 (olga, February; reviewed March 10, every 30 days) edited by bert
    // and gina in March; K2 written by ana in March, due every 7 days, never reviewed; K3
    // (January; reviewed February 27, no interval); K4 written after the window.
    let k1 = seed.article("k1", &olga, day("2026-02-10"), Some(30)).await;
    seed.edit(&k1, 2, &bert, t0 + 4 * D).await;
    seed.edit(&k1, 3, &gina, t0 + 9 * D).await;
    let k2 = seed.article("k2", &ana, t0 + 14 * D, Some(7)).await;
    let k3 = seed.article("k3", &olga, day("2026-01-05"), None).await;
    seed.article("k4", &olga, day("2026-04-02"), Some(1)).await;
    for (ap_id, at) in [(&k1, t0 + 8 * D), (&k3, day("2026-02-27"))] {
        let article = db.article_by_ap_id(ap_id).await.expect("db").expect("a");
        db.record_review(article.id, &olga, at, None)
            .await
            .expect("review");
    }

    // Threads and replies (a reply's parent is its thread).
    let q0 = seed.post("q0", &bert, None, day("2026-02-20"), "old").await;
    let q1 = seed.post("q1", &bert, None, t0 + D, "keys?").await;
    let gone = seed
        .post("r0", &gina, Some(&q1), t0 + D + H, "deleted")
        .await;
    db.mark_post_deleted(gone.id).await.expect("delete");
    let r1 = seed
        .post("r1", &gina, Some(&q1), t0 + 2 * D, "use the CLI")
        .await;
    seed.post("r2", &olga, Some(&q1), t0 + 2 * D + 2 * H, "same")
        .await;
    seed.post("r3", &bert, Some(&q1), t0 + 2 * D + 3 * H, "thanks")
        .await;
    let q2_text = format!("<p>See <a href=\"{k1}\">key rotation</a></p>");
    let q2 = seed.post("q2", &olga, None, t0 + 3 * D, &q2_text).await;
    seed.post("r4", &olga, Some(&q2), t0 + 3 * D + H, "more")
        .await;
    let r5_text = "<a href=\"https://elsewhere.example/a/nothing\">x</a>";
    seed.post("r5", &bert, Some(&q2), t0 + 3 * D + 5 * H, r5_text)
        .await;
    let r6 = seed.post("r6", &gina, Some(&q2), t0 + 4 * D, "this").await;
    let q3 = seed.post("q3", &gina, None, t0 + 6 * D, "slow one").await;
    seed.post("r7", &olga, Some(&q3), t0 + 16 * D, "late").await;
    let q4 = seed.post("q4", &ana, None, t0 + 13 * D, "nobody?").await;
    seed.post("r9", &olga, Some(&q4), day("2026-03-31"), "after")
        .await;
    seed.post("q5", &bert, None, t0 + 25 * D, "recent").await;
    let r8_text = format!("<a href=\"{k2}\">onboarding</a>");
    seed.post("r8", &olga, Some(&q0), t0 + 20 * D, &r8_text)
        .await;
    db.set_answer(q1.id, Some(r1.id)).await.expect("answer");
    db.set_answer(q2.id, Some(r6.id)).await.expect("answer");

    // Events: E1 (capacity 10) and E2 held, E3 cancelled, E4 after the window. RSVPs are
    // given the day before each event.
    let e1 = seed.event("e1", t0 + 5 * D, Some(10), false).await;
    let e2 = seed.event("e2", t0 + 12 * D, None, false).await;
    let e3 = seed.event("e3", t0 + 19 * D, Some(5), true).await;
    let e4 = seed.event("e4", day("2026-04-05"), Some(3), false).await;
    let rsvps = [
        (e1, &olga, RsvpState::Going),
        (e1, &bert, RsvpState::Going),
        (e1, &gina, RsvpState::Going),
        (e1, &bea, RsvpState::Waitlisted),
        (e2, &bert, RsvpState::Going),
        (e2, &gina, RsvpState::Going),
        (e2, &ana, RsvpState::Going),
        (e3, &olga, RsvpState::Going),
        (e4, &olga, RsvpState::Going),
    ];
    for (event, who, state) in rsvps {
        db.set_participant(event, who, None, state, None)
            .await
            .expect("rsvp");
    }
    for (event, at) in [
        (e1, t0 + 4 * D),
        (e2, t0 + 11 * D),
        (e3, t0 + 18 * D),
        (e4, day("2026-04-04")),
    ] {
        conn.execute_raw(Statement::from_string(
            backend,
            format!("UPDATE event_participants SET created_at = {at} WHERE event_id = {event}"),
        ))
        .await
        .expect("backdate rsvps");
    }
    conn.close().await.ok();

    let (status, i) = t
        .olga
        .get("/communities/practice/insights?from=2026-03-02&to=2026-03-29")
        .await;
    assert_eq!(status, 200, "{i}");
    assert_eq!(i["window"]["from"], "2026-03-02T00:00:00Z", "{i}");
    assert_eq!(i["window"]["to"], "2026-03-30T00:00:00Z", "{i}");
    assert_eq!(i["window"]["label"], "2026-03-02..2026-03-29", "{i}");
    assert_eq!(end, day("2026-03-30"));

    // Organizations: members alpha 2 (olga, ana), beta 2 (bert, bea), gamma 1 (gina).
    // Threads q1–q5: alpha q2, q4; beta q1, q5; gamma q3. Replies r1–r8 (r0 deleted, r9 after
    // the window): alpha r2, r4, r7, r8; beta r3, r5; gamma r1, r6. Revisions in March: K1 #2
    // (beta), K1 #3 (gamma), K2 #1 (alpha). Going RSVPs to events starting in March (E1–E3):
    // alpha olga ×2, ana; beta bert ×2; gamma gina ×2.
    let o = &i["organizations"];
    assert_eq!(o["member_nodes"], 3, "{o}");
    assert_eq!(o["contributing_nodes"], 3, "{o}");
    let nodes: BTreeMap<String, &Value> = o["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| (n["node"].as_str().expect("node").to_string(), n))
        .collect();
    assert_eq!(nodes.len(), 3, "{o}");
    for (node, counts, shares) in [
        (&alpha, [2, 2, 4, 1, 3], [0.4, 0.5, 1.0 / 3.0, 3.0 / 7.0]),
        (&beta, [2, 2, 2, 1, 2], [0.4, 0.25, 1.0 / 3.0, 2.0 / 7.0]),
        (&gamma, [1, 1, 2, 1, 2], [0.2, 0.25, 1.0 / 3.0, 2.0 / 7.0]),
    ] {
        let n = nodes[node.as_str()];
        let got: Vec<u64> = ["members", "threads", "replies", "edits", "rsvps"]
            .iter()
            .map(|k| n[k].as_u64().expect("count"))
            .collect();
        assert_eq!(got, counts.map(|c| c as u64), "{node}: {n}");
        let got: Vec<Option<f64>> = [
            "threads_share",
            "replies_share",
            "edits_share",
            "rsvps_share",
        ]
        .iter()
        .map(|k| f(&n[k]))
        .collect();
        assert_eq!(got, shares.map(Some), "{node}: {n}");
    }

    // Exchange: of 8 replies, r3 (bert in bert's q1) and r4 (olga in olga's q2) stay home.
    let x = &i["exchange"];
    assert_eq!(
        (x["replies"].as_u64(), x["cross_node_replies"].as_u64()),
        (Some(8), Some(6)),
        "{x}"
    );
    assert_eq!(f(&x["cross_node_share"]), Some(0.75), "{x}");
    let matrix: BTreeMap<(String, String), u64> = x["matrix"]
        .as_array()
        .expect("matrix")
        .iter()
        .map(|c| {
            (
                (
                    c["from"].as_str().expect("from").to_string(),
                    c["to"].as_str().expect("to").to_string(),
                ),
                c["replies"].as_u64().expect("n"),
            )
        })
        .collect();
    let expected: BTreeMap<(String, String), u64> = [
        (&alpha, &alpha, 1), // r4
        (&alpha, &beta, 2),  // r2, r8
        (&alpha, &gamma, 1), // r7
        (&beta, &alpha, 1),  // r5
        (&beta, &beta, 1),   // r3
        (&gamma, &alpha, 1), // r6
        (&gamma, &beta, 1),  // r1
    ]
    .into_iter()
    .map(|(a, b, n)| ((a.clone(), b.clone()), n))
    .collect();
    assert_eq!(matrix, expected, "{x}");

    // Questions: q1 answered by gina after 24 h (r0, earlier, is deleted) and solved by r1
    // (24 h); q2 answered by bert after 5 h (olga's own r4 is no answer), solved by r6 (24 h);
    // q3 answered after 10 days; q4 never (r9 is after the window); q5 not yet.
    let q = &i["questions"];
    assert_eq!(
        (
            q["opened"].as_u64(),
            q["answered"].as_u64(),
            q["solved"].as_u64()
        ),
        (Some(5), Some(3), Some(2)),
        "{q}"
    );
    // First answers: 5 h, 24 h, 240 h → median 24 h, p90 (nearest rank 3 of 3) 240 h.
    assert_eq!(f(&q["first_answer_median_secs"]), Some(86_400.0), "{q}");
    assert_eq!(f(&q["first_answer_p90_secs"]), Some(864_000.0), "{q}");
    assert_eq!(f(&q["solution_median_secs"]), Some(86_400.0), "{q}");
    assert_eq!(f(&q["solution_p90_secs"]), Some(86_400.0), "{q}");
    // Waited more than a week: q3 (10 days) and q4 (15 days, none); q5 is 3 days old.
    let waited: Vec<&str> = q["unanswered_after_7_days"]
        .as_array()
        .expect("list")
        .iter()
        .map(|u| u["ap_id"].as_str().expect("ap_id"))
        .collect();
    assert_eq!(waited, [q3.ap_id.as_str(), q4.ap_id.as_str()], "{q}");
    assert_eq!(q["unanswered_after_7_days"][0]["title"], "Question q3");
    assert_eq!(
        q["unanswered_after_7_days"][1]["published"],
        "2026-03-15T00:00:00Z"
    );

    // Hero risk: answers (replies in someone else's thread) r1, r2, r5, r6, r7, r8: olga 3,
    // gina 2, bert 1.
    let h = &i["hero_risk"];
    assert_eq!(h["answers"], 6, "{h}");
    assert_eq!(f(&h["top1_share"]), Some(0.5), "{h}");
    assert_eq!(f(&h["top3_share"]), Some(1.0), "{h}");
    assert_eq!(h["members_for_half"], 1, "{h}");
    let top: Vec<(&str, u64)> = h["top"]
        .as_array()
        .expect("top")
        .iter()
        .map(|a| {
            (
                a["actor"].as_str().expect("actor"),
                a["answers"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        top,
        [(olga.as_str(), 3), (gina.as_str(), 2), (bert.as_str(), 1)]
    );

    // Knowledge: K1–K3 exist at the window's end; K2 created; K1 edited; editors bert, gina,
    // ana on three nodes; K2 overdue (due March 23) and never reviewed; days since review
    // K1 20, K3 31 → median 25.5; q2 links to K1, r8 to K2 (r5's link is elsewhere).
    let k = &i["knowledge"];
    let counts: Vec<u64> = [
        "articles",
        "created",
        "edited",
        "editors",
        "editing_nodes",
        "overdue_for_review",
        "never_reviewed",
        "reuse_threads",
        "reuse_replies",
    ]
    .iter()
    .map(|key| k[key].as_u64().expect("count"))
    .collect();
    assert_eq!(counts, [3, 1, 1, 3, 3, 1, 1, 1, 1], "{k}");
    assert_eq!(f(&k["median_days_since_review"]), Some(25.5), "{k}");

    // Newcomers: gina (joined the 3rd, replied the 4th: 1 day), bea (nothing), ana (joined
    // the 11th, RSVP'd the 13th: 2 days).
    let n = &i["newcomers"];
    assert_eq!(
        (n["joined"].as_u64(), n["contributed"].as_u64()),
        (Some(3), Some(2)),
        "{n}"
    );
    assert_eq!(f(&n["contributed_share"]), Some(2.0 / 3.0), "{n}");
    assert_eq!(f(&n["median_days_to_first_contribution"]), Some(1.5), "{n}");

    // Events: E1 and E2 held; 6 going (bea waitlisted); E1's 10 seats hold 3; bert and gina
    // went twice; people of three nodes went.
    let e = &i["events"];
    let counts: Vec<u64> = [
        "held",
        "attendance",
        "capacity",
        "attendance_with_capacity",
        "repeat_attendees",
        "attending_nodes",
    ]
    .iter()
    .map(|key| e[key].as_u64().expect("count"))
    .collect();
    assert_eq!(counts, [2, 6, 10, 3, 2, 3], "{e}");
    assert_eq!(f(&e["capacity_share"]), Some(0.3), "{e}");

    // Rhythm: W10 q1 q2 q3, r1–r6, K1 #2, E1's three RSVPs = 13; W11 q4, K1 #3, E2's three
    // = 5; W12 r7 r8, K2, E3's one = 4; W13 q5 = 1.
    let weeks: Vec<(&str, &str, u64)> = i["rhythm"]
        .as_array()
        .expect("rhythm")
        .iter()
        .map(|w| {
            (
                w["week"].as_str().expect("week"),
                w["starts"].as_str().expect("starts"),
                w["contributions"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [
            ("2026-W10", "2026-03-02", 13),
            ("2026-W11", "2026-03-09", 5),
            ("2026-W12", "2026-03-16", 4),
            ("2026-W13", "2026-03-23", 1),
        ]
    );

    super::pages::the_page_draws_the_same_figures(&t.alpha, q1.id, r1.id).await;

    // A member elsewhere reads the same figures from its own node's copy, which holds none of
    // the seeded rows: it says so with zeros, not errors.
    let (status, other) = t
        .bert
        .get(&format!(
            "/communities/{}/insights?from=2026-03-02&to=2026-03-29",
            t.handle
        ))
        .await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(other["questions"]["opened"], 0, "{other}");
}
