//! The browser-session store: `tower-sessions`' `SessionStore` over the node's database, so
//! every process of a node shares the sessions. Written here because the SQL store crate
//! (`tower-sessions-sqlx-store` 0.15) is built on sqlx 0.8 and tower-sessions-core 0.14 (sea-orm
//! 2 is on sqlx 0.9, tower-sessions 0.15 on core 0.15) and keeps a table without the columns a
//! user's session list needs (see ARCHITECTURE.md); this one goes through `db` like all other
//! storage, stores only the SHA-256 of a session id (the cookie's secret), and copies the
//! user id and browser out of the session data so sessions can be listed and revoked per
//! device.

use crate::db::{accounts::SessionRow, Db};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tower_sessions::{
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::{self, SessionStore},
};

/// Session data keys the store reads.
pub const USER_ID: &str = "user_id";
pub const USER_AGENT: &str = "user_agent";

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> DbSessionStore {
        DbSessionStore { db }
    }
}

/// The stored key of a session id.
pub fn id_hash(id: &Id) -> String {
    Sha256::digest(id.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn backend(e: crate::db::DbErr) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// A record's stored fields.
struct Stored {
    hash: String,
    data: String,
    user_id: Option<i64>,
    expires_at: i64,
    user_agent: Option<String>,
}

impl Stored {
    fn of(record: &Record) -> session_store::Result<Stored> {
        Ok(Stored {
            hash: id_hash(&record.id),
            data: serde_json::to_string(&record.data)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            user_id: record.data.get(USER_ID).and_then(|v| v.as_i64()),
            expires_at: record.expiry_date.unix_timestamp().saturating_mul(1000),
            user_agent: record
                .data
                .get(USER_AGENT)
                .and_then(|v| v.as_str())
                .map(str::to_string),
        })
    }

    fn row(&self) -> SessionRow<'_> {
        SessionRow {
            id_hash: &self.hash,
            user_id: self.user_id,
            data: &self.data,
            expires_at: self.expires_at,
            user_agent: self.user_agent.as_deref(),
        }
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id clashes with a stored one only by astronomical chance; draw again.
        loop {
            let stored = Stored::of(record)?;
            if self
                .db
                .insert_browser_session(stored.row())
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let stored = Stored::of(record)?;
        self.db
            .save_browser_session(stored.row())
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = self
            .db
            .browser_session(&id_hash(id))
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at / 1000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.db
            .delete_browser_session(&id_hash(id))
            .await
            .map_err(backend)
    }
}
