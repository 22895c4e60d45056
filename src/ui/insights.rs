//! A community's insights page (`GET /communities/{handle}/insights`): the figures of
//! `service::insights` with charts drawn as SVG on the server (the weekly rhythm, each node's
//! shares, the node × node exchange), findings in plain words, and every table as CSV
//! (`…/insights.csv?table=…`). Signed-in readers only, and for a confidential community its
//! members only (`service::privacy::may_read`, as every page of its content).

use super::{
    accounts::to_sign_in, communities::member_of, pages::render, views::community_href, Browser,
    PageError,
};
use crate::{
    db::now_ms,
    node::Node,
    service::{
        discussions::{self as svc, CommunityView},
        error::Error,
        insights::{self, Insights, Window},
        privacy,
    },
};
use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InsightsQuery {
    window: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// For the CSV: which table.
    table: Option<String>,
}

impl InsightsQuery {
    /// The query string that selects the same window.
    fn window_query(&self) -> String {
        match (&self.from, &self.to) {
            (Some(f), Some(t)) => format!(
                "from={}&to={}",
                super::views::encode(f),
                super::views::encode(t)
            ),
            _ => format!("window={}", self.window.as_deref().unwrap_or("90d")),
        }
    }
}

/// One bar of a chart, its geometry computed here.
pub struct Bar {
    pub label: String,
    pub value: usize,
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

/// A node's share, as a horizontal bar (width in percent of the chart).
pub struct ShareBar {
    pub node: String,
    pub percent: usize,
    pub width: usize,
    pub y: usize,
}

/// The exchange matrix as rows: the answering node and its count for each asking node.
pub struct MatrixRow {
    pub node: String,
    pub cells: Vec<usize>,
}

#[derive(Template)]
#[template(path = "ui/insights.html")]
struct InsightsPage {
    title: String,
    signed_in: Option<String>,
    community_href: String,
    href: String,
    window_query: String,
    window_label: String,
    findings: Vec<String>,
    figures: Insights,
    weeks: Vec<Bar>,
    rhythm_height: usize,
    rhythm_width: usize,
    replies_shares: Vec<ShareBar>,
    nodes: Vec<String>,
    matrix: Vec<MatrixRow>,
}

const CHART_HEIGHT: usize = 160;
const BAR_WIDTH: usize = 44;
const BAR_GAP: usize = 8;

fn percent(share: Option<f64>) -> usize {
    share.map(|s| (s * 100.0).round() as usize).unwrap_or(0)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What the figures say, in plain words.
pub fn findings(f: &Insights) -> Vec<String> {
    let mut out = Vec::new();
    let q = &f.questions;
    out.push(format!(
        "{} opened, {} answered by someone else, {} solved.",
        plural(q.opened, "question", "questions"),
        q.answered,
        q.solved
    ));
    if !q.unanswered_after_7_days.is_empty() {
        let n = q.unanswered_after_7_days.len();
        out.push(format!(
            "{} waited more than a week for an answer.",
            plural(n, "question", "questions")
        ));
    }
    let h = &f.hero_risk;
    if h.answers > 0 {
        out.push(format!(
            "{} % of answers come from one member; {} gave half of them.",
            percent(h.top1_share),
            plural(h.members_for_half, "member", "members")
        ));
    }
    if f.exchange.replies > 0 {
        out.push(format!(
            "{} % of replies cross organizations ({} of {}).",
            percent(f.exchange.cross_node_share),
            f.exchange.cross_node_replies,
            f.exchange.replies
        ));
    }
    out.push(format!(
        "{} took part; {} contributed.",
        plural(
            f.organizations.member_nodes,
            "organization",
            "organizations"
        ),
        f.organizations.contributing_nodes
    ));
    let k = &f.knowledge;
    if k.overdue_for_review > 0 {
        out.push(format!(
            "{} overdue for review.",
            plural(k.overdue_for_review, "article is", "articles are")
        ));
    }
    let n = &f.newcomers;
    if n.joined > 0 {
        out.push(format!(
            "{} of {} contributed.",
            n.contributed,
            plural(n.joined, "newcomer", "newcomers")
        ));
    }
    out
}

async fn readable(
    state: &Node,
    browser: &Browser,
    handle: &str,
) -> Result<CommunityView, PageResult> {
    let view = svc::resolve(state, handle)
        .await
        .map_err(|e| Err(e.into()))?;
    let member = member_of(browser);
    if member.is_none() {
        return Err(Ok(to_sign_in(&format!(
            "{}/insights",
            community_href(&view)
        ))));
    }
    privacy::may_read(state, member.as_ref(), &view)
        .await
        .map_err(|e| Err(e.into()))?;
    Ok(view)
}

/// The community a member may read, the window asked for, and its figures; or the answer
/// that refuses (sign in, not found, not allowed, a bad window).
async fn figures_for(
    state: &Node,
    browser: &Browser,
    handle: &str,
    q: &InsightsQuery,
) -> Result<(CommunityView, Window, Insights), PageResult> {
    let view = readable(state, browser, handle).await?;
    let window = window_of(q).map_err(|e| Err(e.into()))?;
    let figures = insights::compute(state, &view.ap_id, &window)
        .await
        .map_err(|e| Err(e.into()))?;
    Ok((view, window, figures))
}

fn window_of(q: &InsightsQuery) -> Result<Window, Error> {
    Window::parse(
        q.window.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        now_ms(),
    )
}

/// `GET /communities/{handle}/insights`.
pub async fn page(
    State(state): State<Node>,
    browser: Browser,
    Path(handle): Path<String>,
    Query(q): Query<InsightsQuery>,
) -> PageResult {
    let (view, window, figures) = match figures_for(&state, &browser, &handle, &q).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let max = figures
        .rhythm
        .iter()
        .map(|w| w.contributions)
        .max()
        .unwrap_or(0)
        .max(1);
    let weeks: Vec<Bar> = figures
        .rhythm
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let height = w.contributions * CHART_HEIGHT / max;
            Bar {
                label: w.week.clone(),
                value: w.contributions,
                x: i * (BAR_WIDTH + BAR_GAP),
                y: CHART_HEIGHT - height,
                width: BAR_WIDTH,
                height,
            }
        })
        .collect();
    let replies_shares = figures
        .organizations
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ShareBar {
            node: n.node.clone(),
            percent: percent(n.replies_share),
            width: percent(n.replies_share) * 3,
            y: i * 28,
        })
        .collect();
    let nodes: Vec<String> = figures
        .organizations
        .nodes
        .iter()
        .map(|n| n.node.clone())
        .collect();
    let matrix = nodes
        .iter()
        .map(|from| MatrixRow {
            node: from.clone(),
            cells: nodes
                .iter()
                .map(|to| {
                    figures
                        .exchange
                        .matrix
                        .iter()
                        .find(|c| &c.from == from && &c.to == to)
                        .map_or(0, |c| c.replies)
                })
                .collect(),
        })
        .collect();
    let href = community_href(&view);
    let page = InsightsPage {
        title: format!("Insights: {}", view.title),
        signed_in: member_of(&browser).map(|m| m.actor.name),
        community_href: href.clone(),
        href: format!("{href}/insights"),
        window_query: q.window_query(),
        window_label: window.label.clone(),
        findings: findings(&figures),
        rhythm_width: (weeks.len() * (BAR_WIDTH + BAR_GAP)).max(BAR_WIDTH),
        rhythm_height: CHART_HEIGHT + 40,
        weeks,
        replies_shares,
        nodes,
        matrix,
        figures,
    };
    Ok(render(StatusCode::OK, &page))
}

