//! Documents this node serves to other servers, kept as the bytes last sent. A post's `Page`
//! or `Note` costs four or five queries to build (its community's mention, its parent, the
//! people it mentions, its images) but depends only on its own row and on whether its community
//! is public: every edit, removal, pin or lock rewrites the row, and the mentions and images
//! change only with an edit. So the bytes are kept under a fingerprint of those columns
//! ([`post_fingerprint`]), and a request that still reads the same row and the same audience
//! is answered with them; any change of the row makes a new fingerprint, whichever process
//! wrote it, and the old bytes are never served again. Access is checked on every request
//! before the bytes are looked up, as before.

use bytes::Bytes;
use moka::future::Cache;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Largest total size of the bytes kept, in bytes.
const CAPACITY_BYTES: u64 = 32 * 1024 * 1024;

/// Rendered documents by the row id of what they show.
#[derive(Clone)]
pub struct Served {
    posts: Cache<i64, (u64, Bytes)>,
}

impl Default for Served {
    fn default() -> Served {
        Served {
            posts: Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|_, (_, body): &(u64, Bytes)| {
                    u32::try_from(body.len()).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("posts", &self.posts.entry_count())
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
