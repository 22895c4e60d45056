//! The federation policy as stored: a mode and a list of instances (partners, blocks).
//! Read on every decision, so a change takes effect at once, without a restart.

use super::{now_ms, queue::sql, Db, DbErr};
use crate::paging::{rows_for, Page};
use sea_orm::ConnectionTrait;
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub domain: String,
    /// `partner` or `blocked`; during a handshake, `proposed` (this node asked) or
    /// `requested` (the other node asked and waits for this node's admin).
    pub state: String,
    pub reason: Option<String>,
    pub created_at: i64,
    /// The other node's instance actor, for partnerships made by handshake.
    pub peer_actor: Option<String>,
    /// The handshake's `Follow` id (whichever side sent it).
    pub follow_id: Option<String>,
}

const INSTANCE_COLUMNS: &str = "domain, state, reason, created_at, peer_actor, follow_id";

fn instance_from_row(r: &sea_orm::QueryResult) -> Result<Instance, DbErr> {
    Ok(Instance {
        domain: r.try_get("", "domain")?,
        state: r.try_get("", "state")?,
        reason: r.try_get("", "reason")?,
        created_at: r.try_get("", "created_at")?,
        peer_actor: r.try_get("", "peer_actor")?,
        follow_id: r.try_get("", "follow_id")?,
    })
}

