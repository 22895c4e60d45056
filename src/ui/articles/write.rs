//! Writing and editing articles: a new article, an edit with its base revision carried, and
//! the conflict screen when the head moved meanwhile.

use super::*;

// ----- writing and editing -----

/// The other side of a conflict: the newest revision, beside what was submitted.
pub struct ConflictView {
    pub theirs: String,
    pub theirs_by: PersonLink,
    pub theirs_when: When,
    pub yours: String,
}

#[derive(Template)]
#[template(path = "ui/article_edit.html")]
struct EditPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    action: String,
    cancel: String,
    submit: &'static str,
    base: Option<String>,
    title_value: String,
    content: String,
    message_value: String,
    title_error: Option<String>,
    content_error: Option<String>,
    error: Option<String>,
    conflict: Option<ConflictView>,
}

impl EditPage {
    /// Puts `e` beside its field (the service names none, so its message tells which), or
    /// above the form.
    fn with_error(mut self, e: &Error) -> EditPage {
        let field = e.field.or_else(|| {
            let m = e.message.to_lowercase();
            if m.contains("title") {
                Some("title")
            } else if m.contains("article is") || m.contains("text") || m.contains("lines") {
                Some("content")
            } else {
                None
            }
        });
        match field {
            Some("title") => self.title_error = Some(e.message.clone()),
            Some("content") => self.content_error = Some(e.message.clone()),
            _ => self.error = Some(e.message.clone()),
        }
        self
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ArticleForm {
    title: String,
    content: String,
    message: String,
    base: String,
}

impl ArticleForm {
    /// Browsers send a text area's lines ended by CRLF; revisions keep LF, so an edit
    /// changes only the lines it changes.
    fn normalized(mut self) -> ArticleForm {
        if self.content.contains('\r') {
            self.content = self.content.replace("\r\n", "\n").replace('\r', "\n");
        }
        self
    }
}

/// What the pages refuse before asking the service: an empty title or text, and a text
/// that still holds a conflict's markers.
fn check_form(form: &ArticleForm) -> Result<(), Error> {
    if form.title.trim().is_empty() {
        return Err(Error::invalid("Give the article a title.").on("title"));
    }
    if form.content.trim().is_empty() {
        return Err(Error::invalid("Write the article's text.").on("content"));
    }
    let marker = |m: &str| form.content.lines().any(|l| l.starts_with(m));
    if marker("<<<<<<<") && marker(">>>>>>>") {
        return Err(Error::invalid(
            "The text still holds conflict markers (<<<<<<<, =======, >>>>>>>): keep the lines you want and remove the markers.",
        )
        .on("content"));
    }
    Ok(())
}

/// `GET /communities/{handle}/articles/new`.
pub async fn new_page(
    State(state): State<Node>,
    browser: Browser,
    Path(handle): Path<String>,
) -> PageResult {
    let member = member_of(&browser);
    let view = communities::resolve(&state, &handle).await?;
    if privacy::may_read(&state, member.as_ref(), &view)
        .await
        .is_err()
    {
        return Err(Error::not_found("There is no such community here.").into());
    }
    let Some(member) = member else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/articles/new",
            encode(&handle)
        )));
    };
    let page = new_form(
        &view,
        &member,
        browser.csrf().await?,
        &ArticleForm::default(),
    );
    Ok(render(StatusCode::OK, &page))
}

fn new_form(view: &CommunityView, member: &Member, csrf: String, form: &ArticleForm) -> EditPage {
    let href = community_href(view);
    EditPage {
        title: format!("New article in {}", view.title),
        signed_in: Some(member.actor.name.clone()),
        csrf,
        action: format!("{href}/articles/new"),
        cancel: format!("{href}/articles"),
        submit: "Create the article",
        base: None,
        title_value: form.title.clone(),
        content: form.content.clone(),
        message_value: form.message.clone(),
        title_error: None,
        content_error: None,
        error: None,
        conflict: None,
    }
}

/// `POST /communities/{handle}/articles/new`.
pub async fn create(
    State(state): State<Node>,
    Path(handle): Path<String>,
    Posted { browser, form }: Posted<ArticleForm>,
) -> PageResult {
    let form = form.normalized();
    let Some(member) = member_of(&browser) else {
        return Ok(to_sign_in(&format!(
            "/communities/{}/articles/new",
            encode(&handle)
        )));
    };
    let view = communities::resolve(&state, &handle).await?;
    if privacy::may_read(&state, Some(&member), &view)
        .await
        .is_err()
    {
        return Err(Error::not_found("There is no such community here.").into());
    }
    let result = match check_form(&form) {
        Err(e) => Err(e),
        Ok(()) => {
            svc::create(
                &state,
                &member,
                &view,
                NewArticleInput {
                    title: form.title.clone(),
                    content: form.content.clone(),
                    message: Some(form.message.trim().to_string()).filter(|m| !m.is_empty()),
                    review_interval_days: None,
                },
            )
            .await
        }
    };
    let back = format!("{}/articles", community_href(&view));
    let refused = |e: Error, csrf: String| {
        let status = crate::ui::status_of(e.kind);
        render(
            status,
            &new_form(&view, &member, csrf, &form).with_error(&e),
        )
    };
    Ok(match result {
        Ok(Outcome::Applied { article, .. }) => {
            Redirect::to(&format!("/articles/{}", article.id)).into_response()
        }
        Ok(Outcome::Pending { .. }) => sent_on(
            StatusCode::ACCEPTED,
            "Sent to the community's node",
            PENDING,
            &back,
        ),
        Ok(Outcome::Rejected { reason }) => {
            refused(Error::forbidden(reason), browser.csrf().await?)
        }
        Ok(Outcome::Conflict { .. }) => refused(
            Error::conflict("The community's node could not take the article."),
            browser.csrf().await?,
        ),
        Err(e) => refused(e, browser.csrf().await?),
    })
}

