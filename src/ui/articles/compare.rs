//! An article's history and the diff between any two of its revisions, side by side and
//! inline.

use super::*;

// ----- history -----

/// A revision in the history list.
pub struct RevisionRow {
    pub rev: String,
    pub short: String,
    pub number: i32,
    pub title: String,
    pub message: String,
    pub author: PersonLink,
    pub when: When,
    pub head: bool,
    /// Checked by default in the compare form.
    pub from: bool,
    pub to: bool,
}

#[derive(Template)]
#[template(path = "ui/article_history.html")]
struct HistoryPage {
    title: String,
    signed_in: Option<String>,
    csrf: String,
    id: i64,
    article_title: String,
    revisions: Vec<RevisionRow>,
    older: Option<String>,
    newest: bool,
    steward: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HistoryQuery {
    before: Option<i32>,
}

/// `GET /articles/{id}/history`: revisions newest first, a compare form, and (for stewards)
/// a revert button beside each older revision.
pub async fn history(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
    Query(q): Query<HistoryQuery>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    let view = readable(&state, member.as_ref(), &article).await?;
    let rows = state
        .db
        .revision_list_page(
            article.id,
            q.before,
            crate::paging::rows_for(REVISIONS_PER_PAGE),
        )
        .await?;
    let page: Page<RevisionMeta> = Page::from_rows(rows, REVISIONS_PER_PAGE);
    let older = page
        .next(|r| r.seq)
        .map(|seq| format!("/articles/{id}/history?before={seq}"));
    let people = People::load(&state, page.items.iter().map(|r| r.author.as_str())).await?;
    let p = powers(&state, member.as_ref(), &view).await?;
    let revisions = page
        .items
        .iter()
        .enumerate()
        .map(|(i, r)| RevisionRow {
            rev: r.rev_id.clone(),
            short: short(&r.rev_id),
            number: r.seq,
            title: r.title.clone(),
            message: r.message.clone(),
            author: people.link(&r.author),
            when: when(r.created_at),
            head: r.rev_id == article.current_rev,
            from: i == 1 || (i == 0 && page.items.len() == 1),
            to: i == 0,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &HistoryPage {
            title: format!("History of {}", article.title),
            signed_in: member.as_ref().map(|m| m.actor.name.clone()),
            csrf: browser.csrf().await?,
            id: article.id,
            article_title: article.title.clone(),
            revisions,
            older,
            newest: q.before.is_none(),
            steward: p.steward,
        },
    ))
}

// ----- diff -----

/// One side of a side-by-side row: the line's number in its text, the text, and whether it
/// was removed, added or kept.
pub struct Cell {
    pub number: usize,
    pub text: String,
    pub kind: &'static str,
}

/// A row of the side-by-side view: the old text's line (if any) beside the new one's.
pub struct SideRow {
    pub old: Option<Cell>,
    pub new: Option<Cell>,
}

/// A row of the inline view.
pub struct InlineRow {
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub kind: &'static str,
    pub text: String,
}

/// A hunk as the diff page shows it.
pub struct HunkView {
    pub heading: String,
    pub side: Vec<SideRow>,
    pub inline: Vec<InlineRow>,
}

fn kind_class(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Context => "context",
        LineKind::Delete => "removed",
        LineKind::Insert => "added",
    }
}

/// Lays a hunk out for both views: inline as it is, side by side with each run of removed
/// lines beside the added lines that follow it.
fn lay_out(h: &Hunk) -> HunkView {
    let (mut old_no, mut new_no) = (h.old_start, h.new_start);
    let mut inline = Vec::with_capacity(h.lines.len());
    let mut side = Vec::new();
    let mut removed: Vec<Cell> = Vec::new();
    let mut added: Vec<Cell> = Vec::new();
    let flush = |side: &mut Vec<SideRow>, removed: &mut Vec<Cell>, added: &mut Vec<Cell>| {
        let n = removed.len().max(added.len());
        let mut r = removed.drain(..);
        let mut a = added.drain(..);
        for _ in 0..n {
            side.push(SideRow {
                old: r.next(),
                new: a.next(),
            });
        }
    };
    for line in &h.lines {
        let class = kind_class(line.kind);
        match line.kind {
            LineKind::Context => {
                flush(&mut side, &mut removed, &mut added);
                side.push(SideRow {
                    old: Some(Cell {
                        number: old_no,
                        text: line.text.clone(),
                        kind: class,
                    }),
                    new: Some(Cell {
                        number: new_no,
                        text: line.text.clone(),
                        kind: class,
                    }),
                });
                inline.push(InlineRow {
                    old: Some(old_no),
                    new: Some(new_no),
                    kind: class,
                    text: line.text.clone(),
                });
                old_no += 1;
                new_no += 1;
            }
            LineKind::Delete => {
                if !added.is_empty() {
                    flush(&mut side, &mut removed, &mut added);
                }
                removed.push(Cell {
                    number: old_no,
                    text: line.text.clone(),
                    kind: class,
                });
                inline.push(InlineRow {
                    old: Some(old_no),
                    new: None,
                    kind: class,
                    text: line.text.clone(),
                });
                old_no += 1;
            }
            LineKind::Insert => {
                added.push(Cell {
                    number: new_no,
                    text: line.text.clone(),
                    kind: class,
                });
                inline.push(InlineRow {
                    old: None,
                    new: Some(new_no),
                    kind: class,
                    text: line.text.clone(),
                });
                new_no += 1;
            }
        }
    }
    flush(&mut side, &mut removed, &mut added);
    let span = |start: usize, len: usize| match len {
        0 => format!("after line {start}"),
        1 => format!("line {start}"),
        n => format!("lines {start}–{}", start + n - 1),
    };
    HunkView {
        heading: format!(
            "Old {}, new {}",
            span(h.old_start, h.old_lines),
            span(h.new_start, h.new_lines)
        ),
        side,
        inline,
    }
}

