//! Following: following a community's account is joining it (a remote community answers
//! later: `requested` until then), unfollowing is leaving; relationships say where the caller
//! stands (with their mutes and blocks). A moderator's follow requests are the requests to
//! join the communities they moderate. Roundtable members follow communities, not people, so
//! following a person is refused with a clear error.

use super::{
    accounts::{self, Who},
    timelines::Paging,
    MastodonError,
};
use crate::web::Q;
use crate::{
    api::{may_read, Auth, Caller, MaybeAuth, Read, Write},
    db::{discussions::Side, personal::Kept},
    domain::{ActorKind, MemberState},
    node::Node,
    service::{
        discussions::{self as svc, CommunityView, Member},
        privacy::readable_each,
    },
};
use axum::{
    extract::{OriginalUri, Path, RawQuery, State},
    response::Response,
    Json,
};
use serde_json::{json, Value};

fn is_group(who: &Who) -> bool {
    match who {
        Who::Local(a) => a.kind == ActorKind::Group.as_str(),
        Who::Remote(a) => a.kind == "Group",
    }
}

/// The Relationship entities between the caller and each of `whos`, in two queries whatever
/// their number.
pub(super) async fn relationships_with(
    state: &Node,
    me: &Member,
    whos: &[Who],
) -> Result<Vec<Value>, MastodonError> {
    let targets: Vec<String> = whos.iter().map(|w| w.ap_id(state)).collect();
    let groups: Vec<String> = whos
        .iter()
        .zip(&targets)
        .filter(|(w, _)| is_group(w))
        .map(|(_, t)| t.clone())
        .collect();
    let memberships = state.db.memberships_of(&me.ap_id(state), &groups).await?;
    let keeping = state.db.keeping(me.user.id, &targets).await?;
    Ok(whos
        .iter()
        .zip(&targets)
        .map(|(who, target)| {
            let membership = memberships.get(target).filter(|_| is_group(who));
            let (muting, blocking) = keeping.get(target).copied().unwrap_or_default();
            let following = membership.is_some_and(|m| m.state == MemberState::Accepted);
            json!({
                "id": who.account_id(),
                "following": following,
                "showing_reblogs": following,
                "notifying": false,
                "languages": null,
                "followed_by": false,
                "blocking": blocking,
                "blocked_by": false,
                "muting": muting.is_some(),
                "muting_notifications": muting.unwrap_or(false),
                "requested": membership.is_some_and(|m| m.state == MemberState::Pending),
                "requested_by": false,
                "domain_blocking": false,
                "endorsed": false,
                "note": "",
            })
        })
        .collect())
}

/// The Relationship entity between the caller and `who`.
pub(super) async fn relationship(
    state: &Node,
    me: &Member,
    who: &Who,
) -> Result<Value, MastodonError> {
    relationships_with(state, me, std::slice::from_ref(who))
        .await?
        .pop()
        .ok_or_else(MastodonError::internal)
}

async fn community_of(state: &Node, id: &str) -> Result<(Who, CommunityView), MastodonError> {
    let who = accounts::existing(state, id).await?;
    if !is_group(&who) {
        return Err(MastodonError::unprocessable(
            "Roundtable members follow communities, not people: follow a community's account to join it",
        ));
    }
    let view = svc::known(state, &who.ap_id(state))
        .await?
        .ok_or_else(|| MastodonError::not_found("Record not found"))?;
    Ok((who, view))
}

/// `POST /api/v1/accounts/{id}/follow`: joins the community.
pub async fn follow(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let (who, community) = community_of(&state, &id).await?;
    svc::join(&state, &auth.member, &community).await?;
    Ok(Json(relationship(&state, &auth.member, &who).await?))
}

/// `POST /api/v1/accounts/{id}/unfollow`: leaves the community.
pub async fn unfollow(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    let (who, community) = community_of(&state, &id).await?;
    let me = auth.member.ap_id(&state);
    if state.db.membership(&community.ap_id, &me).await?.is_some() {
        svc::leave(&state, &auth.member, &community).await?;
    }
    Ok(Json(relationship(&state, &auth.member, &who).await?))
}

/// The most accounts one relationships request names.
const MAX_IDS: usize = 40;

