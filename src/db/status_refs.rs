//! The status ids of knowledge articles and events, for Mastodon apps (`status_refs`): one is
//! taken from the posts' own sequence in the transaction that stores each article or event
//! (local or replicated), so Mastodon ids stay numeric, never clash with a post's, and are
//! ordered by arrival among posts. Timelines page them by id beside the posts.

use super::{
    articles::{Article, Revision},
    entities::{article, article_revision, event, status_ref},
    events::Event,
    mastodon::Window,
    Db, DbErr,
};
use sea_orm::{
    sea_query::ExprTrait, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Set, Statement,
};
use std::collections::HashMap;

pub type StatusRef = status_ref::Model;

/// What an article's or event's status shows, loaded for a page at once.
#[derive(Debug, Clone)]
pub enum CardSource {
    /// An article with its creator (the first revision's author) and its current revision.
    Article {
        article: Article,
        creator: String,
        current: Option<Revision>,
    },
    Event(Event),
}

/// A status of an article or event: its id and what it shows.
#[derive(Debug, Clone)]
pub struct Card {
    pub status: StatusRef,
    pub source: CardSource,
}

impl Card {
    pub fn community(&self) -> &str {
        &self.status.community
    }
}

/// Takes the next id of the posts' sequence: PostgreSQL's serial sequence of `posts.id`, or
/// SQLite's `AUTOINCREMENT` counter of `posts` (created from the largest post id if no post was
/// ever stored), so the next post gets a larger id. Both are writes, so a SQLite transaction
/// that starts here never upgrades a read lock.
async fn next_post_id<C: ConnectionTrait>(conn: &C) -> Result<i64, DbErr> {
    let backend = conn.get_database_backend();
    let row = match backend {
        DbBackend::Postgres => {
            conn.query_one_raw(Statement::from_string(
                backend,
                "SELECT nextval(pg_get_serial_sequence('posts', 'id')) AS id",
            ))
            .await?
        }
        _ => {
            conn.execute_unprepared(
                "INSERT OR IGNORE INTO sqlite_sequence(name, seq) \
                 SELECT 'posts', COALESCE(MAX(id), 0) FROM posts \
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'posts')",
            )
            .await?;
            conn.query_one_raw(Statement::from_string(
                backend,
                "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'posts' RETURNING seq AS id",
            ))
            .await?
        }
    };
    row.ok_or_else(|| DbErr::Custom("no id from the posts' sequence".into()))?
        .try_get("", "id")
}

