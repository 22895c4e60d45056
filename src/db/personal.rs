//! What a member keeps for themselves (migration `m20261207_000038_member_lists`): bookmarks,
//! muted and blocked accounts, lists of accounts, dismissed notifications, and the
//! `Idempotency-Key`s of posts sent through apps. Accounts are named by their ActivityPub id.

use super::{
    now_ms,
    queue::{placeholders, sql},
    Db, DbErr,
};
use sea_orm::{ConnectionTrait, QueryResult, SqlErr, Value};
use std::collections::{HashMap, HashSet};

/// A bookmark, muted or blocked account, or list member: its row id (the paging key apps get
/// in `Link` headers) and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub id: i64,
    pub target: String,
}

/// A page of kept rows: ids below `max_id` or above `min_id`, newest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeptWindow {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: u64,
}

/// A member's list of accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberList {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
    pub replies_policy: String,
    pub exclusive: bool,
}

/// The accounts a member does not want to see.
#[derive(Debug, Clone, Default)]
pub struct Hidden {
    /// Muted or blocked: their posts are left out of timelines.
    pub posts: HashSet<String>,
    /// Blocked, or muted with notifications: their notifications are left out.
    pub notifications: HashSet<String>,
}

impl Hidden {
    pub fn posts_list(&self) -> Vec<String> {
        self.posts.iter().cloned().collect()
    }
}

/// How long a key taken by a request that has not finished posting keeps others waiting.
const IN_FLIGHT_MS: i64 = 60_000;

/// Where an `Idempotency-Key` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// New: the caller now holds it and posts.
    Taken,
    /// A request with this key is still posting.
    InFlight,
    /// A request with this key made this post.
    Done(i64),
}

fn kept(rows: Vec<QueryResult>) -> Result<Vec<Kept>, DbErr> {
    rows.iter()
        .map(|r| {
            Ok(Kept {
                id: r.try_get("", "id")?,
                target: r.try_get("", "target")?,
            })
        })
        .collect()
}

fn list_row(r: &QueryResult) -> Result<MemberList, DbErr> {
    Ok(MemberList {
        id: r.try_get("", "id")?,
        user_id: r.try_get("", "user_id")?,
        title: r.try_get("", "title")?,
        replies_policy: r.try_get("", "replies_policy")?,
        exclusive: r.try_get("", "exclusive")?,
    })
}

/// `select` narrowed to the rows of `w` and ordered (ascending when paging up from `min_id`,
/// which the caller reverses), with its parameters.
fn paged(select: &str, mut values: Vec<Value>, w: KeptWindow) -> (String, Vec<Value>, bool) {
    let mut text = select.to_string();
    for (bound, op) in [(w.max_id, "<"), (w.since_id, ">"), (w.min_id, ">")] {
        if let Some(id) = bound {
            values.push(id.into());
            text.push_str(&format!(" AND id {op} ${}", values.len()));
        }
    }
    let ascending = w.min_id.is_some();
    text.push_str(if ascending {
        " ORDER BY id ASC"
    } else {
        " ORDER BY id DESC"
    });
    text.push_str(&format!(" LIMIT {}", w.limit.clamp(1, 200)));
    (text, values, ascending)
}

const LIST_COLUMNS: &str = "id, user_id, title, replies_policy, exclusive";

/// The tables whose rows name one target account per user.
#[derive(Debug, Clone, Copy)]
pub enum Keeping {
    Mutes,
    Blocks,
}

impl Keeping {
    fn table(self) -> &'static str {
        match self {
            Keeping::Mutes => "account_mutes",
            Keeping::Blocks => "account_blocks",
        }
    }
}

