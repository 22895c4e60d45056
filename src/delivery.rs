//! Sending activities: the persistent queue's producers and workers.
//!
//! `send` commits one job per distinct inbox (shared inboxes preferred, so one request per
//! host) before returning; workers claim due jobs, sign them with the sending actor's key and
//! POST them. 2xx and final 4xx finish a job; 5xx, 408, 429, timeouts and connection errors
//! retry after `retry_base_ms * 2^(attempts-1)`, capped at `retry_max_ms`. A host failing for
//! `dead_after_hours` is marked dead and skipped until it contacts us again.

use crate::activitypub::{
    actors::{actor_urls, host_of},
    client::SigningKey,
};
use crate::{
    db::{
        now_ms,
        queue::{Finished, NewJob},
        DbErr, DeliveryJob, LocalActor,
    },
    domain::ActorKind,
    metrics::Metrics,
    node::Node,
};
use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};
use tokio::{sync::watch, task::JoinSet};
use tracing::{info, warn, Instrument};
use url::Url;

/// Queues `activity` from local `signer` to each inbox, once per distinct inbox URL.
/// Inboxes on this node are skipped: local recipients are handled in the same transaction.
pub async fn send(
    state: &Node,
    signer: &LocalActor,
    activity: &serde_json::Value,
    inboxes: impl IntoIterator<Item = Url>,
) -> Result<usize, DbErr> {
    let jobs = jobs_for(state, signer, activity, inboxes);
    let n = jobs.len();
    state.db.enqueue(jobs).await?.wake(&state.delivery_wakeup);
    Ok(n)
}

/// The jobs `send` would write, for callers that enqueue inside their own transaction.
pub fn jobs_for(
    state: &Node,
    signer: &LocalActor,
    activity: &serde_json::Value,
    inboxes: impl IntoIterator<Item = Url>,
) -> Vec<NewJob> {
    let activity_id = activity
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let body = activity.to_string();
    let kind = activity
        .get("type")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let audience = activity
        .get("audience")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let local = &state.settings.instance.domain;
    let distinct: BTreeSet<Url> = inboxes.into_iter().collect();
    distinct
        .into_iter()
        .filter(|inbox| !host_of(inbox).eq_ignore_ascii_case(local))
        .map(|inbox| NewJob {
            activity_id: activity_id.clone(),
            signer_actor_id: signer.id,
            host: host_of(&inbox),
            inbox: inbox.to_string(),
            body: body.clone(),
            kind: kind.clone(),
            audience: audience.clone(),
        })
        .collect()
}

/// Runs one delivery worker until `stop` turns true. A job being sent when the stop comes is
/// finished; jobs not yet claimed stay in the queue for the next start.
pub async fn run_worker(state: Node, worker: String, mut stop: watch::Receiver<bool>) {
    let poll = Duration::from_millis(state.settings.delivery.poll_interval_ms);
    let mut last_purge = 0i64;
    loop {
        if *stop.borrow() {
            break;
        }
        let now = now_ms();
        let lease_until = now + (state.settings.delivery.lease_secs as i64) * 1000;
        let batch = state.settings.delivery.batch;
        let claimed = state.db.claim_jobs(&worker, now, lease_until, batch).await;
        match claimed {
            Ok(jobs) if !jobs.is_empty() => {
                // Each job is the head of a different host: they go out together, and the
                // worker claims again once all of them are recorded.
                let batch = Arc::new(Batch::read(&state, &jobs).await);
                let mut sending = JoinSet::new();
                for job in jobs {
                    let batch = batch.clone();
                    let span = tracing::info_span!("deliver", job = job.id, peer = %job.host, activity = %job.activity_id);
                    let state = state.clone();
                    sending.spawn(
                        async move {
                            let sent = deliver(&state, &job, &batch).await;
                            (job, sent)
                        }
                        .instrument(span),
                    );
                }
                let mut done = Vec::new();
                while let Some(joined) = sending.join_next().await {
                    // A send that panicked is not recorded: its lease runs out and it is
                    // tried again.
                    if let Ok(sent) = joined {
                        done.push(sent);
                    }
                }
                record(&state, &done).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "cannot read the delivery queue"),
        }
        if worker.ends_with("-0") && now - last_purge > 3_600_000 {
            last_purge = now;
            let cutoff = now - (state.settings.delivery.retention_days as i64) * 86_400_000;
            if let Ok(n) = state.db.purge_finished_jobs(cutoff).await {
                if n > 0 {
                    info!(purged = n, "old delivery jobs purged");
                }
            }
        }
        let wakeup = state.delivery_wakeup.clone();
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = wakeup.notified() => {}
            _ = stop.changed() => {}
        }
    }
}

