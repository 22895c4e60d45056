//! Reports across nodes and the moderation queue.
//!
//! A member reports a thread, reply, article, event or user. The report goes to whoever can act
//! on it: the community's moderators (a `Flag` from the reporter to the community's inbox, as
//! Lemmy does) and, when the reported person lives on another node, that node's admins (a `Flag`
//! from our instance actor, as Mastodon forwards reports, so the reporter stays anonymous
//! there). Each node keeps the reports it is responsible for in its queue: those about its own
//! communities and its own users. Moderators resolve or dismiss them; both go to the audit log.

use crate::domain::ReportState;
use crate::{
    activitypub::{
        activities::Verified,
        actors::host_of,
        objects::{self, AS_CONTEXT},
    },
    db::{
        reports::{NewReport, Report},
        LocalActor,
    },
    delivery, markdown,
    node::Node,
    service::discussions::{self, local_user_name, Member},
    service::error::Error,
};
use serde_json::json;
use tracing::info;
use url::Url;

/// Longest reason kept, in characters.
const MAX_REASON: usize = 2000;

/// What a report is about, as this node knows it.
struct Target {
    object: String,
    kind: &'static str,
    community: Option<String>,
    /// The person whose content (or self) is reported.
    actor: Option<String>,
}

async fn locate(state: &Node, object: &str) -> Result<Option<Target>, Error> {
    if let Some(post) = state.db.post_by_ap_id(object).await? {
        return Ok(Some(Target {
            object: post.ap_id.clone(),
            kind: if post.thread_id.is_none() {
                "thread"
            } else {
                "reply"
            },
            community: Some(post.community.clone()),
            actor: Some(post.author.clone()),
        }));
    }
    if let Some(article) = state.db.article_by_ap_id(object).await? {
        return Ok(Some(Target {
            object: article.ap_id.clone(),
            kind: "article",
            community: Some(article.community.clone()),
            actor: None,
        }));
    }
    if let Some(event) = state.db.event_by_ap_id(object).await? {
        return Ok(Some(Target {
            object: event.ap_id.clone(),
            kind: "event",
            community: Some(event.community.clone()),
            actor: None,
        }));
    }
    let local_user = match local_user_name(state, object) {
        Some(name) => state.db.local_actor_by_name(name).await?.is_some(),
        None => false,
    };
    if local_user || state.db.remote_actor(object).await?.is_some() {
        return Ok(Some(Target {
            object: object.to_string(),
            kind: "user",
            community: None,
            actor: Some(object.to_string()),
        }));
    }
    Ok(None)
}

fn clean_reason(raw: &str) -> Result<String, Error> {
    let reason = markdown::plain_text(raw).trim().to_string();
    if reason.is_empty() {
        return Err(Error::refused("say why you report this"));
    }
    Ok(reason.chars().take(MAX_REASON).collect())
}

fn is_local(state: &Node, ap_id: &str) -> bool {
    Url::parse(ap_id)
        .is_ok_and(|u| host_of(&u).eq_ignore_ascii_case(&state.settings.instance.domain))
}

/// Whether this node acts on reports about `target`: its community or its person lives here.
async fn responsible(state: &Node, target: &Target) -> Result<bool, Error> {
    if let Some(community) = &target.community {
        if discussions::known(state, community)
            .await?
            .is_some_and(|c| c.local().is_some())
        {
            return Ok(true);
        }
    }
    Ok(target.actor.as_deref().is_some_and(|a| is_local(state, a)))
}

async fn inbox_of(state: &Node, actor: &str) -> Result<Url, Error> {
    let url = Url::parse(actor).map_err(|_| Error::invalid("not an actor URL"))?;
    let remote = crate::service::remote::actor(state, &url, false)
        .await
        .map_err(|e| Error::invalid(format!("cannot reach {url}: {e}")))?;
    Url::parse(remote.shared_inbox.as_deref().unwrap_or(&remote.inbox))
        .map_err(|_| Error::invalid("the actor has no valid inbox"))
}