/// One CSV field, quoted when it must be.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The rows of one table of the figures, header first.
pub fn table(f: &Insights, name: &str) -> Option<Vec<Vec<String>>> {
    let s = |v: &str| v.to_string();
    let n = |v: usize| v.to_string();
    Some(match name {
        "organizations" => {
            let mut rows = vec![[
                "node",
                "members",
                "threads",
                "replies",
                "edits",
                "rsvps",
                "threads_share",
                "replies_share",
                "edits_share",
                "rsvps_share",
            ]
            .map(s)
            .to_vec()];
            rows.extend(f.organizations.nodes.iter().map(|x| {
                vec![
                    x.node.clone(),
                    n(x.members),
                    n(x.threads),
                    n(x.replies),
                    n(x.edits),
                    n(x.rsvps),
                    opt(x.threads_share),
                    opt(x.replies_share),
                    opt(x.edits_share),
                    opt(x.rsvps_share),
                ]
            }));
            rows
        }
        "exchange" => {
            let mut rows = vec![["from", "to", "replies"].map(s).to_vec()];
            rows.extend(
                f.exchange
                    .matrix
                    .iter()
                    .map(|c| vec![c.from.clone(), c.to.clone(), n(c.replies)]),
            );
            rows
        }
        "unanswered" => {
            let mut rows = vec![["ap_id", "title", "published"].map(s).to_vec()];
            rows.extend(f.questions.unanswered_after_7_days.iter().map(|u| {
                vec![
                    u.ap_id.clone(),
                    u.title.clone().unwrap_or_default(),
                    u.published.clone(),
                ]
            }));
            rows
        }
        "rhythm" => {
            let mut rows = vec![["week", "starts", "contributions"].map(s).to_vec()];
            rows.extend(
                f.rhythm
                    .iter()
                    .map(|w| vec![w.week.clone(), w.starts.clone(), n(w.contributions)]),
            );
            rows
        }
        "summary" => {
            let q = &f.questions;
            let k = &f.knowledge;
            let e = &f.events;
            let h = &f.hero_risk;
            let c = &f.newcomers;
            let pairs: Vec<(&str, String)> = vec![
                ("questions_opened", n(q.opened)),
                ("questions_answered", n(q.answered)),
                ("questions_solved", n(q.solved)),
                ("first_answer_median_secs", opt(q.first_answer_median_secs)),
                ("first_answer_p90_secs", opt(q.first_answer_p90_secs)),
                ("solution_median_secs", opt(q.solution_median_secs)),
                ("solution_p90_secs", opt(q.solution_p90_secs)),
                ("cross_node_share", opt(f.exchange.cross_node_share)),
                ("answers", n(h.answers)),
                ("top1_share", opt(h.top1_share)),
                ("top3_share", opt(h.top3_share)),
                ("members_for_half", n(h.members_for_half)),
                ("articles", n(k.articles)),
                ("articles_created", n(k.created)),
                ("articles_edited", n(k.edited)),
                ("editors", n(k.editors)),
                ("editing_nodes", n(k.editing_nodes)),
                ("overdue_for_review", n(k.overdue_for_review)),
                ("never_reviewed", n(k.never_reviewed)),
                ("median_days_since_review", opt(k.median_days_since_review)),
                ("reuse_threads", n(k.reuse_threads)),
                ("reuse_replies", n(k.reuse_replies)),
                ("newcomers", n(c.joined)),
                ("newcomers_contributed", n(c.contributed)),
                (
                    "median_days_to_first_contribution",
                    opt(c.median_days_to_first_contribution),
                ),
                ("events_held", n(e.held)),
                ("attendance", n(e.attendance)),
                ("capacity", n(e.capacity)),
                ("repeat_attendees", n(e.repeat_attendees)),
                ("attending_nodes", n(e.attending_nodes)),
            ];
            let mut rows = vec![["figure", "value"].map(s).to_vec()];
            rows.extend(pairs.into_iter().map(|(k, v)| vec![k.to_string(), v]));
            rows
        }
        _ => return None,
    })
}

