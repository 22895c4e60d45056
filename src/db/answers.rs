//! "An answer to what?": the one lookup that says which of this node's outstanding requests an
//! incoming `Accept`, `Reject`, `TentativeAccept`, `Ignore` or `Undo` names.

use super::{queue::sql, Db, DbErr};
use sea_orm::ConnectionTrait;

/// A request of this node that another node may answer, by the id it was sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    /// The instance actor's partnership `Follow` (`instances.follow_id`).
    Handshake,
    /// A local user's RSVP `Join` to a remote event (`event_participants.join_id`).
    Rsvp,
    /// An article edit proposed to the owning node (`article_edits.edit_id`).
    Edit,
    /// A membership `Follow` of a remote community, or a remote member's, by its id
    /// (`memberships.follow_id`).
    Membership,
}

impl Db {
    /// Which request `object_id` is, in this order when (against all odds) two tables hold it:
    /// handshake, RSVP, edit, membership. One query.
    pub async fn awaiting(&self, object_id: &str) -> Result<Option<Awaiting>, DbErr> {
        let stmt = sql(
            self.backend(),
            "SELECT kind FROM (\
               SELECT 1 AS kind FROM instances WHERE follow_id = $1 \
               UNION ALL SELECT 2 AS kind FROM event_participants WHERE join_id = $1 \
               UNION ALL SELECT 3 AS kind FROM article_edits WHERE edit_id = $1 \
               UNION ALL SELECT 4 AS kind FROM memberships WHERE follow_id = $1\
             ) AS found ORDER BY kind LIMIT 1",
            vec![object_id.into()],
        );
        let Some(row) = self.conn().query_one_raw(stmt).await? else {
            return Ok(None);
        };
        Ok(match row.try_get::<i32>("", "kind")? {
            1 => Some(Awaiting::Handshake),
            2 => Some(Awaiting::Rsvp),
            3 => Some(Awaiting::Edit),
            _ => Some(Awaiting::Membership),
        })
    }
}
