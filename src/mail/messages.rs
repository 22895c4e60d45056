//! The messages accounts send: email verification, password reset, invitation and "waiting for
//! approval". Each is one `Content` (subject, paragraphs, an optional link) rendered through the
//! shared templates `templates/mail/message.txt` and `message.html`. English only for now; the
//! recipient's locale is stored on the account for when translations come.

use crate::db::mail::NewMail;
use askama::Template;

/// What one message says.
pub struct Content {
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// The button's label and the link it opens.
    pub action: Option<(String, String)>,
    pub closing: String,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct Text<'a> {
    c: &'a Content,
    node: &'a str,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct Html<'a> {
    c: &'a Content,
    node: &'a str,
}

/// Renders `content` for `to`; `node` names the sending node in the footer.
pub fn render(to: &str, node: &str, content: &Content) -> Result<NewMail, askama::Error> {
    Ok(NewMail {
        to: to.to_string(),
        subject: content.subject.clone(),
        text: Text { c: content, node }.render()?,
        html: Html { c: content, node }.render()?,
    })
}

pub fn verification(name: &str, node: &str, link: &str, hours: u64) -> Content {
    Content {
        subject: format!("Confirm your email address for {node}"),
        greeting: format!("Hello {name},"),
        paragraphs: vec![
            format!("please confirm that this address belongs to your account {name} on {node}."),
            format!("The link works once and expires in {hours} hours."),
        ],
        action: Some(("Confirm my email address".into(), link.to_string())),
        closing: "If you did not sign up, ignore this message.".into(),
    }
}

pub fn email_change(name: &str, node: &str, link: &str, hours: u64) -> Content {
    Content {
        subject: format!("Confirm your new email address for {node}"),
        greeting: format!("Hello {name},"),
        paragraphs: vec![
            format!("please confirm that your account {name} on {node} should use this address from now on."),
            format!("The link works once and expires in {hours} hours. Until you open it, your account keeps its old address."),
        ],
        action: Some(("Use this address".into(), link.to_string())),
        closing: "If you did not ask for this, ignore this message.".into(),
    }
}

pub fn email_change_notice(name: &str, node: &str, new_email: &str) -> Content {
    Content {
        subject: format!("Your email address on {node} is about to change"),
        greeting: format!("Hello {name},"),
        paragraphs: vec![
            format!("someone signed in to your account {name} on {node} asked to change its email address to {new_email}."),
            "It changes only when the link mailed to that address is opened.".into(),
        ],
        action: None,
        closing: "If this was not you, change your password now and sign out your other sessions from the settings page.".into(),
    }
}

pub fn password_reset(name: &str, node: &str, link: &str, minutes: u64) -> Content {
    Content {
        subject: format!("Reset your password on {node}"),
        greeting: format!("Hello {name},"),
        paragraphs: vec![
            "someone (hopefully you) asked to reset the password of your account.".into(),
            format!("The link works once and expires in {minutes} minutes. Resetting the password signs you out everywhere."),
        ],
        action: Some(("Choose a new password".into(), link.to_string())),
        closing: "If you did not ask for this, ignore this message: your password stays as it is."
            .into(),
    }
}

pub fn invitation(node: &str, link: &str, days: u32) -> Content {
    Content {
        subject: format!("You are invited to {node}"),
        greeting: "Hello,".into(),
        paragraphs: vec![
            format!("you are invited to create an account on {node}."),
            format!("The invitation expires in {days} days."),
        ],
        action: Some(("Accept the invitation".into(), link.to_string())),
        closing: "If you do not know this node, ignore this message.".into(),
    }
}

pub fn approval_pending(name: &str, node: &str) -> Content {
    Content {
        subject: format!("Your account on {node} waits for approval"),
        greeting: format!("Hello {name},"),
        paragraphs: vec![
            format!("thank you for signing up to {node}. An administrator approves new accounts; you can sign in once yours is approved."),
        ],
        action: None,
        closing: "No need to answer this message.".into(),
    }
}

/// To the node's administrators: someone signed up and waits.
pub fn approval_request(name: &str, email: &str, node: &str) -> Content {
    Content {
        subject: format!("{name} waits for your approval on {node}"),
        greeting: "Hello,".into(),
        paragraphs: vec![
            format!(
                "{name} ({email}) signed up to {node} and waits for an administrator's approval."
            ),
            format!("To approve the account, run: roundtable user approve {name}"),
        ],
        action: None,
        closing: "You receive this because you administer this node.".into(),
    }
}

pub fn approved(name: &str, node: &str, link: &str) -> Content {
    Content {
        subject: format!("Your account on {node} is approved"),
        greeting: format!("Hello {name},"),
        paragraphs: vec!["an administrator approved your account: you can sign in now.".into()],
        action: Some(("Sign in".into(), link.to_string())),
        closing: "Welcome!".into(),
    }
}

pub fn declined(name: &str, node: &str) -> Content {
    Content {
        subject: format!("Your sign-up on {node} was declined"),
        greeting: format!("Hello {name},"),
        paragraphs: vec![format!(
            "an administrator of {node} declined your sign-up, and the account was removed. If you think this is a mistake, ask the people who run {node} for an invitation."
        )],
        action: None,
        closing: "Regards.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let c = verification("<b>x</b>", "node", "https://n.example/v?token=a&b", 48);
        let mail = render("x@example.org", "node", &c).expect("renders");
        assert!(!mail.html.contains("<b>x</b>"), "{}", mail.html);
        assert!(
            mail.html.contains("&#60;b&#62;x&#60;/b&#62;"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains("token=a&#38;b"), "{}", mail.html);
        assert!(
            mail.text.contains("https://n.example/v?token=a&b"),
            "{}",
            mail.text
        );
        assert!(
            mail.text.contains("Hello <b>x</b>,"),
            "plain text is not escaped"
        );
    }
}