impl Db {
    /// A node-wide setting an admin changed at run time (table `node_settings`), if any.
    pub async fn node_setting(&self, key: &str) -> Result<Option<String>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT value FROM node_settings WHERE key = $1",
                vec![key.into()],
            ))
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.try_get::<String>("", "value").ok()))
    }

    pub async fn set_node_setting(&self, key: &str, value: &str) -> Result<(), DbErr> {
        self.conn()
            .execute_raw(sql(
                self.backend(),
                "INSERT INTO node_settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                vec![key.into(), value.into()],
            ))
            .await?;
        Ok(())
    }

    /// `open` (the default), `allowlist` or `blocklist`.
    pub async fn federation_mode(&self) -> Result<String, DbErr> {
        Ok(self
            .node_setting("federation.mode")
            .await?
            .unwrap_or_else(|| "open".into()))
    }

    pub async fn set_federation_mode(&self, mode: &str) -> Result<(), DbErr> {
        self.policy_write(sql(
            self.backend(),
            "INSERT INTO node_settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            vec!["federation.mode".into(), mode.into()],
        ))
        .await?;
        Ok(())
    }

    pub async fn instances(&self) -> Result<Vec<Instance>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances ORDER BY domain"),
                vec![],
            ))
            .await?;
        rows.iter().map(instance_from_row).collect()
    }

    /// A page of the listed domains in `states`, by domain: at most `limit` after `after`.
    pub async fn instances_page(
        &self,
        states: &[&str],
        after: Option<&str>,
        limit: u64,
    ) -> Result<Page<Instance>, DbErr> {
        let placeholders: Vec<String> = (3..3 + states.len()).map(|i| format!("${i}")).collect();
        let mut values: Vec<sea_orm::Value> = vec![
            after.unwrap_or_default().into(),
            i64::try_from(rows_for(limit)).unwrap_or(i64::MAX).into(),
        ];
        values.extend(states.iter().map(|s| (*s).into()));
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!(
                    "SELECT {INSTANCE_COLUMNS} FROM instances WHERE domain > $1 AND state IN ({}) \
                     ORDER BY domain LIMIT $2",
                    placeholders.join(", ")
                ),
                values,
            ))
            .await?;
        let rows = rows
            .iter()
            .map(instance_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(rows, limit))
    }

    /// The policy key of a host as this node keys it: lowercase, punycode, no trailing dot,
    /// no port (a port is kept in federation debug mode only). `None` for what is not a host.
    pub fn policy_key(&self, host: &str) -> Option<String> {
        crate::domain::host::policy_key(host, self.policy_ports).ok()
    }

    fn key_or_raw(&self, domain: &str) -> String {
        self.policy_key(domain)
            .unwrap_or_else(|| domain.trim().to_lowercase())
    }

    /// The listing of one domain (exactly that key, after normalization), if any.
    pub async fn instance(&self, domain: &str) -> Result<Option<Instance>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE domain = $1"),
                vec![self.key_or_raw(domain).into()],
            ))
            .await?;
        rows.first().map(instance_from_row).transpose()
    }

    /// The listings that cover `host`: its own, its port-less host's (debug mode), and its
    /// parent domains'. `None` when `host` is not a host name.
    async fn covering(&self, host: &str) -> Result<Option<Vec<Instance>>, DbErr> {
        let Some(key) = self.policy_key(host) else {
            return Ok(None);
        };
        let keys = crate::domain::host::covering_keys(&key);
        let mut found = self.listings(keys.iter()).await?;
        // The most specific listing first.
        found.sort_by_key(|i| keys.iter().position(|k| *k == i.domain));
        Ok(Some(found))
    }

    /// The listings of `keys` (policy keys), in one query.
    async fn listings<'k>(
        &self,
        keys: impl ExactSizeIterator<Item = &'k String>,
    ) -> Result<Vec<Instance>, DbErr> {
        let n = keys.len();
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!(
                    "SELECT {INSTANCE_COLUMNS} FROM instances WHERE domain IN ({})",
                    super::queue::placeholders(1, n)
                ),
                keys.map(|k| k.as_str().into()).collect(),
            ))
            .await?;
        rows.iter().map(instance_from_row).collect()
    }

    /// Moves listings stored under a key that is not normalized (written before keys were
    /// normalized, or with a port outside debug mode) to their key. When the key is listed
    /// already, a block wins and otherwise the existing listing stays. Idempotent; run at start.
    /// Returns how many listings moved.
    pub async fn normalize_policy_keys(&self) -> Result<u64, DbErr> {
        let mut moved = 0;
        for listing in self.instances().await? {
            let Some(key) = self.policy_key(&listing.domain) else {
                continue;
            };
            if key == listing.domain {
                continue;
            }
            let renamed = self
                .conn()
                .execute_raw(sql(
                    self.backend(),
                    "UPDATE instances SET domain = $1 WHERE domain = $2 \
                     AND NOT EXISTS (SELECT 1 FROM instances WHERE domain = $1)",
                    vec![key.as_str().into(), listing.domain.as_str().into()],
                ))
                .await?;
            if renamed.rows_affected() == 0 {
                if listing.state == "blocked" {
                    self.conn()
                        .execute_raw(sql(
                            self.backend(),
                            "UPDATE instances SET state = 'blocked', reason = $2, \
                             peer_actor = NULL, follow_id = NULL WHERE domain = $1",
                            vec![key.as_str().into(), listing.reason.clone().into()],
                        ))
                        .await?;
                }
                self.conn()
                    .execute_raw(sql(
                        self.backend(),
                        "DELETE FROM instances WHERE domain = $1",
                        vec![listing.domain.as_str().into()],
                    ))
                    .await?;
            }
            moved += 1;
        }
        if moved > 0 {
            self.policy_write(super::memo::bump_statement(self.backend()))
                .await?;
        }
        Ok(moved)
    }

    /// Lists a domain as `partner` or `blocked` (replacing any earlier listing).
    pub async fn set_instance(
        &self,
        domain: &str,
        state: &str,
        reason: Option<&str>,
    ) -> Result<(), DbErr> {
        self.policy_write(sql(
                self.backend(),
                "INSERT INTO instances (domain, state, reason, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (domain) DO UPDATE SET state = EXCLUDED.state, reason = EXCLUDED.reason",
                vec![
                    self.key_or_raw(domain).into(),
                    state.into(),
                    reason.map(str::to_string).into(),
                    now_ms().into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// The listing whose handshake `Follow` has this id.
    pub async fn instance_by_follow(&self, follow_id: &str) -> Result<Option<Instance>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE follow_id = $1"),
                vec![follow_id.into()],
            ))
            .await?;
        rows.first().map(instance_from_row).transpose()
    }

    /// Records a step of a partnership handshake with `domain` (replacing any listing but a
    /// block, which only an admin lifts). False when the domain is blocked.
    pub async fn set_handshake(
        &self,
        domain: &str,
        state: &str,
        peer_actor: &str,
        follow_id: &str,
    ) -> Result<bool, DbErr> {
        let done = self
            .policy_write(sql(
                self.backend(),
                "INSERT INTO instances (domain, state, reason, created_at, peer_actor, follow_id) \
                 VALUES ($1, $2, NULL, $3, $4, $5) \
                 ON CONFLICT (domain) DO UPDATE SET state = EXCLUDED.state, \
                 peer_actor = EXCLUDED.peer_actor, follow_id = EXCLUDED.follow_id \
                 WHERE instances.state <> 'blocked'",
                vec![
                    self.key_or_raw(domain).into(),
                    state.into(),
                    now_ms().into(),
                    peer_actor.into(),
                    follow_id.into(),
                ],
            ))
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether `host` is blocked: it, or a domain it is a subdomain of, is on the block list
    /// (refused in every mode, handshakes included). What is not a host name counts as blocked.
    pub async fn is_blocked(&self, host: &str) -> Result<bool, DbErr> {
        Ok(match self.covering(host).await? {
            Some(listings) => listings.iter().any(|i| i.state == "blocked"),
            None => true,
        })
    }

    /// Removes a domain's listing if it is in `state`; false when it was not.
    pub async fn remove_instance(&self, domain: &str, state: &str) -> Result<bool, DbErr> {
        let done = self
            .policy_write(sql(
                self.backend(),
                "DELETE FROM instances WHERE domain = $1 AND state = $2",
                vec![self.key_or_raw(domain).into(), state.into()],
            ))
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether this node may exchange anything with `host` (`domain[:port]`): not blocked
    /// (itself or a parent domain), and in `allowlist` mode listed as a partner itself — a
    /// partnership is with one node, not its subdomains. In debug mode a port-less listing
    /// covers every port of its host.
    pub async fn federates_with(&self, host: &str) -> Result<bool, DbErr> {
        let Some(listings) = self.covering(host).await? else {
            return Ok(false);
        };
        if listings.iter().any(|i| i.state == "blocked") {
            return Ok(false);
        }
        let mode = self.federation_mode().await?;
        Ok(self.allowed_by(host, &listings, &mode))
    }

    /// [`Db::federates_with`] of each of `hosts`, in two statements (the mode, and the
    /// listings covering any of them): what a delivery worker asks once for its batch.
    pub async fn federates_with_many(
        &self,
        hosts: &[&str],
    ) -> Result<HashMap<String, bool>, DbErr> {
        let mut out = HashMap::new();
        let mut keys_of: Vec<(&str, Vec<String>)> = Vec::new();
        let mut all: BTreeSet<String> = BTreeSet::new();
        for host in hosts {
            match self.policy_key(host) {
                Some(key) => {
                    let keys = crate::domain::host::covering_keys(&key);
                    all.extend(keys.iter().cloned());
                    keys_of.push((host, keys));
                }
                None => {
                    out.insert(host.to_string(), false);
                }
            }
        }
        if keys_of.is_empty() {
            return Ok(out);
        }
        let mode = self.federation_mode().await?;
        let found = self.listings(all.iter()).await?;
        for (host, keys) in keys_of {
            let listings: Vec<Instance> = found
                .iter()
                .filter(|i| keys.contains(&i.domain))
                .cloned()
                .collect();
            let allowed = !listings.iter().any(|i| i.state == "blocked")
                && self.allowed_by(host, &listings, &mode);
            out.insert(host.to_string(), allowed);
        }
        Ok(out)
    }

    /// Whether `mode` lets this node exchange with `host`, whose `listings` block nothing.
    fn allowed_by(&self, host: &str, listings: &[Instance], mode: &str) -> bool {
        match mode {
            "allowlist" => {
                let own = crate::domain::host::own_keys(&self.policy_key(host).unwrap_or_default());
                listings
                    .iter()
                    .any(|i| i.state == "partner" && own.contains(&i.domain))
            }
            _ => true,
        }
    }
}

impl Db {
    /// Deletes everything this node holds from `domain`: communities hosted there (their
    /// threads, replies, articles, events, memberships and bans), posts and likes authored
    /// there, and its actors. Returns how many rows went, in total.
    pub async fn purge_domain(&self, domain: &str) -> Result<u64, DbErr> {
        // The host on every port, unless the key names one (debug mode).
        let key = self.key_or_raw(domain);
        let escaped = key
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let any_port = if key.contains(':') && !key.ends_with(']') {
            "/"
        } else {
            ":"
        };
        let patterns = [
            format!("http://{escaped}/%"),
            format!("https://{escaped}/%"),
            format!("http://{escaped}{any_port}%"),
            format!("https://{escaped}{any_port}%"),
        ];
        let from = |column: &str| {
            format!(
                "({column} LIKE $1 ESCAPE '\\' OR {column} LIKE $2 ESCAPE '\\' \
                 OR {column} LIKE $3 ESCAPE '\\' OR {column} LIKE $4 ESCAPE '\\')"
            )
        };
        let statements = [
            format!(
                "DELETE FROM posts WHERE {} OR {}",
                from("community"),
                from("ap_id")
            ),
            format!("DELETE FROM likes WHERE {}", from("actor")),
            format!("DELETE FROM articles WHERE {}", from("community")),
            format!("DELETE FROM events WHERE {}", from("community")),
            format!("DELETE FROM event_participants WHERE {}", from("actor")),
            format!(
                "DELETE FROM memberships WHERE {} OR {}",
                from("community"),
                from("actor")
            ),
            format!("DELETE FROM bans WHERE {}", from("community")),
            format!("DELETE FROM remote_actors WHERE {}", from("ap_id")),
        ];
        let txn = self.begin().await?;
        let backend = self.backend();
        let mut total = 0;
        for text in &statements {
            let done = txn
                .execute_raw(sql(
                    backend,
                    text,
                    patterns.iter().map(|p| p.as_str().into()).collect(),
                ))
                .await?;
            total += done.rows_affected();
        }
        // The search index follows what is left.
        for text in [
            "DELETE FROM search_documents WHERE kind IN ('thread', 'reply') AND ref_id NOT IN (SELECT id FROM posts)",
            "DELETE FROM search_documents WHERE kind = 'article' AND ref_id NOT IN (SELECT id FROM articles)",
            "DELETE FROM search_documents WHERE kind = 'event' AND ref_id NOT IN (SELECT id FROM events)",
        ] {
            txn.execute_raw(sql(backend, text, vec![])).await?;
        }
        // The inbox's remembered actors (`memo`) go with their rows, in every process.
        txn.execute_raw(super::memo::bump_statement(backend))
            .await?;
        txn.commit().await?;
        self.memo.forget_policy();
        Ok(total)
    }
}

impl Db {
    /// Deletes this node's copy of a community hosted elsewhere: its threads, replies,
    /// articles and events (likes, revisions and RSVPs go with them), memberships and bans, and
    /// their search entries. Returns how many rows went.
    pub async fn purge_community_copy(&self, community: &str) -> Result<u64, DbErr> {
        let mut statements = super::stream::COPY_CONTENT.to_vec();
        statements.extend([
            "DELETE FROM memberships WHERE community = $1",
            "DELETE FROM bans WHERE community = $1",
        ]);
        let n = self.delete_of_community(community, &statements).await?;
        self.remembered_rows_changed().await?;
        Ok(n)
    }
}

impl Db {
    /// One token bucket step for inbox rate limits, in a single statement (so concurrent
    /// requests and processes see one budget): refill by the time elapsed, capped at `burst`,
    /// and take a token if there is one. Returns the tokens left and whether one was taken.
    pub async fn take_inbox_token(
        &self,
        host: &str,
        burst: f64,
        per_ms: f64,
        now: i64,
    ) -> Result<(f64, bool), DbErr> {
        let least = match self.backend() {
            sea_orm::DbBackend::Postgres => "LEAST",
            _ => "MIN",
        };
        let refill = format!("{least}($2, inbox_rate.tokens + ($3 - inbox_rate.updated_at) * $4)");
        let text = format!(
            "INSERT INTO inbox_rate (host, tokens, taken, updated_at) VALUES ($1, $2 - 1, TRUE, $3) \
             ON CONFLICT (host) DO UPDATE SET \
             tokens = CASE WHEN {refill} >= 1 THEN {refill} - 1 ELSE {refill} END, \
             taken = {refill} >= 1, updated_at = $3 \
             RETURNING tokens, taken"
        );
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                &text,
                vec![host.into(), burst.into(), now.into(), per_ms.into()],
            ))
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| DbErr::RecordNotFound("inbox_rate".into()))?;
        Ok((row.try_get("", "tokens")?, row.try_get("", "taken")?))
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: Option<String>,
    pub created_at: i64,
}

impl Db {
    /// Records an admin or moderator action.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: Option<&str>,
    ) -> Result<(), DbErr> {
        self.conn()
            .execute_raw(sql(
                self.backend(),
                "INSERT INTO audit_log (actor, action, target, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
                vec![
                    actor.into(),
                    action.into(),
                    target.into(),
                    detail.map(str::to_string).into(),
                    now_ms().into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// The newest `limit` entries before `before_id`.
    pub async fn audit_log(
        &self,
        before_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, DbErr> {
        let rows = self
            .conn()
            .query_all_raw(sql(
                self.backend(),
                "SELECT id, actor, action, target, detail, created_at FROM audit_log \
                 WHERE id < $1 ORDER BY id DESC LIMIT $2",
                vec![before_id.unwrap_or(i64::MAX).into(), (limit as i64).into()],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("", "id")?,
                    actor: r.try_get("", "actor")?,
                    action: r.try_get("", "action")?,
                    target: r.try_get("", "target")?,
                    detail: r.try_get("", "detail")?,
                    created_at: r.try_get("", "created_at")?,
                })
            })
            .collect()
    }
}
