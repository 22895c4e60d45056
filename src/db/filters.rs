//! What a member keeps to shape their reading from apps (migration `m20261209_000042_filters`):
//! filters with their keywords and statuses, followed hashtags, and blocked domains. Every
//! row belongs to one user and is reached only through that user's id.

use super::{
    now_ms,
    personal::{Kept, KeptWindow},
    queue::{placeholders, sql},
    Db, DbErr,
};
use sea_orm::{ConnectionTrait, QueryResult, Value};

/// A filter with its keywords and statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
    /// home, notifications, public, thread, account.
    pub context: Vec<String>,
    /// warn, hide or blur.
    pub action: String,
    /// Milliseconds; none for good.
    pub expires_at: Option<i64>,
    pub keywords: Vec<FilterKeyword>,
    pub statuses: Vec<FilterStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterKeyword {
    pub id: i64,
    pub filter_id: i64,
    pub keyword: String,
    pub whole_word: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterStatus {
    pub id: i64,
    pub filter_id: i64,
    pub post_id: i64,
}

/// A filter's own fields, as written.
#[derive(Debug, Clone)]
pub struct FilterFields {
    pub title: String,
    pub context: Vec<String>,
    pub action: String,
    pub expires_at: Option<i64>,
}

/// A change of a filter's keywords: added (no id), changed, or removed.
#[derive(Debug, Clone)]
pub enum KeywordChange {
    Add {
        keyword: String,
        whole_word: bool,
    },
    Set {
        id: i64,
        keyword: Option<String>,
        whole_word: Option<bool>,
    },
    Remove(i64),
}

const FILTER_COLUMNS: &str = "id, user_id, title, context, action, expires_at";

fn filter_row(r: &QueryResult) -> Result<Filter, DbErr> {
    let context: String = r.try_get("", "context")?;
    Ok(Filter {
        id: r.try_get("", "id")?,
        user_id: r.try_get("", "user_id")?,
        title: r.try_get("", "title")?,
        context: context
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        action: r.try_get("", "action")?,
        expires_at: r.try_get("", "expires_at")?,
        keywords: Vec::new(),
        statuses: Vec::new(),
    })
}

fn keyword_row(r: &QueryResult) -> Result<FilterKeyword, DbErr> {
    Ok(FilterKeyword {
        id: r.try_get("", "id")?,
        filter_id: r.try_get("", "filter_id")?,
        keyword: r.try_get("", "keyword")?,
        whole_word: r.try_get("", "whole_word")?,
    })
}

fn status_row(r: &QueryResult) -> Result<FilterStatus, DbErr> {
    Ok(FilterStatus {
        id: r.try_get("", "id")?,
        filter_id: r.try_get("", "filter_id")?,
        post_id: r.try_get("", "post_id")?,
    })
}

async fn add_keyword<C: ConnectionTrait>(
    conn: &C,
    filter_id: i64,
    keyword: &str,
    whole_word: bool,
) -> Result<FilterKeyword, DbErr> {
    let row = conn
        .query_one_raw(sql(
            conn.get_database_backend(),
            "INSERT INTO filter_keywords (filter_id, keyword, whole_word) VALUES ($1, $2, $3) \
             RETURNING id, filter_id, keyword, whole_word",
            vec![filter_id.into(), keyword.into(), whole_word.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("the new keyword was not returned".into()))?;
    keyword_row(&row)
}

impl Db {
    /// The user's filters with their keywords and statuses, oldest first, in three queries;
    /// `live_at` keeps only those unexpired at that time (ms).
    pub async fn filters(&self, user_id: i64, live_at: Option<i64>) -> Result<Vec<Filter>, DbErr> {
        let mut values: Vec<Value> = vec![user_id.into()];
        let mut text = format!("SELECT {FILTER_COLUMNS} FROM filters WHERE user_id = $1");
        if let Some(at) = live_at {
            values.push(at.into());
            text.push_str(" AND (expires_at IS NULL OR expires_at > $2)");
        }
        text.push_str(" ORDER BY id");
        let mut filters = self
            .rows(&text, values)
            .await?
            .iter()
            .map(filter_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.fill(&mut filters).await?;
        Ok(filters)
    }

    /// One of the user's filters, by id.
    pub async fn filter(&self, user_id: i64, id: i64) -> Result<Option<Filter>, DbErr> {
        let rows = self
            .rows(
                &format!("SELECT {FILTER_COLUMNS} FROM filters WHERE user_id = $1 AND id = $2"),
                vec![user_id.into(), id.into()],
            )
            .await?;
        let mut filters = rows.iter().map(filter_row).collect::<Result<Vec<_>, _>>()?;
        self.fill(&mut filters).await?;
        Ok(filters.pop())
    }

    /// Loads the keywords and statuses of `filters`, two queries whatever their number.
    async fn fill(&self, filters: &mut [Filter]) -> Result<(), DbErr> {
        if filters.is_empty() {
            return Ok(());
        }
        let ids: Vec<Value> = filters.iter().map(|f| Value::from(f.id)).collect();
        let places = placeholders(1, ids.len());
        let keywords = self
            .rows(
                &format!(
                    "SELECT id, filter_id, keyword, whole_word FROM filter_keywords \
                     WHERE filter_id IN ({places}) ORDER BY id"
                ),
                ids.clone(),
            )
            .await?;
        for r in &keywords {
            let k = keyword_row(r)?;
            if let Some(f) = filters.iter_mut().find(|f| f.id == k.filter_id) {
                f.keywords.push(k);
            }
        }
        let statuses = self
            .rows(
                &format!(
                    "SELECT id, filter_id, post_id FROM filter_statuses \
                     WHERE filter_id IN ({places}) ORDER BY id"
                ),
                ids,
            )
            .await?;
        for r in &statuses {
            let s = status_row(r)?;
            if let Some(f) = filters.iter_mut().find(|f| f.id == s.filter_id) {
                f.statuses.push(s);
            }
        }
        Ok(())
    }

    /// A new filter of the user's with its first keywords, in one transaction.
    pub async fn create_filter(
        &self,
        user_id: i64,
        fields: &FilterFields,
        keywords: &[(String, bool)],
    ) -> Result<i64, DbErr> {
        let txn = self.begin().await?;
        let row = txn
            .query_one_raw(sql(
                self.backend(),
                "INSERT INTO filters (user_id, title, context, action, expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                vec![
                    user_id.into(),
                    fields.title.as_str().into(),
                    fields.context.join(",").into(),
                    fields.action.as_str().into(),
                    fields.expires_at.into(),
                    now_ms().into(),
                ],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("the new filter was not returned".into()))?;
        let id: i64 = row.try_get("", "id")?;
        for (keyword, whole_word) in keywords {
            add_keyword(&txn, id, keyword, *whole_word).await?;
        }
        txn.commit().await?;
        Ok(id)
    }

    /// Writes a filter's fields and applies `changes` to its keywords, in one transaction.
    /// A change naming a keyword of another filter changes nothing. False when the filter is
    /// not the user's.
    pub async fn update_filter(
        &self,
        user_id: i64,
        id: i64,
        fields: &FilterFields,
        changes: &[KeywordChange],
    ) -> Result<bool, DbErr> {
        let txn = self.begin().await?;
        let backend = self.backend();
        let done = txn
            .execute_raw(sql(
                backend,
                "UPDATE filters SET title = $1, context = $2, action = $3, expires_at = $4 \
                 WHERE id = $5 AND user_id = $6",
                vec![
                    fields.title.as_str().into(),
                    fields.context.join(",").into(),
                    fields.action.as_str().into(),
                    fields.expires_at.into(),
                    id.into(),
                    user_id.into(),
                ],
            ))
            .await?
            .rows_affected();
        if done == 0 {
            return Ok(false);
        }
        for change in changes {
            match change {
                KeywordChange::Add {
                    keyword,
                    whole_word,
                } => {
                    add_keyword(&txn, id, keyword, *whole_word).await?;
                }
                KeywordChange::Set {
                    id: keyword_id,
                    keyword,
                    whole_word,
                } => {
                    txn.execute_raw(sql(
                        backend,
                        "UPDATE filter_keywords SET keyword = COALESCE($1, keyword), \
                         whole_word = COALESCE($2, whole_word) WHERE id = $3 AND filter_id = $4",
                        vec![
                            keyword.clone().into(),
                            (*whole_word).into(),
                            (*keyword_id).into(),
                            id.into(),
                        ],
                    ))
                    .await?;
                }
                KeywordChange::Remove(keyword_id) => {
                    txn.execute_raw(sql(
                        backend,
                        "DELETE FROM filter_keywords WHERE id = $1 AND filter_id = $2",
                        vec![(*keyword_id).into(), id.into()],
                    ))
                    .await?;
                }
            }
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Deletes one of the user's filters (its keywords and statuses with it).
    pub async fn delete_filter(&self, user_id: i64, id: i64) -> Result<bool, DbErr> {
        Ok(self
            .run(
                "DELETE FROM filters WHERE id = $1 AND user_id = $2",
                vec![id.into(), user_id.into()],
            )
            .await?
            > 0)
    }

    /// A keyword of one of the user's filters.
    pub async fn filter_keyword(
        &self,
        user_id: i64,
        id: i64,
    ) -> Result<Option<FilterKeyword>, DbErr> {
        let rows = self
            .rows(
                "SELECT k.id, k.filter_id, k.keyword, k.whole_word FROM filter_keywords k \
                 JOIN filters f ON f.id = k.filter_id WHERE k.id = $1 AND f.user_id = $2",
                vec![id.into(), user_id.into()],
            )
            .await?;
        rows.first().map(keyword_row).transpose()
    }

    /// Adds a keyword to a filter (the caller checked it is the user's).
    pub async fn add_filter_keyword(
        &self,
        filter_id: i64,
        keyword: &str,
        whole_word: bool,
    ) -> Result<FilterKeyword, DbErr> {
        add_keyword(self.conn(), filter_id, keyword, whole_word).await
    }

    /// Changes a keyword (the caller checked it is the user's).
    pub async fn set_filter_keyword(
        &self,
        id: i64,
        keyword: &str,
        whole_word: bool,
    ) -> Result<(), DbErr> {
        self.run(
            "UPDATE filter_keywords SET keyword = $1, whole_word = $2 WHERE id = $3",
            vec![keyword.into(), whole_word.into(), id.into()],
        )
        .await?;
        Ok(())
    }

    /// Deletes a keyword (the caller checked it is the user's).
    pub async fn delete_filter_keyword(&self, id: i64) -> Result<(), DbErr> {
        self.run("DELETE FROM filter_keywords WHERE id = $1", vec![id.into()])
            .await?;
        Ok(())
    }

    /// A status of one of the user's filters.
    pub async fn filter_status(
        &self,
        user_id: i64,
        id: i64,
    ) -> Result<Option<FilterStatus>, DbErr> {
        let rows = self
            .rows(
                "SELECT s.id, s.filter_id, s.post_id FROM filter_statuses s \
                 JOIN filters f ON f.id = s.filter_id WHERE s.id = $1 AND f.user_id = $2",
                vec![id.into(), user_id.into()],
            )
            .await?;
        rows.first().map(status_row).transpose()
    }

    /// Adds a status to a filter (the caller checked both); the same status twice is one row.
    pub async fn add_filter_status(
        &self,
        filter_id: i64,
        post_id: i64,
    ) -> Result<FilterStatus, DbErr> {
        self.run(
            "INSERT INTO filter_statuses (filter_id, post_id) VALUES ($1, $2) \
             ON CONFLICT (filter_id, post_id) DO NOTHING",
            vec![filter_id.into(), post_id.into()],
        )
        .await?;
        let rows = self
            .rows(
                "SELECT id, filter_id, post_id FROM filter_statuses \
                 WHERE filter_id = $1 AND post_id = $2",
                vec![filter_id.into(), post_id.into()],
            )
            .await?;
        rows.first()
            .map(status_row)
            .unwrap_or_else(|| Err(DbErr::Custom("the filter's status was not stored".into())))
    }

    /// Deletes a filter's status (the caller checked it is the user's).
    pub async fn delete_filter_status(&self, id: i64) -> Result<(), DbErr> {
        self.run("DELETE FROM filter_statuses WHERE id = $1", vec![id.into()])
            .await?;
        Ok(())
    }

    /// Follows (`on`) or unfollows a hashtag (folded to lower case).
    pub async fn set_followed_tag(&self, user_id: i64, tag: &str, on: bool) -> Result<(), DbErr> {
        self.keep("followed_tags", "tag", user_id, tag, on).await
    }

    /// Blocks (`on`) or unblocks a domain for the user.
    pub async fn set_domain_block(
        &self,
        user_id: i64,
        domain: &str,
        on: bool,
    ) -> Result<(), DbErr> {
        self.keep("domain_blocks", "domain", user_id, domain, on)
            .await
    }

    async fn keep(
        &self,
        table: &str,
        column: &str,
        user_id: i64,
        value: &str,
        on: bool,
    ) -> Result<(), DbErr> {
        if on {
            self.run(
                &format!(
                    "INSERT INTO {table} (user_id, {column}, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, {column}) DO NOTHING"
                ),
                vec![user_id.into(), value.into(), now_ms().into()],
            )
            .await?;
        } else {
            self.run(
                &format!("DELETE FROM {table} WHERE user_id = $1 AND {column} = $2"),
                vec![user_id.into(), value.into()],
            )
            .await?;
        }
        Ok(())
    }

    /// Every hashtag the user follows.
    pub async fn followed_tags(&self, user_id: i64) -> Result<Vec<String>, DbErr> {
        self.rows(
            "SELECT tag FROM followed_tags WHERE user_id = $1 ORDER BY id",
            vec![user_id.into()],
        )
        .await?
        .iter()
        .map(|r| r.try_get("", "tag"))
        .collect()
    }

    /// A page of the hashtags the user follows, newest first (`target`: the tag).
    pub async fn followed_tags_page(
        &self,
        user_id: i64,
        w: KeptWindow,
    ) -> Result<Vec<Kept>, DbErr> {
        self.kept_page(
            "SELECT id, tag AS target FROM followed_tags WHERE user_id = $1",
            vec![user_id.into()],
            w,
        )
        .await
    }

    /// Every domain the user blocks.
    pub async fn blocked_domains(&self, user_id: i64) -> Result<Vec<String>, DbErr> {
        self.rows(
            "SELECT domain FROM domain_blocks WHERE user_id = $1 ORDER BY id",
            vec![user_id.into()],
        )
        .await?
        .iter()
        .map(|r| r.try_get("", "domain"))
        .collect()
    }

    /// A page of the domains the user blocks, newest first (`target`: the domain).
    pub async fn domain_blocks_page(
        &self,
        user_id: i64,
        w: KeptWindow,
    ) -> Result<Vec<Kept>, DbErr> {
        self.kept_page(
            "SELECT id, domain AS target FROM domain_blocks WHERE user_id = $1",
            vec![user_id.into()],
            w,
        )
        .await
    }
}