#[derive(Template)]
#[template(path = "ui/article_diff.html")]
struct DiffPage {
    title: String,
    signed_in: Option<String>,
    id: i64,
    from: RevisionLabel,
    to: RevisionLabel,
    hunks: Vec<HunkView>,
    added: usize,
    removed: usize,
}

pub struct RevisionLabel {
    pub short: String,
    pub number: i32,
    pub title: String,
    pub author: PersonLink,
    pub when: When,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /articles/{id}/diff?from=REV&to=REV` (by default: the newest revision against its
/// parent).
pub async fn diff(
    State(state): State<Node>,
    browser: Browser,
    Path(id): Path<i64>,
    Query(q): Query<DiffQuery>,
) -> PageResult {
    let member = member_of(&browser);
    let article = load(&state, id).await?;
    readable(&state, member.as_ref(), &article).await?;
    let to_rev =
        q.to.filter(|s| !s.is_empty())
            .unwrap_or_else(|| article.current_rev.clone());
    let to = revision_of(&state, &article, &to_rev).await?;
    let from_rev = q
        .from
        .filter(|s| !s.is_empty())
        .or_else(|| to.parent_rev.clone())
        .unwrap_or_else(|| to.rev_id.clone());
    let from = revision_of(&state, &article, &from_rev).await?;
    let (_, hunks) = svc::line_diff(&from.content, &to.content).await?;
    let count = |kind: LineKind| {
        hunks
            .iter()
            .flat_map(|h| &h.lines)
            .filter(|l| l.kind == kind)
            .count()
    };
    let (added, removed) = (count(LineKind::Insert), count(LineKind::Delete));
    let people = People::load(&state, [from.author.as_str(), to.author.as_str()]).await?;
    let label = |r: &Revision| RevisionLabel {
        short: short(&r.rev_id),
        number: r.seq,
        title: r.title.clone(),
        author: people.link(&r.author),
        when: when(r.created_at),
    };
    Ok(render(
        StatusCode::OK,
        &DiffPage {
            title: format!("Changes to {}", to.title),
            signed_in: member.map(|m| m.actor.name),
            id: article.id,
            from: label(&from),
            to: label(&to),
            hunks: hunks.iter().map(lay_out).collect(),
            added,
            removed,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::articles::DiffLine;

    fn line(kind: LineKind, text: &str) -> DiffLine {
        DiffLine {
            kind,
            text: text.into(),
        }
    }

    #[test]
    fn removed_lines_sit_beside_the_added_ones_that_replace_them() {
        let hunk = Hunk {
            old_start: 1,
            old_lines: 3,
            new_start: 1,
            new_lines: 4,
            lines: vec![
                line(LineKind::Context, "one"),
                line(LineKind::Delete, "two"),
                line(LineKind::Insert, "2"),
                line(LineKind::Insert, "2b"),
                line(LineKind::Context, "three"),
            ],
        };
        let view = lay_out(&hunk);
        assert_eq!(view.inline.len(), 5);
        assert_eq!(view.side.len(), 4);
        let second = &view.side[1];
        assert_eq!(second.old.as_ref().map(|c| c.text.as_str()), Some("two"));
        assert_eq!(second.new.as_ref().map(|c| c.text.as_str()), Some("2"));
        let third = &view.side[2];
        assert!(third.old.is_none());
        assert_eq!(
            third.new.as_ref().map(|c| (c.number, c.kind)),
            Some((3, "added"))
        );
        let last = &view.side[3];
        assert_eq!(last.old.as_ref().map(|c| c.number), Some(3));
        assert_eq!(last.new.as_ref().map(|c| c.number), Some(4));
        assert_eq!(view.heading, "Old lines 1–3, new lines 1–4");
    }
}
