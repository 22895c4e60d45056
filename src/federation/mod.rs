//! ActivityPub: wire documents, HTTP signatures, the outgoing client, the inbox, the delivery
//! queue and discovery (WebFinger, NodeInfo, host-meta).

pub mod activities;
pub mod actors;
pub mod client;
pub mod delivery;
pub mod fetch_guard;
pub mod inbox;
pub mod objects;
pub mod proof;
pub mod rate;
pub mod routes;
pub mod signatures;
pub mod webfinger;
