//! Creating communities and changing their profiles.

use super::*;

// ----- local use cases -----

pub struct NewCommunity {
    pub slug: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub charter: Option<String>,
    pub visibility: Option<String>,
}

pub async fn create_community(
    state: &Node,
    owner: &Member,
    new: NewCommunity,
) -> Result<CommunityView, Error> {
    Name::parse(&new.slug).map_err(|e| Error::refused(format!("bad slug: {e}")))?;
    if state
        .db
        .local_actor_by_name(&new.slug.to_lowercase())
        .await?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "the name {:?} is already taken",
            new.slug
        )));
    }
    let summary = new.summary.unwrap_or_default();
    let charter = new.charter.unwrap_or_default();
    if summary.chars().count() > 1000 || charter.len() > MAX_BODY {
        return Err(Error::refused(
            "summary is at most 1000 characters and charter at most 100 KiB",
        ));
    }
    let (actor, community) = accounts::create_community(
        &state.db,
        &state.settings.base_url(),
        &new.slug,
        &owner.actor.name,
        new.title.as_deref(),
        new.visibility.as_deref().unwrap_or("public"),
    )
    .await
    .map_err(|e| match e {
        accounts::AccountError::Taken(m) => Error::conflict(m),
        accounts::AccountError::Invalid(m) => Error::refused(m),
        other => Error::invalid(other.to_string()),
    })?;
    state
        .db
        .set_actor_summary(actor.id, &markdown::plain_text(&summary))
        .await?;
    state
        .db
        .set_community_profile(community.id, &charter)
        .await?;
    local_community(state, &actor.name).await
}

/// Changes of a community's profile; absent fields stay as they are.
#[derive(Default)]
pub struct ProfileChange {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub charter: Option<String>,
    pub icon_url: Option<Option<String>>,
    pub banner_url: Option<Option<String>>,
    /// For `partners` communities: whether every local user may read it.
    pub local_readers: Option<bool>,
}

pub(super) fn check_image_url(url: &Option<String>) -> Result<Option<String>, Error> {
    match url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) => match Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "https" | "http") => {
                Ok(Some(parsed.to_string()))
            }
            _ => Err(Error::refused("image URLs must be http(s) URLs")),
        },
    }
}

/// A moderator edits a community hosted here; followers get an `Update` of the `Group`.
pub async fn update_community(
    state: &Node,
    moderator: &Member,
    community: &CommunityView,
    change: ProfileChange,
) -> Result<CommunityView, Error> {
    let Some((group, row)) = community.local() else {
        return Err(Error::forbidden("a community is edited on its own node"));
    };
    if !moderates(state, &community.ap_id, &moderator.ap_id(state)).await? {
        return Err(Error::forbidden("only moderators edit the community"));
    }
    let title = match change.title {
        Some(t) => check_title(&t)?,
        None => community.title.clone(),
    };
    let summary = change
        .summary
        .map(|s| markdown::plain_text(&s))
        .unwrap_or_else(|| community.summary.clone());
    if summary.chars().count() > 1000 {
        return Err(Error::refused("summary is at most 1000 characters"));
    }
    let charter = change.charter.unwrap_or_else(|| community.charter.clone());
    if charter.len() > MAX_BODY {
        return Err(Error::refused("the charter is larger than 100 KiB"));
    }
    let icon_url = match change.icon_url {
        Some(u) => check_image_url(&u)?,
        None => community.icon_url.clone(),
    };
    let banner_url = match change.banner_url {
        Some(u) => check_image_url(&u)?,
        None => community.banner_url.clone(),
    };
    if let Some(on) = change.local_readers {
        if on && community.visibility != "partners" {
            return Err(Error::refused(
                "local_readers applies to partners communities only",
            ));
        }
        state.db.set_local_readers(row.id, on).await?;
        state
            .db
            .audit(
                &moderator.ap_id(state),
                "community.local_readers",
                &community.ap_id,
                Some(if on { "on" } else { "off" }),
            )
            .await?;
    }
    state
        .db
        .update_community_profile(
            group.id,
            row.id,
            CommunityProfile {
                title,
                summary,
                charter,
                icon_url,
                banner_url,
            },
        )
        .await?;
    let updated = local_community(state, &group.name).await?;
    let base = state.settings.base_url();
    let update = json!({
        "@context": objects::AS_CONTEXT,
        "id": objects::new_id(&base, "activities/update"),
        "type": "Update",
        "actor": updated.ap_id,
        "to": [objects::PUBLIC],
        "cc": [format!("{}/followers", updated.ap_id)],
        "object": {"id": updated.ap_id, "type": "Group"},
    });
    let jobs = broadcast_jobs(state, group, &updated.ap_id, vec![update], Vec::new()).await?;
    enqueue(state, jobs).await?;
    Ok(updated)
}
