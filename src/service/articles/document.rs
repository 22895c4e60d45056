//! The `Article` document and its revisions on the wire.

use super::*;

// ----- documents -----

/// The `Article` document of `article` at revision `rev`.
pub fn article_json(article: &Article, rev: &Revision, authors: &[String], mention: &str) -> Value {
    json!({
        "@context": [AS_CONTEXT, {"roundtable": "https://roundtable.example/ns#",
            "revision": "roundtable:revision", "history": {"@id": "roundtable:history", "@type": "@id"}}],
        "id": article.ap_id,
        "type": "Article",
        "name": rev.title,
        "summary": summary_of(&rev.content),
        "content": markdown::render(&rev.content),
        "mediaType": "text/html",
        "source": {"content": rev.content, "mediaType": "text/markdown"},
        "url": article.ap_id,
        "attributedTo": authors,
        "audience": article.community,
        "to": [article.community, PUBLIC],
        "cc": [format!("{}/followers", article.community)],
        "tag": [{"type": "Mention", "href": article.community, "name": mention}],
        "published": rfc3339(article.created_at),
        "updated": rfc3339(rev.created_at),
        "revision": revision_json(rev),
        "history": format!("{}/history", article.ap_id),
    })
}

pub(super) fn revision_json(rev: &Revision) -> Value {
    json!({
        "id": rev.rev_id,
        "parent": rev.parent_rev,
        "author": rev.author,
        "message": rev.message,
        "published": rfc3339(rev.created_at),
        "edit": rev.edit_id,
    })
}

pub(super) fn draft_revision(r: &NewRevision) -> Revision {
    Revision {
        id: 0,
        article_id: 0,
        rev_id: r.rev_id.clone(),
        parent_rev: r.parent_rev.clone(),
        author: r.author.clone(),
        message: r.message.clone(),
        title: r.title.clone(),
        content: r.content.clone(),
        seq: 0,
        edit_id: r.edit_id.clone(),
        created_at: r.created_at,
    }
}

/// The community's `Create`/`Update` of the article at `rev`, to every follower inbox.
pub(super) async fn owner_jobs(
    state: &Node,
    group: &LocalActor,
    kind: &str,
    article: &Article,
    rev: &Revision,
    authors: &[String],
    mention: &str,
) -> Result<Vec<NewJob>, Error> {
    let base = state.settings.base_url();
    let activity = json!({
        "@context": AS_CONTEXT,
        "id": objects::new_id(&base, &format!("activities/{}", kind.to_lowercase())),
        "type": kind,
        "actor": article.community,
        "to": [PUBLIC],
        "cc": [format!("{}/followers", article.community)],
        "audience": article.community,
        "object": article_json(article, rev, authors, mention),
    });
    let mut activities = vec![activity];
    // Mastodon followers see new articles through a plain Announce of the id.
    if kind == "Create" {
        activities.push(objects::announce(
            &base,
            &article.community,
            json!(article.ap_id),
        ));
    }
    broadcast_jobs(state, group, &article.community, activities, Vec::new()).await
}
