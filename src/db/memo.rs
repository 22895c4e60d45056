//! What the inbox asks on every request, remembered in memory so that an activity costs fewer
//! database round trips and writes:
//!
//! - the federation policy's verdict per host and the suspension of each actor, valid for one
//!   **generation**: every write of the policy or of a suspension bumps a number kept in
//!   `node_settings` (in the write's own transaction), and a request reads that one row
//!   ([`Db::gate`]) and forgets everything when it moved — so a change made by any process, the
//!   CLI included, applies to the next request, as when the tables were read every time;
//! - inside an inbox request only ([`Gate::within`]), the rows it reads on the way: the
//!   sender's actor row (its key), the hosted community's actor and row, and the sender's ban
//!   there, valid for the same generation. Every write of a community or a ban, and a purge,
//!   bumps it too; every write of a remote actor's row in this process forgets that row (a
//!   read that raced with the write does not put the old row back). A remote actor's row
//!   written by another process is at worst an old key, which fails to verify and takes the
//!   rate-limited refresh that fetches and writes the new one. Outside an inbox request (the
//!   API, the pages, the workers) these rows are always read from the tables;
//! - when a peer's contact was last recorded (at most one write per host per
//!   [`CONTACT_EVERY_MS`]; forgotten when this process marks the peer dead, so its return is
//!   recorded at once);
//! - when received ids were last pruned (at most once per [`PRUNE_EVERY_MS`], or a quarter of
//!   the replay window when that is shorter).
//!
//! Every map is bounded ([`MAX_ENTRIES`]): past it, it starts again empty.

use super::{
    discussions::Ban, now_ms, queue::sql, reports::Suspension, Community, Db, DbErr, LocalActor,
    RemoteActor,
};
use sea_orm::ConnectionTrait;
use std::collections::HashMap;
use std::sync::{
    atomic::{AtomicI64, Ordering},
    Mutex,
};

/// A peer's contact is written at most this often (ms) by one process.
pub const CONTACT_EVERY_MS: i64 = 30_000;
/// Received ids past the replay window are deleted at most this often (ms) by one process.
pub const PRUNE_EVERY_MS: i64 = 60_000;
/// Entries a map holds before it is emptied.
const MAX_ENTRIES: usize = 10_000;
/// The `node_settings` key of the generation.
const GENERATION_KEY: &str = "policy.generation";

/// The statement that moves the generation on; run inside each policy or suspension write.
pub(super) fn bump_statement(backend: sea_orm::DbBackend) -> sea_orm::Statement {
    sql(
        backend,
        "INSERT INTO node_settings (key, value) VALUES ($1, '1') \
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(node_settings.value AS BIGINT) + 1 AS TEXT)",
        vec![GENERATION_KEY.into()],
    )
}

#[derive(Default)]
struct Remembered {
    generation: Option<i64>,
    /// host → (federates with it, is blocked)
    verdicts: HashMap<String, (bool, bool)>,
    /// actor id → suspension
    suspensions: HashMap<String, Option<Suspension>>,
    /// remote actor id → its row
    actors: HashMap<String, Option<RemoteActor>>,
    /// hosted community's name → its actor and row
    communities: HashMap<String, Option<(LocalActor, Community)>>,
    /// "community actor" → the ban read as in force then (checked again against the time)
    bans: HashMap<String, Option<Ban>>,
    /// Rows forgotten by this process so far: a read that saw another count than its start's
    /// may have read a row older than the write, and is not remembered.
    writes: u64,
}

impl Remembered {
    fn forget_all(&mut self) {
        self.verdicts.clear();
        self.suspensions.clear();
        self.actors.clear();
        self.communities.clear();
        self.bans.clear();
        self.writes += 1;
    }
}

/// The in-memory copies, shared by every clone of a [`Db`].
#[derive(Default)]
pub struct Memo {
    remembered: Mutex<Remembered>,
    contacts: Mutex<HashMap<String, i64>>,
    pruned_at: AtomicI64,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

fn bounded_insert<V>(map: &mut HashMap<String, V>, key: &str, value: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key.to_string(), value);
}

