//! Making and managing communities: a new community, and a community's settings page for
//! its moderators on its own node (name, summary, charter, members' roles and titles).

use super::*;

// ----- a new community -----

fn new_community_form(csrf: String) -> FormPage {
    let mut page = FormPage::new(
        "Start a community",
        "/communities/new",
        csrf,
        "Create the community",
    );
    page.intro = vec![
        "A community is where people from several organizations meet around one practice: its threads, articles and events replicate to every node with members in it.".into(),
    ];
    page.fields = vec![
        Field::new("slug", "Handle", "text", "off").hint(
            "Lowercase letters, digits and _ — it becomes @handle@this-node and cannot change.",
        ),
        Field::new("title", "Name", "text", "off"),
        Field::new("summary", "What it is about", "textarea", "off"),
        Field::new("visibility", "Who sees its content", "select", "off").options(&[
            ("public", "Everyone (public)"),
            ("partners", "Members on partner nodes (partners)"),
            ("members", "Approved members only (members)"),
        ]),
    ];
    page
}

/// `GET /communities/new`.
pub async fn new_community_page(browser: Browser) -> PageResult {
    let Some(account) = &browser.account else {
        return Ok(to_sign_in("/communities/new"));
    };
    let mut page = new_community_form(browser.csrf().await?);
    page.signed_in = Some(account.actor.name.clone());
    Ok(page.render_with(StatusCode::OK))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewCommunityForm {
    slug: String,
    title: String,
    summary: String,
    visibility: String,
}

/// `POST /communities/new`.
pub async fn create_community(
    State(state): State<Node>,
    Posted { browser, form }: Posted<NewCommunityForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in("/communities/new"));
    };
    let result = if form.slug.trim().is_empty() {
        Err(Error::invalid("Choose a handle for the community.").on("slug"))
    } else {
        svc::create_community(
            &state,
            &member,
            NewCommunity {
                slug: form.slug.trim().to_lowercase(),
                title: Some(form.title.trim().to_string()).filter(|t| !t.is_empty()),
                summary: Some(form.summary.clone()).filter(|t| !t.trim().is_empty()),
                charter: None,
                visibility: Some(form.visibility.clone()).filter(|v| !v.is_empty()),
            },
        )
        .await
        .map_err(|e| match e.field {
            Some(_) => e,
            None if e.message.contains("slug") || e.message.contains("taken") => e.on("slug"),
            None if e.message.contains("visibility") => e.on("visibility"),
            None => e,
        })
    };
    match result {
        Ok(view) => Ok(Redirect::to(&community_href(&view)).into_response()),
        Err(e) => {
            let mut page = new_community_form(browser.csrf().await?);
            page.signed_in = Some(member.actor.name.clone());
            for f in &mut page.fields {
                f.value = match f.name {
                    "slug" => form.slug.clone(),
                    "title" => form.title.clone(),
                    "summary" => form.summary.clone(),
                    "visibility" => form.visibility.clone(),
                    _ => String::new(),
                };
            }
            let status = crate::ui::status_of(e.kind);
            Ok(page.with_error(&e).render_with(status))
        }
    }
}

// ----- a community's settings (its moderators, on its own node) -----

#[derive(Template)]
#[template(path = "ui/community_settings.html")]
struct SettingsPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    href: String,
    fields: Vec<Field>,
    error: Option<String>,
    /// Accepted members: (membership id, who, role, title).
    members: Vec<(i64, PersonLink, String, String)>,
    role_error: Option<String>,
}

fn profile_fields(view: &CommunityView) -> Vec<Field> {
    vec![
        Field::new("title", "Name", "text", "off").value(&view.title),
        Field::new("summary", "What it is about", "textarea", "off").value(&view.summary),
        Field::new("charter", "Charter", "textarea", "off")
            .value(&view.charter)
            .hint("What the community is for and how members treat each other; markdown."),
    ]
}

