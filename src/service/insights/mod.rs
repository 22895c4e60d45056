//! Community insights: whether a community of practice creates value, over a window of time,
//! computed from what this node holds of the community (its replica, or the community itself
//! on its node). The rows come from `db::insights` in one query per kind; everything here is
//! arithmetic over them. "Node" is the host (and port) of an actor's id: the organization
//! behind it. Figures are as of the window's end: replies written after it do not answer a
//! question asked in it.

mod figures;
mod window;

pub use figures::*;
pub use window::Window;

use crate::{db::now_ms, node::Node, service::error::Error};

/// The insights of `community` (its ActivityPub id) over `window`. The caller has checked
/// that the reader may read the community (`privacy::may_read`).
pub async fn compute(state: &Node, community: &str, window: &Window) -> Result<Insights, Error> {
    let rows = state
        .db
        .insight_rows(community, window.from, window.to)
        .await?;
    Ok(figures::from_rows(community, window, &rows, now_ms()))
}
