//! Members' boosts of posts (Mastodon's reblogs; table `boosts`, migration
//! `m20261208_000041_tags_and_boosts`): one row per member and post. A boost is a sign to the
//! post's author and its readers (counted, listed, notified); nothing is federated, since
//! nobody follows a person on Roundtable.

use super::{
    now_ms,
    personal::{Kept, KeptWindow},
    queue::{placeholders, sql},
    Db, DbErr,
};
use sea_orm::{ConnectionTrait, Value};
use std::collections::{HashMap, HashSet};

/// One boost, as notifications read it.
#[derive(Debug, Clone)]
pub struct Boost {
    pub id: i64,
    pub post_id: i64,
    pub actor: String,
    pub created_at: i64,
}

impl Db {
    /// Boosts (`on`) or takes back the boost of `post_id` by `actor` (the member `user_id`);
    /// true when that changed anything.
    pub async fn set_boost(
        &self,
        user_id: i64,
        actor: &str,
        post_id: i64,
        on: bool,
    ) -> Result<bool, DbErr> {
        let changed =
            if on {
                self.run(
                "INSERT INTO boosts (post_id, user_id, actor, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (post_id, actor) DO NOTHING",
                vec![post_id.into(), user_id.into(), actor.into(), now_ms().into()],
            )
            .await?
            } else {
                self.run(
                    "DELETE FROM boosts WHERE post_id = $1 AND actor = $2",
                    vec![post_id.into(), actor.into()],
                )
                .await?
            };
        Ok(changed > 0)
    }

    /// How many boosts each of `post_ids` has, and which of them `viewer` boosted, in one
    /// query.
    pub async fn boosts_among(
        &self,
        post_ids: &[i64],
        viewer: Option<&str>,
    ) -> Result<(HashMap<i64, i64>, HashSet<i64>), DbErr> {
        let mut counts = HashMap::new();
        let mut mine = HashSet::new();
        if post_ids.is_empty() {
            return Ok((counts, mine));
        }
        let mut values: Vec<Value> = vec![viewer.unwrap_or_default().into()];
        values.extend(post_ids.iter().map(|id| Value::from(*id)));
        let rows = self
            .rows(
                &format!(
                    "SELECT post_id, COUNT(*) AS n, \
                       SUM(CASE WHEN actor = $1 THEN 1 ELSE 0 END) AS mine \
                     FROM boosts WHERE post_id IN ({}) GROUP BY post_id",
                    placeholders(2, post_ids.len())
                ),
                values,
            )
            .await?;
        for r in rows {
            let post: i64 = r.try_get("", "post_id")?;
            counts.insert(post, r.try_get::<i64>("", "n")?);
            if r.try_get::<i64>("", "mine")? > 0 {
                mine.insert(post);
            }
        }
        Ok((counts, mine))
    }

    /// Who boosted `post_id`, newest first, paged by boost.
    pub async fn boosters(&self, post_id: i64, w: KeptWindow) -> Result<Vec<Kept>, DbErr> {
        self.kept_page(
            "SELECT id, actor AS target FROM boosts WHERE post_id = $1",
            vec![post_id.into()],
            w,
        )
        .await
    }

    /// Boosts by others of the posts `me` wrote, newest first, made in `(after, before)`.
    pub async fn boosts_of_posts_by(
        &self,
        me: &str,
        before: Option<i64>,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Boost>, DbErr> {
        let rows = self
            .rows(
                "SELECT b.id, b.post_id, b.actor, b.created_at FROM boosts b \
                   JOIN posts p ON p.id = b.post_id \
                 WHERE p.author = $1 AND b.actor <> $1 AND b.created_at < $2 AND b.created_at > $3 \
                 ORDER BY b.created_at DESC LIMIT $4",
                vec![
                    me.into(),
                    before.unwrap_or(i64::MAX).into(),
                    after.unwrap_or(i64::MIN).into(),
                    i64::try_from(limit).unwrap_or(i64::MAX).into(),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Boost {
                    id: r.try_get("", "id")?,
                    post_id: r.try_get("", "post_id")?,
                    actor: r.try_get("", "actor")?,
                    created_at: r.try_get("", "created_at")?,
                })
            })
            .collect()
    }

    /// How many boosts by others of `me`'s posts were made after `after`.
    pub async fn boosts_since(&self, me: &str, after: i64) -> Result<u64, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT COUNT(*) AS n FROM boosts b JOIN posts p ON p.id = b.post_id \
                 WHERE p.author = $1 AND b.actor <> $1 AND b.created_at > $2",
                vec![me.into(), after.into()],
            ))
            .await?;
        let n: i64 = match rows.first() {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
