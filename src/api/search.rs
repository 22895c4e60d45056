//! Full-text search over what the caller may read.

use super::*;

// ----- search -----

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    q: String,
    community: Option<String>,
    after: Option<SearchCursor>,
    limit: Option<u64>,
}

/// Text as safe HTML, with the index's match markers as `<mark>`.
pub(super) fn marked(text: &str) -> String {
    crate::markdown::escape_html(text)
        .replace(crate::db::search::MARK_START, "<mark>")
        .replace(crate::db::search::MARK_END, "</mark>")
}

/// Full-text search, best first, one page at a time (`?after=CURSOR&limit=N`). Hits in
/// communities the caller may not read are left out, so a page may hold fewer than `limit`
/// results while `next` still names the following one.
pub(super) async fn search(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Q(q): Q<SearchQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    if q.q.chars().count() > 200 {
        return Err(ApiError::unprocessable("a query is at most 200 characters"));
    }
    if q.after
        .as_ref()
        .is_some_and(|Pair(score, _)| !score.is_finite())
    {
        return Err(ApiError::bad_request(
            "bad cursor: take cursors from a page's `next`",
        ));
    }
    let community = match q.community.as_deref() {
        Some(handle) => Some(svc::resolve(&state, handle).await?.ap_id),
        None => None,
    };
    let page = state
        .db
        .search(
            &q.q,
            community.as_deref(),
            q.after
                .as_ref()
                .map(|Pair(score, Pair(id, kind))| (*score, *id, kind.as_str())),
            paging::limit(q.limit, 20, 50),
        )
        .await?;
    // One lookup per kind for the whole page: communities, what the caller may read, and
    // the ActivityPub ids of the hits.
    let views = svc::known_many(&state, page.items.iter().map(|h| h.community.as_str())).await?;
    let readable =
        readable_each(&state, auth.as_deref(), &views.values().collect::<Vec<_>>()).await?;
    let visible: Vec<_> = page
        .items
        .iter()
        .filter(|hit| {
            // A community this node does not know is public to it, as `may_read` has it.
            !views.contains_key(&hit.community) || readable.contains(&hit.community)
        })
        .collect();
    let ids_of = |kinds: &[&str]| -> Vec<i64> {
        visible
            .iter()
            .filter(|h| kinds.contains(&h.kind.as_str()))
            .map(|h| h.ref_id)
            .collect()
    };
    let articles = state.db.article_ap_ids(&ids_of(&["article"])).await?;
    let events = state.db.event_ap_ids(&ids_of(&["event"])).await?;
    let posts = state.db.post_ap_ids(&ids_of(&["thread", "reply"])).await?;
    let results: Vec<Value> = visible
        .iter()
        .map(|hit| {
            let ap_id = match hit.kind.as_str() {
                "article" => articles.get(&hit.ref_id),
                "event" => events.get(&hit.ref_id),
                _ => posts.get(&hit.ref_id),
            };
            json!({
                "kind": hit.kind,
                "id": hit.ref_id,
                "ap_id": ap_id,
                "community": views.get(&hit.community).map(|c| c.handle()),
                "title": marked(&hit.title),
                "snippet": marked(&hit.snippet),
            })
        })
        .collect();
    let next = page.next(|h| Pair(h.score, Pair(h.ref_id, h.kind.clone())));
    Ok(Json(json!({
        "results": results,
        "next": next_link(&state, &uri, "after", next),
    })))
}
