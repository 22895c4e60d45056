//! The figures of a community's insights, computed from the window's rows.

use super::window::{Window, DAY_MS};
use crate::activitypub::{actors::host_of, objects::rfc3339};
use crate::db::insights::{InsightRows, ReplyPair};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use url::Url;

/// How long a question may wait before it counts as unanswered.
pub const WAIT_MS: i64 = 7 * DAY_MS;

#[derive(Debug, Clone, Serialize)]
pub struct Insights {
    pub community: String,
    pub window: WindowInfo,
    pub organizations: Organizations,
    pub exchange: Exchange,
    pub questions: Questions,
    pub hero_risk: HeroRisk,
    pub knowledge: Knowledge,
    pub newcomers: Newcomers,
    pub events: Events,
    /// Contributions (threads, replies, article revisions, RSVPs) per ISO week.
    pub rhythm: Vec<Week>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    pub label: String,
    pub from: String,
    /// Exclusive.
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Organizations {
    /// Nodes with an accepted member at the window's end.
    pub member_nodes: usize,
    /// Nodes whose people wrote a thread, reply or revision, or RSVP'd, in the window.
    pub contributing_nodes: usize,
    pub nodes: Vec<NodeShare>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeShare {
    pub node: String,
    pub members: usize,
    pub threads: usize,
    pub replies: usize,
    pub edits: usize,
    pub rsvps: usize,
    pub threads_share: Option<f64>,
    pub replies_share: Option<f64>,
    pub edits_share: Option<f64>,
    pub rsvps_share: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub replies: usize,
    /// Replies whose author's node differs from the thread author's.
    pub cross_node_replies: usize,
    pub cross_node_share: Option<f64>,
    /// Who answers whom: replies by people of `from` in threads of people of `to`.
    pub matrix: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub from: String,
    pub to: String,
    pub replies: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Questions {
    pub opened: usize,
    /// With a reply by someone other than the thread's author.
    pub answered: usize,
    /// With a marked answer.
    pub solved: usize,
    pub first_answer_median_secs: Option<f64>,
    pub first_answer_p90_secs: Option<f64>,
    /// From the question to the reply marked as its answer.
    pub solution_median_secs: Option<f64>,
    pub solution_p90_secs: Option<f64>,
    /// Threads at least 7 days old at the window's end whose first answer by someone else
    /// took longer than 7 days or never came.
    pub unanswered_after_7_days: Vec<Unanswered>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unanswered {
    pub id: i64,
    pub ap_id: String,
    pub title: Option<String>,
    pub published: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeroRisk {
    /// Replies in the window to someone else's thread.
    pub answers: usize,
    pub top1_share: Option<f64>,
    pub top3_share: Option<f64>,
    /// The fewest members who together gave at least half of the answers.
    pub members_for_half: usize,
    /// The three members who answered most, with their answers.
    pub top: Vec<Answerer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answerer {
    pub actor: String,
    pub answers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Knowledge {
    /// Articles that existed at the window's end.
    pub articles: usize,
    pub created: usize,
    /// Articles with a revision other than their first in the window.
    pub edited: usize,
    pub editors: usize,
    pub editing_nodes: usize,
    pub overdue_for_review: usize,
    pub never_reviewed: usize,
    pub median_days_since_review: Option<f64>,
    /// Threads and replies written in the window that link to one of the articles.
    pub reuse_threads: usize,
    pub reuse_replies: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Newcomers {
    pub joined: usize,
    /// Of those, who contributed in the window after joining.
    pub contributed: usize,
    pub contributed_share: Option<f64>,
    pub median_days_to_first_contribution: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Events {
    /// Events that started in the window (and before now), not cancelled.
    pub held: usize,
    /// People going to them.
    pub attendance: usize,
    /// Seats of the held events that have a capacity, and the people going to those.
    pub capacity: usize,
    pub attendance_with_capacity: usize,
    pub capacity_share: Option<f64>,
    /// People going to two or more of them.
    pub repeat_attendees: usize,
    pub attending_nodes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Week {
    /// ISO week, `2026-W49`.
    pub week: String,
    /// Its Monday.
    pub starts: String,
    pub contributions: usize,
}

/// The node of an actor id: its host and port.
pub fn node_of(actor: &str) -> String {
    Url::parse(actor).map(|u| host_of(&u)).unwrap_or_default()
}

/// The node of every actor the rows name, each parsed once.
struct Nodes<'a>(HashMap<&'a str, String>);

impl<'a> Nodes<'a> {
    fn of_rows(rows: &'a InsightRows) -> Nodes<'a> {
        let actors = rows
            .members
            .iter()
            .map(|(a, _)| a.as_str())
            .chain(rows.threads.iter().map(|t| t.author.as_str()))
            .chain(rows.reply_pairs.iter().map(|r| r.author.as_str()))
            .chain(rows.reply_pairs.iter().map(|r| r.thread_author.as_str()))
            .chain(rows.revisions.iter().map(|r| r.author.as_str()))
            .chain(rows.rsvps.iter().map(|r| r.actor.as_str()));
        let mut map = HashMap::new();
        for actor in actors {
            map.entry(actor).or_insert_with(|| node_of(actor));
        }
        Nodes(map)
    }

    fn of(&self, actor: &str) -> &str {
        self.0.get(actor).map(String::as_str).unwrap_or_default()
    }
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The median (the mean of the two middle values for an even count).
pub fn median(values: &[i64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2] as f64),
        _ => Some((v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0),
    }
}

/// The 90th percentile by nearest rank: the smallest value at least 90 % of the values do not
/// exceed.
pub fn p90(values: &[i64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    let rank = (n * 9).div_ceil(10).max(1);
    v.get(rank - 1).map(|x| *x as f64)
}

fn secs(ms: Vec<i64>) -> (Option<f64>, Option<f64>) {
    let s: Vec<i64> = ms.iter().map(|m| m / 1000).collect();
    (median(&s), p90(&s))
}

pub(super) fn from_rows(
    community: &str,
    window: &Window,
    rows: &InsightRows,
    now: i64,
) -> Insights {
    let in_window = |t: i64| t >= window.from && t < window.to;
    let nodes = Nodes::of_rows(rows);
    Insights {
        community: community.to_string(),
        window: WindowInfo {
            label: window.label.clone(),
            from: rfc3339(window.from),
            to: rfc3339(window.to),
        },
        organizations: organizations(window, rows, &nodes),
        exchange: exchange(&rows.reply_pairs, &nodes),
        questions: questions(window, rows),
        hero_risk: hero_risk(&rows.reply_pairs),
        knowledge: knowledge(window, rows, &nodes),
        newcomers: newcomers(rows, &in_window),
        events: events(window, rows, now, &nodes),
        rhythm: rhythm(window, rows, &in_window),
    }
}

fn organizations(window: &Window, rows: &InsightRows, nodes: &Nodes) -> Organizations {
    // Per node: members, threads, replies, edits, RSVPs.
    let mut counts: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    let mut add = |actor: &str, kind: usize, n: usize| {
        counts.entry(nodes.of(actor)).or_default()[kind] += n;
    };
    for (actor, joined) in &rows.members {
        if *joined < window.to {
            add(actor, 0, 1);
        }
    }
    rows.threads.iter().for_each(|t| add(&t.author, 1, 1));
    rows.reply_pairs
        .iter()
        .for_each(|r| add(&r.author, 2, r.replies));
    rows.revisions.iter().for_each(|r| add(&r.author, 3, 1));
    rows.rsvps.iter().for_each(|r| add(&r.actor, 4, 1));
    let totals = [
        rows.threads.len(),
        replies(&rows.reply_pairs),
        rows.revisions.len(),
        rows.rsvps.len(),
    ];
    let shares: Vec<NodeShare> = counts
        .into_iter()
        .map(|(node, c)| NodeShare {
            node: node.to_string(),
            members: c[0],
            threads: c[1],
            replies: c[2],
            edits: c[3],
            rsvps: c[4],
            threads_share: share(c[1], totals[0]),
            replies_share: share(c[2], totals[1]),
            edits_share: share(c[3], totals[2]),
            rsvps_share: share(c[4], totals[3]),
        })
        .collect();
    Organizations {
        member_nodes: shares.iter().filter(|n| n.members > 0).count(),
        contributing_nodes: shares
            .iter()
            .filter(|n| n.threads + n.replies + n.edits + n.rsvps > 0)
            .count(),
        nodes: shares,
    }
}

/// How many replies the pairs count.
fn replies(pairs: &[ReplyPair]) -> usize {
    pairs.iter().map(|p| p.replies).sum()
}

fn exchange(pairs: &[ReplyPair], nodes: &Nodes) -> Exchange {
    let mut matrix: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut cross = 0;
    for r in pairs {
        let (from, to) = (nodes.of(&r.author), nodes.of(&r.thread_author));
        if from != to {
            cross += r.replies;
        }
        *matrix.entry((from, to)).or_default() += r.replies;
    }
    let replies = replies(pairs);
    Exchange {
        replies,
        cross_node_replies: cross,
        cross_node_share: share(cross, replies),
        matrix: matrix
            .into_iter()
            .map(|((from, to), replies)| Cell {
                from: from.to_string(),
                to: to.to_string(),
                replies,
            })
            .collect(),
    }
}

fn questions(window: &Window, rows: &InsightRows) -> Questions {
    // A reply to a thread opened in the window was written in the window too (after the
    // thread, before the window's end): the database gives each thread its first reply by
    // someone else and the time of its marked answer, both before the window's end.
    let mut to_answer = Vec::new();
    let mut to_solution = Vec::new();
    let mut unanswered = Vec::new();
    for t in &rows.threads {
        let answer = t.first_answer.map(|at| at - t.published);
        if let Some(wait) = answer {
            to_answer.push(wait);
        }
        if let Some(at) = t.solved_at {
            to_solution.push(at - t.published);
        }
        let waited = answer.is_none_or(|wait| wait > WAIT_MS);
        if waited && t.published + WAIT_MS <= window.to {
            unanswered.push(Unanswered {
                id: t.id,
                ap_id: t.ap_id.clone(),
                title: t.title.clone(),
                published: rfc3339(t.published),
            });
        }
    }
    let (first_answer_median_secs, first_answer_p90_secs) = secs(to_answer.clone());
    let (solution_median_secs, solution_p90_secs) = secs(to_solution);
    Questions {
        opened: rows.threads.len(),
        answered: to_answer.len(),
        solved: rows
            .threads
            .iter()
            .filter(|t| t.answer_id.is_some())
            .count(),
        first_answer_median_secs,
        first_answer_p90_secs,
        solution_median_secs,
        solution_p90_secs,
        unanswered_after_7_days: unanswered,
    }
}

fn hero_risk(pairs: &[ReplyPair]) -> HeroRisk {
    let mut by: HashMap<&str, usize> = HashMap::new();
    for r in pairs.iter().filter(|r| r.author != r.thread_author) {
        *by.entry(r.author.as_str()).or_default() += r.replies;
    }
    let mut ranked: Vec<(&str, usize)> = by.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let answers: usize = ranked.iter().map(|(_, n)| n).sum();
    let mut members_for_half = 0;
    let mut sum = 0;
    for (_, n) in &ranked {
        if sum * 2 >= answers {
            break;
        }
        sum += n;
        members_for_half += 1;
    }
    let top = |k: usize| ranked.iter().take(k).map(|(_, n)| n).sum::<usize>();
    HeroRisk {
        answers,
        top1_share: share(top(1), answers),
        top3_share: share(top(3), answers),
        members_for_half,
        top: ranked
            .iter()
            .take(3)
            .map(|(actor, answers)| Answerer {
                actor: actor.to_string(),
                answers: *answers,
            })
            .collect(),
    }
}

fn knowledge(window: &Window, rows: &InsightRows, nodes: &Nodes) -> Knowledge {
    let edited: BTreeSet<i64> = rows
        .revisions
        .iter()
        .filter(|r| r.seq > 1)
        .map(|r| r.article_id)
        .collect();
    let editors: BTreeSet<&str> = rows.revisions.iter().map(|r| r.author.as_str()).collect();
    let editing_nodes: BTreeSet<&str> = editors.iter().map(|a| nodes.of(a)).collect();
    let overdue = rows
        .articles
        .iter()
        .filter(|a| {
            a.review_interval_days.is_some_and(|days| {
                a.last_reviewed_at.unwrap_or(a.created_at) + i64::from(days) * DAY_MS < window.to
            })
        })
        .count();
    let since: Vec<i64> = rows
        .articles
        .iter()
        .filter_map(|a| a.last_reviewed_at)
        .map(|at| (window.to - at).max(0))
        .collect();
    let linked = |content: &str| rows.articles.iter().any(|a| content.contains(&a.ap_id));
    let reuse = |threads: bool| {
        rows.linking
            .iter()
            .filter(|(is_thread, content)| *is_thread == threads && linked(content))
            .count()
    };
    Knowledge {
        articles: rows.articles.len(),
        created: rows.revisions.iter().filter(|r| r.seq == 1).count(),
        edited: edited.len(),
        editors: editors.len(),
        editing_nodes: editing_nodes.len(),
        overdue_for_review: overdue,
        never_reviewed: rows
            .articles
            .iter()
            .filter(|a| a.last_reviewed_at.is_none())
            .count(),
        median_days_since_review: median(&since).map(|ms| ms / DAY_MS as f64),
        reuse_threads: reuse(true),
        reuse_replies: reuse(false),
    }
}

/// Every contribution in the window but replies (which the database counts, see
/// `InsightRows::reply_pairs`): who, when.
fn contributions<'a>(
    rows: &'a InsightRows,
    in_window: &'a dyn Fn(i64) -> bool,
) -> impl Iterator<Item = (&'a str, i64)> + 'a {
    rows.threads
        .iter()
        .map(|t| (t.author.as_str(), t.published))
        .chain(
            rows.revisions
                .iter()
                .map(|r| (r.author.as_str(), r.created_at)),
        )
        .chain(rows.rsvps.iter().map(|r| (r.actor.as_str(), r.created_at)))
        .filter(move |(_, at)| in_window(*at))
}

fn newcomers(rows: &InsightRows, in_window: &dyn Fn(i64) -> bool) -> Newcomers {
    let joined: HashMap<&str, i64> = rows
        .members
        .iter()
        .filter(|(_, at)| in_window(*at))
        .map(|(actor, at)| (actor.as_str(), *at))
        .collect();
    let mut first: HashMap<&str, i64> = HashMap::new();
    // A newcomer's replies come as their earliest one after joining.
    let replies = rows
        .reply_pairs
        .iter()
        .filter_map(|r| Some((r.author.as_str(), r.newcomer_first?)));
    for (actor, at) in contributions(rows, in_window).chain(replies) {
        if joined.get(actor).is_some_and(|j| at >= *j) {
            let slot = first.entry(actor).or_insert(at);
            *slot = (*slot).min(at);
        }
    }
    let days: Vec<i64> = first.iter().map(|(actor, at)| at - joined[actor]).collect();
    Newcomers {
        joined: joined.len(),
        contributed: first.len(),
        contributed_share: share(first.len(), joined.len()),
        median_days_to_first_contribution: median(&days).map(|ms| ms / DAY_MS as f64),
    }
}

fn events(window: &Window, rows: &InsightRows, now: i64, nodes: &Nodes) -> Events {
    let held: HashMap<i64, Option<i32>> = rows
        .events
        .iter()
        .filter(|e| e.status != "cancelled" && e.starts_at < window.to.min(now))
        .map(|e| (e.id, e.capacity))
        .collect();
    let going: Vec<_> = rows
        .rsvps
        .iter()
        .filter(|r| held.contains_key(&r.event_id))
        .collect();
    let mut per_actor: HashMap<&str, usize> = HashMap::new();
    for r in &going {
        *per_actor.entry(r.actor.as_str()).or_default() += 1;
    }
    let capacity: usize = held
        .values()
        .flatten()
        .map(|c| usize::try_from(*c).unwrap_or(0))
        .sum();
    let with_capacity = going
        .iter()
        .filter(|r| held.get(&r.event_id).is_some_and(|c| c.is_some()))
        .count();
    let attending: BTreeSet<&str> = going.iter().map(|r| nodes.of(&r.actor)).collect();
    Events {
        held: held.len(),
        attendance: going.len(),
        capacity,
        attendance_with_capacity: with_capacity,
        capacity_share: share(with_capacity, capacity),
        repeat_attendees: per_actor.values().filter(|n| **n >= 2).count(),
        attending_nodes: attending.len(),
    }
}

/// The Monday of the ISO week `ms` falls in.
fn monday(ms: i64) -> NaiveDate {
    let date = DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive();
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

fn rhythm(window: &Window, rows: &InsightRows, in_window: &dyn Fn(i64) -> bool) -> Vec<Week> {
    let mut weeks: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    let last = monday(window.to - 1);
    let mut week = monday(window.from);
    while week <= last {
        weeks.insert(week, 0);
        week += Duration::days(7);
    }
    for (_, at) in contributions(rows, in_window) {
        *weeks.entry(monday(at)).or_default() += 1;
    }
    for (at, replies) in &rows.reply_weeks {
        *weeks.entry(monday(*at)).or_default() += replies;
    }
    weeks
        .into_iter()
        .map(|(monday, contributions)| {
            let iso = monday.iso_week();
            debug_assert_eq!(monday.weekday(), Weekday::Mon);
            Week {
                week: format!("{}-W{:02}", iso.year(), iso.week()),
                starts: monday.to_string(),
                contributions,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3, 1, 2]), Some(2.0));
        assert_eq!(median(&[4, 1, 2, 3]), Some(2.5));
        assert_eq!(p90(&[]), None);
        assert_eq!(p90(&[5]), Some(5.0));
        assert_eq!(p90(&(1..=10).collect::<Vec<_>>()), Some(9.0));
        assert_eq!(p90(&(1..=11).collect::<Vec<_>>()), Some(10.0));
        assert_eq!(p90(&[1, 2, 3]), Some(3.0));
    }
}
