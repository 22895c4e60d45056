//! sea-orm entities, one per table. They derive no serde: wire shapes live in `federation`
//! and `api`, with explicit conversions.

pub mod account_link;
pub mod api_token;
pub mod article;
pub mod article_edit;
pub mod article_revision;
pub mod article_slug;
pub mod ban;
pub mod browser_session;
pub mod community;
pub mod delivery_job;
pub mod event;
pub mod event_participant;
pub mod invitation;
pub mod like;
pub mod local_actor;
pub mod membership;
pub mod outgoing_mail;
pub mod peer;
pub mod post;
pub mod received_activity;
pub mod remote_actor;
pub mod user;
