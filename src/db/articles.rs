//! Queries for knowledge articles, their revisions, slugs and proposed edits.

use super::queue::Queued;
use super::{
    entities::{article, article_edit, article_revision, article_slug},
    now_ms,
    queue::{enqueue, NewJob},
    Db, DbErr,
};
use crate::paging::{rows_for, Page};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

pub type Article = article::Model;
pub type Revision = article_revision::Model;
pub type ArticleEdit = article_edit::Model;

/// A revision without its text, for history listings.
#[derive(Debug, Clone, FromQueryResult)]
pub struct RevisionMeta {
    pub rev_id: String,
    pub parent_rev: Option<String>,
    pub author: String,
    pub message: String,
    pub title: String,
    pub seq: i32,
    pub created_at: i64,
}

/// A revision to store.
#[derive(Debug, Clone)]
pub struct NewRevision {
    pub rev_id: String,
    pub parent_rev: Option<String>,
    pub author: String,
    pub message: String,
    pub title: String,
    pub content: String,
    pub edit_id: Option<String>,
    pub created_at: i64,
}

/// An article to store with its first revision.
pub struct NewArticle {
    pub ap_id: String,
    pub community: String,
    pub slug: String,
    pub review_interval_days: Option<i32>,
    pub local: bool,
}

impl Db {
    pub async fn article(&self, id: i64) -> Result<Option<Article>, DbErr> {
        article::Entity::find_by_id(id).one(self.conn()).await
    }

    pub async fn article_by_ap_id(&self, ap_id: &str) -> Result<Option<Article>, DbErr> {
        article::Entity::find()
            .filter(article::Column::ApId.eq(ap_id))
            .one(self.conn())
            .await
    }

    /// The article a slug names in a community, current or former.
    pub async fn article_by_slug(
        &self,
        community: &str,
        slug: &str,
    ) -> Result<Option<Article>, DbErr> {
        let Some(row) = article_slug::Entity::find()
            .filter(article_slug::Column::Community.eq(community))
            .filter(article_slug::Column::Slug.eq(slug))
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        self.article(row.article_id).await
    }

    pub async fn slug_taken(&self, community: &str, slug: &str) -> Result<bool, DbErr> {
        Ok(article_slug::Entity::find()
            .filter(article_slug::Column::Community.eq(community))
            .filter(article_slug::Column::Slug.eq(slug))
            .count(self.conn())
            .await?
            > 0)
    }

