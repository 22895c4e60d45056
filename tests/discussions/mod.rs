//! Issue: communities and discussions that replicate between nodes.

mod api;
pub mod federation;
mod fixtures;
mod moderation;
mod trust;
