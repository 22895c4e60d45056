//! A replica applies the owner's revisions (and syncs history gaps) and hears the answers to its proposals.

use super::*;

/// A replica receives the owning community's `Create`/`Update` of an article.
pub async fn receive_from_owner(state: &Node, env: &Verified) -> Result<(), Error> {
    let Some(object) = env.object().document() else {
        return Err(Error::invalid("no object"));
    };
    let Some(community) = known(state, env.actor.as_str()).await? else {
        return Err(Error::forbidden(
            "articles are only accepted from their community",
        ));
    };
    if community.local().is_some() {
        return Ok(());
    }
    let article_url = object
        .id
        .clone()
        .ok_or_else(|| Error::invalid("no article id"))?;
    if object.audience.as_ref().map(Url::as_str) != Some(community.ap_id.as_str())
        || host_of(&article_url) != host_of(&env.actor)
    {
        return Err(Error::forbidden(
            "an article is only accepted from the community that owns it",
        ));
    }
    // Replicated only while someone here is an accepted member.
    if state.db.local_member_count(&community.ap_id).await? == 0 {
        return Ok(());
    }
    store_replica_revision(state, &community, object, 0).await
}

/// Stores the revision an `Article` document carries, syncing the history first if the
/// replica misses its parent.
pub(crate) async fn store_replica_revision(
    state: &Node,
    community: &CommunityView,
    doc: &Document,
    depth: usize,
) -> Result<(), Error> {
    let ap_id = doc
        .id
        .clone()
        .ok_or_else(|| Error::invalid("no article id"))?;
    // Filed only under the community that owns it: the article names it as its audience and
    // lives on its node, whoever relays it.
    let owner_host = Url::parse(&community.ap_id)
        .map(|u| host_of(&u))
        .unwrap_or_default();
    if doc.audience.as_ref().map(Url::as_str) != Some(community.ap_id.as_str())
        || host_of(&ap_id) != owner_host
    {
        return Err(Error::forbidden(
            "an article is only accepted from the community that owns it",
        ));
    }
    if let Some(existing) = state.db.article_by_ap_id(ap_id.as_str()).await? {
        if existing.community != community.ap_id || existing.local {
            return Err(Error::forbidden("that article belongs elsewhere"));
        }
    }
    let article = doc
        .article()
        .ok_or_else(|| Error::invalid("not an article"))?;
    let (_, incoming) = parse_article_doc(&article)?;
    apply_replica_revision(state, community, ap_id.as_str(), incoming, depth).await
}

/// The article id and the revision an `Article` document carries, the revision id checked
/// against its content (no database access; the fuzz target `article_document` calls it).
pub fn parse_article_doc(doc: &ArticleDoc) -> Result<(Url, NewRevision), Error> {
    let ap_id = doc
        .id
        .clone()
        .ok_or_else(|| Error::invalid("no article id"))?;
    let rev = doc
        .revision
        .as_ref()
        .ok_or_else(|| Error::invalid("no revision"))?;
    // The title as the owner hashed it: a plain-text title, not HTML to strip.
    let title = doc
        .title
        .as_deref()
        .ok_or_else(|| Error::invalid("no title"))?;
    let content = doc
        .source
        .as_deref()
        .ok_or_else(|| Error::invalid("no markdown source"))?;
    let incoming = parse_revision(ap_id.as_str(), rev, title, content)?;
    Ok((ap_id, incoming))
}

/// Whether an `Article` document is a Roundtable knowledge article (it carries its revision).
pub fn is_revision(doc: &Document) -> bool {
    doc.article().is_some_and(|a| a.revision.is_some())
}

pub(super) fn parse_revision(
    article: &str,
    rev: &RevisionDoc,
    title: &str,
    content: &str,
) -> Result<NewRevision, Error> {
    let rev_id = rev
        .id
        .clone()
        .ok_or_else(|| Error::invalid("revision without id"))?;
    let parent = rev.parent.clone();
    let author = rev
        .author
        .clone()
        .ok_or_else(|| Error::invalid("revision without author"))?;
    if content.len() > MAX_ARTICLE {
        return Err(Error::invalid("the revision is too large"));
    }
    if title.trim().is_empty() || title.chars().count() > objects::MAX_TITLE {
        return Err(Error::invalid("the revision has no valid title"));
    }
    let expected = revision_id(article, parent.as_deref(), &author, title, content);
    if expected != rev_id {
        return Err(Error::invalid("the revision id does not match its content"));
    }
    Ok(NewRevision {
        rev_id,
        parent_rev: parent,
        author,
        message: rev.message.clone().unwrap_or_default(),
        title: title.to_string(),
        content: content.to_string(),
        edit_id: rev.edit.clone(),
        created_at: rev.published.unwrap_or_else(now_ms),
    })
}

