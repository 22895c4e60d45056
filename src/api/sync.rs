//! Where a community's replica stands (`service::replication`): its position in the host's
//! stream, the host's, and both content digests; and asking for a pass now.

use super::*;
use crate::service::replication;

/// `GET /communities/{handle}/sync`: this node's position and digest, and (for a community
/// hosted elsewhere) the host's, read now. Members of a confidential community only.
pub(super) async fn get_sync(
    State(state): State<Node>,
    auth: Auth,
    Path(handle): Path<String>,
) -> Result<Json<replication::SyncStatus>, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    may_read_view(&state, Some(&auth), &view).await?;
    Ok(Json(replication::status(&state, &view.ap_id, true).await?))
}

/// `POST /communities/{handle}/sync`: the replication pass runs now (in the background); the
/// answer is the position before it, 202.
pub(super) async fn start_sync(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let view = svc::resolve(&state, &handle).await?;
    may_read_view(&state, Some(&auth), &view).await?;
    if view.local().is_some() {
        return Err(ApiError::bad_request(
            "the community is hosted here: there is nothing to catch up",
        ));
    }
    if state.db.replica_sync(&view.ap_id).await?.is_none()
        && replication::start(&state, &view.ap_id, false).await? == replication::Started::NoStream
    {
        return Err(ApiError::conflict(
            "the community's host serves no stream (it is not a Roundtable node)",
        ));
    }
    replication::wake(&state);
    let status = replication::status(&state, &view.ap_id, false).await?;
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}
