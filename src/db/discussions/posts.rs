//! Threads and replies (local and replicated), their flags and likes; post writes committed with their delivery jobs.

use super::*;

impl Db {
    pub async fn post(&self, id: i64) -> Result<Option<Post>, DbErr> {
        post::Entity::find_by_id(id).one(self.conn()).await
    }

    /// The versions edits replaced of a post, oldest first: the latest `limit` of them.
    pub async fn post_revisions(
        &self,
        post_id: i64,
        limit: u64,
    ) -> Result<Vec<super::super::entities::post_revision::Model>, DbErr> {
        use super::super::entities::post_revision;
        let mut rows = post_revision::Entity::find()
            .filter(post_revision::Column::PostId.eq(post_id))
            .order_by_desc(post_revision::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?;
        rows.reverse();
        Ok(rows)
    }

    pub async fn post_by_ap_id(&self, ap_id: &str) -> Result<Option<Post>, DbErr> {
        post::Entity::find()
            .filter(post::Column::ApId.eq(ap_id))
            .one(self.conn())
            .await
    }

    /// Stores a post; an existing one with the same `ap_id` is returned unchanged.
    pub async fn insert_post(&self, new: NewPost) -> Result<(Post, bool), DbErr> {
        Ok(self
            .insert_post_and_enqueue(new, Vec::new())
            .await?
            .without_jobs())
    }

    /// Stores a post and, if it is new, queues `jobs` in the same transaction: an accepted
    /// post is never stored without the deliveries it causes.
    pub async fn insert_post_and_enqueue(
        &self,
        new: NewPost,
        jobs: Vec<NewJob>,
    ) -> Result<Queued<(Post, bool)>, DbErr> {
        async {
            let txn = self.begin().await?;
            let ap_id = new.ap_id.clone();
            let mentions = new.mentions;
            let author = new.author.clone();
            let attachments = new.attachments;
            let inserted = post::Entity::insert(post::ActiveModel {
                ap_id: Set(new.ap_id),
                community: Set(new.community),
                author: Set(new.author),
                thread_id: Set(new.thread_id),
                parent_id: Set(new.parent_id),
                title: Set(new.title),
                content: Set(new.content),
                source: Set(new.source),
                summary: Set(new.summary),
                published: Set(new.published),
                updated: Set(new.updated),
                deleted: Set(false),
                removed_reason: Set(None),
                locked: Set(false),
                pinned: Set(false),
                like_count: Set(0),
                local: Set(new.local),
                created_at: Set(now_ms()),
                signed_object: Set(new.signed_object),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::column(post::Column::ApId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            let post = post::Entity::find()
                .filter(post::Column::ApId.eq(&ap_id))
                .one(&txn)
                .await?
                .ok_or_else(|| DbErr::RecordNotFound(ap_id))?;
            if inserted > 0 {
                if !mentions.is_empty() {
                    post_mention::Entity::insert_many(mentions.into_iter().map(|m| {
                        post_mention::ActiveModel {
                            post_id: Set(post.id),
                            actor: Set(m.actor),
                            name: Set(m.name),
                            created_at: Set(post.created_at),
                            ..Default::default()
                        }
                    }))
                    .on_conflict(
                        OnConflict::columns([
                            post_mention::Column::PostId,
                            post_mention::Column::Actor,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
                }
                super::super::media::attach(&txn, post.id, &author, attachments).await?;
                index_post(&txn, &post).await?;
                enqueue(&txn, jobs, now_ms()).await?;
            }
            txn.commit().await?;
            Ok((post, inserted > 0))
        }
        .await
        .map(Queued)
    }

    /// Applies a change to a post and queues the deliveries it causes, atomically.
    pub async fn change_post_and_enqueue(
        &self,
        id: i64,
        change: PostChange,
        jobs: Vec<NewJob>,
    ) -> Result<Queued<()>, DbErr> {
        async {
            let txn = self.begin().await?;
            if matches!(change, PostChange::Content { .. }) {
                // The version an edit replaces is kept (and this write comes first).
                keep_revision(&txn, id).await?;
            }
            let mut model = post::ActiveModel {
                id: Set(id),
                ..Default::default()
            };
            match change {
                PostChange::Content {
                    title,
                    content,
                    source,
                    summary,
                    updated,
                    signed_object,
                } => {
                    model.title = Set(title);
                    model.content = Set(content);
                    model.source = Set(source);
                    model.summary = Set(summary);
                    model.updated = Set(Some(updated));
                    model.signed_object = Set(signed_object);
                }
                PostChange::Deleted => model.deleted = Set(true),
                PostChange::Removed(reason) => model.removed_reason = Set(Some(reason)),
            }
            let post = model.update(&txn).await?;
            if post.deleted || post.removed_reason.is_some() {
                index_remove(&txn, post_kind(&post), post.id).await?;
            } else {
                index_post(&txn, &post).await?;
            }
            enqueue(&txn, jobs, now_ms()).await?;
            txn.commit().await
        }
        .await
        .map(Queued)
    }

    /// The people a post mentions, in the order it names them.
    pub async fn post_mentions(&self, post_id: i64) -> Result<Vec<Mentioned>, DbErr> {
        Ok(post_mention::Entity::find()
            .filter(post_mention::Column::PostId.eq(post_id))
            .order_by_asc(post_mention::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| Mentioned {
                actor: m.actor,
                name: m.name,
            })
            .collect())
    }

    pub async fn mark_post_deleted(&self, id: i64) -> Result<(), DbErr> {
        // No jobs were queued, so there is nobody to wake.
        self.change_post_and_enqueue(id, PostChange::Deleted, Vec::new())
            .await?
            .without_jobs();
        Ok(())
    }

    pub async fn set_post_removed(&self, id: i64, reason: Option<String>) -> Result<(), DbErr> {
        let reason = reason.unwrap_or_else(|| "removed by a moderator".into());
        self.change_post_and_enqueue(id, PostChange::Removed(reason), Vec::new())
            .await?
            .without_jobs();
        Ok(())
    }

    pub async fn set_post_flags(
        &self,
        id: i64,
        locked: Option<bool>,
        pinned: Option<bool>,
    ) -> Result<(), DbErr> {
        apply(self.conn(), &Write::PostFlags { id, locked, pinned }).await?;
        Ok(())
    }

    /// Marks `answer` (a reply of the thread) as the thread's answer, or unmarks it.
    pub async fn set_answer(&self, thread: i64, answer: Option<i64>) -> Result<(), DbErr> {
        apply(self.conn(), &Write::Answer { thread, answer }).await?;
        Ok(())
    }

    pub async fn thread_count(&self, community: &str) -> Result<u64, DbErr> {
        visible_threads(community).count(self.conn()).await
    }

    /// Visible threads of a community, newest first, `limit` before `before_id`; pinned ones
    /// first when `pinned_first` (lists), or regardless of pins (outbox order).
    pub async fn threads(
        &self,
        community: &str,
        limit: u64,
        before_id: Option<i64>,
        pinned_first: bool,
    ) -> Result<Vec<Post>, DbErr> {
        let mut q = visible_threads(community);
        if let Some(before) = before_id {
            q = q.filter(post::Column::Id.lt(before));
        }
        if pinned_first {
            q = q.order_by_desc(post::Column::Pinned);
        }
        q.order_by_desc(post::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await
    }

    /// A page of a community's visible threads, pinned first, newest first: at most `limit`
    /// past `cursor`.
    pub async fn threads_page(
        &self,
        community: &str,
        cursor: Option<ThreadCursor>,
        limit: u64,
    ) -> Result<Page<Post>, DbErr> {
        let mut q = visible_threads(community);
        // (pinned, id) descending: after a pinned thread come older pinned ones, then every
        // unpinned one; after an unpinned one, only older unpinned ones.
        match cursor {
            None => {}
            Some(ThreadCursor { pinned: true, id }) => {
                q = q.filter(
                    Condition::any()
                        .add(post::Column::Pinned.eq(false))
                        .add(post::Column::Id.lt(id)),
                )
            }
            Some(ThreadCursor { pinned: false, id }) => {
                q = q
                    .filter(post::Column::Pinned.eq(false))
                    .filter(post::Column::Id.lt(id))
            }
        }
        let rows = q
            .order_by_desc(post::Column::Pinned)
            .order_by_desc(post::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    pub async fn pinned_threads(&self, community: &str) -> Result<Vec<Post>, DbErr> {
        visible_threads(community)
            .filter(post::Column::Pinned.eq(true))
            .order_by_desc(post::Column::Id)
            .all(self.conn())
            .await
    }

    /// A page of a community's pinned threads, newest first, below thread id `before`.
    pub async fn pinned_page(
        &self,
        community: &str,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Page<Post>, DbErr> {
        let mut q = visible_threads(community).filter(post::Column::Pinned.eq(true));
        if let Some(before) = before {
            q = q.filter(post::Column::Id.lt(before));
        }
        let rows = q
            .order_by_desc(post::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    pub async fn pinned_count(&self, community: &str) -> Result<u64, DbErr> {
        visible_threads(community)
            .filter(post::Column::Pinned.eq(true))
            .count(self.conn())
            .await
    }

    /// Every reply of a thread (deleted ones too, so nesting stays intact), oldest first.
    pub async fn replies(&self, thread_id: i64) -> Result<Vec<Post>, DbErr> {
        post::Entity::find()
            .filter(post::Column::ThreadId.eq(thread_id))
            .order_by_asc(post::Column::Published)
            .order_by_asc(post::Column::Id)
            .all(self.conn())
            .await
    }

    /// A page of a thread's replies in [`Db::replies`] order: at most `limit` after the reply
    /// published at `after.0` with id `after.1`.
    pub async fn replies_page(
        &self,
        thread_id: i64,
        after: Option<(i64, i64)>,
        limit: u64,
    ) -> Result<Page<Post>, DbErr> {
        let mut q = post::Entity::find().filter(post::Column::ThreadId.eq(thread_id));
        if let Some((published, id)) = after {
            q = q.filter(
                Condition::any()
                    .add(post::Column::Published.gt(published))
                    .add(
                        Condition::all()
                            .add(post::Column::Published.eq(published))
                            .add(post::Column::Id.gt(id)),
                    ),
            );
        }
        let rows = q
            .order_by_asc(post::Column::Published)
            .order_by_asc(post::Column::Id)
            .limit(rows_for(limit))
            .all(self.conn())
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    /// The ActivityPub ids of the posts among `ids`, in one query.
    pub async fn post_ap_ids(&self, ids: &[i64]) -> Result<HashMap<i64, String>, DbErr> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, String)> = post::Entity::find()
            .select_only()
            .column(post::Column::Id)
            .column(post::Column::ApId)
            .filter(post::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn reply_count(&self, thread_id: i64) -> Result<u64, DbErr> {
        post::Entity::find()
            .filter(post::Column::ThreadId.eq(thread_id))
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null())
            .count(self.conn())
            .await
    }

    /// Visible replies of each of `thread_ids`, in one query (threads without any are absent).
    pub async fn reply_counts(
        &self,
        thread_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, u64>, DbErr> {
        if thread_ids.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<(Option<i64>, i64)> = post::Entity::find()
            .select_only()
            .column(post::Column::ThreadId)
            .column_as(post::Column::Id.count(), "n")
            .filter(post::Column::ThreadId.is_in(thread_ids.iter().copied()))
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null())
            .group_by(post::Column::ThreadId)
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(thread, n)| Some((thread?, u64::try_from(n).unwrap_or(0))))
            .collect())
    }

    // ----- likes -----

    /// Records a like; false when the actor already liked the post.
    pub async fn add_like(&self, post_id: i64, actor: &str, ap_id: &str) -> Result<bool, DbErr> {
        apply(
            self.conn(),
            &Write::AddLike {
                post_id,
                actor: actor.to_string(),
                ap_id: ap_id.to_string(),
            },
        )
        .await
    }

    /// Who liked a post, the latest `limit` first.
    pub async fn likers(&self, post_id: i64, limit: u64) -> Result<Vec<String>, DbErr> {
        Ok(like::Entity::find()
            .filter(like::Column::PostId.eq(post_id))
            .order_by_desc(like::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|l| l.actor)
            .collect())
    }

    pub async fn like_of(&self, post_id: i64, actor: &str) -> Result<Option<like::Model>, DbErr> {
        like::Entity::find()
            .filter(like::Column::PostId.eq(post_id))
            .filter(like::Column::Actor.eq(actor))
            .one(self.conn())
            .await
    }

    pub async fn remove_like(&self, post_id: i64, actor: &str) -> Result<bool, DbErr> {
        apply(
            self.conn(),
            &Write::RemoveLike {
                post_id,
                actor: actor.to_string(),
            },
        )
        .await
    }

    // ----- bans -----
}

/// Copies a post's current version into `post_revisions`, in one `INSERT … SELECT`.
async fn keep_revision<C: ConnectionTrait>(txn: &C, id: i64) -> Result<(), DbErr> {
    use super::super::entities::post_revision;
    use sea_orm::sea_query::{Func, Query};
    let select = Query::select()
        .column(post::Column::Id)
        .column(post::Column::Title)
        .column(post::Column::Content)
        .column(post::Column::Source)
        .expr(Func::coalesce([
            Expr::col(post::Column::Updated),
            Expr::col(post::Column::Published),
        ]))
        .from(post::Entity)
        .and_where(post::Column::Id.eq(id))
        .to_owned();
    let insert = Query::insert()
        .into_table(post_revision::Entity)
        .columns([
            post_revision::Column::PostId,
            post_revision::Column::Title,
            post_revision::Column::Content,
            post_revision::Column::Source,
            post_revision::Column::CreatedAt,
        ])
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    txn.execute(&insert).await?;
    Ok(())
}
