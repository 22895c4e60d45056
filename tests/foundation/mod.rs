//! Issue: a node that runs, identifies itself and speaks signed ActivityPub.

mod claims;
mod cli;
mod identity;
mod inbox;
mod queue;
mod ssrf;
mod tidy;
