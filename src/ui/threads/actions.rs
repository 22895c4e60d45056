//! What members and moderators do to one post from its thread page: edit or delete their own
//! (with a confirmation page), and the moderators' remove with a reason, lock, pin and ban of
//! the author; and reports. Every action reads the post's community through
//! `service::privacy::may_read` first and calls the same `service::discussions` use cases as
//! the APIs.

use super::{anchor, load, readable_community, PageResult};
use crate::ui::{
    accounts::to_sign_in,
    communities::{member_of, Empty},
    pages::{Field, FormPage},
    views::community_href,
    Browser, PageError, Posted,
};
use crate::{
    db::discussions::Post,
    node::Node,
    service::{
        discussions::{self as svc, Member},
        error::Error,
        privacy,
    },
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect},
};
use serde::Deserialize;

// ----- editing and deleting one's own posts -----

fn edit_form(post: &Post, csrf: String) -> FormPage {
    let mut page = FormPage::new(
        if post.thread_id.is_none() {
            "Edit the thread"
        } else {
            "Edit the reply"
        },
        &format!("/posts/{}/edit", post.id),
        csrf,
        "Save",
    );
    let text = post
        .source
        .clone()
        .unwrap_or_else(|| crate::markdown::plain_text(&post.content));
    if post.thread_id.is_none() {
        page.fields.push(
            Field::new("title", "Title", "text", "off").value(post.title.as_deref().unwrap_or("")),
        );
    }
    page.fields
        .push(Field::new("content", "Text", "textarea", "off").value(&text));
    page.links = vec![];
    page
}

/// The author's own post, or a 403 page.
async fn own_post(state: &Node, member: &Member, id: i64) -> Result<Post, PageError> {
    let post = load(state, id).await?;
    readable_community(state, Some(member), &post).await?;
    if post.author != member.ap_id(state) {
        return Err(Error::forbidden("Only its author can change this post.").into());
    }
    if post.deleted || post.removed_reason.is_some() {
        return Err(Error::gone("This post was removed.").into());
    }
    Ok(post)
}

/// `GET /posts/{id}/edit`.
pub async fn edit_page(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/posts/{id}/edit")));
    };
    let post = own_post(&state, &member, id).await?;
    let mut page = edit_form(&post, browser.csrf().await?);
    page.signed_in = Some(member.actor.name.clone());
    Ok(page.render_with(StatusCode::OK))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EditForm {
    title: Option<String>,
    content: String,
}

/// `POST /posts/{id}/edit`.
pub async fn edit(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<EditForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/posts/{id}/edit")));
    };
    let post = own_post(&state, &member, id).await?;
    let result = if form.content.trim().is_empty() {
        Err(Error::invalid("The text cannot be empty.").on("content"))
    } else if form.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        Err(Error::invalid("The title cannot be empty.").on("title"))
    } else {
        svc::edit_post(
            &state,
            &member,
            &post,
            form.title.as_deref(),
            Some(&form.content),
        )
        .await
    };
    match result {
        Ok(post) => Ok(Redirect::to(&anchor(&post)).into_response()),
        Err(e) => {
            let mut page = edit_form(&post, browser.csrf().await?);
            page.signed_in = Some(member.actor.name.clone());
            for f in &mut page.fields {
                f.value = match f.name {
                    "title" => form.title.clone().unwrap_or_default(),
                    _ => form.content.clone(),
                };
            }
            Ok(page
                .with_error(&e)
                .render_with(crate::ui::status_of(e.kind)))
        }
    }
}

/// `GET /posts/{id}/delete`: asks before deleting.
pub async fn delete_page(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/posts/{id}/delete")));
    };
    let post = own_post(&state, &member, id).await?;
    let mut page = FormPage::new(
        "Delete this post?",
        &format!("/posts/{id}/delete"),
        browser.csrf().await?,
        "Delete it",
    );
    page.intro = vec![format!(
        "“{}” will be deleted here and on every node that holds a copy. This cannot be undone.",
        post.title
            .clone()
            .unwrap_or_else(|| crate::markdown::excerpt(
                &crate::markdown::plain_text(&post.content),
                80
            ))
    )];
    page.links = vec![("/", "Keep it and go back home")];
    page.signed_in = Some(member.actor.name.clone());
    Ok(page.render_with(StatusCode::OK))
}

/// `POST /posts/{id}/delete`.
pub async fn delete(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, .. }: Posted<Empty>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/posts/{id}/delete")));
    };
    let post = own_post(&state, &member, id).await?;
    svc::delete_post(&state, &member, &post, None).await?;
    let view = privacy::community_of(&state, &post.community).await?;
    Ok(Redirect::to(&match post.thread_id {
        Some(t) => format!("/threads/{t}"),
        None => community_href(&view),
    })
    .into_response())
}

// ----- moderation -----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RemoveForm {
    reason: String,
}

