//! Use cases shared by the CLI, the APIs and the inbox. A local action and its remote twin run
//! the same function here.

pub mod access;
pub mod accounts;
pub mod articles;
pub mod calendar;
pub mod discussions;
pub mod error;
pub mod events;
pub mod feeds;
pub mod inbound;
pub mod insights;
pub mod intake;
pub mod media;
pub mod notifications;
pub mod partnership;
pub mod policy;
pub mod privacy;
pub mod remote;
pub mod replication;
pub mod reports;