/// A local member reports `object` (an ActivityPub id or a user's handle).
pub async fn file(
    state: &Node,
    member: &Member,
    object: &str,
    reason: &str,
) -> Result<Report, Error> {
    let reason = clean_reason(reason)?;
    let object = if object.starts_with("http://") || object.starts_with("https://") {
        object.to_string()
    } else {
        discussions::resolve_actor(state, object).await?
    };
    let target = locate_or_fetch(state, &object).await?;
    let me = member.ap_id(state);
    if target.actor.as_deref() == Some(me.as_str()) && target.kind == "user" {
        return Err(Error::refused("you cannot report yourself"));
    }
    let queue_state = if responsible(state, &target).await? {
        ReportState::Open
    } else {
        ReportState::Forwarded
    };
    let flag_id = objects::new_id(&state.settings.base_url(), "activities/flag");
    let jobs = flag_jobs(state, member, &target, &reason, &flag_id).await?;
    // The report and the Flags that carry it are committed together.
    let report = state
        .db
        .insert_report_and_enqueue(
            NewReport {
                ap_id: flag_id,
                reporter: me,
                object: target.object.clone(),
                object_kind: target.kind.to_string(),
                community: target.community.clone(),
                target_actor: target.actor.clone(),
                reason,
                local: true,
                state: queue_state,
            },
            jobs,
        )
        .await?
        .wake(&state.delivery_wakeup);
    info!(report = report.id, object = %report.object, "report filed");
    Ok(report)
}

/// What `object` names here, fetching a person not seen yet so the report can reach their
/// node.
async fn locate_or_fetch(state: &Node, object: &str) -> Result<Target, Error> {
    Ok(match locate(state, object).await? {
        Some(t) => t,
        None => {
            // A person not seen here yet: fetch them, so the report can go to their node.
            let url = Url::parse(object).map_err(|_| Error::invalid("not a URL"))?;
            crate::service::remote::actor(state, &url, false)
                .await
                .map_err(|_| Error::not_found("nothing known here by that id"))?;
            locate(state, object)
                .await?
                .ok_or_else(|| Error::not_found("nothing known here by that id"))?
        }
    })
}

/// The `Flag`s that carry a report: to the community's moderators when the community lives
/// elsewhere, and to the reported person's node when that is another one (and not already
/// told).
async fn flag_jobs(
    state: &Node,
    member: &Member,
    target: &Target,
    reason: &str,
    flag_id: &str,
) -> Result<Vec<crate::db::queue::NewJob>, Error> {
    let me = member.ap_id(state);
    let base = state.settings.base_url();
    let mut jobs = Vec::new();

    // To the community's moderators, when the community lives elsewhere.
    let mut community_host = None;
    if let Some(community) = &target.community {
        if let Some(view) = discussions::known(state, community).await? {
            if let Some(remote) = view.remote() {
                let inbox = Url::parse(&remote.inbox)
                    .map_err(|_| Error::invalid("the community has no valid inbox"))?;
                let flag = json!({
                    "@context": AS_CONTEXT,
                    "id": flag_id,
                    "type": "Flag",
                    "actor": me,
                    "to": [view.ap_id],
                    "audience": view.ap_id,
                    "object": target.object,
                    "summary": reason,
                    "content": reason,
                });
                jobs.extend(delivery::jobs_for(state, &member.actor, &flag, [inbox]));
                community_host = Some(view.domain.clone());
            }
        }
    }
    // To the reported person's node, when it is another one (and not already told).
    if let Some(actor) = target.actor.as_deref().filter(|a| !is_local(state, a)) {
        let host = Url::parse(actor).map(|u| host_of(&u)).unwrap_or_default();
        if community_host.as_deref() != Some(host.as_str()) {
            let instance = instance_actor(state).await?;
            let mut objects = vec![json!(actor)];
            if target.object != actor {
                objects.push(json!(target.object));
            }
            let flag = json!({
                "@context": AS_CONTEXT,
                "id": objects::new_id(&base, "activities/flag"),
                "type": "Flag",
                "actor": format!("{base}/actor"),
                "to": [actor],
                "object": objects,
                "content": reason,
            });
            let inbox = inbox_of(state, actor).await?;
            jobs.extend(delivery::jobs_for(state, &instance, &flag, [inbox]));
        }
    }
    Ok(jobs)
}

async fn instance_actor(state: &Node) -> Result<LocalActor, Error> {
    state.db.instance_actor().await?.ok_or_else(Error::internal)
}

/// A `Flag` from another node: kept when this node is responsible for what it reports.
pub async fn receive(state: &Node, env: &Verified) -> Result<(), Error> {
    let objects: Vec<Url> = env.object().ids();
    if objects.is_empty() {
        return Err(Error::invalid("a Flag needs an object"));
    }
    let reason = [&env.activity.summary, &env.activity.content]
        .into_iter()
        .find_map(|r| r.as_deref())
        .map(|r| {
            markdown::plain_text(r)
                .chars()
                .take(MAX_REASON)
                .collect::<String>()
        })
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "(no reason given)".into());
    // Mastodon reports name the person first, then their posts: report the most specific.
    let mut chosen: Option<Target> = None;
    for url in objects.iter().take(20) {
        if let Some(target) = locate(state, url.as_str()).await? {
            if !responsible(state, &target).await? {
                continue;
            }
            let better = chosen
                .as_ref()
                .is_none_or(|c| c.kind == "user" && target.kind != "user");
            if better {
                chosen = Some(target);
            }
        }
    }
    let Some(target) = chosen else {
        info!(activity = %env.id, "report about nothing this node is responsible for ignored");
        return Ok(());
    };
    let report = state
        .db
        .insert_report(NewReport {
            ap_id: env.id.to_string(),
            reporter: env.actor.to_string(),
            object: target.object,
            object_kind: target.kind.to_string(),
            community: target.community,
            target_actor: target.actor,
            reason,
            local: false,
            state: ReportState::Open,
        })
        .await?;
    info!(report = report.id, from = %env.actor, "report received");
    Ok(())
}

