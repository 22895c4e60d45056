//! The one integration-test binary: every multi-node and HTTP test lives under here so the
//! suite links once. Run on PostgreSQL by setting `ROUNDTABLE_TEST_DATABASE_URL`.

mod accounts;
mod articles;
mod bounds;
mod discussions;
mod events;
mod foundation;
mod harness;
mod insights;
mod mastodon;
mod partners;
mod security;
mod web;
