//! Knowledge articles' pages over HTTP and in a browser: writing, editing, two edits from one
//! base revision into the conflict screen and its resolution, history and diffs, the
//! stewards' buttons, a members-only community's articles kept from strangers and visitors,
//! and refused input beside its field.

use super::{member, open_node};
use crate::harness::{browser::Browser, chromium};
use serde_json::Value;

/// `owner` starts the community `slug` with `visibility`.
async fn community(owner: &Browser, slug: &str, visibility: &str) {
    let made = owner
        .submit(
            "/communities/new",
            "/communities/new",
            &[
                ("slug", slug),
                ("title", &format!("The {slug}")),
                ("visibility", visibility),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
}

/// `who` joins the public community `slug`.
async fn join(who: &Browser, slug: &str) {
    let path = format!("/communities/{slug}");
    let out = who.submit(&path, &format!("{path}/join"), &[]).await;
    assert_eq!(out.status, 303, "{}", out.body);
}

/// Writes an article through the new-article page; its id.
async fn write(b: &Browser, slug: &str, title: &str, content: &str) -> i64 {
    let new = format!("/communities/{slug}/articles/new");
    let out = b
        .submit(&new, &new, &[("title", title), ("content", content)])
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    let location = out.location.expect("redirect to the article");
    location
        .trim_start_matches("/articles/")
        .parse()
        .expect("article id")
}

/// Saves `content` as an edit of article `id` based on revision `base`.
async fn save(
    b: &Browser,
    id: i64,
    base: &str,
    title: &str,
    content: &str,
) -> crate::harness::browser::Page {
    let page = format!("/articles/{id}/edit");
    b.submit(
        &page,
        &page,
        &[("title", title), ("content", content), ("base", base)],
    )
    .await
}

const FIRST: &str = "# Deploys\n\nStep one: build.\nStep two: test.\nStep three: ship.\n";

#[tokio::test]
async fn edits_conflict_and_resolve_through_the_pages() {
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    let bea = member(&node, "bea").await;
    community(&olga, "guild", "public").await;
    join(&bea, "guild").await;

    // Olga writes it; the community page lists it with its freshness.
    let id = write(&olga, "guild", "Deploy runbook", FIRST).await;
    let page = olga.get(&format!("/articles/{id}")).await;
    page.shows(200, "<h1>Deploy runbook</h1>")
        .shows(200, "Not reviewed yet")
        .shows(200, "Step two: test.");
    assert!(page.body.contains(&format!("/articles/{id}/history")));
    assert!(page.body.contains(&format!("/articles/{id}/edit")));
    olga.get("/communities/guild")
        .await
        .shows(200, "Deploy runbook")
        .shows(200, "/communities/guild/articles");
    olga.get("/communities/guild/articles")
        .await
        .shows(200, "Deploy runbook");

    // Both open the edit page on the same base revision.
    let article = node.state.db.article(id).await.expect("q").expect("stored");
    let base = article.current_rev.clone();
    let form = bea.get(&format!("/articles/{id}/edit")).await;
    form.shows(200, "data-preview");
    assert_eq!(form.hidden("base").as_deref(), Some(base.as_str()));

    // Olga saves first: a fast-forward opens the article.
    let olgas = FIRST.replace("Step two: test.", "Step two: run the test suite.");
    let out = save(&olga, id, &base, "Deploy runbook", &olgas).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(
        out.location.as_deref(),
        Some(format!("/articles/{id}").as_str())
    );

    // Bea saves from the same base, changing the same line: the conflict screen.
    let beas = FIRST.replace("Step two: test.", "Step two: test on staging.");
    let conflict = save(&bea, id, &base, "Deploy runbook", &beas).await;
    conflict.shows(409, "conflicts");
    assert!(
        conflict.body.contains("run the test suite"),
        "theirs: {}",
        conflict.body
    );
    assert!(
        conflict.body.contains("test on staging"),
        "yours: {}",
        conflict.body
    );
    assert!(
        conflict.body.contains("&lt;&lt;&lt;&lt;&lt;&lt;&lt;"),
        "markers"
    );
    let head = node
        .state
        .db
        .article(id)
        .await
        .expect("q")
        .expect("a")
        .current_rev;
    assert_eq!(conflict.hidden("base").as_deref(), Some(head.as_str()));
    // Saving the markers as they are is refused beside the text.
    let marked = conflict.hidden("base").expect("base");
    let out = save(
        &bea,
        id,
        &marked,
        "Deploy runbook",
        "<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\n",
    )
    .await;
    assert_eq!(out.status, 400, "{}", out.body);
    assert!(
        out.body.contains("id=\"field-content-error\""),
        "{}",
        out.body
    );

    // Bea resolves it: both changes, saved on the current head.
    let resolved = FIRST.replace(
        "Step two: test.",
        "Step two: run the test suite on staging.",
    );
    let out = save(&bea, id, &head, "Deploy runbook", &resolved).await;
    assert_eq!(out.status, 303, "{}", out.body);
    let article = node.state.db.article(id).await.expect("q").expect("a");
    let rev = node
        .state
        .db
        .revision(&article.current_rev)
        .await
        .expect("q")
        .expect("head");
    assert_eq!(rev.content, resolved);
    assert_eq!(node.state.db.revision_count(id).await.expect("q"), 3);
    // A concurrent edit of another line merges cleanly.
    let merged_edit = FIRST.replace("# Deploys", "# Deploys and rollbacks");
    let out = save(&olga, id, &base, "Deploy runbook", &merged_edit).await;
    assert_eq!(out.status, 303, "{}", out.body);
    let head = node
        .state
        .db
        .article(id)
        .await
        .expect("q")
        .expect("a")
        .current_rev;
    let text = node
        .state
        .db
        .revision(&head)
        .await
        .expect("q")
        .expect("r")
        .content;
    assert!(
        text.contains("on staging") && text.contains("and rollbacks"),
        "{text}"
    );

    // History, newest first, with a compare form and revert buttons for the steward.
    let history = olga.get(&format!("/articles/{id}/history")).await;
    history.shows(200, "#4").shows(200, "#1");
    assert!(history.body.find("#4").unwrap_or(0) < history.body.find("#1").unwrap_or(0));
    assert!(history.body.contains("name=\"from\"") && history.body.contains("name=\"to\""));
    assert!(history.body.contains("Revert to #1"));
    let bea_history = bea.get(&format!("/articles/{id}/history")).await;
    assert!(
        !bea_history.body.contains("Revert to"),
        "only stewards revert"
    );

    // The diff of the first and the newest revision: removed and added lines, both views.
    let diff = olga
        .get(&format!("/articles/{id}/diff?from={base}&to={head}"))
        .await;
    diff.shows(200, "Side by side").shows(200, "Inline");
    assert!(
        diff.body.contains("class=\"line removed\"") && diff.body.contains("class=\"line added\"")
    );
    assert!(
        diff.body.contains("removed: </span>Step two: test."),
        "{}",
        diff.body
    );
    assert!(diff
        .body
        .contains("added: </span>Step two: run the test suite on staging."));
    assert!(!diff.body.contains("style="));
    // A revision of another article is not found.
    olga.get(&format!("/articles/{id}/diff?from=nope&to={head}"))
        .await
        .shows(404, "no such revision");

    // Stewards: review, protect (bea may not edit then), revert.
    let review = olga
        .submit(
            &format!("/articles/{id}"),
            &format!("/articles/{id}/review"),
            &[],
        )
        .await;
    assert_eq!(review.status, 303, "{}", review.body);
    olga.get(&format!("/articles/{id}"))
        .await
        .shows(200, "Reviewed today");
    let protect = olga
        .submit(
            &format!("/articles/{id}"),
            &format!("/articles/{id}/protect"),
            &[("protected", "true")],
        )
        .await;
    assert_eq!(protect.status, 303, "{}", protect.body);
    assert!(
        node.state
            .db
            .article(id)
            .await
            .expect("q")
            .expect("a")
            .protected
    );
    let refused = save(&bea, id, &head, "Deploy runbook", "defaced\n").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // Bea cannot protect or revert.
    let csrf = bea.get("/communities").await.csrf();
    let out = bea
        .post(
            &format!("/articles/{id}/protect"),
            &[("protected", "false"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(out.status, 403, "{}", out.body);
    let out = bea
        .post(
            &format!("/articles/{id}/revert"),
            &[("revision", &base), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(out.status, 403, "{}", out.body);
    let revert = olga
        .submit(
            &format!("/articles/{id}/history"),
            &format!("/articles/{id}/revert"),
            &[("revision", &base)],
        )
        .await;
    assert_eq!(revert.status, 303, "{}", revert.body);
    let article = node.state.db.article(id).await.expect("q").expect("a");
    let text = node
        .state
        .db
        .revision(&article.current_rev)
        .await
        .expect("q")
        .expect("r");
    assert_eq!(text.content, FIRST);
    assert_eq!(node.state.db.revision_count(id).await.expect("q"), 5);
}

#[tokio::test]
async fn members_only_articles_show_nothing_to_strangers_and_visitors() {
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    community(&olga, "board", "members").await;
    let id = write(&olga, "board", "Merger plan", "The secret figures: 42\n").await;
    let rev = node
        .state
        .db
        .article(id)
        .await
        .expect("q")
        .expect("a")
        .current_rev;
    olga.get(&format!("/articles/{id}"))
        .await
        .shows(200, "secret figures");
    // The article's ActivityPub id opens its page for a member, and for nobody else.
    let ap_path = node
        .state
        .db
        .article(id)
        .await
        .expect("q")
        .expect("a")
        .ap_id
        .trim_start_matches(&node.base)
        .to_string();
    olga.get(&ap_path).await.shows(200, "secret figures");
    olga.get("/communities/board")
        .await
        .shows(200, "Merger plan");

    let stranger = member(&node, "sam").await;
    let visitor = Browser::new(node.addr.port());
    for (who, b) in [("a signed-in stranger", &stranger), ("a visitor", &visitor)] {
        for path in [
            format!("/articles/{id}"),
            format!("/articles/{id}/history"),
            format!("/articles/{id}/diff"),
            format!("/articles/{id}/diff?from={rev}&to={rev}"),
            format!("/articles/{id}/edit"),
            "/communities/board/articles".to_string(),
            "/communities/board/articles/new".to_string(),
            ap_path.clone(),
        ] {
            let page = b.get(&path).await;
            assert_eq!(
                page.status, 404,
                "{who} {path}: {:?} {}",
                page.location, page.body
            );
            for secret in ["Merger plan", "secret figures"] {
                assert!(
                    !page.body.contains(secret),
                    "{who} sees {secret:?} at {path}"
                );
            }
        }
        let page = b.get("/communities/board").await;
        assert!(!page.body.contains("Merger plan"), "{who}: community page");
    }
    // A stranger's posts, with a valid CSRF token, change nothing.
    let csrf = stranger.get("/communities").await.csrf();
    for (path, fields) in [
        (
            format!("/articles/{id}/edit"),
            vec![
                ("title", "x"),
                ("content", "defaced"),
                ("base", rev.as_str()),
            ],
        ),
        (format!("/articles/{id}/review"), vec![]),
        (
            format!("/articles/{id}/protect"),
            vec![("protected", "true")],
        ),
        (
            format!("/articles/{id}/revert"),
            vec![("revision", rev.as_str())],
        ),
        (
            "/communities/board/articles/new".to_string(),
            vec![("title", "spam"), ("content", "spam")],
        ),
    ] {
        let mut all = fields.clone();
        all.push(("csrf", &csrf));
        let out = stranger.post(&path, &all).await;
        assert_eq!(out.status, 404, "{path}: {}", out.body);
        assert!(!out.body.contains("secret figures"));
    }
    let article = node.state.db.article(id).await.expect("q").expect("a");
    assert_eq!(article.current_rev, rev);
    assert!(!article.protected && article.last_reviewed_at.is_none());
}

#[tokio::test]
async fn bad_article_input_is_explained_beside_its_field() {
    let node = open_node().await;
    let olga = member(&node, "olga").await;
    community(&olga, "guild", "public").await;
    let new = "/communities/guild/articles/new";
    let out = olga
        .submit(new, new, &[("title", "  "), ("content", "kept text")])
        .await;
    assert_eq!(out.status, 400, "{}", out.body);
    assert!(
        out.body.contains("id=\"field-title-error\""),
        "{}",
        out.body
    );
    assert!(out.body.contains("aria-invalid=\"true\"") && out.body.contains("kept text"));
    let out = olga
        .submit(new, new, &[("title", "Runbook"), ("content", " ")])
        .await;
    assert_eq!(out.status, 400, "{}", out.body);
    assert!(
        out.body.contains("id=\"field-content-error\""),
        "{}",
        out.body
    );
    let long = "t".repeat(300);
    let out = olga
        .submit(new, new, &[("title", &long), ("content", "text")])
        .await;
    assert!((400..500).contains(&out.status), "{}", out.body);
    assert!(
        out.body.contains("id=\"field-title-error\""),
        "{}",
        out.body
    );
    // An edit with an empty title keeps the text and says what is missing.
    let id = write(&olga, "guild", "Runbook", "text\n").await;
    let base = node
        .state
        .db
        .article(id)
        .await
        .expect("q")
        .expect("a")
        .current_rev;
    let out = save(&olga, id, &base, "", "kept edit").await;
    assert_eq!(out.status, 400, "{}", out.body);
    assert!(out.body.contains("id=\"field-title-error\"") && out.body.contains("kept edit"));
    // A base that is not a revision of the article is refused, not a 500.
    let out = save(&olga, id, "nope", "Runbook", "other\n").await;
    assert!((400..500).contains(&out.status), "{}", out.body);
    // Unknown articles are readable 404 pages.
    olga.get("/articles/999999")
        .await
        .shows(404, "no such article");
}

/// Two browser contexts edit one article from the same revision into a conflict, one on the
/// article's node and one from another node, and the second resolves it on the conflict
/// screen, with JavaScript and without; axe-core on the article, history, diff, edit and
/// conflict pages. The resolved text is the newest revision on both nodes and no edit is lost.
#[tokio::test]
async fn a_conflict_is_resolved_in_a_browser() {
    let node = open_node().await;
    let beta = open_node().await;
    for js in [true, false] {
        let suffix = if js { "js" } else { "nojs" };
        let out = chromium::run(
            "articles",
            include_str!("articles.mjs"),
            &[
                ("BASE", node.base.clone()),
                ("BETA", beta.base.clone()),
                ("ALPHA_DOMAIN", node.domain.clone()),
                ("SHOTS", chromium::screenshot_dir().display().to_string()),
                ("JS", if js { "on" } else { "off" }.into()),
                ("SUFFIX", suffix.into()),
            ],
        )
        .await;
        assert!(
            out["error"].is_null(),
            "the browser flow failed: {}",
            out["error"]
        );
        assert_eq!(out["js"], Value::Bool(js), "{out}");
        assert_eq!(out["violations"], Value::Array(vec![]), "axe-core: {out}");
        assert_eq!(out["cspErrors"], Value::Array(vec![]), "CSP: {out}");
        assert_eq!(out["serverErrors"], Value::Array(vec![]), "5xx: {out}");
        if js {
            for kind in [
                "article",
                "article-history",
                "article-diff",
                "article-edit",
                "article-conflict",
            ] {
                assert!(
                    out["pages"][kind]["passes"].as_u64().unwrap_or(0) > 0,
                    "axe-core ran on {kind}: {out}"
                );
            }
        }
        let id = out["article"].as_i64().expect("the article's id");
        let article = node.state.db.article(id).await.expect("q").expect("stored");
        let head = node
            .state
            .db
            .revision(&article.current_rev)
            .await
            .expect("q")
            .expect("head");
        let resolved = out["resolved"].as_str().expect("resolved text");
        assert_eq!(
            head.content.trim_end(),
            resolved.trim_end(),
            "the resolution is the head"
        );
        // No edit is lost: the first saved edit is a revision, the resolution keeps both.
        assert_eq!(node.state.db.revision_count(id).await.expect("q"), 3);
        assert!(head.content.contains("run the test suite") && head.content.contains("on staging"));
        let replica = beta
            .state
            .db
            .article_by_ap_id(&article.ap_id)
            .await
            .expect("q")
            .expect("replicated");
        assert_eq!(
            replica.current_rev, article.current_rev,
            "beta holds the head"
        );
        assert_eq!(
            beta.state.db.revision_count(replica.id).await.expect("q"),
            3
        );
    }
}
