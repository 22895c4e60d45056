use sea_orm::entity::prelude::*;

/// An image: uploaded here (its bytes in `media_files`) or carried by a post from another
/// server (`remote_url`). Unattached (`post_id` None) uploads belong to their `owner` alone.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "media")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Random; names the image's URL on this node.
    #[sea_orm(unique)]
    pub key: String,
    /// The actor id of the uploader (or of the remote post's author).
    pub owner: String,
    pub post_id: Option<i64>,
    /// Its place among the post's images.
    pub position: i32,
    pub remote_url: Option<String>,
    pub media_type: String,
    /// Alt text.
    pub description: Option<String>,
    pub focus_x: Option<f64>,
    pub focus_y: Option<f64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub preview_width: Option<i32>,
    pub preview_height: Option<i32>,
    /// Bytes of the stored original (0 for remote images).
    pub size: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
