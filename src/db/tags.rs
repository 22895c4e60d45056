//! The hashtags of posts (`post_tags`, migration `m20261208_000041_tags_and_boosts`): written with
//! the post's search entry, in the same transaction, so a post is found under its tags exactly
//! when it is stored, and an edit moves it to its new tags.

use super::{
    queue::{placeholders, sql},
    Db, DbErr,
};
use sea_orm::{ConnectionTrait, Value};
use std::collections::HashMap;

/// Sets the tags of `post_id` to `tags` (already folded and deduplicated).
pub(super) async fn replace<C: ConnectionTrait>(
    conn: &C,
    post_id: i64,
    tags: &[String],
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    conn.execute_raw(sql(
        backend,
        "DELETE FROM post_tags WHERE post_id = $1",
        vec![post_id.into()],
    ))
    .await?;
    if tags.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..tags.len())
        .map(|i| format!("($1, ${})", i + 2))
        .collect();
    let mut values: Vec<Value> = vec![post_id.into()];
    values.extend(tags.iter().map(|t| Value::from(t.as_str())));
    conn.execute_raw(sql(
        backend,
        &format!(
            "INSERT INTO post_tags (post_id, tag) VALUES {}",
            rows.join(", ")
        ),
        values,
    ))
    .await?;
    Ok(())
}

impl Db {
    /// The tags of each of `post_ids`, in one query.
    pub async fn tags_of(&self, post_ids: &[i64]) -> Result<HashMap<i64, Vec<String>>, DbErr> {
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        if post_ids.is_empty() {
            return Ok(out);
        }
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!(
                    "SELECT post_id, tag FROM post_tags WHERE post_id IN ({}) ORDER BY tag",
                    placeholders(1, post_ids.len())
                ),
                post_ids.iter().map(|id| Value::from(*id)).collect(),
            ))
            .await?;
        for row in rows {
            out.entry(row.try_get("", "post_id")?)
                .or_default()
                .push(row.try_get("", "tag")?);
        }
        Ok(out)
    }
}