/// The tables a CSV can hold.
pub const TABLES: [&str; 5] = [
    "summary",
    "organizations",
    "exchange",
    "unanswered",
    "rhythm",
];

/// `GET /communities/{handle}/insights.csv?table=…` (and the window's parameters).
pub async fn csv(
    State(state): State<Node>,
    browser: Browser,
    Path(handle): Path<String>,
    Query(q): Query<InsightsQuery>,
) -> PageResult {
    let (_, _, figures) = match figures_for(&state, &browser, &handle, &q).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let name = q.table.as_deref().unwrap_or("summary");
    let rows = table(&figures, name)
        .ok_or_else(|| Error::invalid(format!("table must be one of {}", TABLES.join(", "))))?;
    let mut body = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().map(|v| field(v)).collect();
        body.push_str(&line.join(","));
        body.push_str("\r\n");
    }
    let disposition = format!("attachment; filename=\"insights-{name}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// One community in the administrators' overview.
pub struct OverviewRow {
    pub href: String,
    pub title: String,
    pub figures: Insights,
    pub cross_percent: usize,
    pub top1_percent: usize,
}

#[derive(Template)]
#[template(path = "ui/insights_overview.html")]
struct OverviewPage {
    title: String,
    signed_in: Option<String>,
    window_label: String,
    rows: Vec<OverviewRow>,
}

/// `GET /admin/insights`: every community of this node side by side (administrators only;
/// one computation per community, at most the directory's length).
pub async fn overview(
    State(state): State<Node>,
    browser: Browser,
    Query(q): Query<InsightsQuery>,
) -> PageResult {
    let Some(me) = member_of(&browser) else {
        return Ok(to_sign_in("/admin/insights"));
    };
    if !me.user.is_admin {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only the node's administrators see this page.".into(),
        ));
    }
    let window = window_of(&q)?;
    let (names, _) = state
        .db
        .community_directory(&state.settings.base_url(), None)
        .await?;
    let mut rows = Vec::new();
    for name in names {
        // The directory names this node's communities by id.
        let Some(view) = svc::known(&state, &name).await? else {
            continue;
        };
        let figures = insights::compute(&state, &view.ap_id, &window).await?;
        rows.push(OverviewRow {
            href: format!("{}/insights", community_href(&view)),
            title: view.title.clone(),
            cross_percent: percent(figures.exchange.cross_node_share),
            top1_percent: percent(figures.hero_risk.top1_share),
            figures,
        });
    }
    let page = OverviewPage {
        title: "Insights of every community".into(),
        signed_in: Some(me.actor.name),
        window_label: window.label,
        rows,
    };
    Ok(render(StatusCode::OK, &page))
}
