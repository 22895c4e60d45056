//! A hosted community's stream and each replica's place in the stream of a remote community.
//!
//! Every activity a community hosted here sends its followers (announces of posts, likes,
//! moderation, articles' and events' `Create`/`Update`/`Delete`) is appended to
//! `community_stream` with the next position (1, 2, 3, … per community, no gaps), in the
//! transaction that stores the change and queues its deliveries: the stream holds an activity
//! exactly when the change is committed. It is appended even when the community has no remote
//! follower yet, so a node that joins later reads the whole history from position 0.
//!
//! `replica_sync` is the other side: how far this node has applied a remote community's
//! stream, and what the last pass cost.

use super::{now_ms, queue::sql, queue::NewJob, Db, DbErr};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};
use sha2::{Digest, Sha256};

/// The `inbox` of a [`NewJob`] that is not a delivery but an entry of the community's stream
/// (see [`stream_entry`]): it rides with the deliveries into the transaction that stores the
/// change, where `queue::enqueue` appends it instead of queueing it.
pub const STREAM_INBOX: &str = "roundtable:stream";

/// The stream entry for one activity `community` sends, to pass with the change's jobs.
pub fn stream_entry(community: &str, activity: &serde_json::Value) -> NewJob {
    NewJob {
        activity_id: activity
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        signer_actor_id: 0,
        inbox: STREAM_INBOX.into(),
        host: String::new(),
        body: activity.to_string(),
        kind: "stream".into(),
        audience: Some(community.to_string()),
    }
}

/// The property that carries an activity's position in its community's stream, in the stream's
/// pages and in the deliveries of the activity (other software ignores it).
pub const POSITION: &str = "roundtable:position";

/// `activity` (JSON text) with its stream position added, for its deliveries.
pub fn with_position(activity: &str, position: i64) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(activity).ok()?;
    value
        .as_object_mut()?
        .insert(POSITION.into(), position.into());
    Some(value.to_string())
}

/// Appends one activity to `community`'s stream inside the caller's transaction; returns its
/// position. The head row is raised first, which also serializes concurrent appends to one
/// community (a row lock on PostgreSQL, the write lock on SQLite).
pub(super) async fn append<C: ConnectionTrait>(
    conn: &C,
    community: &str,
    activity: &str,
    now: i64,
) -> Result<i64, DbErr> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_all_raw(sql(
            backend,
            "INSERT INTO community_stream_heads (community, position) VALUES ($1, 1) \
             ON CONFLICT (community) DO UPDATE SET position = community_stream_heads.position + 1 \
             RETURNING position",
            vec![community.into()],
        ))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DbErr::Custom("the stream head was not returned".into()))?;
    let position: i64 = row.try_get("", "position")?;
    conn.execute_raw(sql(
        backend,
        "INSERT INTO community_stream (community, position, activity, created_at) \
         VALUES ($1, $2, $3, $4)",
        vec![
            community.into(),
            position.into(),
            activity.into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(position)
}

/// How far a replica has applied a remote community's stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaSync {
    pub community: String,
    /// The last position applied.
    pub position: i64,
    /// The host's last position, as last read.
    pub host_position: i64,
    /// Stream pages fetched, items applied and items skipped (refused or failed) since the
    /// sync began.
    pub pages: i64,
    pub applied: i64,
    pub skipped: i64,
    pub last_error: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
    /// When the replica last reached the host's position; none while it is behind.
    pub finished_at: Option<i64>,
}

fn sync_from_row(r: &QueryResult) -> Result<ReplicaSync, DbErr> {
    Ok(ReplicaSync {
        community: r.try_get("", "community")?,
        position: r.try_get("", "position")?,
        host_position: r.try_get("", "host_position")?,
        pages: r.try_get("", "pages")?,
        applied: r.try_get("", "applied")?,
        skipped: r.try_get("", "skipped")?,
        last_error: r.try_get("", "last_error")?,
        started_at: r.try_get("", "started_at")?,
        updated_at: r.try_get("", "updated_at")?,
        finished_at: r.try_get("", "finished_at")?,
    })
}

const SYNC_COLUMNS: &str = "community, position, host_position, pages, applied, skipped, \
                            last_error, started_at, updated_at, finished_at";

/// The statements that delete a community's content from this node (its members stay).
pub(super) const COPY_CONTENT: [&str; 4] = [
    "DELETE FROM posts WHERE community = $1",
    "DELETE FROM articles WHERE community = $1",
    "DELETE FROM events WHERE community = $1",
    "DELETE FROM search_documents WHERE community = $1",
];

/// What a content digest covers, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Contents {
    pub threads: i64,
    pub replies: i64,
    pub revisions: i64,
    pub events: i64,
}

