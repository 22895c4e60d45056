//! A community's insights (`GET /communities/{handle}/insights`): readable by whoever may read
//! the community's content (members only for a confidential community, refused exactly as its
//! threads are).

use super::*;
use crate::service::insights::{self, Window};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InsightsQuery {
    /// `30d`, `90d` (the default) or `365d`.
    window: Option<String>,
    /// With `to`: whole days, both included (UTC), `YYYY-MM-DD`.
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn get(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth,
    Path(handle): Path<String>,
    Q(q): Q<InsightsQuery>,
) -> Result<Json<Value>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    may_read_view(&state, auth.as_deref(), &view).await?;
    let window = Window::parse(
        q.window.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        crate::db::now_ms(),
    )?;
    let figures = insights::compute(&state, &view.ap_id, &window).await?;
    let mut value = serde_json::to_value(&figures).map_err(|_| ApiError::internal())?;
    value["handle"] = json!(view.handle());
    Ok(Json(value))
}