/// `POST /posts/{id}/remove`: a moderator removes someone's post, with a reason.
pub async fn remove(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<RemoveForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/threads/{id}")));
    };
    let post = load(&state, id).await?;
    readable_community(&state, Some(&member), &post).await?;
    if post.deleted || post.removed_reason.is_some() {
        return Err(Error::gone("This post was already removed.").into());
    }
    let reason = form.reason.trim();
    let reason = if reason.is_empty() {
        "no reason given".to_string()
    } else {
        reason.chars().take(500).collect()
    };
    svc::delete_post(&state, &member, &post, Some(reason)).await?;
    Ok(Redirect::to(&match post.thread_id {
        Some(t) => format!("/threads/{t}"),
        None => community_href(&privacy::community_of(&state, &post.community).await?),
    })
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FlagsForm {
    locked: Option<bool>,
    pinned: Option<bool>,
}

/// `POST /threads/{id}/flags`: a moderator locks/unlocks or pins/unpins a thread.
pub async fn flags(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<FlagsForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/threads/{id}")));
    };
    let thread = load(&state, id).await?;
    readable_community(&state, Some(&member), &thread).await?;
    if thread.thread_id.is_some() {
        return Err(Error::invalid("Only threads are locked or pinned.").into());
    }
    svc::set_thread_flags(&state, &member, &thread, form.locked, form.pinned).await?;
    Ok(Redirect::to(&format!("/threads/{id}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    /// The reply to mark; none unmarks.
    reply: Option<i64>,
}

/// `POST /threads/{id}/answer`: the thread's author or a moderator marks a reply as the
/// answer, or unmarks it.
pub async fn answer(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<AnswerForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/threads/{id}")));
    };
    let thread = load(&state, id).await?;
    readable_community(&state, Some(&member), &thread).await?;
    let reply = match form.reply {
        Some(r) => Some(
            state
                .db
                .post(r)
                .await?
                .filter(|p| p.thread_id == Some(thread.id))
                .ok_or_else(|| Error::invalid("That reply is not in this thread."))?,
        ),
        None => None,
    };
    svc::mark_answer(&state, &member, &thread, reply.as_ref()).await?;
    let to = match form.reply {
        Some(r) => format!("/threads/{id}#r{r}"),
        None => format!("/threads/{id}"),
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BanForm {
    reason: String,
}

/// `POST /posts/{id}/ban-author`: a moderator bans the post's author from the community.
pub async fn ban_author(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<BanForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/threads/{id}")));
    };
    let post = load(&state, id).await?;
    let view = readable_community(&state, Some(&member), &post).await?;
    if post.author == member.ap_id(&state) {
        return Err(Error::refused("You cannot ban yourself.").into());
    }
    let reason =
        Some(form.reason.trim().chars().take(500).collect::<String>()).filter(|r| !r.is_empty());
    svc::ban(&state, &member, &view, &post.author, reason, None).await?;
    Ok(Redirect::to(&anchor(&post)).into_response())
}

// ----- reports -----

fn report_form(post: &Post, csrf: String) -> FormPage {
    let mut page = FormPage::new(
        "Report this post",
        &format!("/posts/{}/report", post.id),
        csrf,
        "Send the report",
    );
    page.intro = vec![
        "The community's moderators (and the author's node, if it is another one) get your report with a link to the post.".into(),
    ];
    page.fields = vec![Field::new(
        "reason",
        "What is wrong with it",
        "textarea",
        "off",
    )];
    page
}

/// `GET /posts/{id}/report`.
pub async fn report_page(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/posts/{id}/report")));
    };
    let post = load(&state, id).await?;
    readable_community(&state, Some(&member), &post).await?;
    let mut page = report_form(&post, browser.csrf().await?);
    page.signed_in = Some(member.actor.name.clone());
    Ok(page.render_with(StatusCode::OK))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReportForm {
    reason: String,
}

/// `POST /posts/{id}/report`: files a report with the community's moderators.
pub async fn report(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<ReportForm>,
) -> PageResult {
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!("/posts/{id}/report")));
    };
    let post = load(&state, id).await?;
    readable_community(&state, Some(&member), &post).await?;
    let result = if form.reason.trim().is_empty() {
        Err(Error::invalid("Say what is wrong, so the moderators can judge it.").on("reason"))
    } else {
        crate::service::reports::file(&state, &member, &post.ap_id, &form.reason)
            .await
            .map_err(|e| if e.field.is_none() { e.on("reason") } else { e })
    };
    match result {
        Ok(_) => Ok(crate::ui::pages::message(
            StatusCode::OK,
            "Thank you",
            "The moderators got your report.",
            Some((&anchor(&post), "Back to the post")),
        )),
        Err(e) => {
            let mut page = report_form(&post, browser.csrf().await?);
            page.signed_in = Some(member.actor.name.clone());
            if let Some(f) = page.fields.first_mut() {
                f.value = form.reason.clone();
            }
            Ok(page
                .with_error(&e)
                .render_with(crate::ui::status_of(e.kind)))
        }
    }
}
