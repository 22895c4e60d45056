//! Images: uploads with their bytes (`media_files`, read only to serve them), the images a
//! post carries (its own uploads, or other servers' by URL), attaching uploads to a new post
//! by compare-and-set inside the post's transaction.

use super::{
    entities::{media, media_file},
    now_ms, Db, DbErr,
};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use std::collections::HashMap;

pub use media::Model as Media;

/// An image a new post carries.
pub enum NewAttachment {
    /// An upload of the post's author, by id; it must still be unattached.
    Upload(i64),
    /// An image on another server, kept as its URL.
    Remote(RemoteImage),
}

/// An image of a post written elsewhere.
pub struct RemoteImage {
    pub url: String,
    pub media_type: String,
    pub description: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

/// A processed upload, ready to store.
pub struct NewUpload {
    pub key: String,
    pub owner: String,
    pub media_type: String,
    pub description: Option<String>,
    pub focus: Option<(f64, f64)>,
    pub width: i32,
    pub height: i32,
    pub preview_width: i32,
    pub preview_height: i32,
    pub original: Vec<u8>,
    pub preview: Vec<u8>,
    pub preview_type: String,
}

impl Db {
    /// Stores an upload, row and bytes together.
    pub async fn insert_upload(&self, new: NewUpload) -> Result<Media, DbErr> {
        let txn = self.begin().await?;
        let row = media::ActiveModel {
            key: Set(new.key),
            owner: Set(new.owner),
            post_id: Set(None),
            position: Set(0),
            remote_url: Set(None),
            media_type: Set(new.media_type),
            description: Set(new.description),
            focus_x: Set(new.focus.map(|f| f.0)),
            focus_y: Set(new.focus.map(|f| f.1)),
            width: Set(Some(new.width)),
            height: Set(Some(new.height)),
            preview_width: Set(Some(new.preview_width)),
            preview_height: Set(Some(new.preview_height)),
            size: Set(new.original.len() as i64),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        media_file::ActiveModel {
            media_id: Set(row.id),
            original: Set(new.original),
            preview: Set(new.preview),
            preview_type: Set(new.preview_type),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    pub async fn media(&self, id: i64) -> Result<Option<Media>, DbErr> {
        media::Entity::find_by_id(id).one(self.conn()).await
    }

    pub async fn media_by_key(&self, key: &str) -> Result<Option<Media>, DbErr> {
        media::Entity::find()
            .filter(media::Column::Key.eq(key))
            .one(self.conn())
            .await
    }

    /// The stored bytes of an upload.
    pub async fn media_file(&self, id: i64) -> Result<Option<media_file::Model>, DbErr> {
        media_file::Entity::find_by_id(id).one(self.conn()).await
    }

    /// Changes the alt text and focus of an upload that no post carries yet; false when there
    /// is no such upload of `owner`.
    pub async fn describe_upload(
        &self,
        id: i64,
        owner: &str,
        description: Option<Option<String>>,
        focus: Option<(f64, f64)>,
    ) -> Result<bool, DbErr> {
        let mut update = media::Entity::update_many()
            .filter(media::Column::Id.eq(id))
            .filter(media::Column::Owner.eq(owner))
            .filter(media::Column::PostId.is_null())
            .filter(media::Column::RemoteUrl.is_null());
        let mut changes = false;
        if let Some(d) = description {
            update = update.col_expr(media::Column::Description, Expr::value(d));
            changes = true;
        }
        if let Some((x, y)) = focus {
            update = update
                .col_expr(media::Column::FocusX, Expr::value(x))
                .col_expr(media::Column::FocusY, Expr::value(y));
            changes = true;
        }
        if !changes {
            return Ok(self
                .media(id)
                .await?
                .is_some_and(|m| m.owner == owner && m.post_id.is_none()));
        }
        Ok(update.exec(self.conn()).await?.rows_affected == 1)
    }

    /// The images of each of `post_ids`, in their order.
    pub async fn media_of_posts(
        &self,
        post_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<Media>>, DbErr> {
        let mut out: HashMap<i64, Vec<Media>> = HashMap::new();
        if post_ids.is_empty() {
            return Ok(out);
        }
        let rows = media::Entity::find()
            .filter(media::Column::PostId.is_in(post_ids.iter().copied()))
            .order_by_asc(media::Column::PostId)
            .order_by_asc(media::Column::Position)
            .all(self.conn())
            .await?;
        for row in rows {
            if let Some(post) = row.post_id {
                out.entry(post).or_default().push(row);
            }
        }
        Ok(out)
    }
}

/// Gives a new post its images inside the post's transaction. An upload is taken only if it is
/// the author's and still unattached (compare-and-set), so two posts racing for one upload
/// cannot both carry it: the loser's whole transaction fails.
pub(super) async fn attach<C: ConnectionTrait>(
    txn: &C,
    post_id: i64,
    author: &str,
    attachments: Vec<NewAttachment>,
) -> Result<(), DbErr> {
    for (position, attachment) in attachments.into_iter().enumerate() {
        let position = position as i32;
        match attachment {
            NewAttachment::Upload(id) => {
                let taken = media::Entity::update_many()
                    .col_expr(media::Column::PostId, Expr::value(post_id))
                    .col_expr(media::Column::Position, Expr::value(position))
                    .filter(media::Column::Id.eq(id))
                    .filter(media::Column::Owner.eq(author))
                    .filter(media::Column::PostId.is_null())
                    .filter(media::Column::RemoteUrl.is_null())
                    .exec(txn)
                    .await?;
                if taken.rows_affected != 1 {
                    return Err(DbErr::RecordNotFound(format!("media {id}")));
                }
            }
            NewAttachment::Remote(image) => {
                media::ActiveModel {
                    key: Set(crate::db::random_key()),
                    owner: Set(author.to_string()),
                    post_id: Set(Some(post_id)),
                    position: Set(position),
                    remote_url: Set(Some(image.url)),
                    media_type: Set(image.media_type),
                    description: Set(image.description),
                    focus_x: Set(None),
                    focus_y: Set(None),
                    width: Set(image.width),
                    height: Set(image.height),
                    preview_width: Set(None),
                    preview_height: Set(None),
                    size: Set(0),
                    created_at: Set(now_ms()),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
            }
        }
    }
    Ok(())
}