/// The community hosted here that `member` moderates, or a refusal.
async fn moderated(
    state: &Node,
    member: &Member,
    handle: &str,
) -> Result<CommunityView, PageError> {
    let view = svc::resolve(state, handle).await?;
    if view.local().is_none() {
        return Err(Error::forbidden("A community is managed on its own node.").into());
    }
    if !svc::moderates(state, &view.ap_id, &member.ap_id(state)).await? {
        return Err(Error::forbidden("Only the community's moderators manage it.").into());
    }
    Ok(view)
}

async fn settings_page(
    state: &Node,
    browser: &Browser,
    member: &Member,
    view: &CommunityView,
    fields: Vec<Field>,
    errors: (Option<String>, Option<String>),
    status: StatusCode,
) -> PageResult {
    let page = state
        .db
        .members_page(
            &view.ap_id,
            Some(MemberState::Accepted),
            None,
            MEMBERS_SHOWN,
        )
        .await?;
    let people = People::load(state, page.items.iter().map(|m| m.actor.as_str())).await?;
    Ok(render(
        status,
        &SettingsPage {
            title: format!("Manage {}", view.title),
            signed_in: Some(member.actor.name.clone()),
            csrf: browser.csrf().await?,
            href: community_href(view),
            fields,
            error: errors.0,
            members: page
                .items
                .iter()
                .map(|m| {
                    (
                        m.id,
                        people.link(&m.actor),
                        m.role.as_str().to_string(),
                        m.title.clone().unwrap_or_default(),
                    )
                })
                .collect(),
            role_error: errors.1,
        },
    ))
}

/// `GET /communities/{handle}/settings`.
pub async fn settings(
    State(state): State<Node>,
    browser: Browser,
    Path(handle): Path<String>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/settings",
            encode(&handle)
        )));
    };
    let view = moderated(&state, &member, &handle).await?;
    let fields = profile_fields(&view);
    settings_page(
        &state,
        &browser,
        &member,
        &view,
        fields,
        (None, None),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    title: String,
    summary: String,
    charter: String,
}

/// `POST /communities/{handle}/settings`: the community's name, summary and charter; its
/// followers hear the change.
pub async fn save_settings(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, form }: Posted<ProfileForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/settings",
            encode(&handle)
        )));
    };
    let view = moderated(&state, &member, &handle).await?;
    let change = svc::ProfileChange {
        title: Some(form.title.clone()),
        summary: Some(form.summary.clone()),
        charter: Some(form.charter.clone()),
        icon_url: None,
        banner_url: None,
        local_readers: None,
    };
    match svc::update_community(&state, &member, &view, change).await {
        Ok(view) => Ok(Redirect::to(&community_href(&view)).into_response()),
        Err(e) => {
            let e = match e.field {
                Some(_) => e,
                None if e.message.contains("summary") => e.on("summary"),
                None if e.message.contains("charter") => e.on("charter"),
                None if e.message.contains("title") => e.on("title"),
                None => e,
            };
            let mut fields = profile_fields(&view);
            for f in &mut fields {
                f.value = match f.name {
                    "title" => form.title.clone(),
                    "summary" => form.summary.clone(),
                    _ => form.charter.clone(),
                };
                if e.field == Some(f.name) {
                    f.error = Some(e.message.clone());
                }
            }
            let general = e.field.is_none().then(|| e.message.clone());
            let status = crate::ui::status_of(e.kind);
            settings_page(
                &state,
                &browser,
                &member,
                &view,
                fields,
                (general, None),
                status,
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleForm {
    membership: i64,
    role: String,
    title: String,
}

/// `POST /communities/{handle}/roles`: a moderator makes a member a moderator (or a member
/// again) and gives them a title.
pub async fn set_role(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, form }: Posted<RoleForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/settings",
            encode(&handle)
        )));
    };
    let view = moderated(&state, &member, &handle).await?;
    let title = Some(form.title.trim()).filter(|t| !t.is_empty());
    match svc::set_role(&state, &member, &view, form.membership, &form.role, title).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/communities/{}/settings#members",
            encode(&handle)
        ))
        .into_response()),
        Err(e) => {
            let status = crate::ui::status_of(e.kind);
            let fields = profile_fields(&view);
            settings_page(
                &state,
                &browser,
                &member,
                &view,
                fields,
                (None, Some(e.message)),
                status,
            )
            .await
        }
    }
}