/// `GET /api/v1/accounts/relationships?id[]=…`: unknown ids are left out, as Mastodon does.
pub async fn relationships(
    State(state): State<Node>,
    auth: Auth<Read>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MastodonError> {
    let ids = ids_of(query);
    let whos = accounts::by_ids(&state, &ids).await?;
    Ok(Json(Value::Array(
        relationships_with(&state, &auth.member, &whos).await?,
    )))
}

/// `GET /api/v1/accounts/familiar_followers?id[]=…`: the accounts the caller follows that
/// also follow each account. Roundtable members follow communities, and nobody follows a
/// person or a community follows anyone, so each list is truthfully empty; unknown ids are
/// left out.
pub async fn familiar_followers(
    State(state): State<Node>,
    _auth: Auth<Read>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Result<Json<Value>, MastodonError> {
    let mut ids = ids_of(query);
    // Some clients (Mastodon.py) send the ids as a JSON body, even on a GET.
    if ids.is_empty() && !body.is_empty() {
        let sent: Value = serde_json::from_slice(&body)
            .map_err(|_| MastodonError::unprocessable("the body must be JSON with an id list"))?;
        ids = match &sent["id"] {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .take(MAX_IDS)
                .collect(),
            Value::String(s) => vec![s.clone()],
            Value::Number(n) => vec![n.to_string()],
            _ => Vec::new(),
        };
    }
    let whos = accounts::by_ids(&state, &ids).await?;
    Ok(Json(Value::Array(
        whos.iter()
            .map(|w| json!({"id": w.account_id(), "accounts": []}))
            .collect(),
    )))
}

/// The `id[]` (or `id`) parameters of a query, at most [`MAX_IDS`].
fn ids_of(query: Option<String>) -> Vec<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "id[]" || k == "id")
        .map(|(_, v)| v.into_owned())
        .take(MAX_IDS)
        .collect()
}

/// Join requests waiting for the caller: Mastodon's follow requests, for the communities the
/// caller moderates. Requests are paged by membership; an account asking to join two such
/// communities shows once per request.
pub async fn follow_requests(
    State(state): State<Node>,
    auth: Auth<Read>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let w = q.kept(40, 80)?;
    let rows = state
        .db
        .requests_to_moderate(&auth.member.ap_id(&state), w.max_id, w.limit)
        .await?;
    let kept: Vec<Kept> = rows
        .into_iter()
        .map(|m| Kept {
            id: m.id,
            target: m.actor,
        })
        .collect();
    accounts::kept_page(&state, &uri, kept).await
}

/// Approves (`authorize`) or refuses (`reject`) every request of the account `id` to join a
/// community the caller moderates; answers the Relationship with that account.
async fn decide(
    state: &Node,
    auth: &Caller,
    id: &str,
    approve: bool,
) -> Result<Json<Value>, MastodonError> {
    let who = accounts::existing(state, id).await?;
    let actor = who.ap_id(state);
    let me = auth.member.ap_id(state);
    let mut decided = 0;
    for request in state
        .db
        .requests_to_moderate(&me, None, 1000)
        .await?
        .into_iter()
        .filter(|m| m.actor == actor)
    {
        if let Some(community) = svc::known(state, &request.community).await? {
            svc::decide_membership(state, &auth.member, &community, request.id, approve).await?;
            decided += 1;
        }
    }
    if decided == 0 {
        return Err(MastodonError::not_found("Record not found"));
    }
    Ok(Json(relationship(state, &auth.member, &who).await?))
}

/// `POST /api/v1/follow_requests/{id}/authorize`.
pub async fn authorize(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    decide(&state, &auth, &id, true).await
}

/// `POST /api/v1/follow_requests/{id}/reject`.
pub async fn reject(
    State(state): State<Node>,
    auth: Auth<Write>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MastodonError> {
    decide(&state, &auth, &id, false).await
}

/// `GET /api/v1/accounts/{id}/followers`: a community's members, newest first; nobody follows
/// a person on Roundtable, so a person's list is empty. A confidential community's members are
/// listed only to those who may read it.
pub async fn followers(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Path(id): Path<String>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let who = accounts::existing(&state, &id).await?;
    let community = who.ap_id(&state);
    let rows = if is_group(&who) && may_read(&state, auth.as_deref(), &community).await.is_ok() {
        state
            .db
            .accepted_page(&community, Side::Members, None, q.kept(40, 80)?)
            .await?
    } else {
        Vec::new()
    };
    accounts::kept_page(&state, &uri, rows).await
}

/// `GET /api/v1/accounts/{id}/following`: the communities a person belongs to, as far as
/// this node knows and the caller may read them, newest first.
pub async fn following(
    State(state): State<Node>,
    MaybeAuth(auth): MaybeAuth<Read>,
    Path(id): Path<String>,
    Q(q): Q<Paging>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, MastodonError> {
    let who = accounts::existing(&state, &id).await?;
    let rows = if is_group(&who) {
        Vec::new()
    } else {
        let person = who.ap_id(&state);
        let theirs = state.db.accepted_communities(&person).await?;
        let known = svc::known_many(&state, theirs.iter().map(String::as_str)).await?;
        let views: Vec<&CommunityView> = known.values().collect();
        let reader = auth.as_deref().map(|c| &c.member);
        let shown: Vec<String> = readable_each(&state, reader, &views)
            .await?
            .into_iter()
            .collect();
        state
            .db
            .accepted_page(&person, Side::Communities, Some(&shown), q.kept(40, 80)?)
            .await?
    };
    accounts::kept_page(&state, &uri, rows).await
}
