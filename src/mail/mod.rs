//! Outgoing email: the messages the node sends (`messages`, rendered from askama templates,
//! plain text plus HTML) and the workers that send the queue (`worker`, lettre over SMTP, or
//! `.eml` files in a directory in debug mode without SMTP). Every message is written to the
//! database first (`db::mail`), so a crash or an unreachable SMTP server loses none.

pub mod messages;
pub mod worker;

use crate::{db::mail::NewMail, node::Node};

/// Queues a message and wakes the mail workers.
pub async fn queue(node: &Node, mail: NewMail) -> Result<i64, crate::db::DbErr> {
    let id = node.db.enqueue_mail(mail).await?;
    node.mail_wakeup.notify_waiters();
    Ok(id)
}
