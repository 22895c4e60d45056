//! sea-orm entities, one per table. They derive no serde: wire shapes live in `activitypub`
//! and `api`, with explicit conversions. Columns that hold a state or a role are typed with
//! the domain's enums, stored as the words they always were (no data migration).

use crate::domain::{EventStatus, JoinMode, MemberState, ReportState, Role, RsvpState};

/// Maps a domain enum of words (`domain::states`) to a text column, as sea-orm's
/// `DeriveValueType` does for string-like types; the derive cannot be used because the domain
/// imports no database crate. A word the enum does not know is a read error, not a panic.
macro_rules! word_column {
    ($($name:ty),+) => {$(
        impl From<$name> for sea_orm::Value {
            fn from(v: $name) -> Self {
                v.as_str().into()
            }
        }

        impl sea_orm::TryGetable for $name {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                idx: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let word = String::try_get_by(res, idx)?;
                word.parse().map_err(|e: String| {
                    sea_orm::TryGetError::DbErr(sea_orm::DbErr::Type(format!(
                        "{}: {e}",
                        stringify!($name)
                    )))
                })
            }
        }

        impl sea_orm::sea_query::ValueType for $name {
            fn try_from(v: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let word = <String as sea_orm::sea_query::ValueType>::try_from(v)?;
                word.parse().map_err(|_| sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($name).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::String(sea_orm::sea_query::StringLen::None)
            }
        }

        impl sea_orm::sea_query::Nullable for $name {
            fn null() -> sea_orm::Value {
                sea_orm::Value::String(None)
            }
        }

        impl sea_orm::IntoActiveValue<$name> for $name {
            fn into_active_value(self) -> sea_orm::ActiveValue<$name> {
                sea_orm::ActiveValue::Set(self)
            }
        }
    )+};
}

word_column!(
    Role,
    MemberState,
    RsvpState,
    JoinMode,
    EventStatus,
    ReportState
);

pub mod account_link;
pub mod api_token;
pub mod article;
pub mod article_edit;
pub mod article_revision;
pub mod article_slug;
pub mod ban;
pub mod browser_session;
pub mod community;
pub mod delivery_job;
pub mod event;
pub mod event_participant;
pub mod invitation;
pub mod like;
pub mod local_actor;
pub mod media;
pub mod media_file;
pub mod membership;
pub mod oauth_app;
pub mod oauth_code;
pub mod oauth_token;
pub mod outgoing_mail;
pub mod peer;
pub mod post;
pub mod post_mention;
pub mod post_revision;
pub mod read_marker;
pub mod received_activity;
pub mod remote_actor;
pub mod status_ref;
pub mod user;
pub mod user_identity;
