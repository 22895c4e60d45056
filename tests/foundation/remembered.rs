//! What the inbox remembers between requests (`db::memo`): the policy's verdicts, the
//! suspensions and the senders' keys follow every change at once — made by the running node or
//! by another process, the CLI — and a known peer's further activities cost a bounded number of
//! statements, without writing its contact or reading its key again.

use super::inbox::create_note;
use crate::harness::{fake::FakeServer, http, sign::Post, Node};
use roundtable::activitypub::actors::host_of;
use serde_json::json;

#[tokio::test]
async fn remembered_verdicts_and_suspensions_follow_every_change_at_once() {
    let a = Node::start().await;
    let b = Node::start().await;
    let alice = a.user("alice").await;
    let client = http();
    let mut n = 0;
    let mut send = || {
        n += 1;
        let post = Post::new(
            &b.url("/inbox"),
            &create_note(&a, "alice", n),
            &a.url("/u/alice#main-key"),
            &alice.private_key_pem,
        );
        let client = client.clone();
        async move { post.send(&client).await }
    };

    // Accepted: b now remembers that it federates with a and that alice is not suspended.
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");

    // Another process blocks a: the very next request is refused.
    let out = b.cli(&["block", "add", &a.domain]).await;
    assert!(out.ok, "{out:?}");
    let (status, body) = send().await;
    assert_eq!(status, 403, "{body}");
    let out = b.cli(&["block", "remove", &a.domain]).await;
    assert!(out.ok, "{out:?}");
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");

    // The running node suspends alice, then lifts it.
    let actor = a.url("/u/alice");
    b.state
        .db
        .suspend(&actor, Some("spam"), "test")
        .await
        .expect("suspend");
    let (status, body) = send().await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("suspended"), "{body}");
    assert!(b.state.db.unsuspend(&actor).await.expect("unsuspend"));
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");

    // The mode, changed by another process: allowlist without a as partner refuses it.
    let out = b.cli(&["federation", "mode", "allowlist"]).await;
    assert!(out.ok, "{out:?}");
    let (status, body) = send().await;
    assert_eq!(status, 403, "{body}");
    let out = b.cli(&["partner", "add", &a.domain]).await;
    assert!(out.ok, "{out:?}");
    let (status, body) = send().await;
    assert_eq!(status, 202, "{body}");

    // A known peer's next activities: its contact is not written again, and each costs a
    // bounded number of statements: 10 on SQLite and 12 on PostgreSQL (measured; the counter
    // also sees the background workers) for an activity that arrives alone — the request's
    // generation, dedupe and durable record, then the applier's read of its lane, its
    // generation, the routing's lookup, the finishing transaction (begin, delete, record,
    // commit is counted as its statements) and the lane's next, empty read. All but the
    // request's generation and the routing's lookup are shared by the activities that arrive
    // together (`foundation::intake`). Before the durable record, 4 (the generation, the
    // dedupe check, the routing's lookup and the record); 12, counted from the code, when
    // every request also read the policy and the suspensions, wrote the contact and pruned
    // the received ids.
    let host = host_of(&url::Url::parse(&actor).expect("url"));
    let contacted = b
        .state
        .db
        .peer(&host)
        .await
        .expect("peer")
        .and_then(|p| p.last_contact_at)
        .expect("contact recorded");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // The pool's counter also counts the background workers' polls, which only add: the
    // fewest over five activities is the activity's own cost.
    let mut spent = u64::MAX;
    for _ in 0..5 {
        let before = b.state.db.query_count();
        let (status, body) = send().await;
        assert_eq!(status, 202, "{body}");
        spent = spent.min(b.state.db.query_count() - before);
    }
    eprintln!("statements for one known peer's activity: {spent}");
    let again = b
        .state
        .db
        .peer(&host)
        .await
        .expect("peer")
        .and_then(|p| p.last_contact_at);
    assert_eq!(again, Some(contacted), "the contact was written again");
    assert!(spent <= 12, "{spent} statements for one activity");
}