    /// A page of a community's articles by title (ties by id); only those overdue for review
    /// at `overdue_at` if given; at most `limit` after the article titled `after.0` with id
    /// `after.1`.
    pub async fn articles_page(
        &self,
        community: &str,
        overdue_at: Option<i64>,
        after: Option<(&str, i64)>,
        limit: u64,
    ) -> Result<Page<Article>, DbErr> {
        let mut q = article::Entity::find().filter(article::Column::Community.eq(community));
        if let Some(now) = overdue_at {
            // Days as BIGINT: an INTEGER product overflows on PostgreSQL past 24 days.
            let due = Expr::cust(
                "COALESCE(last_reviewed_at, created_at) + CAST(review_interval_days AS BIGINT) * 86400000",
            );
            q = q
                .filter(article::Column::ReviewIntervalDays.is_not_null())
                .filter(due.lte(now));
        }
        if let Some((title, id)) = after {
            q = q.filter(
                Condition::any().add(article::Column::Title.gt(title)).add(
                    Condition::all()
                        .add(article::Column::Title.eq(title))
                        .add(article::Column::Id.gt(id)),
                ),
            );
        }
        let rows = q
            .order_by_asc(article::Column::Title)
            .order_by_asc(article::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    /// A page of the ids of the articles a community of this node owns, oldest first.
    pub async fn owned_article_ids(
        &self,
        community: &str,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Page<(i64, String)>, DbErr> {
        let mut q = owned_articles(community)
            .select_only()
            .column(article::Column::Id)
            .column(article::Column::ApId);
        if let Some(after) = after {
            q = q.filter(article::Column::Id.gt(after));
        }
        let rows: Vec<(i64, String)> = q
            .order_by_asc(article::Column::Id)
            .limit(rows_for(limit))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    pub async fn owned_article_count(&self, community: &str) -> Result<u64, DbErr> {
        owned_articles(community).count(self.conn()).await
    }

    /// The ActivityPub ids of the articles among `ids`, in one query.
    pub async fn article_ap_ids(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, String>, DbErr> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<(i64, String)> = article::Entity::find()
            .select_only()
            .column(article::Column::Id)
            .column(article::Column::ApId)
            .filter(article::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// One revision, with its text: a single query whatever the length of the history.
    pub async fn revision(&self, rev_id: &str) -> Result<Option<Revision>, DbErr> {
        article_revision::Entity::find()
            .filter(article_revision::Column::RevId.eq(rev_id))
            .one(self.conn())
            .await
    }

    /// How many revisions an article's history holds.
    pub async fn revision_count(&self, article_id: i64) -> Result<u64, DbErr> {
        article_revision::Entity::find()
            .filter(article_revision::Column::ArticleId.eq(article_id))
            .count(self.conn())
            .await
    }

    /// A page of the history without texts, newest first: at most `limit` revisions numbered
    /// below `before` (all numbers when `None`).
    pub async fn revision_list_page(
        &self,
        article_id: i64,
        before: Option<i32>,
        limit: u64,
    ) -> Result<Vec<RevisionMeta>, DbErr> {
        let mut q = article_revision::Entity::find()
            .select_only()
            .columns([
                article_revision::Column::RevId,
                article_revision::Column::ParentRev,
                article_revision::Column::Author,
                article_revision::Column::Message,
                article_revision::Column::Title,
                article_revision::Column::Seq,
                article_revision::Column::CreatedAt,
            ])
            .filter(article_revision::Column::ArticleId.eq(article_id));
        if let Some(before) = before {
            q = q.filter(article_revision::Column::Seq.lt(before));
        }
        q.order_by_desc(article_revision::Column::Seq)
            .limit(limit)
            .into_model::<RevisionMeta>()
            .all(self.conn())
            .await
    }

    /// Revisions with texts in history order, `limit` after sequence number `after`.
    pub async fn revisions_page(
        &self,
        article_id: i64,
        after: i32,
        limit: u64,
    ) -> Result<Vec<Revision>, DbErr> {
        article_revision::Entity::find()
            .filter(article_revision::Column::ArticleId.eq(article_id))
            .filter(article_revision::Column::Seq.gt(after))
            .order_by_asc(article_revision::Column::Seq)
            .limit(limit)
            .all(self.conn())
            .await
    }

    /// Distinct authors of an article, in order of first contribution.
    pub async fn article_authors(&self, article_id: i64) -> Result<Vec<String>, DbErr> {
        let rows: Vec<(String, i32)> = article_revision::Entity::find()
            .select_only()
            .column(article_revision::Column::Author)
            .column_as(article_revision::Column::Seq.min(), "first")
            .filter(article_revision::Column::ArticleId.eq(article_id))
            .group_by(article_revision::Column::Author)
            .order_by_asc(Expr::col(sea_orm::sea_query::Alias::new("first")))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().map(|(a, _)| a).collect())
    }

    /// Stores a new article with its first revision and the deliveries announcing it.
    pub async fn insert_article(
        &self,
        new: NewArticle,
        first: NewRevision,
        jobs: Vec<NewJob>,
    ) -> Result<Queued<Article>, DbErr> {
        async {
            let txn = self.begin().await?;
            let now = now_ms();
            let article = article::ActiveModel {
                ap_id: Set(new.ap_id),
                community: Set(new.community.clone()),
                title: Set(first.title.clone()),
                slug: Set(new.slug.clone()),
                current_rev: Set(first.rev_id.clone()),
                protected: Set(false),
                review_interval_days: Set(new.review_interval_days),
                last_reviewed_at: Set(None),
                last_reviewed_by: Set(None),
                local: Set(new.local),
                created_at: Set(first.created_at),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            article_slug::ActiveModel {
                article_id: Set(article.id),
                community: Set(new.community),
                slug: Set(new.slug),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            // Its status id in Mastodon apps, from the posts' sequence.
            super::status_refs::reserve(
                &txn,
                Some(article.id),
                None,
                &article.community,
                article.created_at,
            )
            .await?;
            index_article(&txn, &article, &first.title, &first.content).await?;
            insert_revision(&txn, article.id, 1, first).await?;
            enqueue(&txn, jobs, now).await?;
            txn.commit().await?;
            Ok(article)
        }
        .await
        .map(Queued)
    }

    /// Appends a revision (the article's new head), renaming the article if its title changed,
    /// and queues the deliveries announcing it, atomically. `expected_head` guards against a
    /// concurrent writer: if the head moved, nothing is written and Ok(false) is returned.
    pub async fn append_revision(
        &self,
        article: &Article,
        expected_head: &str,
        revision: NewRevision,
        new_slug: Option<String>,
        jobs: Vec<NewJob>,
    ) -> Result<Queued<bool>, DbErr> {
        async {
            let txn = self.begin().await?;
            let now = now_ms();
            let moved = article::Entity::update_many()
                .col_expr(
                    article::Column::CurrentRev,
                    Expr::value(revision.rev_id.clone()),
                )
                .col_expr(article::Column::Title, Expr::value(revision.title.clone()))
                .col_expr(article::Column::UpdatedAt, Expr::value(now))
                .filter(article::Column::Id.eq(article.id))
                .filter(article::Column::CurrentRev.eq(expected_head))
                .exec(&txn)
                .await?;
            if moved.rows_affected == 0 {
                txn.rollback().await?;
                return Ok(false);
            }
            if let Some(slug) = new_slug {
                article::Entity::update_many()
                    .col_expr(article::Column::Slug, Expr::value(slug.clone()))
                    .filter(article::Column::Id.eq(article.id))
                    .exec(&txn)
                    .await?;
                article_slug::ActiveModel {
                    article_id: Set(article.id),
                    community: Set(article.community.clone()),
                    slug: Set(slug),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
            let seq = article_revision::Entity::find()
                .filter(article_revision::Column::ArticleId.eq(article.id))
                .count(&txn)
                .await? as i32
                + 1;
            index_article(&txn, article, &revision.title, &revision.content).await?;
            insert_revision(&txn, article.id, seq, revision).await?;
            enqueue(&txn, jobs, now).await?;
            txn.commit().await?;
            Ok(true)
        }
        .await
        .map(Queued)
    }

    pub async fn set_article_protected(&self, id: i64, protected: bool) -> Result<(), DbErr> {
        article::Entity::update_many()
            .col_expr(article::Column::Protected, Expr::value(protected))
            .filter(article::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    pub async fn record_review(
        &self,
        id: i64,
        by: &str,
        at: i64,
        interval_days: Option<i32>,
    ) -> Result<(), DbErr> {
        let mut update = article::Entity::update_many()
            .col_expr(article::Column::LastReviewedAt, Expr::value(at))
            .col_expr(article::Column::LastReviewedBy, Expr::value(by));
        if let Some(days) = interval_days {
            update = update.col_expr(article::Column::ReviewIntervalDays, Expr::value(days));
        }
        update
            .filter(article::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    // ----- proposed edits -----

    pub async fn insert_edit(
        &self,
        edit: ArticleEdit,
        jobs: Vec<NewJob>,
    ) -> Result<Queued<()>, DbErr> {
        async {
            let txn = self.begin().await?;
            let mut model: article_edit::ActiveModel = edit.into();
            model.id = sea_orm::ActiveValue::NotSet;
            model.insert(&txn).await?;
            enqueue(&txn, jobs, now_ms()).await?;
            txn.commit().await
        }
        .await
        .map(Queued)
    }

    pub async fn edit_by_edit_id(&self, edit_id: &str) -> Result<Option<ArticleEdit>, DbErr> {
        article_edit::Entity::find()
            .filter(article_edit::Column::EditId.eq(edit_id))
            .one(self.conn())
            .await
    }

    pub async fn edit(&self, id: i64) -> Result<Option<ArticleEdit>, DbErr> {
        article_edit::Entity::find_by_id(id).one(self.conn()).await
    }

    /// Records the owner's decision on a pending edit; false if it was already decided.
    pub async fn decide_edit(
        &self,
        edit_id: &str,
        state: &str,
        result_rev: Option<String>,
        conflict: Option<String>,
        latest_rev: Option<String>,
        reason: Option<String>,
    ) -> Result<bool, DbErr> {
        let result = article_edit::Entity::update_many()
            .col_expr(article_edit::Column::State, Expr::value(state))
            .col_expr(article_edit::Column::ResultRev, Expr::value(result_rev))
            .col_expr(article_edit::Column::Conflict, Expr::value(conflict))
            .col_expr(article_edit::Column::LatestRev, Expr::value(latest_rev))
            .col_expr(article_edit::Column::Reason, Expr::value(reason))
            .col_expr(article_edit::Column::DecidedAt, Expr::value(now_ms()))
            .filter(article_edit::Column::EditId.eq(edit_id))
            .filter(Condition::all().add(article_edit::Column::State.eq("pending")))
            .exec(self.conn())
            .await?;
        Ok(result.rows_affected > 0)
    }
}

async fn insert_revision<C: sea_orm::ConnectionTrait>(
    conn: &C,
    article_id: i64,
    seq: i32,
    r: NewRevision,
) -> Result<(), DbErr> {
    article_revision::ActiveModel {
        article_id: Set(article_id),
        rev_id: Set(r.rev_id),
        parent_rev: Set(r.parent_rev),
        author: Set(r.author),
        message: Set(r.message),
        title: Set(r.title),
        content: Set(r.content),
        seq: Set(seq),
        edit_id: Set(r.edit_id),
        created_at: Set(r.created_at),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Puts an article's current title and text into the search index.
async fn index_article<C: sea_orm::ConnectionTrait>(
    conn: &C,
    article: &Article,
    title: &str,
    markdown_text: &str,
) -> Result<(), DbErr> {
    let text = crate::markdown::plain_text(&crate::markdown::render(markdown_text));
    super::search::index_upsert(
        conn,
        "article",
        article.id,
        &article.community,
        title,
        &text,
    )
    .await
}

/// The articles of `community` owned by this node.
fn owned_articles(community: &str) -> sea_orm::Select<article::Entity> {
    article::Entity::find()
        .filter(article::Column::Community.eq(community))
        .filter(article::Column::Local.eq(true))
}
