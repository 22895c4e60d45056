//! Documents this node serves to other servers, kept as the bytes last sent. A post's `Page`
//! or `Note` costs four or five queries to build (its community's mention, its parent, the
//! people it mentions, its images) but depends only on its own row and on whether its community
//! is public: every edit, removal, pin or lock rewrites the row, and the mentions and images
//! change only with an edit. So the bytes are kept under a fingerprint of those columns
//! ([`post_fingerprint`]), and a request that still reads the same row and the same audience
//! is answered with them; any change of the row makes a new fingerprint, whichever process
//! wrote it, and the old bytes are never served again. Access is checked on every request
//! before the bytes are looked up, as before. A page of the community's outbox is kept the
//! same way under the fingerprints of the rows it was read from (they are read on every
//! request; what is saved is building and serializing their documents).

use bytes::Bytes;
use moka::future::Cache;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Largest total size of the bytes kept, in bytes.
const CAPACITY_BYTES: u64 = 32 * 1024 * 1024;

/// Rendered documents: posts by their row id, collection pages by their id.
#[derive(Clone)]
pub struct Served {
    posts: Cache<i64, (u64, Bytes)>,
    pages: Cache<String, (u64, Bytes)>,
}

fn bounded<K: std::hash::Hash + Eq + Send + Sync + 'static>(bytes: u64) -> Cache<K, (u64, Bytes)> {
    Cache::builder()
        .max_capacity(bytes)
        .weigher(|_, (_, body): &(u64, Bytes)| u32::try_from(body.len()).unwrap_or(u32::MAX))
        .build()
}

impl Default for Served {
    fn default() -> Served {
        Served {
            posts: bounded(CAPACITY_BYTES),
            pages: bounded(CAPACITY_BYTES / 2),
        }
    }
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("posts", &self.posts.entry_count())
            .field("pages", &self.pages.entry_count())
            .finish()
    }
}

impl Served {
    /// The bytes of post `id` kept under `fingerprint`, if they are.
    pub async fn post(&self, id: i64, fingerprint: u64) -> Option<Bytes> {
        self.posts
            .get(&id)
            .await
            .filter(|(kept, _)| *kept == fingerprint)
            .map(|(_, body)| body)
    }

    /// Keeps the bytes of post `id` rendered from a row with `fingerprint`.
    pub async fn keep_post(&self, id: i64, fingerprint: u64, body: Bytes) {
        self.posts.insert(id, (fingerprint, body)).await;
    }

    /// The bytes of the collection page `id` kept under `fingerprint`, if they are.
    pub async fn page(&self, id: &str, fingerprint: u64) -> Option<Bytes> {
        self.pages
            .get(id)
            .await
            .filter(|(kept, _)| *kept == fingerprint)
            .map(|(_, body)| body)
    }

    /// Keeps the bytes of the collection page `id` rendered from rows with `fingerprint`.
    pub async fn keep_page(&self, id: String, fingerprint: u64, body: Bytes) {
        self.pages.insert(id, (fingerprint, body)).await;
    }
}

/// A collection page's fingerprint: its posts' ([`post_fingerprint`]), in order, and what
/// else the page shows (the community's mention, the next page's cursor).
pub fn page_fingerprint<'a>(
    posts: impl IntoIterator<Item = &'a crate::db::discussions::Post>,
    public: bool,
    extra: &[&str],
) -> u64 {
    let mut h = DefaultHasher::new();
    for post in posts {
        post_fingerprint(post, public).hash(&mut h);
    }
    (public, extra).hash(&mut h);
    h.finish()
}

/// What a post's document is made of, as a fingerprint: every column of its row a document
/// shows or depends on, and whether its community is public (the document's addressing).
pub fn post_fingerprint(post: &crate::db::discussions::Post, public: bool) -> u64 {
    let mut h = DefaultHasher::new();
    (
        post.id,
        &post.ap_id,
        &post.community,
        &post.author,
        post.thread_id,
        post.parent_id,
        &post.title,
        &post.content,
        &post.source,
        &post.summary,
        post.published,
        post.updated,
    )
        .hash(&mut h);
    (
        post.deleted,
        &post.removed_reason,
        post.locked,
        post.pinned,
        &post.signed_object,
        post.answer_id,
        public,
    )
        .hash(&mut h);
    h.finish()
}
