//! Roundtable: a federated ActivityPub service for cross-organization communities of practice.
//!
//! Layout, top to bottom (see ARCHITECTURE.md for the full map, the layer rules and the
//! invariants; `tests/foundation/tidy.rs` checks that imports only point down):
//! - [`app`]: the composition root (router, server, workers); [`cli`]: the command line;
//! - [`api`], [`federation`], [`ui`] (the HTML pages), [`web`]: the HTTP front doors;
//!   [`error`]: their error type;
//! - [`service`]: use cases shared by CLI, APIs and inbox;
//! - [`delivery`]: the outbox and its workers; [`mail`]: outgoing email and its workers;
//!   [`node`]: the shared state;
//! - [`activitypub`]: wire documents, signatures, proofs, the outgoing client;
//! - [`db`]: the only module that touches sea-orm;
//! - [`config`], [`markdown`], [`metrics`], [`telemetry`], [`paging`] (limits, keyset cursors
//!   and next-page URLs of every list the node serves); [`domain`]: pure types.

#![recursion_limit = "512"]

pub mod activitypub;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod federation;
pub mod mail;
pub mod markdown;
pub mod metrics;
pub mod node;
pub mod paging;
pub mod service;
pub mod telemetry;
pub mod ui;
pub mod web;
