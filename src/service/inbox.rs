//! What the node does with a verified activity. Each capability (communities, articles, events,
//! partnerships) adds its handling here.

use crate::{
    activitypub::activities::{ActivityKind, Envelope},
    node::Node,
    service::error::Error,
    service::{discussions, events, partnership, reports},
};

pub async fn process(state: &Node, envelope: &Envelope) -> Result<(), Error> {
    use ActivityKind::*;
    if partnership::concerns(state, envelope).await? {
        return partnership::receive(state, envelope).await;
    }
    match envelope.kind {
        Follow | Accept | Reject | Undo | Create | Update | Delete | Like | Announce | Add
        | Remove | Block | Lock | Join | Leave | TentativeAccept | Ignore => {
            discussions::receive(state, envelope).await
        }
        Flag => reports::receive(state, envelope).await,
        Invite => events::receive_invite(state, envelope).await,
        // Acknowledged: dislikes are not counted.
        Dislike => Ok(()),
    }
}