/// What became of one send.
enum Sent {
    Delivered,
    /// Refused for good, with the reason.
    Failed(String),
    /// Failed in a way worth retrying, with the reason.
    Retry(String),
}

/// What a worker reads once for its whole batch rather than once per job. A read that fails
/// leaves it empty, and each job then reads for itself.
#[derive(Default)]
struct Batch {
    /// Whether the federation policy lets each host be contacted.
    allowed: HashMap<String, bool>,
    /// The jobs' signers.
    signers: HashMap<i64, LocalActor>,
}

impl Batch {
    async fn read(state: &Node, jobs: &[DeliveryJob]) -> Batch {
        let hosts: Vec<&str> = jobs.iter().map(|j| j.host.as_str()).collect();
        let mut ids: Vec<i64> = jobs.iter().map(|j| j.signer_actor_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let allowed = state
            .db
            .federates_with_many(&hosts)
            .await
            .unwrap_or_default();
        let signers = match state.db.local_actors(&ids).await {
            Ok(actors) => actors.into_iter().map(|a| (a.id, a)).collect(),
            Err(_) => HashMap::new(),
        };
        Batch { allowed, signers }
    }
}

/// Sends one job, counting and logging what came of it.
async fn deliver(state: &Node, job: &DeliveryJob, batch: &Batch) -> Sent {
    let started = std::time::Instant::now();
    let outcome = attempt(state, job, batch).await;
    let peer = crate::metrics::Peer {
        host: job.host.clone(),
    };
    state
        .metrics
        .delivery_seconds
        .get_or_create(&peer)
        .observe(started.elapsed().as_secs_f64());
    if outcome.is_err() {
        Metrics::inc(&state.metrics.deliveries_failed);
        state.metrics.delivery_failures.get_or_create(&peer).inc();
    }
    match outcome {
        Ok(()) => {
            info!("delivered");
            Metrics::inc(&state.metrics.deliveries_ok);
            Sent::Delivered
        }
        Err((message, true)) => Sent::Retry(message),
        Err((message, false)) => {
            warn!(error = %message, "delivery refused for good");
            Sent::Failed(message)
        }
    }
}

/// Records a batch's outcomes: the finished jobs together (`Db::finish_jobs`), each retry on
/// its own. A failure to record leaves the jobs leased; the lease runs out and they are sent
/// again, which the receivers' dedupe makes harmless.
async fn record(state: &Node, done: &[(DeliveryJob, Sent)]) {
    let now = now_ms();
    let mut finished = Vec::with_capacity(done.len());
    for (job, sent) in done {
        match sent {
            Sent::Delivered => finished.push(Finished {
                job,
                delivered: true,
                error: None,
            }),
            Sent::Failed(message) => finished.push(Finished {
                job,
                delivered: false,
                error: Some(message.clone()),
            }),
            Sent::Retry(message) => {
                let delay = backoff_ms(
                    job.attempts,
                    state.settings.delivery.retry_base_ms,
                    state.settings.delivery.retry_max_ms,
                );
                warn!(job = job.id, peer = %job.host, error = %message, attempts = job.attempts, retry_in_ms = delay, "delivery failed, will retry");
                let dead_after = (state.settings.delivery.dead_after_hours as i64) * 3_600_000;
                match state
                    .db
                    .retry_job(job, message, now + delay, now, dead_after)
                    .await
                {
                    Ok(true) => {
                        warn!(peer = %job.host, "peer marked dead after continuous failures")
                    }
                    Ok(false) => {}
                    Err(e) => warn!(job = job.id, error = %e, "cannot record the delivery outcome"),
                }
            }
        }
    }
    if let Err(e) = state.db.finish_jobs(&finished, now).await {
        warn!(jobs = finished.len(), error = %e, "cannot record the delivery outcomes");
    }
}

/// Sends one job. Err carries the reason and whether it is worth retrying.
async fn attempt(state: &Node, job: &DeliveryJob, batch: &Batch) -> Result<(), (String, bool)> {
    // A peer the policy refuses (now) is never contacted; the job ends here. The instance
    // actor's partnership handshake may reach any node that is not blocked (asked on its own:
    // the batch's reading only says yes for the hosts the policy lets in).
    let allowed = match batch.allowed.get(&job.host) {
        Some(true) => Ok(true),
        _ => match state.db.federates_with(&job.host).await {
            Ok(false) if is_handshake(state, job).await => {
                state.db.is_blocked(&job.host).await.map(|b| !b)
            }
            other => other,
        },
    };
    match allowed {
        Ok(true) => {}
        Ok(false) => {
            return Err((
                format!("this node does not federate with {}", job.host),
                false,
            ))
        }
        Err(e) => return Err((e.to_string(), true)),
    }
    // A confidential community's content goes only to nodes that may still hold it: a job
    // queued before a node's last member left is not sent.
    let may_deliver = match &job.audience {
        Some(audience) => {
            state
                .recipients
                .may_receive(state, audience, &job.host)
                .await
        }
        None => Ok(true),
    };
    match may_deliver {
        Ok(true) => {}
        Ok(false) => {
            return Err((
                format!(
                    "{} no longer has members in this confidential community",
                    job.host
                ),
                false,
            ))
        }
        Err(e) => return Err((e, true)),
    }
    let inbox = Url::parse(&job.inbox).map_err(|e| (format!("bad inbox URL: {e}"), false))?;
    let signer = match batch.signers.get(&job.signer_actor_id) {
        Some(signer) => signer.clone(),
        None => state
            .db
            .local_actor(job.signer_actor_id)
            .await
            .map_err(|e| (e.to_string(), true))?
            .ok_or_else(|| ("the sending actor no longer exists".to_string(), false))?,
    };
    let key = signing_key(state, &signer).map_err(|e| (e, false))?;
    match state
        .client
        .post_activity(&inbox, job.body.as_bytes(), &key)
        .await
    {
        Ok(status) if status.is_success() => Ok(()),
        Ok(status) => {
            let code = status.as_u16();
            let temporary = status.is_server_error() || code == 408 || code == 429;
            Err((format!("{inbox} answered {status}"), temporary))
        }
        Err(e) => Err((e.to_string(), e.is_temporary())),
    }
}

/// Whether a job is a step of a partnership handshake: signed by the instance actor, of one of
/// the handshake's activity types.
async fn is_handshake(state: &Node, job: &DeliveryJob) -> bool {
    let from_instance = matches!(
        state.db.instance_actor().await,
        Ok(Some(actor)) if actor.id == job.signer_actor_id
    );
    from_instance && crate::activitypub::activities::HANDSHAKE_TYPES.contains(&job.kind.as_str())
}

/// The signing key of a local actor, parsed once per process (`Node::private_key`).
pub fn signing_key(state: &Node, actor: &LocalActor) -> Result<SigningKey, String> {
    let kind = ActorKind::parse(&actor.kind).unwrap_or(ActorKind::Person);
    let urls = actor_urls(&state.settings.base_url(), kind, &actor.name);
    Ok(SigningKey {
        key_id: urls.key_id,
        private_key: state
            .private_key(&actor.private_key_pem)
            .map_err(|e| format!("the key of {} does not parse: {e}", actor.name))?,
    })
}

/// Delay before retry number `attempts` (1 = first retry): doubling from `base`, capped.
pub fn backoff_ms(attempts: i32, base: u64, max: u64) -> i64 {
    let exp = attempts.saturating_sub(1).clamp(0, 40) as u32;
    base.saturating_mul(1u64 << exp).min(max) as i64
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_and_caps_at_a_day() {
        assert_eq!(backoff_ms(1, 10_000, 86_400_000), 10_000);
        assert_eq!(backoff_ms(2, 10_000, 86_400_000), 20_000);
        assert_eq!(backoff_ms(5, 10_000, 86_400_000), 160_000);
        assert_eq!(backoff_ms(30, 10_000, 86_400_000), 86_400_000);
        assert_eq!(backoff_ms(1000, 10_000, 86_400_000), 86_400_000);
    }
}
