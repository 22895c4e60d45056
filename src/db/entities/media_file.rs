use sea_orm::entity::prelude::*;

/// The bytes of an uploaded image, as served: the original without its metadata, and a preview.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub media_id: i64,
    pub original: Vec<u8>,
    pub preview: Vec<u8>,
    pub preview_type: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