impl Db {
    pub(super) async fn rows(
        &self,
        text: &str,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, DbErr> {
        self.conn()
            .query_all_raw(sql(self.backend(), text, values))
            .await
    }

    pub(super) async fn run(&self, text: &str, values: Vec<Value>) -> Result<u64, DbErr> {
        Ok(self
            .conn()
            .execute_raw(sql(self.backend(), text, values))
            .await?
            .rows_affected())
    }

    /// A page of rows of `select` (which must name `id` and `target` and end in a `WHERE`
    /// clause whose parameters are `values`) through `w`, newest first.
    pub(super) async fn kept_page(
        &self,
        select: &str,
        values: Vec<Value>,
        w: KeptWindow,
    ) -> Result<Vec<Kept>, DbErr> {
        let (text, values, ascending) = paged(select, values, w);
        let mut out = kept(self.rows(&text, values).await?)?;
        if ascending {
            out.reverse();
        }
        Ok(out)
    }

    /// Bookmarks (`on`) or un-bookmarks a post; true when that changed anything.
    pub async fn set_bookmark(&self, user_id: i64, post_id: i64, on: bool) -> Result<bool, DbErr> {
        let changed = if on {
            self.run(
                "INSERT INTO bookmarks (user_id, post_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, post_id) DO NOTHING",
                vec![user_id.into(), post_id.into(), now_ms().into()],
            )
            .await?
        } else {
            self.run(
                "DELETE FROM bookmarks WHERE user_id = $1 AND post_id = $2",
                vec![user_id.into(), post_id.into()],
            )
            .await?
        };
        Ok(changed > 0)
    }

    /// Which of `post_ids` the user bookmarked.
    pub async fn bookmarked_among(
        &self,
        user_id: i64,
        post_ids: &[i64],
    ) -> Result<HashSet<i64>, DbErr> {
        if post_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let marks = (2..post_ids.len() + 2)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut values: Vec<Value> = vec![user_id.into()];
        values.extend(post_ids.iter().map(|&id| Value::from(id)));
        let rows = self
            .rows(
                &format!(
                    "SELECT post_id FROM bookmarks WHERE user_id = $1 AND post_id IN ({marks})"
                ),
                values,
            )
            .await?;
        rows.iter().map(|r| r.try_get("", "post_id")).collect()
    }

    /// A page of the user's bookmarks, the latest first: each bookmark's row id and post id
    /// (as `target`).
    pub async fn bookmarks(&self, user_id: i64, w: KeptWindow) -> Result<Vec<(i64, i64)>, DbErr> {
        let (text, values, ascending) = paged(
            "SELECT id, post_id FROM bookmarks WHERE user_id = $1",
            vec![user_id.into()],
            w,
        );
        let mut out = self
            .rows(&text, values)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("", "id")?, r.try_get("", "post_id")?)))
            .collect::<Result<Vec<(i64, i64)>, DbErr>>()?;
        if ascending {
            out.reverse();
        }
        Ok(out)
    }

    /// Mutes `target` for the user (again: with the new options), until `expires_at` if given.
    pub async fn mute(
        &self,
        user_id: i64,
        target: &str,
        notifications: bool,
        expires_at: Option<i64>,
    ) -> Result<(), DbErr> {
        self.run(
            "INSERT INTO account_mutes (user_id, target, notifications, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, target) DO UPDATE SET \
             notifications = excluded.notifications, expires_at = excluded.expires_at",
            vec![
                user_id.into(),
                target.into(),
                notifications.into(),
                expires_at.into(),
                now_ms().into(),
            ],
        )
        .await
        .map(|_| ())
    }

    /// Blocks `target` for the user.
    pub async fn block(&self, user_id: i64, target: &str) -> Result<(), DbErr> {
        self.run(
            "INSERT INTO account_blocks (user_id, target, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, target) DO NOTHING",
            vec![user_id.into(), target.into(), now_ms().into()],
        )
        .await
        .map(|_| ())
    }

    /// Ends a mute or a block; true when there was one.
    pub async fn unkeep(&self, what: Keeping, user_id: i64, target: &str) -> Result<bool, DbErr> {
        let text = format!(
            "DELETE FROM {} WHERE user_id = $1 AND target = $2",
            what.table()
        );
        Ok(self.run(&text, vec![user_id.into(), target.into()]).await? > 0)
    }

    /// A page of the user's mutes (unexpired) or blocks, the latest first.
    pub async fn kept(
        &self,
        what: Keeping,
        user_id: i64,
        w: KeptWindow,
    ) -> Result<Vec<Kept>, DbErr> {
        let (text, values): (&str, Vec<Value>) = match what {
            Keeping::Mutes => (
                "SELECT id, target FROM account_mutes WHERE user_id = $1 \
                 AND (expires_at IS NULL OR expires_at > $2)",
                vec![user_id.into(), now_ms().into()],
            ),
            Keeping::Blocks => (
                "SELECT id, target FROM account_blocks WHERE user_id = $1",
                vec![user_id.into()],
            ),
        };
        self.kept_page(text, values, w).await
    }

    /// Where the user stands with each of `targets`, in one query: muted (and whether
    /// notifications too: `Some(true)`), and blocked. Targets with neither are left out.
    pub async fn keeping(
        &self,
        user_id: i64,
        targets: &[String],
    ) -> Result<HashMap<String, (Option<bool>, bool)>, DbErr> {
        let mut out: HashMap<String, (Option<bool>, bool)> = HashMap::new();
        if targets.is_empty() {
            return Ok(out);
        }
        let places = placeholders(3, targets.len());
        let mut values: Vec<Value> = vec![user_id.into(), now_ms().into()];
        values.extend(targets.iter().map(|t| Value::from(t.as_str())));
        let rows = self
            .rows(
                &format!(
                    "SELECT 'mute' AS kind, target, notifications FROM account_mutes \
                       WHERE user_id = $1 AND target IN ({places}) \
                       AND (expires_at IS NULL OR expires_at > $2) \
                     UNION ALL \
                     SELECT 'block' AS kind, target, TRUE AS notifications FROM account_blocks \
                       WHERE user_id = $1 AND target IN ({places})"
                ),
                values,
            )
            .await?;
        for r in &rows {
            let kind: String = r.try_get("", "kind")?;
            let entry = out.entry(r.try_get("", "target")?).or_default();
            if kind == "mute" {
                entry.0 = Some(r.try_get("", "notifications")?);
            } else {
                entry.1 = true;
            }
        }
        Ok(out)
    }

    /// The accounts the user mutes (unexpired) or blocks, in one query.
    pub async fn hidden(&self, user_id: i64) -> Result<Hidden, DbErr> {
        let rows = self
            .rows(
                "SELECT target, notifications FROM account_mutes \
                   WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > $2) \
                 UNION ALL \
                 SELECT target, TRUE AS notifications FROM account_blocks WHERE user_id = $1",
                vec![user_id.into(), now_ms().into()],
            )
            .await?;
        let mut hidden = Hidden::default();
        for r in &rows {
            let target: String = r.try_get("", "target")?;
            if r.try_get::<bool>("", "notifications")? {
                hidden.notifications.insert(target.clone());
            }
            hidden.posts.insert(target);
        }
        Ok(hidden)
    }

    /// A new list of the user's.
    pub async fn create_list(
        &self,
        user_id: i64,
        title: &str,
        replies_policy: &str,
        exclusive: bool,
    ) -> Result<MemberList, DbErr> {
        let rows = self
            .rows(
                &format!(
                    "INSERT INTO member_lists (user_id, title, replies_policy, exclusive, \
                     created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {LIST_COLUMNS}"
                ),
                vec![
                    user_id.into(),
                    title.into(),
                    replies_policy.into(),
                    exclusive.into(),
                    now_ms().into(),
                ],
            )
            .await?;
        rows.first()
            .map(list_row)
            .unwrap_or_else(|| Err(DbErr::Custom("the new list was not returned".into())))
    }

    /// The user's lists, oldest first.
    pub async fn lists(&self, user_id: i64) -> Result<Vec<MemberList>, DbErr> {
        self.rows(
            &format!("SELECT {LIST_COLUMNS} FROM member_lists WHERE user_id = $1 ORDER BY id"),
            vec![user_id.into()],
        )
        .await?
        .iter()
        .map(list_row)
        .collect()
    }

    /// One of the user's lists (another user's is not found).
    pub async fn list(&self, user_id: i64, id: i64) -> Result<Option<MemberList>, DbErr> {
        self.rows(
            &format!("SELECT {LIST_COLUMNS} FROM member_lists WHERE user_id = $1 AND id = $2"),
            vec![user_id.into(), id.into()],
        )
        .await?
        .first()
        .map(list_row)
        .transpose()
    }

    /// Changes a list's settings.
    pub async fn update_list(&self, list: &MemberList) -> Result<(), DbErr> {
        self.run(
            "UPDATE member_lists SET title = $1, replies_policy = $2, exclusive = $3 \
             WHERE id = $4 AND user_id = $5",
            vec![
                list.title.clone().into(),
                list.replies_policy.clone().into(),
                list.exclusive.into(),
                list.id.into(),
                list.user_id.into(),
            ],
        )
        .await
        .map(|_| ())
    }

    /// Deletes one of the user's lists with its accounts; true when there was one.
    pub async fn delete_list(&self, user_id: i64, id: i64) -> Result<bool, DbErr> {
        let txn = self.begin().await?;
        let backend = self.backend();
        txn.execute_raw(sql(
            backend,
            "DELETE FROM member_list_accounts WHERE list_id IN \
             (SELECT id FROM member_lists WHERE id = $1 AND user_id = $2)",
            vec![id.into(), user_id.into()],
        ))
        .await?;
        let gone = txn
            .execute_raw(sql(
                backend,
                "DELETE FROM member_lists WHERE id = $1 AND user_id = $2",
                vec![id.into(), user_id.into()],
            ))
            .await?
            .rows_affected();
        txn.commit().await?;
        Ok(gone > 0)
    }

    /// Adds (`on`) or removes accounts of a list.
    pub async fn set_list_accounts(
        &self,
        list_id: i64,
        targets: &[String],
        on: bool,
    ) -> Result<(), DbErr> {
        let txn = self.begin().await?;
        for target in targets {
            let text = if on {
                "INSERT INTO member_list_accounts (list_id, target) VALUES ($1, $2) \
                 ON CONFLICT (list_id, target) DO NOTHING"
            } else {
                "DELETE FROM member_list_accounts WHERE list_id = $1 AND target = $2"
            };
            txn.execute_raw(sql(
                self.backend(),
                text,
                vec![list_id.into(), target.as_str().into()],
            ))
            .await?;
        }
        txn.commit().await
    }

    /// A page of a list's accounts, in the order they were added (newest first).
    pub async fn list_accounts(&self, list_id: i64, w: KeptWindow) -> Result<Vec<Kept>, DbErr> {
        self.kept_page(
            "SELECT id, target FROM member_list_accounts WHERE list_id = $1",
            vec![list_id.into()],
            w,
        )
        .await
    }

    /// Every account of a list (for its timeline; a list holds at most a few hundred).
    pub async fn list_targets(&self, list_id: i64) -> Result<Vec<String>, DbErr> {
        self.rows(
            "SELECT target FROM member_list_accounts WHERE list_id = $1",
            vec![list_id.into()],
        )
        .await?
        .iter()
        .map(|r| r.try_get("", "target"))
        .collect()
    }

    /// Dismisses one notification of the user's.
    pub async fn dismiss_notification(&self, user_id: i64, note_id: i64) -> Result<(), DbErr> {
        self.run(
            "INSERT INTO notification_dismissals (user_id, note_id, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (user_id, note_id) DO NOTHING",
            vec![user_id.into(), note_id.into(), now_ms().into()],
        )
        .await
        .map(|_| ())
    }

    /// The user's dismissed notifications with ids above `after`.
    pub async fn dismissed_after(&self, user_id: i64, after: i64) -> Result<HashSet<i64>, DbErr> {
        self.rows(
            "SELECT note_id FROM notification_dismissals WHERE user_id = $1 AND note_id > $2",
            vec![user_id.into(), after.into()],
        )
        .await?
        .iter()
        .map(|r| r.try_get("", "note_id"))
        .collect()
    }

    /// Forgets dismissals at or below `upto` (a clear covers them).
    pub async fn forget_dismissals(&self, user_id: i64, upto: i64) -> Result<(), DbErr> {
        self.run(
            "DELETE FROM notification_dismissals WHERE user_id = $1 AND note_id <= $2",
            vec![user_id.into(), upto.into()],
        )
        .await
        .map(|_| ())
    }

    /// Takes an `Idempotency-Key` for a post, or says who has it. Keys older than `ttl_ms`
    /// are forgotten first, so a key can be used again after it.
    pub async fn take_idempotency_key(
        &self,
        user_id: i64,
        key: &str,
        ttl_ms: i64,
    ) -> Result<KeyState, DbErr> {
        let now = now_ms();
        // A key whose request never finished (the node stopped while posting) is free again
        // after a minute, so the app's retry is not refused for the whole hour.
        self.run(
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND (created_at < $2 \
             OR (post_id IS NULL AND created_at < $3))",
            vec![
                user_id.into(),
                (now - ttl_ms).into(),
                (now - IN_FLIGHT_MS).into(),
            ],
        )
        .await?;
        let taken = self
            .run(
                "INSERT INTO idempotency_keys (user_id, key, post_id, created_at) \
                 VALUES ($1, $2, NULL, $3)",
                vec![user_id.into(), key.into(), now.into()],
            )
            .await;
        match taken {
            Ok(_) => Ok(KeyState::Taken),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                let rows = self
                    .rows(
                        "SELECT post_id FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                        vec![user_id.into(), key.into()],
                    )
                    .await?;
                let post: Option<i64> = match rows.first() {
                    Some(r) => r.try_get("", "post_id")?,
                    None => None,
                };
                Ok(post.map_or(KeyState::InFlight, KeyState::Done))
            }
            Err(e) => Err(e),
        }
    }

    /// Records the post a key made, or (`None`) gives the key back after a failed post.
    pub async fn settle_idempotency_key(
        &self,
        user_id: i64,
        key: &str,
        post_id: Option<i64>,
    ) -> Result<(), DbErr> {
        match post_id {
            Some(id) => self.run(
                "UPDATE idempotency_keys SET post_id = $1 WHERE user_id = $2 AND key = $3",
                vec![id.into(), user_id.into(), key.into()],
            ),
            None => self.run(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 \
                 AND post_id IS NULL",
                vec![user_id.into(), key.into()],
            ),
        }
        .await
        .map(|_| ())
    }
}
