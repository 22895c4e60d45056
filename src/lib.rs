//! Roundtable: a federated ActivityPub service for cross-organization communities of practice.
//!
//! Layout (see ARCHITECTURE.md for the full map and its invariants):
//! - [`config`]: layered settings; [`app`]: `App::build` / `run_until_stopped` and the router;
//! - [`domain`]: pure types (names, visibility, scopes);
//! - [`service`]: use cases shared by CLI, APIs and inbox;
//! - [`db`]: the only module that touches sea-orm, including the delivery queue's queries;
//! - [`federation`]: ActivityPub documents, signatures, the outgoing client, inbox, delivery;
//! - [`cli`]: the `roundtable` command line.

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
pub mod markdown;
pub mod metrics;
pub mod node;
pub mod service;
pub mod telemetry;
pub mod web;
