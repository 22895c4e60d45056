//! What the node does with a verified activity. Each capability (communities, articles, events,
//! partnerships) adds its handling here.

use crate::{
    app::AppState,
    error::ApiError,
    federation::activities::{ActivityKind, Envelope},
    service::discussions,
};

pub async fn process(state: &AppState, envelope: &Envelope) -> Result<(), ApiError> {
    use ActivityKind::*;
    match envelope.kind {
        Follow | Accept | Reject | Undo | Create | Update | Delete | Like | Announce | Add
        | Remove | Block | Lock => discussions::receive(state, envelope).await,
        // Acknowledged; handled by later capabilities (events, reports).
        TentativeAccept | Dislike | Flag | Join | Leave | Invite => Ok(()),
    }
}
