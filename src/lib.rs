//! Roundtable: a federated ActivityPub service for cross-organization communities of practice.
//!
//! Layout (see ARCHITECTURE.md for the full map and its invariants):
//! - [`config`]: layered settings; [`app`]: `App::build` / `run_until_stopped` and the router;
//! - [`domain`]: pure types (names, visibility, scopes);
//! - [`service`]: use cases shared by CLI, APIs and inbox;
//! - [`db`]: the only module that touches sea-orm, including the delivery queue's queries;
//! - [`federation`]: ActivityPub documents, signatures, the outgoing client, inbox, delivery;
//! - [`paging`]: limits, keyset cursors and next-page URLs of every list the node serves;
//! - [`cli`]: the `roundtable` command line.

#![recursion_limit = "512"]

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod federation;
pub mod markdown;
pub mod metrics;
pub mod paging;
pub mod service;
pub mod telemetry;
