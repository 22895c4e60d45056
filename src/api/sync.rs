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

/// `POST /communities/{handle}/sync`: a pass over this community runs now, in the
/// background, and replays the stream if the digests differ; the answer is the position
/// before it, 202.
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
    let status = replication::status(&state, &view.ap_id, false).await?;
    let (node, community) = (state.clone(), view.ap_id.clone());
    tokio::spawn(async move {
        if let Err(e) = replication::sync_community(&node, &community, None, true).await {
            tracing::warn!(%community, error = %e.message, "a requested replica sync failed");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}