pub(super) async fn apply_replica_revision(
    state: &Node,
    community: &CommunityView,
    article_ap: &str,
    incoming: NewRevision,
    depth: usize,
) -> Result<(), Error> {
    if state.db.revision(&incoming.rev_id).await?.is_some() {
        settle_edit(state, &incoming).await?;
        return Ok(());
    }
    match state.db.article_by_ap_id(article_ap).await? {
        None if incoming.parent_rev.is_none() => {
            let slug = unique_slug(state, &community.ap_id, &incoming.title).await?;
            state
                .db
                .insert_article(
                    NewArticle {
                        ap_id: article_ap.to_string(),
                        community: community.ap_id.clone(),
                        slug,
                        review_interval_days: None,
                        local: false,
                    },
                    incoming.clone(),
                    Vec::new(),
                )
                .await?
                .wake(&state.delivery_wakeup);
        }
        Some(article) if incoming.parent_rev.as_deref() == Some(article.current_rev.as_str()) => {
            let new_slug = if incoming.title != article.title {
                Some(unique_slug(state, &community.ap_id, &incoming.title).await?)
            } else {
                None
            };
            let head = article.current_rev.clone();
            if !state
                .db
                .append_revision(&article, &head, incoming.clone(), new_slug, Vec::new())
                .await?
                .wake(&state.delivery_wakeup)
            {
                return Err(Error::conflict("the replica moved; retry"));
            }
        }
        _ if depth == 0 => {
            // A gap: read the owner's history and apply what is missing, in order.
            sync_history(state, community, article_ap).await?;
            if state.db.revision(&incoming.rev_id).await?.is_none() {
                return Err(Error::invalid(
                    "the revision does not follow the article's history",
                ));
            }
        }
        _ => {
            return Err(Error::invalid(
                "the revision does not follow the article's history",
            ))
        }
    }
    settle_edit(state, &incoming).await
}

/// A revision that applied one of our members' proposals settles it.
pub(super) async fn settle_edit(state: &Node, revision: &NewRevision) -> Result<(), Error> {
    if let Some(edit_id) = &revision.edit_id {
        if state.db.edit_by_edit_id(edit_id).await?.is_some() {
            state
                .db
                .decide_edit(
                    edit_id,
                    "applied",
                    Some(revision.rev_id.clone()),
                    None,
                    None,
                    None,
                )
                .await?;
        }
    }
    Ok(())
}

/// Brings a community's articles to a node that starts replicating it: reads the community's
/// `articles` collection and each article's history. Returns how many articles were new.
pub async fn backfill(state: &Node, community: &CommunityView) -> Result<usize, Error> {
    let url = Url::parse(&format!("{}/articles", community.ap_id))
        .map_err(|_| Error::invalid("bad community id"))?;
    let collection = match state.fetch(&url).await {
        Ok(c) => Collection::parse(&c),
        // Not a Roundtable community, or no articles collection: nothing to bring.
        Err(_) => return Ok(0),
    };
    // Every page of the collection (older nodes serve it inline, in one piece).
    let items = remote::collection_items(state, &collection, &host_of(&url), 1000, 100)
        .await
        .map_err(|e| Error::invalid(format!("cannot read the articles: {e}")))?;
    let mut stored = 0;
    for item in &items {
        let Object::Link(article) = Object::parse(item) else {
            continue;
        };
        let id = article.as_str();
        if host_of(&article) != host_of(&url) || state.db.article_by_ap_id(id).await?.is_some() {
            continue;
        }
        match sync_history(state, community, id).await {
            Ok(()) => stored += 1,
            Err(e) => warn!(article = id, error = %e.message, "an article could not be backfilled"),
        }
    }
    Ok(stored)
}

