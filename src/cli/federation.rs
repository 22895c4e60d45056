//! `roundtable federation …`, `partner …`, `block …`: the federation policy and partnerships.

use super::{open_db, FederationCommand, ListCommand, PartnerCommand};
use crate::{
    app,
    config::Settings,
    service::{partnership, policy},
};

/// `roundtable federation …`: the federation mode.
pub(super) async fn federation_command(
    command: FederationCommand,
    settings: Settings,
) -> Result<(), String> {
    match command {
        FederationCommand::Mode { mode } => {
            let db = open_db(&settings).await?;
            policy::set_mode(&db, &mode, "cli")
                .await
                .map_err(|e| e.to_string())?;
            println!("federation mode: {mode}");
            Ok(())
        }
        FederationCommand::Show => {
            let db = open_db(&settings).await?;
            let mode = db.federation_mode().await.map_err(|e| e.to_string())?;
            println!("mode: {mode}");
            for i in db.instances().await.map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}",
                    i.state,
                    i.domain,
                    i.reason.unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

pub(super) async fn partner_command(settings: Settings, cmd: PartnerCommand) -> Result<(), String> {
    if let PartnerCommand::List(list) = cmd {
        return list_command(&settings, list, "partner").await;
    }
    let db = open_db(&settings).await?;
    let state = app::node(settings, db).await.map_err(|e| e.to_string())?;
    match cmd {
        PartnerCommand::List(_) => {}
        PartnerCommand::Propose { domain } => {
            let domain = partnership::propose(&state, &domain, "cli")
                .await
                .map_err(|e| e.to_string())?;
            println!("proposed a partnership to {domain}; waiting for its admin");
        }
        PartnerCommand::Requests => {
            // The whole list: the command line is the node's own admin, not a request.
            for i in state
                .db
                .instances()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|i| matches!(i.state.as_str(), "requested" | "proposed"))
            {
                let direction = if i.state == "requested" {
                    "incoming"
                } else {
                    "outgoing"
                };
                println!(
                    "{direction}\t{}\t{}",
                    i.domain,
                    crate::activitypub::objects::rfc3339(i.created_at)
                );
            }
        }
        PartnerCommand::Accept { domain } => {
            let domain = partnership::answer(&state, &domain, true, "cli")
                .await
                .map_err(|e| e.to_string())?;
            println!("{domain} is now a partner");
        }
        PartnerCommand::Reject { domain } => {
            let domain = partnership::answer(&state, &domain, false, "cli")
                .await
                .map_err(|e| e.to_string())?;
            println!("declined {domain}'s request");
        }
    }
    Ok(())
}

pub(super) async fn list_command(
    settings: &Settings,
    cmd: ListCommand,
    state: &str,
) -> Result<(), String> {
    let db = open_db(settings).await?;
    match cmd {
        ListCommand::Add { domain, reason } => {
            // Listing a node that asked for a partnership answers its request.
            if state == "partner" {
                let normalized = policy::normalize_domain(&domain).map_err(|e| e.to_string())?;
                if db
                    .instance(&normalized)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some_and(|i| i.state == "requested")
                {
                    let app = app::node(settings.clone(), db.clone())
                        .await
                        .map_err(|e| e.to_string())?;
                    partnership::answer(&app, &normalized, true, "cli")
                        .await
                        .map_err(|e| e.to_string())?;
                    println!("{normalized} is now partner (its request is accepted)");
                    return Ok(());
                }
            }
            let domain = policy::add(&db, &domain, state, reason.as_deref(), "cli")
                .await
                .map_err(|e| e.to_string())?;
            println!("{domain} is now {state}");
        }
        ListCommand::Remove { domain, purge } => {
            let domain = if state == "partner" {
                // Partnerships made by handshake tell the other node they are over.
                let app = app::node(settings.clone(), db.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                partnership::remove(&app, &domain, "cli")
                    .await
                    .map_err(|e| e.to_string())?
            } else {
                policy::remove(&db, &domain, state, "cli")
                    .await
                    .map_err(|e| e.to_string())?
            };
            println!("{domain} is no longer {state}");
            if purge {
                let n = policy::purge(&db, &domain, "cli")
                    .await
                    .map_err(|e| e.to_string())?;
                println!("purged {n} records from {domain}");
            }
        }
        ListCommand::List => {
            for i in policy::list(&db, state).await.map_err(|e| e.to_string())? {
                println!("{}\t{}", i.domain, i.reason.unwrap_or_default());
            }
        }
    }
    Ok(())
}
