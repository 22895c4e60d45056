//! Issue: communities and discussions that replicate between nodes.

pub mod federation;
mod fixtures;
mod moderation;
mod trust;