/// Whether `member` may see and act on `report`: admins on every report, moderators on reports
/// about their communities.
pub async fn may_handle(state: &Node, member: &Member, report: &Report) -> Result<bool, Error> {
    if member.user.is_admin {
        return Ok(true);
    }
    match &report.community {
        Some(c) => discussions::moderates(state, c, &member.ap_id(state)).await,
        None => Ok(false),
    }
}

/// The queue as `member` sees it: every report for admins, their communities' for moderators.
/// Reports filed here about other nodes' matters (`forwarded`) are theirs to handle.
pub async fn queue(
    state: &Node,
    member: &Member,
    filter: Option<ReportState>,
    before: Option<i64>,
    limit: u64,
) -> Result<crate::paging::Page<Report>, Error> {
    let me = member.ap_id(state);
    let moderator = (!member.user.is_admin).then_some(me.as_str());
    Ok(state
        .db
        .report_queue(filter, moderator, before, limit)
        .await?)
}

/// Resolves (`resolved`) or dismisses (`dismissed`) an open report, and records it.
pub async fn close(
    state: &Node,
    member: &Member,
    id: i64,
    outcome: ReportState,
    note: Option<&str>,
) -> Result<Report, Error> {
    let report = state
        .db
        .report(id)
        .await?
        .ok_or_else(|| Error::not_found("no such report"))?;
    if report.state == ReportState::Forwarded {
        return Err(Error::conflict(
            "this report went to the node that acts on it; it is decided there",
        ));
    }
    if !may_handle(state, member, &report).await? {
        return Err(Error::forbidden(
            "only this community's moderators or the node's admins handle this report",
        ));
    }
    let note = note
        .map(markdown::plain_text)
        .map(|n| n.chars().take(MAX_REASON).collect::<String>());
    let me = member.ap_id(state);
    if !state
        .db
        .close_report(id, outcome, &me, note.as_deref())
        .await?
    {
        return Err(Error::conflict(format!(
            "the report is already {}",
            report.state
        )));
    }
    let action = if outcome == ReportState::Resolved {
        "report.resolve"
    } else {
        "report.dismiss"
    };
    let detail = format!(
        "report {id} by {}: {}{}",
        report.reporter,
        report.reason,
        note.as_deref()
            .map(|n| format!(" — {n}"))
            .unwrap_or_default()
    );
    state
        .db
        .audit(&me, action, &report.object, Some(&detail))
        .await?;
    state.db.report(id).await?.ok_or_else(Error::internal)
}

/// Suspends a person on this node (an admin's decision): a local user's tokens stop working; a
/// remote person's activities are refused at this node's inboxes and dropped from what remote
/// communities relay. `who` is an actor id or `user@domain`.
pub async fn suspend(
    state: &Node,
    who: &str,
    reason: Option<&str>,
    by: &str,
) -> Result<String, Error> {
    let actor = discussions::resolve_actor(state, who).await?;
    if local_user_name(state, &actor).is_some_and(|n| by.ends_with(&format!("/u/{n}"))) {
        return Err(Error::refused("you cannot suspend yourself"));
    }
    let reason = reason
        .map(markdown::plain_text)
        .map(|r| r.chars().take(MAX_REASON).collect::<String>());
    state.db.suspend(&actor, reason.as_deref(), by).await?;
    state
        .db
        .audit(by, "user.suspend", &actor, reason.as_deref())
        .await?;
    Ok(actor)
}

/// Lifts a suspension.
pub async fn unsuspend(state: &Node, who: &str, by: &str) -> Result<String, Error> {
    let actor = discussions::resolve_actor(state, who).await?;
    if !state.db.unsuspend(&actor).await? {
        return Err(Error::not_found(format!("{actor} is not suspended")));
    }
    state.db.audit(by, "user.unsuspend", &actor, None).await?;
    Ok(actor)
}
