//! A `members` community: only nodes with approved members read or receive its content, and
//! nothing names `Public`.

use super::WAIT;
use crate::harness::{eventually, fake::FakeServer, http, ApiUser, Node};
use serde_json::{json, Value};
use url::Url;

pub(crate) async fn approve(olga: &ApiUser, who: &ApiUser) {
    let pending = eventually(WAIT, "the join request reaches alpha", || async {
        let (_, m) = olga.get("/communities/board/members?state=pending").await;
        m["members"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["actor"]["ap_id"] == who.ap_id().as_str())
            .cloned()
    })
    .await;
    let (status, body) = olga
        .post(
            &format!("/communities/board/members/{}/approve", pending["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn join(user: &ApiUser, handle: &str) {
    let (status, body) = user
        .post(&format!("/communities/{handle}/join"), json!({}))
        .await;
    assert_eq!((status, body["state"].as_str()), (202, Some("pending")));
}

async fn accepted(user: &ApiUser, handle: &str) {
    eventually(WAIT, "membership accepted", || async {
        let (_, c) = user.get(&format!("/communities/{handle}")).await;
        (c["membership"]["state"] == "accepted").then_some(())
    })
    .await;
}

async fn thread(user: &ApiUser, path: &str, title: &str) -> (String, i64) {
    let (status, body) = user
        .post(
            path,
            json!({"title": title, "content": format!("{title}: confidential")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["ap_id"].as_str().expect("ap_id").to_string(),
        body["id"].as_i64().expect("id"),
    )
}

/// Every post gamma holds from the community.
async fn gamma_holds(gamma: &Node, community: &str) -> Vec<String> {
    gamma
        .state
        .db
        .threads(community, 200, None, true)
        .await
        .expect("db")
        .into_iter()
        .map(|p| p.ap_id)
        .collect()
}

/// Three nodes, each with one user (olga, bert, gina) and no community yet.
async fn three_with_users() -> (Node, Node, Node, ApiUser, ApiUser, ApiUser) {
    let (alpha, beta, gamma) = (
        Node::start().await,
        Node::start().await,
        Node::start().await,
    );
    let olga = alpha.api_user("olga").await;
    let bert = beta.api_user("bert").await;
    let gina = gamma.api_user("gina").await;
    (alpha, beta, gamma, olga, bert, gina)
}

#[tokio::test]
async fn a_members_community_reaches_only_nodes_with_approved_members() {
    let board = members_board().await;
    let threads = the_group_approves_followers_and_bert_posts(&board).await;
    announces_go_to_followers_not_public(&board).await;
    only_member_nodes_read_the_community(&board, &threads).await;
    the_api_shows_it_to_members_only(&board, &threads).await;
    gamma_holds_none_of_it(&board, &threads).await;
    let url = gamma_backfills_once_gina_is_approved(&board, &threads).await;
    gamma_stops_receiving_after_gina_leaves(&board, url).await;
    a_node_down_when_its_last_member_is_banned_gets_nothing_queued(board).await;
}

/// The group says it approves its followers and how visible it is.
async fn the_group_approves_followers_and_bert_posts(board: &Board) -> Threads {
    let Board { beta, .. } = board;
    let olga = board.olga.clone();
    let bert = board.bert.clone();
    let handle = board.handle.clone();
    let community = board.community.clone();
    let group = beta
        .state
        .fetch(&Url::parse(&community).expect("url"))
        .await
        .expect("group");
    assert_eq!(group["manuallyApprovesFollowers"], true);
    assert_eq!(group["roundtableVisibility"], "members");

    join(&bert, &handle).await;
    approve(&olga, &bert).await;
    accepted(&bert, &handle).await;
    let (olga_thread, olga_local) =
        thread(&olga, "/communities/board/threads", "Budget 2027").await;
    let (bert_thread, _) = thread(
        &bert,
        &format!("/communities/{handle}/threads"),
        "Vendor shortlist",
    )
    .await;
    for ap_id in [&olga_thread, &bert_thread] {
        eventually(WAIT, "both threads on alpha and beta", || async {
            let a = olga.thread_by_ap_id("board", ap_id).await;
            let b = bert.thread_by_ap_id(&handle, ap_id).await;
            (a.is_some() && b.is_some()).then_some(())
        })
        .await;
    }
    Threads {
        olga_thread,
        olga_local,
        bert_thread,
    }
}

/// Nothing alpha queued for the community names Public; it is addressed to followers.
async fn announces_go_to_followers_not_public(board: &Board) {
    let Board { alpha, .. } = board;
    let community = board.community.clone();
    let jobs = alpha.state.db.delivery_jobs().await.expect("jobs");
    let announces: Vec<&String> = jobs
        .iter()
        .filter(|j| j.body.contains("\"Announce\""))
        .map(|j| &j.body)
        .collect();
    assert!(!announces.is_empty());
    for body in announces {
        assert!(!body.contains("#Public"), "{body}");
        assert!(body.contains(&format!("{community}/followers")), "{body}");
    }
}

/// gamma (open federation, no member) cannot read any of it, even signing its requests.
async fn only_member_nodes_read_the_community(board: &Board, threads: &Threads) {
    let Board {
        alpha, beta, gamma, ..
    } = board;
    let community = board.community.clone();
    let olga_thread = threads.olga_thread.clone();
    let bert_thread = threads.bert_thread.clone();
    let paths = [
        olga_thread.clone(),
        format!("{community}/outbox"),
        format!("{community}/outbox?page=true"),
        format!("{community}/featured"),
        format!("{community}/moderators"),
        format!("{community}/followers"),
        format!("{community}/articles"),
        // The whole history, and a page of it (what a replica backfills from).
        format!("{community}/stream"),
        format!("{community}/stream?after=0"),
        bert_thread.clone(),
    ];
    for path in &paths {
        let url = Url::parse(path).expect("url");
        let err = gamma.state.fetch(&url).await.expect_err("gamma is refused");
        assert!(err.to_string().contains("403"), "{path}: {err}");
    }
    // Unsigned: 401; as a web page: not found, as if it did not exist. beta, a member node,
    // reads them.
    let client = http();
    let unsigned = client
        .get(&olga_thread)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("get");
    assert_eq!(unsigned.status(), 401);
    let page = client.get(&olga_thread).send().await.expect("get");
    assert_eq!(page.status(), 404);
    assert!(
        !page.text().await.expect("body").contains("olga"),
        "the page names nothing"
    );
    for path in &paths[..9] {
        let url = Url::parse(path).expect("url");
        let doc = beta.state.fetch(&url).await.expect("a member node reads");
        assert!(!doc.to_string().contains("#Public"), "{path}: {doc}");
    }
    let page = beta
        .state
        .fetch(&Url::parse(&paths[8]).expect("url"))
        .await
        .expect("a page of the stream");
    assert!(
        page.to_string().contains(&olga_thread),
        "the member node reads the thread in the stream: {page}"
    );
    // beta serves bert's thread to the community's node only.
    let bert_url = Url::parse(&bert_thread).expect("url");
    assert!(alpha.state.fetch(&bert_url).await.is_ok());
}

/// The API shows it to members only, search included.
async fn the_api_shows_it_to_members_only(board: &Board, threads: &Threads) {
    let Board { alpha, .. } = board;
    let olga = board.olga.clone();
    let olga_local = threads.olga_local;
    let lee = alpha.api_user("lee").await;
    for reader in [&lee, &alpha.anonymous()] {
        let (status, _) = reader.get("/communities/board/threads").await;
        assert_eq!(status, 403);
        let (status, _) = reader.get(&format!("/threads/{olga_local}")).await;
        assert_eq!(status, 403);
        let (status, found) = reader.get("/search?q=budget").await;
        assert_eq!(status, 200);
        assert_eq!(found["results"], json!([]), "{found}");
        // Not even the size of its history, or its digest.
        let (status, sync) = reader.get("/communities/board/sync").await;
        assert!(status == 401 || status == 403, "{status} {sync}");
    }
    let (status, sync) = olga.get("/communities/board/sync").await;
    assert_eq!(status, 200, "{sync}");
    assert!(sync["contents"]["threads"].as_i64() > Some(0), "{sync}");
    let (_, found) = olga.get("/search?q=budget").await;
    assert_eq!(
        found["results"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );
}

/// gamma holds none of it.
async fn gamma_holds_none_of_it(board: &Board, threads: &Threads) {
    let Board { gamma, .. } = board;
    let community = board.community.clone();
    let olga_thread = threads.olga_thread.clone();
    assert!(gamma_holds(gamma, &community).await.is_empty());
    assert!(gamma
        .state
        .db
        .post_by_ap_id(&olga_thread)
        .await
        .expect("db")
        .is_none());
}

/// Once gina is approved, gamma backfills and receives new content.
async fn gamma_backfills_once_gina_is_approved(board: &Board, threads: &Threads) -> Url {
    let Board { gamma, .. } = board;
    let olga = board.olga.clone();
    let gina = board.gina.clone();
    let handle = board.handle.clone();
    let community = board.community.clone();
    let olga_thread = threads.olga_thread.clone();
    let bert_thread = threads.bert_thread.clone();
    join(&gina, &handle).await;
    approve(&olga, &gina).await;
    accepted(&gina, &handle).await;
    let (fresh, _) = thread(&olga, "/communities/board/threads", "Q3 roadmap").await;
    eventually(WAIT, "gamma gets the new thread", || async {
        gina.thread_by_ap_id(&handle, &fresh).await
    })
    .await;
    // The backfill is its own pass (`service::replication`), which the live delivery of the
    // new thread may overtake: wait for the older threads too.
    eventually(WAIT, "gamma backfills the older threads", || async {
        let held = gamma_holds(gamma, &community).await;
        (held.contains(&olga_thread) && held.contains(&bert_thread)).then_some(())
    })
    .await;
    let url = Url::parse(&olga_thread).expect("url");
    assert!(gamma.state.fetch(&url).await.is_ok(), "a member node reads");
    url
}

/// After gina leaves, gamma stops receiving and reading.
async fn gamma_stops_receiving_after_gina_leaves(board: &Board, url: Url) {
    let Board { alpha, gamma, .. } = board;
    let olga = board.olga.clone();
    let bert = board.bert.clone();
    let gina = board.gina.clone();
    let handle = board.handle.clone();
    let community = board.community.clone();
    let (status, _) = gina
        .post(&format!("/communities/{handle}/leave"), json!({}))
        .await;
    assert_eq!(status, 200);
    eventually(WAIT, "alpha drops gina", || async {
        let m = alpha
            .state
            .db
            .membership(&community, &gina.ap_id())
            .await
            .ok()?;
        m.is_none().then_some(())
    })
    .await;
    let jobs_for_gamma = |jobs: &[roundtable::db::DeliveryJob]| {
        jobs.iter().filter(|j| j.host == gamma.domain).count()
    };
    let before = jobs_for_gamma(&alpha.state.db.delivery_jobs().await.expect("jobs"));
    let (after_leave, _) = thread(&olga, "/communities/board/threads", "Headcount").await;
    eventually(WAIT, "beta still gets new threads", || async {
        bert.thread_by_ap_id(&handle, &after_leave).await
    })
    .await;
    let after = jobs_for_gamma(&alpha.state.db.delivery_jobs().await.expect("jobs"));
    assert_eq!(before, after, "nothing more is queued for gamma");
    let held = gamma_holds(gamma, &community).await;
    assert!(
        held.is_empty(),
        "gamma's copy went with its last member: {held:?}"
    );
    let err = gamma.state.fetch(&url).await.expect_err("refused again");
    assert!(err.to_string().contains("403"), "{err}");
}

/// A node that is down while its last member is banned never gets what was queued for it.
async fn a_node_down_when_its_last_member_is_banned_gets_nothing_queued(board: Board) {
    let Board { alpha, beta, .. } = board;
    let olga = board.olga.clone();
    let bert = board.bert.clone();
    let beta_domain = beta.domain.clone();
    let _beta_db = beta.crash().await;
    let (while_down, _) = thread(&olga, "/communities/board/threads", "Layoffs").await;
    let (status, body) = olga
        .post(
            "/communities/board/bans",
            json!({"actor": bert.ap_id(), "reason": "left the company"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ended = eventually(WAIT, "the job for beta ends unsent", || async {
        let jobs = alpha.state.db.delivery_jobs().await.ok()?;
        jobs.into_iter()
            .find(|j| j.host == beta_domain && j.state == "failed" && j.body.contains(&while_down))
    })
    .await;
    assert!(
        ended
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no longer has members")),
        "{ended:?}"
    );
}

/// alpha, beta and gamma with olga, bert and gina, and olga's members-only community `board`.
struct Board {
    alpha: Node,
    beta: Node,
    gamma: Node,
    olga: ApiUser,
    bert: ApiUser,
    gina: ApiUser,
    handle: String,
    community: String,
}

/// The threads olga and bert start in the board.
struct Threads {
    olga_thread: String,
    olga_local: i64,
    bert_thread: String,
}

async fn members_board() -> Board {
    let (alpha, beta, gamma, olga, bert, gina) = three_with_users().await;
    let (status, body) = olga
        .post(
            "/communities",
            json!({"slug": "board", "title": "Board", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let handle = format!("board@{}", alpha.domain);
    let community = alpha.url("/c/board");
    Board {
        alpha,
        beta,
        gamma,
        olga,
        bert,
        gina,
        handle,
        community,
    }
}

#[tokio::test]
async fn confidential_communities_refuse_software_that_leaks_followers_only_posts() {
    let alpha = Node::start().await;
    let olga = alpha.api_user("olga").await;
    let (status, _) = olga
        .post(
            "/communities",
            json!({"slug": "board", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201);
    let leaky = FakeServer::start("mallory").await;
    leaky.publish(&json!({
        "id": format!("{}/.well-known/nodeinfo", leaky.base),
        "links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                   "href": format!("{}/nodeinfo/2.1", leaky.base)}],
    }));
    leaky.publish(&json!({
        "id": format!("{}/nodeinfo/2.1", leaky.base),
        "software": {"name": "Mbin", "version": "1.7.0"},
    }));
    let community = alpha.url("/c/board");
    let (status, body) = leaky
        .deliver(
            &alpha.url("/c/board/inbox"),
            &json!({"id": format!("{}/follows/1", leaky.base), "type": "Follow",
                    "actor": leaky.actor, "object": community}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let answer: Value = eventually(WAIT, "alpha answers the follow", || async {
        leaky
            .received()
            .into_iter()
            .find(|a| a["type"] == "Reject" || a["type"] == "Accept")
    })
    .await;
    assert_eq!(answer["type"], "Reject", "{answer}");
    let m = alpha
        .state
        .db
        .membership(&community, &leaky.actor)
        .await
        .expect("db");
    assert!(m.is_none(), "no pending request is kept: {m:?}");

    // The same follow of a public community is taken.
    let (status, _) = olga.post("/communities", json!({"slug": "open"})).await;
    assert_eq!(status, 201);
    let (status, _) = leaky
        .deliver(
            &alpha.url("/c/open/inbox"),
            &json!({"id": format!("{}/follows/2", leaky.base), "type": "Follow",
                    "actor": leaky.actor, "object": alpha.url("/c/open")}),
        )
        .await;
    assert_eq!(status, 202);
    eventually(WAIT, "the public community accepts", || async {
        leaky.received().into_iter().find(|a| a["type"] == "Accept")
    })
    .await;
}

#[tokio::test]
async fn a_partners_community_takes_followers_from_partner_nodes_only() {
    let (alpha, beta, gamma, olga, bert, gina) = three_with_users().await;
    let out = alpha.cli(&["partner", "add", &beta.domain]).await;
    assert!(out.ok, "{out:?}");
    let (status, _) = olga
        .post(
            "/communities",
            json!({"slug": "guild", "visibility": "partners"}),
        )
        .await;
    assert_eq!(status, 201);
    let handle = format!("guild@{}", alpha.domain);
    let group = beta
        .state
        .fetch(&Url::parse(&alpha.url("/c/guild")).expect("url"))
        .await
        .expect("group");
    assert_eq!(group["roundtableVisibility"], "partners");
    assert_eq!(group["manuallyApprovesFollowers"], false);

    // A partner's member joins without waiting; a non-partner's follow is rejected.
    for user in [&bert, &gina] {
        join(user, &handle).await;
    }
    accepted(&bert, &handle).await;
    eventually(WAIT, "gina's join is declined", || async {
        let (_, c) = gina.get(&format!("/communities/{handle}")).await;
        (c["membership"]["state"] == "rejected").then_some(())
    })
    .await;
    let (posted, _) = thread(&olga, "/communities/guild/threads", "Partner roadmap").await;
    eventually(WAIT, "beta gets the thread", || async {
        bert.thread_by_ap_id(&handle, &posted).await
    })
    .await;
    let url = Url::parse(&posted).expect("url");
    let err = gamma.state.fetch(&url).await.expect_err("not a partner");
    assert!(err.to_string().contains("403"), "{err}");
    assert!(gamma_holds(&gamma, &alpha.url("/c/guild")).await.is_empty());

    // The community decides whether alpha's own users read it without joining.
    let lee = alpha.api_user("lee").await;
    let (status, _) = lee.get("/communities/guild/threads").await;
    assert_eq!(status, 403);
    let (status, body) = olga
        .patch("/communities/guild", json!({"local_readers": true}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["local_readers"], true);
    let (status, list) = lee.get("/communities/guild/threads").await;
    assert_eq!(status, 200);
    assert_eq!(list["threads"][0]["ap_id"], posted.as_str());
    let (status, _) = alpha.anonymous().get("/communities/guild/threads").await;
    assert_eq!(status, 403, "signed-in local users only");
    // Still nothing for other nodes: gamma is refused as before.
    assert!(gamma.state.fetch(&url).await.is_err());
    // Members-only communities keep their content to members.
    let (status, _) = olga
        .post(
            "/communities",
            json!({"slug": "inner", "visibility": "members"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = olga
        .patch("/communities/inner", json!({"local_readers": true}))
        .await;
    assert_eq!(status, 422);
}