impl Memo {
    fn remembered(&self) -> std::sync::MutexGuard<'_, Remembered> {
        // A poisoned lock only means a panic elsewhere; the maps are still usable.
        self.remembered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn contacts(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.contacts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets every verdict and suspension (after a write in this process).
    pub(super) fn forget_policy(&self) {
        let mut r = self.remembered();
        r.generation = None;
        r.forget_all();
    }

    /// Forgets the row of the remote actor `ap_id` (it was just written).
    pub(super) fn forget_actor(&self, ap_id: &str) {
        let mut r = self.remembered();
        r.writes += 1;
        r.actors.remove(ap_id);
    }

    /// Forgets when `host`'s contact was recorded (it was just marked dead).
    pub(super) fn forget_contact(&self, host: &str) {
        self.contacts().remove(host);
    }

    /// Whether received ids are due for pruning; if so, takes the turn.
    pub(super) fn prune_due(&self, now: i64, every_ms: i64) -> bool {
        let last = self.pruned_at.load(Ordering::Relaxed);
        now - last >= every_ms.min(PRUNE_EVERY_MS)
            && self
                .pruned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Whether `host`'s contact is due to be written; if so, takes the turn.
    fn contact_due(&self, host: &str, now: i64) -> bool {
        let mut contacts = self.contacts();
        match contacts.get(host) {
            Some(at) if now - at < CONTACT_EVERY_MS => false,
            _ => {
                bounded_insert(&mut contacts, host, now);
                true
            }
        }
    }
}

/// The policy and suspensions at one generation, for one request: lookups answer from memory
/// when they can and remember what they read.
pub struct Gate<'a> {
    db: &'a Db,
    generation: i64,
}

impl Db {
    /// Reads the generation (one row) and returns the lookups valid for it.
    pub async fn gate(&self) -> Result<Gate<'_>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT value FROM node_settings WHERE key = $1",
                vec![GENERATION_KEY.into()],
            ))
            .await?;
        let generation = rows
            .first()
            .and_then(|r| r.try_get::<String>("", "value").ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut r = self.memo.remembered();
        // Generations only grow: a request that read an older one than another request (it
        // started earlier) neither resets the copies nor uses them.
        if r.generation.is_none_or(|g| g < generation) {
            r.generation = Some(generation);
            r.forget_all();
        }
        Ok(Gate {
            db: self,
            generation,
        })
    }

    /// Notes that `host` contacted us with a verified request, writing it at most once per
    /// [`CONTACT_EVERY_MS`] per host (see [`Db::peer_contacted`]).
    pub async fn peer_contacted_now_and_then(&self, host: &str) -> Result<(), DbErr> {
        if !self.memo.contact_due(host, now_ms()) {
            return Ok(());
        }
        let result = self.peer_contacted(host).await;
        if result.is_err() {
            self.memo.forget_contact(host);
        }
        result
    }
}

tokio::task_local! {
    /// The generation the inbox request being handled read at its start ([`Gate::within`]).
    static REQUEST_GENERATION: i64;
}

impl Gate<'_> {
    /// Runs `work`, the rest of an inbox request, where the rows it reads (the sender's actor
    /// row, the community, the sender's ban) may come from memory for this gate's generation.
    pub async fn within<F: std::future::Future>(&self, work: F) -> F::Output {
        REQUEST_GENERATION.scope(self.generation, work).await
    }
}

impl Db {
    /// `read`'s row, or inside an inbox request the copy remembered for its generation.
    async fn remembered_row<T: Clone>(
        &self,
        map: fn(&mut Remembered) -> &mut HashMap<String, Option<T>>,
        key: &str,
        read: impl std::future::Future<Output = Result<Option<T>, DbErr>>,
    ) -> Result<Option<T>, DbErr> {
        let Ok(request) = REQUEST_GENERATION.try_with(|g| *g) else {
            return read.await;
        };
        let writes = {
            let mut r = self.memo.remembered();
            if r.generation != Some(request) {
                None
            } else if let Some(row) = map(&mut r).get(key) {
                return Ok(row.clone());
            } else {
                Some(r.writes)
            }
        };
        let row = read.await?;
        if let Some(writes) = writes {
            let mut r = self.memo.remembered();
            if r.generation == Some(request) && r.writes == writes {
                bounded_insert(map(&mut r), key, row.clone());
            }
        }
        Ok(row)
    }

