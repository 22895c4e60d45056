//! What the node does with a verified activity. Each capability (communities, articles, events,
//! partnerships) adds its handling here; until then an activity is recorded and acknowledged.

use crate::{
    app::AppState,
    error::ApiError,
    federation::activities::{ActivityKind, Envelope},
};

pub async fn process(_state: &AppState, envelope: &Envelope) -> Result<(), ApiError> {
    use ActivityKind::*;
    match envelope.kind {
        Follow | Accept | TentativeAccept | Reject | Undo | Create | Update | Delete | Like
        | Dislike | Announce | Add | Remove | Block | Flag | Join | Leave | Invite | Lock => Ok(()),
    }
}
