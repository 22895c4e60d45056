//! Who may read what through the API: `service::privacy::may_read`, the one read check every
//! front door shares, for the API's caller.

use super::*;

/// Confidential communities (`partners`, `members`) show their content through the API only to
/// their accepted members; public ones to everyone.
pub(crate) async fn may_read(
    state: &Node,
    auth: Option<&Caller>,
    community: &str,
) -> Result<(), ApiError> {
    match svc::known(state, community).await? {
        Some(view) => may_read_view(state, auth, &view).await,
        None => Ok(()),
    }
}

/// [`may_read`] for a community already at hand. A banned reader sees nothing of a
/// confidential community, on its node and on every replica.
pub(crate) async fn may_read_view(
    state: &Node,
    auth: Option<&Caller>,
    view: &svc::CommunityView,
) -> Result<(), ApiError> {
    Ok(crate::service::privacy::may_read(state, auth.map(|a| &a.member), view).await?)
}

/// [`may_read_view`] for each of `views`, in at most two queries (for lists, such as search
/// results, that span communities): the ids of those the caller may read.
pub(crate) async fn readable_each(
    state: &Node,
    auth: Option<&Caller>,
    views: &[&svc::CommunityView],
) -> Result<std::collections::HashSet<String>, ApiError> {
    Ok(crate::service::privacy::readable_each(state, auth.map(|a| &a.member), views).await?)
}