/// The sender's key row is remembered: a known peer's activity does not read it again; a key
/// rotation is fetched once and the new key is remembered; a purge of the peer's domain, by this
/// process or by another one, forgets it, so the actor is fetched again.
#[tokio::test]
async fn remembered_keys_follow_rotation_and_purge() {
    let b = Node::start().await;
    let mut peer = FakeServer::start("rosa").await;
    let inbox = b.url("/inbox");
    let (base, actor) = (peer.base.clone(), peer.actor.clone());
    let note = |n: u32| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{base}/activities/{n}"),
            "type": "Create",
            "actor": actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{base}/notes/{n}"),
                "type": "Note",
                "attributedTo": actor,
                "content": format!("note {n}"),
            }
        })
    };
    let actor_fetches = |peer: &FakeServer| {
        peer.fetches()
            .iter()
            .filter(|f| f.path == "/users/rosa")
            .count()
    };
    let host = host_of(&url::Url::parse(&peer.actor).expect("url"));

    let (status, body) = peer.deliver(&inbox, &note(1)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(actor_fetches(&peer), 1);
    // (The statements this saves are counted in the test above.)
    let (status, body) = peer.deliver(&inbox, &note(2)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(actor_fetches(&peer), 1, "the key is not fetched again");

    // A rotation: the first request with the new key fetches the actor once; the next one is
    // verified with the remembered new key (an old copy would fail and fetch again).
    let old = peer.rotate_key();
    for n in 3..=4 {
        let (status, body) = peer.deliver(&inbox, &note(n)).await;
        assert_eq!(status, 202, "signed with the new key: {body}");
    }
    assert_eq!(actor_fetches(&peer), 2, "the new key is fetched once");
    let (status, _) = Post::new(
        &inbox,
        &note(5),
        &format!("{}#main-key", peer.actor),
        &old.private_pem,
    )
    .send(&http())
    .await;
    assert_eq!(status, 401, "the old key no longer verifies");
    // (That failure took one refresh of the key, which found the new one again.)
    let fetched = actor_fetches(&peer);

    // This process purges the peer's domain: its actor row is gone, and so is the copy.
    let purged = b.state.db.purge_domain(&host).await.expect("purge");
    assert!(purged >= 1, "the actor's row was purged");
    let (status, body) = peer.deliver(&inbox, &note(6)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        actor_fetches(&peer),
        fetched + 1,
        "the purged actor is fetched again"
    );

    // Another process (its own handle on the database, with its own memory) purges it again.
    let other = roundtable::db::Db::connect(&b.db.url, 1)
        .await
        .expect("another handle")
        .with_policy_ports(true);
    assert!(other.purge_domain(&host).await.expect("purge") >= 1);
    let (status, body) = peer.deliver(&inbox, &note(7)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        actor_fetches(&peer),
        fetched + 2,
        "a purge by another process is seen at the next request"
    );
    let (status, body) = peer.deliver(&inbox, &note(8)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        actor_fetches(&peer),
        fetched + 2,
        "and the fetched key is remembered"
    );
}

/// Inside an inbox request the hosted community and the sender's ban are remembered too (a
/// known member's reply's statements are printed), and each change applies at the next
/// request — a ban and its lifting by a moderator, the same by another process, and a
/// community created after an activity addressed to it was ignored.
#[tokio::test]
async fn remembered_communities_and_bans_follow_every_change_at_once() {
    let b = Node::start().await;
    let olga = b.api_user("olga").await;
    let (status, _) = olga.post("/communities", json!({"slug": "practice"})).await;
    assert_eq!(status, 201);
    let (status, thread) = olga
        .post(
            "/communities/practice/threads",
            json!({"title": "Hello", "content": "first"}),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let thread = thread["ap_id"].as_str().expect("ap_id").to_string();
    let peer = FakeServer::start("rosa").await;
    let inbox = b.url("/inbox");
    let community = b.url("/c/practice");
    let base = peer.base.clone();
    let follow = |n: u32, object: &str| {
        json!({"id": format!("{base}/follows/{n}"), "type": "Follow",
            "actor": peer.actor, "object": object})
    };
    let reply = |n: u32| {
        json!({
            "id": format!("{base}/activities/{n}"), "type": "Create",
            "actor": peer.actor, "to": [community], "audience": community,
            "object": {
                "id": format!("{base}/notes/{n}"), "type": "Note",
                "attributedTo": peer.actor, "inReplyTo": thread,
                "audience": community, "to": [community],
                "content": format!("reply {n}"),
            }
        })
    };
    let stored = |n: u32| {
        let id = format!("{base}/notes/{n}");
        let db = b.state.db.clone();
        async move { db.post_by_ap_id(&id).await.expect("db").is_some() }
    };

    let (status, body) = peer.deliver(&inbox, &follow(1, &community)).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = peer.deliver(&inbox, &reply(1)).await;
    assert_eq!(status, 202, "{body}");
    assert!(stored(1).await);
    // A known member's next reply: the community, the ban and the key come from memory.
    // The fewest over five replies (the counter also counts the background workers).
    let mut spent = u64::MAX;
    for n in 2..=6 {
        let before = b.state.db.query_count();
        let (status, body) = peer.deliver(&inbox, &reply(n)).await;
        assert_eq!(status, 202, "{body}");
        spent = spent.min(b.state.db.query_count() - before);
        assert!(stored(n).await);
    }
    // Printed, not asserted: the delivery workers sending each reply's announce run inside
    // the same window and add a varying number (24–31 seen here; 35 at best before the
    // community, the ban and the key were remembered). The key's saving is asserted above.
    eprintln!("statements for a known member's reply: {spent}");

    // The moderator bans rosa: the next reply is refused; lifted, the next one is stored.
    let (status, body) = olga
        .post(
            "/communities/practice/bans",
            json!({"actor": peer.actor, "reason": "cool off"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = peer.deliver(&inbox, &reply(13)).await;
    assert_eq!(status, 403, "banned: {body}");
    assert!(!stored(13).await);
    let (status, body) = olga
        .delete(&format!(
            "/communities/practice/bans?actor={}",
            url::form_urlencoded::byte_serialize(peer.actor.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = peer.deliver(&inbox, &reply(14)).await;
    assert_eq!(status, 202, "unbanned: {body}");
    assert!(stored(14).await);

    // Another process (its own handle on the database) bans and unbans.
    let other = roundtable::db::Db::connect(&b.db.url, 1)
        .await
        .expect("another handle")
        .with_policy_ports(true);
    other
        .ban(&community, &peer.actor, Some("again".into()), None)
        .await
        .expect("ban");
    let (status, body) = peer.deliver(&inbox, &reply(15)).await;
    assert_eq!(status, 403, "banned by another process: {body}");
    assert!(other.unban(&community, &peer.actor).await.expect("unban"));
    let (status, body) = peer.deliver(&inbox, &reply(16)).await;
    assert_eq!(status, 202, "unbanned by another process: {body}");
    assert!(stored(16).await);

    // A follow of a community that does not exist yet is ignored; once it is created, the
    // next follow makes rosa a member.
    let later = b.url("/c/later");
    let (status, body) = peer.deliver(&inbox, &follow(2, &later)).await;
    assert_eq!(status, 202, "{body}");
    let (status, _) = olga.post("/communities", json!({"slug": "later"})).await;
    assert_eq!(status, 201);
    assert!(b
        .state
        .db
        .membership(&later, &peer.actor)
        .await
        .expect("db")
        .is_none());
    let (status, body) = peer.deliver(&inbox, &follow(3, &later)).await;
    assert_eq!(status, 202, "{body}");
    assert!(
        b.state
            .db
            .membership(&later, &peer.actor)
            .await
            .expect("db")
            .is_some(),
        "the follow reached the new community"
    );
}
