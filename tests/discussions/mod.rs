//! Issue: communities and discussions that replicate between nodes.

pub mod federation;
mod moderation;
mod trust;
