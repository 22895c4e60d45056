//! Who may read what: a community's content for a caller (bans, confidential membership, local readers), one query per kind for a whole list.

use super::*;
use crate::domain::MemberState;

// ----- helpers -----

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
    let reader = match auth {
        Some(auth) if !crate::service::privacy::is_public(view) => {
            let me = auth.member.ap_id(state);
            let banned = state
                .db
                .active_ban(&view.ap_id, &me, crate::db::now_ms())
                .await?
                .is_some();
            // Membership decides only when neither a ban nor the node's own readers do.
            let member = !banned
                && !opens_to_local_readers(view)
                && state
                    .db
                    .membership(&view.ap_id, &me)
                    .await?
                    .is_some_and(|m| m.state == MemberState::Accepted);
            Some(Reader { banned, member })
        }
        Some(_) => Some(Reader {
            banned: false,
            member: false,
        }),
        None => None,
    };
    if read_rule(view, reader) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this community is confidential: only its members see its content",
        ))
    }
}

/// [`may_read_view`] for each of `views`, in at most two queries (for lists, such as search
/// results, that span communities): the ids of those the caller may read.
pub(crate) async fn readable_each(
    state: &Node,
    auth: Option<&Caller>,
    views: &[&svc::CommunityView],
) -> Result<std::collections::HashSet<String>, ApiError> {
    let confidential: Vec<String> = views
        .iter()
        .filter(|v| !crate::service::privacy::is_public(v))
        .map(|v| v.ap_id.clone())
        .collect();
    let (bans, memberships) = match auth {
        Some(auth) if !confidential.is_empty() => {
            let me = auth.member.ap_id(state);
            (
                state
                    .db
                    .active_bans_of(&me, &confidential, crate::db::now_ms())
                    .await?,
                state.db.memberships_of(&me, &confidential).await?,
            )
        }
        _ => Default::default(),
    };
    Ok(views
        .iter()
        .filter(|v| {
            let reader = auth.map(|_| Reader {
                banned: bans.contains_key(&v.ap_id),
                member: memberships
                    .get(&v.ap_id)
                    .is_some_and(|m| m.state == MemberState::Accepted),
            });
            read_rule(v, reader)
        })
        .map(|v| v.ap_id.clone())
        .collect())
}

/// What the read rule knows of a signed-in reader of a confidential community.
#[derive(Clone, Copy)]
pub(super) struct Reader {
    banned: bool,
    member: bool,
}

/// The rule behind [`may_read_view`]: public communities are read by everyone; confidential
/// ones by signed-in readers who are not banned and are accepted members — or, for a
/// `partners` community open to its node's users, by every local user.
pub(super) fn read_rule(view: &svc::CommunityView, reader: Option<Reader>) -> bool {
    if crate::service::privacy::is_public(view) {
        return true;
    }
    match reader {
        None => false,
        Some(r) if r.banned => false,
        Some(r) => opens_to_local_readers(view) || r.member,
    }
}

/// A partners community may open itself to every user of its own node.
pub(super) fn opens_to_local_readers(view: &svc::CommunityView) -> bool {
    view.visibility == "partners"
        && view
            .local()
            .as_ref()
            .is_some_and(|(_, row)| row.local_readers)
}
