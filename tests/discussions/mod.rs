//! Issue: communities and discussions that replicate between nodes.

mod api;
pub mod federation;
mod feeds;
mod fixtures;
mod moderation;
mod trust;
