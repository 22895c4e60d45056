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
use std::sync::Arc;

/// The insights of `community` (its ActivityPub id) over `window`. The caller has checked
/// that the reader may read the community (`privacy::may_read`).
///
/// A closed window (ended before now) is computed once and then remembered while the
/// community's change stamp stays where it was read; its figures do not depend on the time
/// of asking (they are as of the window's end), only on the rows, and every write of a row
/// they read moves the stamp (`db::insights`). The stamp is read before the rows, so rows
/// newer than it are at worst remembered under an older stamp, which the next request finds
/// moved.
pub async fn compute(state: &Node, community: &str, window: &Window) -> Result<Insights, Error> {
    let now = now_ms();
    let span = (window.from, window.to);
    if window.to > now {
        let rows = state.db.insight_rows(community, span.0, span.1).await?;
        return Ok(figures::from_rows(community, window, &rows, now));
    }
    let stamp = state.db.insight_stamp(community).await?;
    if let Some(known) = state
        .db
        .remembered_insights::<Insights>(community, span, stamp)
    {
        return Ok(relabel(&known, window));
    }
    let rows = state.db.insight_rows(community, span.0, span.1).await?;
    let figures = figures::from_rows(community, window, &rows, now);
    state
        .db
        .remember_insights(community, span, stamp, Arc::new(figures.clone()));
    Ok(figures)
}

/// A remembered window's figures, labelled as this request asked for them.
fn relabel(known: &Insights, window: &Window) -> Insights {
    let mut figures = known.clone();
    figures.window.label.clone_from(&window.label);
    figures
}
