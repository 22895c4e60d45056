//! Database schema of Roundtable, as timestamped migrations frozen in time.
//!
//! Applied by `roundtable migrate` and at `roundtable serve` start. A migration never imports the
//! application: it describes tables, nothing else. Times are stored as Unix milliseconds
//! (`BIGINT`), which sorts and compares the same way on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;
mod m20261122_000002_discussions;
mod m20261122_000003_articles;
mod m20261122_000004_search;
mod m20261122_000005_events;
mod m20261122_000006_federation_policy;
mod m20261122_000007_audit;
mod m20261122_000008_partnerships_reports;
mod m20261122_000009_inbox_rate;
mod m20261122_000010_local_readers;
mod m20261201_000012_token_expiry;
mod m20261201_000013_signed_objects;
mod m20261201_000014_received_ids;
mod m20261202_000015_job_kind_audience;
mod m20261202_000016_list_indexes;
mod m20261203_000026_accounts;
mod m20261203_000027_oauth;
mod m20261203_000028_sso;
mod m20261203_000029_markers;
mod m20261207_000030_media;
mod m20261207_000031_post_revisions;
mod m20261207_000032_notifications;
mod m20261207_000033_email_change;
mod m20261207_000034_delivery_hosts;
mod m20261207_000035_community_stream;
mod m20261207_000036_insights;
mod m20261207_000038_member_lists;
mod m20261208_000040_insight_stamps;
mod m20261208_000041_tags_and_boosts;
mod m20261209_000042_filters;
mod m20261209_000043_status_refs;
mod m20261210_000044_inbox_pending;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_foundation::Migration),
            Box::new(m20261122_000002_discussions::Migration),
            Box::new(m20261122_000003_articles::Migration),
            Box::new(m20261122_000004_search::Migration),
            Box::new(m20261122_000005_events::Migration),
            Box::new(m20261122_000006_federation_policy::Migration),
            Box::new(m20261122_000007_audit::Migration),
            Box::new(m20261122_000008_partnerships_reports::Migration),
            Box::new(m20261122_000009_inbox_rate::Migration),
            Box::new(m20261122_000010_local_readers::Migration),
            Box::new(m20261201_000012_token_expiry::Migration),
            Box::new(m20261201_000013_signed_objects::Migration),
            Box::new(m20261201_000014_received_ids::Migration),
            Box::new(m20261202_000015_job_kind_audience::Migration),
            Box::new(m20261202_000016_list_indexes::Migration),
            Box::new(m20261203_000026_accounts::Migration),
            Box::new(m20261203_000027_oauth::Migration),
            Box::new(m20261203_000028_sso::Migration),
            Box::new(m20261203_000029_markers::Migration),
            Box::new(m20261207_000030_media::Migration),
            Box::new(m20261207_000031_post_revisions::Migration),
            Box::new(m20261207_000032_notifications::Migration),
            Box::new(m20261207_000033_email_change::Migration),
            Box::new(m20261207_000034_delivery_hosts::Migration),
            Box::new(m20261207_000035_community_stream::Migration),
            Box::new(m20261207_000036_insights::Migration),
            Box::new(m20261207_000038_member_lists::Migration),
            Box::new(m20261208_000040_insight_stamps::Migration),
            Box::new(m20261208_000041_tags_and_boosts::Migration),
            Box::new(m20261209_000042_filters::Migration),
            Box::new(m20261209_000043_status_refs::Migration),
            Box::new(m20261210_000044_inbox_pending::Migration),
        ]
    }
}
