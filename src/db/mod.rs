//! Storage: the only module that imports sea_orm. Opens SQLite or PostgreSQL from a URL,
//! applies migrations, and offers the queries the services need.

pub mod accounts;
pub mod answers;
pub mod articles;
pub mod boosts;
pub mod changes;
pub mod directory;
pub mod discussions;
pub mod entities;
pub mod events;
pub mod filters;
pub mod inbox;
pub mod insights;
pub mod mail;
pub mod mastodon;
pub mod media;
pub mod memo;
pub mod notifications;
pub mod oauth;
pub mod personal;
pub mod policy;
pub mod queue;
pub mod rate;
pub mod reports;
pub mod search;
pub mod sso;
pub mod status_refs;
pub mod stream;
pub mod tags;

use entities::{api_token, community, local_actor, peer, received_activity, remote_actor, user};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait,
    Database, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr, Statement, TransactionTrait,
};
use std::time::Duration;

pub use sea_orm::DbErr;

pub use entities::{
    community::Model as Community, delivery_job::Model as DeliveryJob,
    local_actor::Model as LocalActor, remote_actor::Model as RemoteActor, user::Model as User,
};

/// Milliseconds since the Unix epoch: the unit of every stored time.
/// How much of a received activity's id, type and actor is kept for logs.
const RECEIVED_TEXT_CHARS: usize = 200;

