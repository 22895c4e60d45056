//! `roundtable community …`: creating one, and a replica's sync.

use super::{node_state, open_db};
use crate::{config::Settings, service::accounts};

/// `roundtable community create SLUG --owner NAME`.
pub(super) async fn create(
    settings: &Settings,
    slug: &str,
    owner: &str,
    title: Option<&str>,
    visibility: &str,
) -> Result<(), String> {
    let db = open_db(settings).await?;
    let (actor, _) =
        accounts::create_community(&db, &settings.base_url(), slug, owner, title, visibility)
            .await
            .map_err(|e| e.to_string())?;
    println!(
        "created community {}@{}",
        actor.name, settings.instance.domain
    );
    Ok(())
}

/// `roundtable community sync HANDLE`: drives and shows a replica's catch-up.
pub(super) async fn sync(
    settings: Settings,
    handle: &str,
    only_status: bool,
    rebuild: bool,
) -> Result<(), String> {
    use crate::service::{discussions, replication};
    let state = node_state(settings).await?;
    let view = discussions::resolve(&state, handle)
        .await
        .map_err(|e| e.message)?;
    if !only_status && view.local().is_none() {
        if state
            .db
            .replica_sync(&view.ap_id)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
            && replication::start(&state, &view.ap_id, false)
                .await
                .map_err(|e| e.message)?
                == replication::Started::NoStream
        {
            return Err(format!(
                "{handle} is hosted by software that serves no stream; it is replicated from its outbox"
            ));
        }
        let pass = if rebuild {
            replication::rebuild(&state, &view.ap_id).await
        } else {
            replication::sync_community(&state, &view.ap_id, None, true).await
        }
        .map_err(|e| e.message)?;
        println!(
            "this pass: {} pages, {} applied, {} skipped{}",
            pass.pages,
            pass.applied,
            pass.skipped,
            if pass.resynced {
                ", replayed from the start after a digest mismatch"
            } else {
                ""
            }
        );
    }
    let s = replication::status(&state, &view.ap_id, !only_status)
        .await
        .map_err(|e| e.message)?;
    println!("community: {}", s.community);
    println!("position: {} of {}", s.position, s.host_position);
    println!(
        "contents: {} threads, {} replies, {} revisions, {} events",
        s.contents.threads, s.contents.replies, s.contents.revisions, s.contents.events
    );
    println!("digest: {}", s.digest);
    if let Some(host) = &s.host_digest {
        println!("host digest: {host}");
    }
    match s.in_sync {
        Some(true) => println!("in sync: yes"),
        Some(false) => println!("in sync: no"),
        None => {}
    }
    if let Some(e) = &s.last_error {
        println!("last error: {e}");
    }
    Ok(())
}
