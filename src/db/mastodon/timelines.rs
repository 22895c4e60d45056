//! Timelines' posts: by community, author and hashtag, narrowed to what the viewer may read
//! before paging, and a profile's posts.

use super::window_page;
use crate::db::{discussions::Post, entities::post, mastodon::Window, Db, DbErr};
use sea_orm::{
    sea_query::ExprTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect,
};

/// Whose posts a timeline shows.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timeline<'a> {
    pub communities: &'a [String],
    pub authors: &'a [String],
    /// Where the `authors`' posts show, when not everywhere: the communities the viewer may
    /// read (decided before paging, so no page comes back short of what the viewer may see).
    pub authors_in: Option<&'a [String]>,
    /// Accounts the viewer muted or blocked: neither their posts nor their communities' show.
    pub hidden: &'a [String],
    pub threads_only: bool,
    /// Only posts under this hashtag (folded to lower case).
    pub tag: Option<&'a str>,
    /// Also the posts under any of these hashtags (the viewer's followed tags) in these
    /// communities (those the viewer may read them in: the tag timeline's communities).
    pub followed: Option<(&'a [String], &'a [String])>,
}

/// Whose posts a profile shows.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    /// Every post in a community.
    Community(&'a str),
    /// A person's posts in the communities `within` (those the viewer may read).
    Author {
        author: &'a str,
        within: &'a [String],
    },
}

/// The ids of the posts under any of `tags`.
fn tagged(tags: &[String]) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, Expr, Query};
    Query::select()
        .column(Alias::new("post_id"))
        .from(Alias::new("post_tags"))
        .and_where(Expr::col(Alias::new("tag")).is_in(tags.iter().cloned()))
        .to_owned()
}

impl Db {
    /// A page of the visible posts in `communities` or written by `authors`, newest first (or,
    /// with `min_id`, the oldest after it, still returned newest first), leaving out those by
    /// or in the `hidden` accounts; `threads_only` leaves replies out.
    pub async fn timeline(
        &self,
        of: Timeline<'_>,
        window: Window,
        limit: u64,
    ) -> Result<Vec<Post>, DbErr> {
        let followed = of
            .followed
            .filter(|(tags, communities)| !tags.is_empty() && !communities.is_empty());
        if of.communities.is_empty() && of.authors.is_empty() && followed.is_none() {
            return Ok(Vec::new());
        }
        let mut by_authors =
            Condition::all().add(post::Column::Author.is_in(of.authors.iter().cloned()));
        if let Some(within) = of.authors_in {
            by_authors = by_authors.add(post::Column::Community.is_in(within.iter().cloned()));
        }
        let mut whose = Condition::any()
            .add(post::Column::Community.is_in(of.communities.iter().cloned()))
            .add(by_authors);
        if let Some((tags, communities)) = followed {
            whose = whose.add(
                post::Column::Community
                    .is_in(communities.iter().cloned())
                    .and(post::Column::Id.in_subquery(tagged(tags))),
            );
        }
        let mut q = post::Entity::find()
            .filter(whose)
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null());
        if !of.hidden.is_empty() {
            q = q
                .filter(post::Column::Author.is_not_in(of.hidden.iter().cloned()))
                .filter(post::Column::Community.is_not_in(of.hidden.iter().cloned()));
        }
        if of.threads_only {
            q = q.filter(post::Column::ThreadId.is_null());
        }
        if let Some(tag) = of.tag {
            q = q.filter(post::Column::Id.in_subquery(tagged(&[tag.to_string()])));
        }
        window_page(self.conn(), q, post::Column::Id, window, limit).await
    }

    /// The communities in which any of `authors` wrote a post this node holds.
    pub async fn communities_of_authors(&self, authors: &[String]) -> Result<Vec<String>, DbErr> {
        if authors.is_empty() {
            return Ok(Vec::new());
        }
        post::Entity::find()
            .select_only()
            .column(post::Column::Community)
            .distinct()
            .filter(post::Column::Author.is_in(authors.iter().cloned()))
            .into_tuple()
            .all(self.conn())
            .await
    }

    /// A page of the visible posts of `whose`, newest first; `threads_only` leaves replies
    /// out, `pinned_only` keeps pinned threads.
    pub async fn posts_of(
        &self,
        whose: Whose<'_>,
        window: Window,
        limit: u64,
        threads_only: bool,
        pinned_only: bool,
    ) -> Result<Vec<Post>, DbErr> {
        let mut q = post::Entity::find()
            .filter(match whose {
                Whose::Community(community) => post::Column::Community.eq(community),
                Whose::Author { author, within } => post::Column::Author
                    .eq(author)
                    .and(post::Column::Community.is_in(within.iter().cloned())),
            })
            .filter(post::Column::Deleted.eq(false))
            .filter(post::Column::RemovedReason.is_null());
        if threads_only || pinned_only {
            q = q.filter(post::Column::ThreadId.is_null());
        }
        if pinned_only {
            q = q.filter(post::Column::Pinned.eq(true));
        }
        window_page(self.conn(), q, post::Column::Id, window, limit).await
    }
}
