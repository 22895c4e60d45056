//! Writes this process made to what readers are shown, so the streaming API can wait for a
//! change instead of asking the database over and over.
//!
//! Every statement passes the pool's metric callback; one that inserts, updates or deletes
//! rows of any table but the node's own bookkeeping (the queues, the inbox's record, tokens,
//! sessions, rate counters…) counts as a change and wakes whoever waits. It is a hint, not a
//! record: a waiter still reads what is new with its ordinary queries, and writes made by
//! another process of the node are not seen here (streams also look now and then without
//! being woken).

use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Notify;

/// Tables whose writes nobody's timeline, notifications or stream shows.
const BOOKKEEPING: &[&str] = &[
    "api_tokens",
    "browser_sessions",
    "delivery_hosts",
    "delivery_jobs",
    "idempotency_keys",
    "inbox_applier",
    "inbox_pending",
    "inbox_rate",
    "locks",
    "media_files",
    "oauth_apps",
    "oauth_codes",
    "oauth_tokens",
    "outgoing_mail",
    "peers",
    "read_markers",
    "received_activity_ids",
    "replica_sync",
];

/// How many changes this process has written, and who waits for the next.
#[derive(Debug, Default)]
pub struct Changes {
    count: AtomicU64,
    notify: Notify,
}

impl Changes {
    /// Counts `sql` if it writes what readers are shown, and wakes the waiters.
    pub(super) fn saw(&self, sql: &str) {
        if changes_what_readers_see(sql) {
            self.count.fetch_add(1, Ordering::Relaxed);
            self.notify.notify_waiters();
        }
    }

    /// Changes written so far.
    pub fn seen(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Returns once more than `seen` changes have been written.
    pub async fn after(&self, seen: u64) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the count is read, so a change in between still wakes it.
            notified.as_mut().enable();
            if self.seen() > seen {
                return;
            }
            notified.await;
        }
    }
}

/// Whether `sql` inserts, updates or deletes rows of a table readers are shown.
fn changes_what_readers_see(sql: &str) -> bool {
    let mut words = sql.split_whitespace();
    let first = words.next().unwrap_or_default();
    let table = if first.eq_ignore_ascii_case("insert") || first.eq_ignore_ascii_case("delete") {
        // INSERT INTO t …, DELETE FROM t …
        words.nth(1)
    } else if first.eq_ignore_ascii_case("update") {
        words.next()
    } else {
        // A read, a transaction's begin or end, or a statement that starts with a CTE
        // (counted: it may write anything).
        return first.eq_ignore_ascii_case("with");
    };
    let Some(table) = table else {
        return false;
    };
    let table = table
        .split('(')
        .next()
        .unwrap_or_default()
        .trim_matches(|c| c == '"' || c == '`');
    !BOOKKEEPING.contains(&table)
}

#[cfg(test)]
mod tests {
    use super::changes_what_readers_see as changes;

    #[test]
    fn writes_to_shown_tables_count_and_bookkeeping_does_not() {
        assert!(changes(r#"INSERT INTO "posts" ("id") VALUES ($1)"#));
        assert!(changes("insert into likes(post_id, actor) values (?, ?)"));
        assert!(changes(r#"UPDATE "posts" SET "deleted" = $1"#));
        assert!(changes("DELETE FROM memberships WHERE id = ?"));
        assert!(changes(
            "WITH x AS (SELECT 1) INSERT INTO posts SELECT * FROM x"
        ));
        assert!(!changes(r#"SELECT "id" FROM "posts""#));
        assert!(!changes("BEGIN"));
        assert!(!changes(r#"UPDATE "inbox_applier" SET holder = $1"#));
        assert!(!changes("INSERT INTO delivery_jobs (id) VALUES (?)"));
        assert!(!changes(
            r#"DELETE FROM "received_activity_ids" WHERE at < $1"#
        ));
        assert!(!changes(""));
    }

    #[tokio::test]
    async fn a_waiter_wakes_on_a_change_made_after_it_looked() {
        let changes = std::sync::Arc::new(super::Changes::default());
        let seen = changes.seen();
        let waiter = tokio::spawn({
            let changes = changes.clone();
            async move { changes.after(seen).await }
        });
        changes.saw("UPDATE peers SET x = 1");
        changes.saw(r#"INSERT INTO "posts" ("id") VALUES (1)"#);
        tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert_eq!(changes.seen(), seen + 1);
    }
}
