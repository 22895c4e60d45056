//! The ActivityPub HTTP endpoints: inboxes, actor and object documents, collections, authorized
//! fetch and discovery (WebFinger, NodeInfo, host-meta).

pub mod collections;
pub mod fetch_guard;
pub mod inbox;
pub mod routes;
pub mod webfinger;