/// The edit form of `article`, based on its newest revision `head`.
fn edit_form(article: &Article, head: &Revision, member: &Member, csrf: String) -> EditPage {
    EditPage {
        title: format!("Edit {}", head.title),
        signed_in: Some(member.actor.name.clone()),
        csrf,
        action: format!("/articles/{}/edit", article.id),
        cancel: format!("/articles/{}", article.id),
        submit: "Save",
        base: Some(head.rev_id.clone()),
        title_value: head.title.clone(),
        content: head.content.clone(),
        message_value: String::new(),
        title_error: None,
        content_error: None,
        error: None,
        conflict: None,
    }
}

/// `GET /articles/{id}/edit`.
pub async fn edit_page(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let Some(member) = member else {
        return Ok(to_sign_in(&format!("/articles/{id}/edit")));
    };
    let head = revision_of(&state, &article, &article.current_rev).await?;
    Ok(render(
        StatusCode::OK,
        &edit_form(&article, &head, &member, browser.csrf().await?),
    ))
}

/// `POST /articles/{id}/edit`: saves an edit based on the form's `base` revision. A
/// fast-forward or a clean merge opens the article; a conflict shows both texts and a text
/// area to resolve it in (its base is then the newest revision, so saving it resolves it).
pub async fn edit(
    State(state): State<Node>,
    Path(id): Path<i64>,
    Posted { browser, form }: Posted<ArticleForm>,
) -> PageResult {
    let form = form.normalized();
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let Some(member) = member else {
        return Ok(to_sign_in(&format!("/articles/{id}/edit")));
    };
    let result = match check_form(&form) {
        Err(e) => Err(e),
        Ok(()) => {
            svc::edit(
                &state,
                &member,
                &article,
                EditInput {
                    content: form.content.clone(),
                    base_revision: form.base.clone(),
                    title: Some(form.title.clone()),
                    message: Some(form.message.trim().to_string()).filter(|m| !m.is_empty()),
                },
            )
            .await
        }
    };
    let back = format!("/articles/{id}");
    let refill = |mut page: EditPage| {
        page.title_value = form.title.clone();
        page.content = form.content.clone();
        page.message_value = form.message.clone();
        page.base = Some(form.base.clone());
        page
    };
    let head = revision_of(&state, &article, &article.current_rev).await?;
    Ok(match result {
        Ok(Outcome::Applied { article, .. }) => {
            Redirect::to(&format!("/articles/{}", article.id)).into_response()
        }
        Ok(Outcome::Pending { .. }) => sent_on(
            StatusCode::ACCEPTED,
            "Sent to the community's node",
            PENDING,
            &back,
        ),
        Ok(Outcome::Conflict { conflict, latest }) => {
            let theirs = match state.db.revision(&latest).await? {
                Some(r) if r.article_id == article.id => r,
                _ => head,
            };
            let people = People::load(&state, [theirs.author.as_str()]).await?;
            let mut page = refill(edit_form(&article, &theirs, &member, browser.csrf().await?));
            page.title = format!("Your edit of {} conflicts", theirs.title);
            page.submit = "Save the resolved text";
            page.base = Some(theirs.rev_id.clone());
            page.content = if conflict.is_empty() {
                form.content.clone()
            } else {
                conflict
            };
            page.conflict = Some(ConflictView {
                theirs: theirs.content.clone(),
                theirs_by: people.link(&theirs.author),
                theirs_when: when(theirs.created_at),
                yours: form.content.clone(),
            });
            render(StatusCode::CONFLICT, &page)
        }
        Ok(Outcome::Rejected { reason }) => render(
            StatusCode::FORBIDDEN,
            &refill(edit_form(&article, &head, &member, browser.csrf().await?))
                .with_error(&Error::forbidden(reason)),
        ),
        Err(e) => render(
            crate::ui::status_of(e.kind),
            &refill(edit_form(&article, &head, &member, browser.csrf().await?)).with_error(&e),
        ),
    })
}