/// Gives a new article (`article_id`) or event (`event_id`) its status id, inside the
/// transaction that stores it.
pub(super) async fn reserve<C: ConnectionTrait>(
    conn: &C,
    article_id: Option<i64>,
    event_id: Option<i64>,
    community: &str,
    created_at: i64,
) -> Result<i64, DbErr> {
    let id = next_post_id(conn).await?;
    status_ref::ActiveModel {
        id: Set(id),
        article_id: Set(article_id),
        event_id: Set(event_id),
        community: Set(community.to_string()),
        created_at: Set(created_at),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// The statuses whose author is `actor`: the articles whose first revision they wrote, the
/// events they organize.
fn by_author(actor: &str) -> sea_orm::Condition {
    use sea_orm::sea_query::Query;
    let created = Query::select()
        .column(article_revision::Column::ArticleId)
        .from(article_revision::Entity)
        .and_where(article_revision::Column::Seq.eq(1))
        .and_where(article_revision::Column::Author.eq(actor))
        .to_owned();
    let organized = Query::select()
        .column(event::Column::Id)
        .from(event::Entity)
        .and_where(event::Column::Organizer.eq(actor))
        .to_owned();
    sea_orm::Condition::any()
        .add(status_ref::Column::ArticleId.in_subquery(created))
        .add(status_ref::Column::EventId.in_subquery(organized))
}

impl Db {
    /// An article's or event's status, by status id.
    pub async fn status_ref(&self, id: i64) -> Result<Option<StatusRef>, DbErr> {
        status_ref::Entity::find_by_id(id).one(self.conn()).await
    }

    /// The status of an article or event, by its row (`article_id` or `event_id`).
    pub async fn status_ref_of(
        &self,
        article_id: Option<i64>,
        event_id: Option<i64>,
    ) -> Result<Option<StatusRef>, DbErr> {
        let q = status_ref::Entity::find();
        let q = match (article_id, event_id) {
            (Some(a), _) => q.filter(status_ref::Column::ArticleId.eq(a)),
            (None, Some(e)) => q.filter(status_ref::Column::EventId.eq(e)),
            (None, None) => return Ok(None),
        };
        q.one(self.conn()).await
    }

    /// The status of the article or event whose id (its URL) is `ap_id`, if this node holds
    /// it (its own or a replica).
    pub async fn status_ref_by_ap_id(&self, ap_id: &str) -> Result<Option<StatusRef>, DbErr> {
        if let Some(a) = self.article_by_ap_id(ap_id).await? {
            return self.status_ref_of(Some(a.id), None).await;
        }
        match self.event_by_ap_id(ap_id).await? {
            Some(e) => self.status_ref_of(None, Some(e.id)).await,
            None => Ok(None),
        }
    }

    /// A page of the article and event statuses in `communities` (none in the `hidden`
    /// ones), by id through `window` as timelines page posts: newest first, or with `min_id`
    /// the oldest after it, still returned newest first.
    pub async fn status_refs_page(
        &self,
        communities: &[String],
        hidden: &[String],
        window: Window,
        limit: u64,
    ) -> Result<Vec<StatusRef>, DbErr> {
        if communities.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = status_ref::Entity::find()
            .filter(status_ref::Column::Community.is_in(communities.iter().cloned()));
        if !hidden.is_empty() {
            q = q.filter(status_ref::Column::Community.is_not_in(hidden.iter().cloned()));
        }
        super::mastodon::window_page(self.conn(), q, status_ref::Column::Id, window, limit).await
    }

    /// The communities where `actor` has article or event statuses (see [`by_author`]).
    pub async fn status_ref_communities_by(&self, actor: &str) -> Result<Vec<String>, DbErr> {
        status_ref::Entity::find()
            .select_only()
            .column(status_ref::Column::Community)
            .distinct()
            .filter(by_author(actor))
            .into_tuple()
            .all(self.conn())
            .await
    }

    /// A page of the article and event statuses whose author is `actor` (see [`by_author`])
    /// in `communities`, by id through `window` as [`Db::status_refs_page`] pages.
    pub async fn status_refs_by(
        &self,
        actor: &str,
        communities: &[String],
        window: Window,
        limit: u64,
    ) -> Result<Vec<StatusRef>, DbErr> {
        if communities.is_empty() {
            return Ok(Vec::new());
        }
        let q = status_ref::Entity::find()
            .filter(by_author(actor))
            .filter(status_ref::Column::Community.is_in(communities.iter().cloned()));
        super::mastodon::window_page(self.conn(), q, status_ref::Column::Id, window, limit).await
    }

    /// What the statuses `refs` show, in their order, in at most three queries whatever their
    /// number; a status whose article or event is gone is left out.
    pub async fn cards(&self, refs: Vec<StatusRef>) -> Result<Vec<Card>, DbErr> {
        let article_ids: Vec<i64> = refs.iter().filter_map(|r| r.article_id).collect();
        let event_ids: Vec<i64> = refs.iter().filter_map(|r| r.event_id).collect();
        let mut articles: HashMap<i64, Article> = HashMap::new();
        let mut revisions: HashMap<i64, Vec<Revision>> = HashMap::new();
        if !article_ids.is_empty() {
            articles = article::Entity::find()
                .filter(article::Column::Id.is_in(article_ids.iter().copied()))
                .all(self.conn())
                .await?
                .into_iter()
                .map(|a| (a.id, a))
                .collect();
            let current: Vec<String> = articles.values().map(|a| a.current_rev.clone()).collect();
            let rows = article_revision::Entity::find()
                .filter(article_revision::Column::ArticleId.is_in(article_ids.iter().copied()))
                .filter(
                    article_revision::Column::Seq
                        .eq(1)
                        .or(article_revision::Column::RevId.is_in(current)),
                )
                .all(self.conn())
                .await?;
            for r in rows {
                revisions.entry(r.article_id).or_default().push(r);
            }
        }
        let mut events: HashMap<i64, Event> = if event_ids.is_empty() {
            HashMap::new()
        } else {
            event::Entity::find()
                .filter(event::Column::Id.is_in(event_ids))
                .all(self.conn())
                .await?
                .into_iter()
                .map(|e| (e.id, e))
                .collect()
        };
        Ok(refs
            .into_iter()
            .filter_map(|status| {
                let source = match (status.article_id, status.event_id) {
                    (Some(a), _) => {
                        let article = articles.remove(&a)?;
                        let revs = revisions.remove(&a).unwrap_or_default();
                        let creator = revs
                            .iter()
                            .find(|r| r.seq == 1)
                            .map(|r| r.author.clone())
                            .unwrap_or_else(|| article.community.clone());
                        let current = revs.into_iter().find(|r| r.rev_id == article.current_rev);
                        CardSource::Article {
                            article,
                            creator,
                            current,
                        }
                    }
                    (None, Some(e)) => CardSource::Event(events.remove(&e)?),
                    (None, None) => return None,
                };
                Some(Card { status, source })
            })
            .collect())
    }
}
