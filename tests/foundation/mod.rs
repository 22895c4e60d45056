//! Issue: a node that runs, identifies itself and speaks signed ActivityPub.

mod claims;
mod cli;
mod identity;
mod inbox;
mod intake;
mod metrics;
mod queue;
mod remembered;
mod ssrf;
mod tidy;