/// Fetches an article's history collection from its owner and applies the missing revisions.
pub(super) async fn sync_history(
    state: &Node,
    community: &CommunityView,
    article_ap: &str,
) -> Result<(), Error> {
    let article_url = Url::parse(article_ap).map_err(|_| Error::invalid("bad article id"))?;
    let fetch = |url: Url| async move {
        state
            .fetch(&url)
            .await
            .map_err(|e| Error::invalid(format!("cannot read the history: {e}")))
    };
    let doc = fetch(article_url.clone()).await?;
    let history = ArticleDoc::parse(&doc)
        .and_then(|a| a.history)
        .ok_or_else(|| Error::invalid("the article has no history"))?;
    if host_of(&history) != host_of(&article_url) {
        return Err(Error::forbidden("the history is on another host"));
    }
    let collection = Collection::parse(&fetch(history).await?);
    let mut next = match collection.first {
        Some(PageRef::Link(url)) => Some(url),
        _ => None,
    };
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > 1000 {
            break;
        }
        if host_of(&url) != host_of(&article_url) {
            break;
        }
        let page = Collection::parse(&fetch(url).await?);
        for item in &page.items {
            let item = RevisionDoc::parse(item);
            let title = item.title.as_deref().unwrap_or_default();
            let content = item.content.as_deref().unwrap_or_default();
            let rev = parse_revision(article_ap, &item, title, content)?;
            if state.db.revision(&rev.rev_id).await?.is_none() {
                Box::pin(apply_replica_revision(state, community, article_ap, rev, 1)).await?;
            }
        }
        next = match page.next {
            Some(PageRef::Link(url)) => Some(url),
            Some(PageRef::Unreadable(_)) => return Err(Error::invalid("bad page URL")),
            _ => None,
        };
    }
    Ok(())
}

/// The editor's node hears the owner refuse or settle a proposal.
pub async fn receive_answer(state: &Node, env: &Verified, edit: ArticleEdit) -> Result<(), Error> {
    if edit.community != env.actor.as_str() {
        return Err(Error::forbidden("only the community can answer"));
    }
    let answer = &env.activity;
    match env.kind {
        ActivityKind::Reject if answer.summary.as_deref() == Some("conflict") => {
            state
                .db
                .decide_edit(
                    &edit.edit_id,
                    "conflict",
                    None,
                    answer.conflict.clone(),
                    answer.latest_revision.clone(),
                    None,
                )
                .await?;
        }
        ActivityKind::Reject => {
            state
                .db
                .decide_edit(
                    &edit.edit_id,
                    "rejected",
                    None,
                    None,
                    None,
                    answer.summary.clone(),
                )
                .await?;
        }
        _ => {
            // Accept: the edit changed nothing; the head it names is the result.
            state
                .db
                .decide_edit(
                    &edit.edit_id,
                    "applied",
                    answer.revision.clone(),
                    None,
                    None,
                    None,
                )
                .await?;
        }
    }
    Ok(())
}

/// The history collection of an article this node owns: revisions with texts, oldest first.
pub async fn history_page(
    state: &Node,
    article: &Article,
    after: Option<i32>,
) -> Result<Value, Error> {
    let id = format!("{}/history", article.ap_id);
    let Some(after) = after else {
        let total = state.db.revision_count(article.id).await?;
        return Ok(json!({
            "@context": AS_CONTEXT,
            "id": id,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": format!("{id}?after=0"),
        }));
    };
    let revisions = state
        .db
        .revisions_page(article.id, after, HISTORY_PAGE)
        .await?;
    let items: Vec<Value> = revisions
        .iter()
        .map(|r| {
            let mut v = revision_json(r);
            v["title"] = json!(r.title);
            v["content"] = json!(r.content);
            v
        })
        .collect();
    let mut page = json!({
        "@context": AS_CONTEXT,
        "id": format!("{id}?after={after}"),
        "type": "OrderedCollectionPage",
        "partOf": id,
        "orderedItems": items,
    });
    if revisions.len() as u64 == HISTORY_PAGE {
        if let Some(last) = revisions.last() {
            page["next"] = json!(format!("{id}?after={}", last.seq));
        }
    }
    if revisions.is_empty() && after > 0 {
        warn!(article = %article.ap_id, "history page past the end");
    }
    Ok(page)
}