impl Db {
    /// The last position of a hosted community's stream (0 before its first activity).
    pub async fn stream_head(&self, community: &str) -> Result<i64, DbErr> {
        let row = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT position FROM community_stream_heads WHERE community = $1",
                vec![community.into()],
            ))
            .await?;
        Ok(match row.first() {
            Some(r) => r.try_get("", "position")?,
            None => 0,
        })
    }

    /// Whether the stream holds the community's whole history: nothing of its content is older
    /// than its first entry (communities that had content before this node kept streams have
    /// only what came after).
    pub async fn stream_is_complete(&self, community: &str) -> Result<bool, DbErr> {
        let row = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT \
                   (SELECT MIN(created_at) FROM community_stream WHERE community = $1) AS first, \
                   (SELECT MIN(created_at) FROM posts WHERE community = $1) AS posts, \
                   (SELECT MIN(created_at) FROM articles WHERE community = $1) AS articles, \
                   (SELECT MIN(created_at) FROM events WHERE community = $1) AS events",
                vec![community.into()],
            ))
            .await?;
        let Some(row) = row.first() else {
            return Ok(true);
        };
        let first: Option<i64> = row.try_get("", "first")?;
        let mut oldest: Option<i64> = None;
        for column in ["posts", "articles", "events"] {
            if let Some(at) = row.try_get::<Option<i64>>("", column)? {
                oldest = Some(oldest.map_or(at, |o| o.min(at)));
            }
        }
        Ok(match (first, oldest) {
            (_, None) => true,
            // The first entry is written in the transaction of the first content, whose
            // clock may be read a little earlier.
            (Some(first), Some(oldest)) => oldest + 60_000 >= first,
            (None, Some(_)) => false,
        })
    }

    /// Up to `limit` entries of a hosted community's stream after `after`, in order.
    pub async fn stream_page(
        &self,
        community: &str,
        after: i64,
        limit: u64,
    ) -> Result<Vec<(i64, String)>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT position, activity FROM community_stream \
                 WHERE community = $1 AND position > $2 ORDER BY position LIMIT $3",
                vec![community.into(), after.into(), (limit as i64).into()],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "position")?, r.try_get("", "activity")?)))
            .collect()
    }

    pub async fn replica_sync(&self, community: &str) -> Result<Option<ReplicaSync>, DbErr> {
        let row = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!("SELECT {SYNC_COLUMNS} FROM replica_sync WHERE community = $1"),
                vec![community.into()],
            ))
            .await?;
        row.first().map(sync_from_row).transpose()
    }

    /// Every remote community this node keeps a place in.
    pub async fn replica_syncs(&self) -> Result<Vec<ReplicaSync>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!("SELECT {SYNC_COLUMNS} FROM replica_sync ORDER BY community"),
                vec![],
            ))
            .await?;
        rows.iter().map(sync_from_row).collect()
    }

    /// Starts keeping a place in `community`'s stream (at 0), or, with `from` given, moves it
    /// back there (a resync). Counters restart; a place already kept stays when `from` is
    /// none.
    pub async fn begin_replica_sync(
        &self,
        community: &str,
        from: Option<i64>,
    ) -> Result<(), DbErr> {
        let now = now_ms();
        let text = match from {
            None => {
                "INSERT INTO replica_sync (community, position, host_position, pages, applied, \
                   skipped, started_at, updated_at) VALUES ($1, 0, 0, 0, 0, 0, $2, $2) \
                 ON CONFLICT (community) DO NOTHING"
            }
            Some(_) => {
                "INSERT INTO replica_sync (community, position, host_position, pages, applied, \
                   skipped, started_at, updated_at) VALUES ($1, $3, 0, 0, 0, 0, $2, $2) \
                 ON CONFLICT (community) DO UPDATE SET position = $3, pages = 0, applied = 0, \
                   skipped = 0, last_error = NULL, started_at = $2, updated_at = $2, \
                   finished_at = NULL"
            }
        };
        let mut values: Vec<sea_orm::Value> = vec![community.into(), now.into()];
        if let Some(from) = from {
            values.push(from.into());
        }
        self.conn()
            .execute_raw(sql(self.backend(), text, values))
            .await?;
        Ok(())
    }

    /// A live delivery at `position` arrived and was applied: the replica's place moves there
    /// when it is the next one. Returns the place kept before (none when no place is kept).
    pub async fn heard_position(
        &self,
        community: &str,
        position: i64,
    ) -> Result<Option<i64>, DbErr> {
        let Some(before) = self.replica_sync(community).await? else {
            return Ok(None);
        };
        self.conn()
            .execute_raw(sql(
                self.backend(),
                "UPDATE replica_sync SET position = $2, applied = applied + 1, updated_at = $3, \
                   host_position = CASE WHEN host_position > $2 THEN host_position ELSE $2 END \
                 WHERE community = $1 AND position = $2 - 1",
                vec![community.into(), position.into(), now_ms().into()],
            ))
            .await?;
        Ok(Some(before.position))
    }

    /// Counts one page of `community`'s stream fetched (before it is applied, so a page read
    /// again after a crash counts twice).
    pub async fn count_stream_page(&self, community: &str) -> Result<(), DbErr> {
        self.conn()
            .execute_raw(sql(
                self.backend(),
                "UPDATE replica_sync SET pages = pages + 1 WHERE community = $1",
                vec![community.into()],
            ))
            .await?;
        Ok(())
    }

    /// Records a stream page applied up to `position`, with what it cost.
    pub async fn advance_replica_sync(
        &self,
        community: &str,
        position: i64,
        host_position: i64,
        applied: i64,
        skipped: i64,
    ) -> Result<(), DbErr> {
        let now = now_ms();
        self.conn()
            .execute_raw(sql(
                self.backend(),
                "UPDATE replica_sync SET position = CASE WHEN position > $2 THEN position ELSE $2 END, \
                   host_position = CASE WHEN host_position > $3 THEN host_position ELSE $3 END, \
                   applied = applied + $4, skipped = skipped + $5, last_error = NULL, \
                   updated_at = $6, \
                   finished_at = CASE WHEN $2 >= $3 THEN $6 ELSE NULL END \
                 WHERE community = $1",
                vec![
                    community.into(),
                    position.into(),
                    host_position.into(),
                    applied.into(),
                    skipped.into(),
                    now.into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// Records why the last pass over `community`'s stream stopped.
    pub async fn fail_replica_sync(&self, community: &str, error: &str) -> Result<(), DbErr> {
        self.conn()
            .execute_raw(sql(
                self.backend(),
                "UPDATE replica_sync SET last_error = $2, updated_at = $3 WHERE community = $1",
                vec![community.into(), error.into(), now_ms().into()],
            ))
            .await?;
        Ok(())
    }

    /// Forgets what this node holds of a community hosted elsewhere (posts, articles, events
    /// and their search entries) but not who belongs to it: the copy is rebuilt from the
    /// host's stream. Returns the rows deleted.
    pub async fn drop_copy_content(&self, community: &str) -> Result<u64, DbErr> {
        self.delete_of_community(community, &COPY_CONTENT).await
    }

    /// Runs each `DELETE … WHERE community = $1` of `statements` in one transaction; returns
    /// the rows deleted.
    pub(super) async fn delete_of_community(
        &self,
        community: &str,
        statements: &[&str],
    ) -> Result<u64, DbErr> {
        let txn = sea_orm::TransactionTrait::begin(self.conn()).await?;
        let backend = self.backend();
        let mut total = 0;
        for text in statements {
            let done = txn
                .execute_raw(sql(backend, text, vec![community.into()]))
                .await?;
            total += done.rows_affected();
        }
        txn.commit().await?;
        Ok(total)
    }

    /// Stops keeping a place in `community`'s stream (nobody here belongs to it any more).
    pub async fn end_replica_sync(&self, community: &str) -> Result<(), DbErr> {
        self.conn()
            .execute_raw(sql(
                self.backend(),
                "DELETE FROM replica_sync WHERE community = $1",
                vec![community.into()],
            ))
            .await?;
        Ok(())
    }

    /// A digest of what this node holds of `community`: every thread and reply (id, title,
    /// thread, parent, whether it is deleted, removed, locked or pinned, and its marked answer), every article revision
    /// (id), every event (id, title, start and end to the second, status, participants). A replica that
    /// holds the same as the host computes the same digest; content is compared by id and
    /// state, not by its HTML (each node renders its own).
    pub async fn content_digest(&self, community: &str) -> Result<(String, Contents), DbErr> {
        let (lines, contents) = self.content_lines(community).await?;
        let mut hash = Sha256::new();
        for line in &lines {
            hash.update(line.as_bytes());
            hash.update(b"\n");
        }
        Ok((hex(&hash.finalize()), contents))
    }

    /// What [`Db::content_digest`] hashes, one line per thing, in a fixed order.
    pub async fn content_lines(&self, community: &str) -> Result<(Vec<String>, Contents), DbErr> {
        let backend = self.backend();
        let mut lines = Vec::new();
        let mut contents = Contents::default();
        let posts = self
            .conn()
            .query_all_raw(sql(
                backend,
                "SELECT p.ap_id, p.title, p.deleted, p.removed_reason, p.locked, p.pinned, \
                   t.ap_id AS thread, q.ap_id AS parent, a.ap_id AS answer FROM posts p \
                   LEFT JOIN posts t ON t.id = p.thread_id LEFT JOIN posts q ON q.id = p.parent_id \
                   LEFT JOIN posts a ON a.id = p.answer_id \
                 WHERE p.community = $1 ORDER BY p.ap_id",
                vec![community.into()],
            ))
            .await?;
        for r in &posts {
            let thread: Option<String> = r.try_get("", "thread")?;
            if thread.is_some() {
                contents.replies += 1;
            } else {
                contents.threads += 1;
            }
            let removed: Option<String> = r.try_get("", "removed_reason")?;
            lines.push(format!(
                "post {} {:?} {:?} {:?} {} {} {} {} {:?}",
                r.try_get::<String>("", "ap_id")?,
                r.try_get::<Option<String>>("", "title")?,
                thread,
                r.try_get::<Option<String>>("", "parent")?,
                flag(r, "deleted", backend)?,
                removed.is_some(),
                flag(r, "locked", backend)?,
                flag(r, "pinned", backend)?,
                r.try_get::<Option<String>>("", "answer")?,
            ));
        }
        let revisions = self
            .conn()
            .query_all_raw(sql(
                backend,
                "SELECT r.rev_id FROM article_revisions r JOIN articles a ON a.id = r.article_id \
                 WHERE a.community = $1 ORDER BY r.rev_id",
                vec![community.into()],
            ))
            .await?;
        for r in &revisions {
            contents.revisions += 1;
            lines.push(format!("revision {}", r.try_get::<String>("", "rev_id")?));
        }
        // Times to the second (documents carry seconds); each node keeps its own `sequence`.
        let events = self
            .conn()
            .query_all_raw(sql(
                backend,
                "SELECT ap_id, title, starts_at, ends_at, status, participant_count FROM events \
                 WHERE community = $1 ORDER BY ap_id",
                vec![community.into()],
            ))
            .await?;
        for r in &events {
            contents.events += 1;
            lines.push(format!(
                "event {} {:?} {} {} {} {}",
                r.try_get::<String>("", "ap_id")?,
                r.try_get::<String>("", "title")?,
                r.try_get::<i64>("", "starts_at")? / 1000,
                r.try_get::<i64>("", "ends_at")? / 1000,
                r.try_get::<String>("", "status")?,
                r.try_get::<i32>("", "participant_count")?,
            ));
        }
        Ok((lines, contents))
    }
}

/// A boolean column, read the same on both databases (SQLite stores integers).
fn flag(r: &QueryResult, column: &str, backend: DbBackend) -> Result<bool, DbErr> {
    match backend {
        DbBackend::Postgres => r.try_get("", column),
        _ => Ok(r.try_get::<i64>("", column)? != 0),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