    /// [`Db::remote_actor`], remembered inside an inbox request.
    pub async fn remembered_remote_actor(&self, ap_id: &str) -> Result<Option<RemoteActor>, DbErr> {
        self.remembered_row(|r| &mut r.actors, ap_id, self.remote_actor(ap_id))
            .await
    }

    /// [`Db::local_community`], remembered inside an inbox request.
    pub async fn remembered_local_community(
        &self,
        name: &str,
    ) -> Result<Option<(LocalActor, Community)>, DbErr> {
        self.remembered_row(|r| &mut r.communities, name, self.local_community(name))
            .await
    }

    /// [`Db::active_ban`], remembered inside an inbox request (a remembered ban that has
    /// run out since is no longer in force).
    pub async fn remembered_active_ban(
        &self,
        community: &str,
        actor: &str,
        now: i64,
    ) -> Result<Option<Ban>, DbErr> {
        let key = format!("{community} {actor}");
        let ban = self
            .remembered_row(
                |r| &mut r.bans,
                &key,
                self.active_ban(community, actor, now),
            )
            .await?;
        Ok(ban.filter(|b| b.expires_at.is_none_or(|end| end > now)))
    }

    /// Moves the generation on after a write of a community or a ban outside a transaction,
    /// and forgets this process's copies.
    pub(super) async fn remembered_rows_changed(&self) -> Result<(), DbErr> {
        self.conn()
            .execute_raw(bump_statement(self.backend()))
            .await?;
        self.memo.forget_policy();
        Ok(())
    }

    /// Forgets this process's copies (after a transaction that moved the generation on).
    pub(super) fn forget_remembered(&self) {
        self.memo.forget_policy();
    }
}

impl Gate<'_> {
    /// [`Db::federates_with`] and [`Db::is_blocked`] of `host`.
    pub async fn verdict(&self, host: &str) -> Result<(bool, bool), DbErr> {
        let key = self.key(host);
        {
            let r = self.db.memo.remembered();
            if r.generation == Some(self.generation) {
                if let Some(v) = r.verdicts.get(&key) {
                    return Ok(*v);
                }
            }
        }
        let verdict = (
            self.db.federates_with(host).await?,
            self.db.is_blocked(host).await?,
        );
        let mut r = self.db.memo.remembered();
        if r.generation == Some(self.generation) {
            bounded_insert(&mut r.verdicts, &key, verdict);
        }
        Ok(verdict)
    }

    /// [`Db::suspension`] of `actor`.
    pub async fn suspension(&self, actor: &str) -> Result<Option<Suspension>, DbErr> {
        {
            let r = self.db.memo.remembered();
            if r.generation == Some(self.generation) {
                if let Some(s) = r.suspensions.get(actor) {
                    return Ok(s.clone());
                }
            }
        }
        let suspension = self.db.suspension(actor).await?;
        let mut r = self.db.memo.remembered();
        if r.generation == Some(self.generation) {
            bounded_insert(&mut r.suspensions, actor, suspension.clone());
        }
        Ok(suspension)
    }

    /// Verdicts depend on whether policy keys keep ports, which differs between handles.
    fn key(&self, host: &str) -> String {
        format!("{}|{host}", self.db.policy_ports)
    }
}

impl Db {
    /// Runs a policy or suspension write with the generation bump in one transaction, then
    /// forgets this process's copies.
    pub(super) async fn policy_write(
        &self,
        statement: sea_orm::Statement,
    ) -> Result<sea_orm::ExecResult, DbErr> {
        let txn = self.begin().await?;
        let done = txn.execute_raw(statement).await?;
        txn.execute_raw(bump_statement(self.backend())).await?;
        txn.commit().await?;
        self.memo.forget_policy();
        Ok(done)
    }
}
