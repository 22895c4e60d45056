//! Issue: communities and discussions that replicate between nodes.

mod federation;
mod trust;
