//! Issue: communities and discussions that replicate between nodes.

mod api;
pub mod federation;
mod feeds;
pub mod fixtures;
mod moderation;
mod replication;
mod routes;
mod trust;