/// The key under which a received activity id is remembered: SHA-256 of the id, in hex (the
/// migration that introduced it computes the same).
fn received_id_hash(ap_id: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(ap_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 24 random hex characters: the unguessable part of a stored object's URL.
pub fn random_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A pooled connection to the node's database.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    /// Statements executed since start, for metrics and for tests that bound query counts.
    queries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Writes of what readers are shown, for streams that wait for them.
    changes: std::sync::Arc<changes::Changes>,
    /// Whether federation policy keys keep ports (federation debug mode only; see
    /// [`Db::policy_key`]).
    policy_ports: bool,
    /// What the inbox asks on every request, remembered (`memo`).
    memo: std::sync::Arc<memo::Memo>,
    /// Closed windows' insights, remembered under their community's change stamp.
    insights: std::sync::Arc<insights::Remembered>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} is already taken")]
    Taken(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl Db {
    /// Connects; a `sqlite://` URL's file and directory are created on first use, and SQLite
    /// runs in WAL mode with foreign keys on.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbErr> {
        if let Some(path) = sqlite_file(url) {
            if let Some(dir) = std::path::Path::new(&path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        DbErr::Custom(format!("cannot create directory {}: {e}", dir.display()))
                    })?;
                }
            }
        }
        let mut options = ConnectOptions::new(url.to_string());
        options
            .max_connections(max_connections)
            .min_connections(0)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
                // Rows cross from SQLite's worker thread in batches of up to 1,024 rather than
                // sqlx's 50: a long result (insights' threads) wakes the reader far less often.
                .row_buffer_size(1024)
        });
        let mut conn = Database::connect(options).await?;
        let queries = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = queries.clone();
        let changes = std::sync::Arc::new(changes::Changes::default());
        let changed = changes.clone();
        conn.set_metric_callback(move |info| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Every statement with its time, for `RUST_LOG=roundtable::sql=trace`.
            tracing::trace!(target: "roundtable::sql", elapsed_us = info.elapsed.as_micros() as u64, sql = %info.statement.sql);
            if !info.failed {
                changed.saw(&info.statement.sql);
            }
        });
        Ok(Db {
            conn,
            queries,
            changes,
            policy_ports: false,
            memo: std::sync::Arc::default(),
            insights: std::sync::Arc::default(),
        })
    }

    /// This handle with policy keys that keep ports (`federation.debug`, where test nodes
    /// differ only by port); in production a port never tells hosts apart.
    pub fn with_policy_ports(mut self, keep: bool) -> Db {
        self.policy_ports = keep;
        self
    }

    /// This process's writes of what readers are shown (see [`changes`]).
    pub fn changes(&self) -> &changes::Changes {
        &self.changes
    }

    /// Statements executed by this pool so far.
    pub fn query_count(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.conn, None).await
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    pub(crate) async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, DbErr> {
        self.conn.begin().await
    }

    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The pool's open and idle connections, and the most it opens.
    pub fn pool_stats(&self) -> (u32, u32, u32) {
        match self.backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                let max = pool.options().get_max_connections();
                (pool.size(), pool.num_idle() as u32, max)
            }
            DbBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                let max = pool.options().get_max_connections();
                (pool.size(), pool.num_idle() as u32, max)
            }
            _ => (0, 0, 0),
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.conn
            .query_one_raw(Statement::from_string(self.backend(), "SELECT 1"))
            .await
            .is_ok()
    }

    pub async fn close(self) {
        let _ = self.conn.close().await;
    }

    // ----- local actors, users, communities -----

    pub async fn local_actor_by_name(&self, name: &str) -> Result<Option<LocalActor>, DbErr> {
        local_actor::Entity::find()
            .filter(local_actor::Column::Name.eq(name))
            .one(&self.conn)
            .await
    }

    pub async fn local_actor(&self, id: i64) -> Result<Option<LocalActor>, DbErr> {
        local_actor::Entity::find_by_id(id).one(&self.conn).await
    }

    /// The local actors of `ids` that exist, in one query.
    pub async fn local_actors(&self, ids: &[i64]) -> Result<Vec<LocalActor>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        local_actor::Entity::find()
            .filter(local_actor::Column::Id.is_in(ids.iter().copied()))
            .all(&self.conn)
            .await
    }

    pub async fn instance_actor(&self) -> Result<Option<LocalActor>, DbErr> {
        local_actor::Entity::find()
            .filter(local_actor::Column::Kind.eq("application"))
            .one(&self.conn)
            .await
    }

    /// Inserts a local actor; `StoreError::Taken` when its name is in use by any kind.
    pub async fn insert_local_actor(&self, new: NewLocalActor) -> Result<LocalActor, StoreError> {
        insert_actor(&self.conn, new).await
    }

    /// Creates a user and its `Person` actor in one transaction.
    pub async fn insert_user(
        &self,
        actor: NewLocalActor,
        password_hash: Option<String>,
        is_admin: bool,
    ) -> Result<(LocalActor, User), StoreError> {
        let txn = self.conn.begin().await?;
        let actor = insert_actor(&txn, actor).await?;
        let user = user::ActiveModel {
            actor_id: Set(actor.id),
            password_hash: Set(password_hash),
            is_admin: Set(is_admin),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok((actor, user))
    }

    /// Creates a community and its `Group` actor in one transaction.
    pub async fn insert_community(
        &self,
        actor: NewLocalActor,
        visibility: &str,
        owner_user_id: i64,
    ) -> Result<(LocalActor, Community), StoreError> {
        let txn = self.conn.begin().await?;
        let actor = insert_actor(&txn, actor).await?;
        let community = community::ActiveModel {
            actor_id: Set(actor.id),
            visibility: Set(visibility.to_string()),
            owner_user_id: Set(owner_user_id),
            created_at: Set(now_ms()),
            charter: Set(String::new()),
            banner_url: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        // An inbox may remember that no community had this name (`memo`).
        txn.execute_raw(memo::bump_statement(self.backend()))
            .await?;
        txn.commit().await?;
        self.forget_remembered();
        Ok((actor, community))
    }

    pub async fn user_by_actor(&self, actor_id: i64) -> Result<Option<User>, DbErr> {
        user::Entity::find()
            .filter(user::Column::ActorId.eq(actor_id))
            .one(&self.conn)
            .await
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>, DbErr> {
        user::Entity::find_by_id(id).one(&self.conn).await
    }

    pub async fn community_by_actor(&self, actor_id: i64) -> Result<Option<Community>, DbErr> {
        community::Entity::find()
            .filter(community::Column::ActorId.eq(actor_id))
            .one(&self.conn)
            .await
    }

    pub async fn count_users(&self) -> Result<u64, DbErr> {
        user::Entity::find().count(&self.conn).await
    }

    pub async fn count_communities(&self) -> Result<u64, DbErr> {
        community::Entity::find().count(&self.conn).await
    }

    // ----- API tokens -----

    pub async fn insert_token(
        &self,
        user_id: i64,
        token_hash: &str,
        scopes: &str,
        expires_at: Option<i64>,
    ) -> Result<i64, DbErr> {
        let token = api_token::ActiveModel {
            user_id: Set(user_id),
            token_hash: Set(token_hash.to_string()),
            scopes: Set(scopes.to_string()),
            created_at: Set(now_ms()),
            last_used_at: Set(None),
            expires_at: Set(expires_at),
            ..Default::default()
        }
        .insert(&self.conn)
        .await?;
        Ok(token.id)
    }

    /// The user and scopes of a token that has not expired, by the hash of its secret.
    pub async fn token_owner(&self, token_hash: &str) -> Result<Option<(User, String)>, DbErr> {
        let now = now_ms();
        let Some(token) = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(token_hash))
            .one(&self.conn)
            .await?
        else {
            return Ok(None);
        };
        if token.expires_at.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        let user = self.user(token.user_id).await?;
        Ok(user.map(|u| (u, token.scopes)))
    }

    /// A user's tokens, oldest first (their secrets are not stored, only their hashes).
    pub async fn tokens_of(&self, user_id: i64) -> Result<Vec<api_token::Model>, DbErr> {
        api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(user_id))
            .order_by_asc(api_token::Column::Id)
            .all(&self.conn)
            .await
    }

    /// A page of a user's tokens, oldest first: at most `limit` after token id `after`.
    pub async fn tokens_page(
        &self,
        user_id: i64,
        after: Option<i64>,
        limit: u64,
    ) -> Result<crate::paging::Page<api_token::Model>, DbErr> {
        let mut q = api_token::Entity::find().filter(api_token::Column::UserId.eq(user_id));
        if let Some(after) = after {
            q = q.filter(api_token::Column::Id.gt(after));
        }
        let rows = q
            .order_by_asc(api_token::Column::Id)
            .limit(crate::paging::rows_for(limit))
            .all(&self.conn)
            .await?;
        Ok(crate::paging::Page::from_rows(rows, limit))
    }

    /// Revokes one of a user's tokens; false when the user has no such token.
    pub async fn revoke_token(&self, user_id: i64, id: i64) -> Result<bool, DbErr> {
        let done = api_token::Entity::delete_many()
            .filter(api_token::Column::UserId.eq(user_id))
            .filter(api_token::Column::Id.eq(id))
            .exec(&self.conn)
            .await?;
        Ok(done.rows_affected > 0)
    }

    // ----- remote actors -----

    pub async fn remote_actor(&self, ap_id: &str) -> Result<Option<RemoteActor>, DbErr> {
        remote_actor::Entity::find()
            .filter(remote_actor::Column::ApId.eq(ap_id))
            .one(&self.conn)
            .await
    }

    /// The known remote actors among `ap_ids`, in one query.
    pub async fn remote_actors(&self, ap_ids: &[String]) -> Result<Vec<RemoteActor>, DbErr> {
        if ap_ids.is_empty() {
            return Ok(Vec::new());
        }
        remote_actor::Entity::find()
            .filter(remote_actor::Column::ApId.is_in(ap_ids.iter().cloned()))
            .all(&self.conn)
            .await
    }

    /// Inserts or refreshes a remote actor by its `ap_id`.
    pub async fn upsert_remote_actor(&self, actor: NewRemoteActor) -> Result<RemoteActor, DbErr> {
        let ap_id = actor.ap_id.clone();
        let written = self.write_remote_actor(actor).await;
        // Forgotten after the write, so no remembered copy is older than the row.
        self.memo.forget_actor(&ap_id);
        written?;
        self.remote_actor(&ap_id)
            .await?
            .ok_or(DbErr::RecordNotFound(ap_id))
    }

    async fn write_remote_actor(&self, actor: NewRemoteActor) -> Result<(), DbErr> {
        let model = remote_actor::ActiveModel {
            ap_id: Set(actor.ap_id.clone()),
            kind: Set(actor.kind),
            host: Set(actor.host),
            preferred_username: Set(actor.preferred_username),
            inbox: Set(actor.inbox),
            shared_inbox: Set(actor.shared_inbox),
            key_id: Set(actor.key_id),
            public_key_pem: Set(actor.public_key_pem),
            fetched_at: Set(now_ms()),
            name: Set(actor.name),
            summary: Set(actor.summary),
            outbox: Set(actor.outbox),
            followers: Set(actor.followers),
            icon_url: Set(actor.icon_url),
            visibility: Set(actor.visibility),
            ..Default::default()
        };
        remote_actor::Entity::insert(model)
            .on_conflict(
                OnConflict::column(remote_actor::Column::ApId)
                    .update_columns([
                        remote_actor::Column::Kind,
                        remote_actor::Column::Host,
                        remote_actor::Column::PreferredUsername,
                        remote_actor::Column::Inbox,
                        remote_actor::Column::SharedInbox,
                        remote_actor::Column::KeyId,
                        remote_actor::Column::PublicKeyPem,
                        remote_actor::Column::FetchedAt,
                        remote_actor::Column::Name,
                        remote_actor::Column::Summary,
                        remote_actor::Column::Outbox,
                        remote_actor::Column::Followers,
                        remote_actor::Column::Visibility,
                        remote_actor::Column::IconUrl,
                    ])
                    .to_owned(),
            )
            .exec(&self.conn)
            .await?;
        Ok(())
    }

    // ----- inbox dedupe -----

    pub async fn activity_seen(&self, ap_id: &str) -> Result<bool, DbErr> {
        Ok(received_activity::Entity::find()
            .filter(received_activity::Column::IdHash.eq(received_id_hash(ap_id)))
            .count(&self.conn)
            .await?
            > 0)
    }

    /// Accepted activities in arrival order: id, type and actor (each at most 200 characters).
    pub async fn received_activities(&self) -> Result<Vec<(String, String, String)>, DbErr> {
        Ok(received_activity::Entity::find()
            .order_by_asc(received_activity::Column::Id)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|a| (a.ap_id, a.kind, a.actor))
            .collect())
    }

    // ----- peers -----

    /// Notes that `host` contacted us with a verified request; a dead peer comes back to life
    /// and its held jobs become due at once.
    pub async fn peer_contacted(&self, host: &str) -> Result<(), DbErr> {
        let now = now_ms();
        let was_dead = peer::Entity::find_by_id(host.to_string())
            .one(&self.conn)
            .await?
            .map(|p| p.dead)
            .unwrap_or(false);
        let model = peer::ActiveModel {
            host: Set(host.to_string()),
            first_failure_at: Set(None),
            last_success_at: Set(None),
            last_contact_at: Set(Some(now)),
            dead: Set(false),
        };
        let mut on_conflict = OnConflict::column(peer::Column::Host);
        on_conflict.update_columns([peer::Column::LastContactAt, peer::Column::Dead]);
        if was_dead {
            on_conflict.update_column(peer::Column::FirstFailureAt);
        }
        peer::Entity::insert(model)
            .on_conflict(on_conflict.to_owned())
            .exec(&self.conn)
            .await?;
        if was_dead {
            queue::release_host(&self.conn, host, now).await?;
        }
        Ok(())
    }

    pub async fn peer(&self, host: &str) -> Result<Option<peer::Model>, DbErr> {
        peer::Entity::find_by_id(host.to_string())
            .one(&self.conn)
            .await
    }
}

/// Fields of a local actor to create.
pub struct NewLocalActor {
    pub kind: &'static str,
    pub name: String,
    pub display_name: String,
    pub summary: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
}

/// Fields of a remote actor as fetched.
pub struct NewRemoteActor {
    pub ap_id: String,
    pub kind: String,
    pub host: String,
    pub preferred_username: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub key_id: String,
    pub public_key_pem: String,
    pub name: Option<String>,
    pub summary: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub icon_url: Option<String>,
    pub visibility: Option<String>,
}

pub(crate) async fn insert_actor<C: ConnectionTrait>(
    conn: &C,
    new: NewLocalActor,
) -> Result<LocalActor, StoreError> {
    let name = new.name.clone();
    let result = local_actor::ActiveModel {
        kind: Set(new.kind.to_string()),
        name: Set(new.name),
        display_name: Set(new.display_name),
        summary: Set(new.summary),
        icon_url: Set(None),
        public_key_pem: Set(new.public_key_pem),
        private_key_pem: Set(new.private_key_pem),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(conn)
    .await;
    match result {
        Ok(actor) => Ok(actor),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(StoreError::Taken(format!("the name {name:?}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The file path of a `sqlite://` URL, if it names a file.
fn sqlite_file(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}
