//! The `roundtable` command line. Every failure prints one line to stderr and exits non-zero.

mod community;
mod federation;

use crate::{
    app::{self, App},
    config::Settings,
    db::Db,
    service::{accounts, reports},
    telemetry,
};
use clap::{Parser, Subcommand};
use std::{io::Read, path::PathBuf, process::ExitCode};

#[derive(Parser)]
#[command(
    name = "roundtable",
    version,
    about = "A federated node for cross-organization communities of practice"
)]
struct Cli {
    /// TOML file overriding the built-in defaults (environment variables override both).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node: HTTP server and delivery workers (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage local users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage communities.
    #[command(subcommand)]
    Community(CommunityCommand),
    /// The federation policy: open, allowlist (partners only) or blocklist.
    #[command(subcommand)]
    Federation(FederationCommand),
    /// Partner organizations (the only peers in allowlist mode).
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Blocked domains (refused in every mode).
    #[command(subcommand)]
    Block(ListCommand),
    /// Print the audit log of admin and moderator actions, newest first, one per line
    /// (time, actor, action, target, detail; tab-separated).
    Audit {
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// Only entries older than this id (to page back).
        #[arg(long)]
        before: Option<i64>,
    },
}

#[derive(Subcommand)]
enum FederationCommand {
    /// Set the mode: open, allowlist or blocklist. Takes effect at once.
    Mode { mode: String },
    /// Print the mode and the listed domains.
    Show,
}

#[derive(Subcommand)]
enum ListCommand {
    /// Add a domain (host or host:port).
    Add {
        domain: String,
        /// Why (kept for the admins).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Remove a domain; deliveries to a former partner stop at once.
    Remove {
        domain: String,
        /// Also delete everything replicated from that domain.
        #[arg(long)]
        purge: bool,
    },
    /// List the domains.
    List,
}

#[derive(Subcommand)]
enum PartnerCommand {
    #[command(flatten)]
    List(ListCommand),
    /// Ask another node to become partners (its admin accepts with `partner accept`).
    Propose { domain: String },
    /// Partnership requests waiting for an answer, theirs and ours.
    Requests,
    /// Accept another node's request: both nodes list each other as partners.
    Accept { domain: String },
    /// Decline another node's request.
    Reject { domain: String },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        name: String,
        /// Make the user an administrator of this node.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (otherwise the account has none).
        #[arg(long)]
        password_stdin: bool,
        /// The user's email address (taken as confirmed).
        #[arg(long)]
        email: Option<String>,
        /// Language of the user's mail and pages, as a BCP 47 tag (default: en).
        #[arg(long)]
        locale: Option<String>,
        /// The user's IANA time zone, e.g. Europe/Berlin (default: UTC).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// List users: name, state, admin, email (and whether it is confirmed), locale, time zone,
    /// created.
    List,
    /// Set a user's password, read from standard input; their browser sessions end.
    SetPassword { name: String },
    /// Create an invitation link and print it.
    Invite {
        /// How many accounts the link may create.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Days until the link expires (default: accounts.invitation_days).
        #[arg(long)]
        days: Option<u32>,
        /// Also mail the link to this address.
        #[arg(long)]
        email: Option<String>,
    },
    /// Approve an account waiting for approval (registration = "approval").
    Approve { name: String },
    /// Decline an account waiting for approval: it is deleted and its owner told.
    Decline { name: String },
    /// Print the registration policy, or set it: closed, invite, approval or open. Overrides
    /// accounts.registration of the configuration; takes effect at once.
    Registration { policy: Option<String> },
    /// Delete a user's account: memberships, tokens and sessions go; posts, article revisions
    /// and RSVPs stay under the old name, which is never given to anyone else. Refused while the
    /// user owns a community.
    Delete { name: String },
    /// Suspend a person on this node: a local user (NAME) can no longer use the node; a remote
    /// person (user@domain or actor URL) has their activities refused.
    Suspend {
        who: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a suspension.
    Unsuspend { who: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a bearer token for USER and print it (only its hash is stored).
    Create {
        user: String,
        /// Space-separated scopes: read, write, admin, calendar.
        #[arg(long, default_value = "read write")]
        scopes: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List USER's tokens: id, scopes, created, expires (secrets are never stored).
    List { user: String },
    /// Revoke one of USER's tokens by its id.
    Revoke { user: String, id: i64 },
}

#[derive(Subcommand)]
enum CommunityCommand {
    /// Create a community owned by a local user.
    Create {
        slug: String,
        #[arg(long)]
        owner: String,
        #[arg(long)]
        title: Option<String>,
        /// public, partners or members.
        #[arg(long, default_value = "public")]
        visibility: String,
    },
    /// Show how far this node's replica of a community hosted elsewhere (HANDLE: slug@domain)
    /// is in its host's stream, bring it up to date now, and compare the content digests.
    Sync {
        handle: String,
        /// Only show where the replica stands; read nothing from the host's stream.
        #[arg(long)]
        status: bool,
        /// Drop this node's copy of the community's content (its members stay) and read the
        /// whole stream again.
        #[arg(long, conflicts_with = "status")]
        rebuild: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with success; usage errors print clap's message.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

async fn open_db(settings: &Settings) -> Result<Db, String> {
    let db = Db::connect(&settings.database.url, settings.database.max_connections)
        .await
        .map_err(|e| {
            format!(
                "cannot open the database {}: {e}",
                redact(&settings.database.url)
            )
        })?
        .with_policy_ports(settings.federation.debug);
    db.migrate()
        .await
        .map_err(|e| format!("cannot apply migrations: {e}"))?;
    Ok(db)
}

/// The node's state for commands that use the services (they may queue mail).
async fn node_state(settings: Settings) -> Result<crate::node::Node, String> {
    let db = open_db(&settings).await?;
    app::node(settings, db).await.map_err(|e| e.to_string())
}

/// A password from standard input, without its line ending.
fn read_password() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// Whether `who` names a local user (not `user@domain` or a URL).
fn is_local_name(who: &str) -> bool {
    !who.contains('@') && !who.contains('/')
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), String> {
    match command {
        Command::Serve => {
            telemetry::init(&settings.log);
            let listener = tokio::net::TcpListener::bind(settings.http.bind)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", settings.http.bind))?;
            let app = App::build(settings, listener)
                .await
                .map_err(|e| e.to_string())?;
            app.run_until_stopped(shutdown_signal())
                .await
                .map_err(|e| format!("server error: {e}"))
        }
        Command::Migrate => {
            open_db(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User(cmd) => user_command(cmd, settings).await,
        Command::Token(cmd) => token_command(cmd, settings).await,
        Command::Federation(cmd) => federation::federation_command(cmd, settings).await,
        Command::Partner(cmd) => federation::partner_command(settings, cmd).await,
        Command::Audit { limit, before } => {
            if !(1..=10_000).contains(&limit) {
                return Err("--limit must be between 1 and 10000".into());
            }
            let db = open_db(&settings).await?;
            for e in db
                .audit_log(before, limit)
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    e.id,
                    crate::activitypub::objects::rfc3339(e.created_at),
                    e.actor,
                    e.action,
                    e.target,
                    e.detail.unwrap_or_default().replace(['\t', '\n'], " ")
                );
            }
            Ok(())
        }
        Command::Block(cmd) => federation::list_command(&settings, cmd, "blocked").await,
        Command::Community(CommunityCommand::Create {
            slug,
            owner,
            title,
            visibility,
        }) => community::create(&settings, &slug, &owner, title.as_deref(), &visibility).await,
        Command::Community(CommunityCommand::Sync {
            handle,
            status,
            rebuild,
        }) => community::sync(settings, &handle, status, rebuild).await,
    }
}

/// `roundtable user …`: accounts.
async fn user_command(command: UserCommand, settings: Settings) -> Result<(), String> {
    match command {
        UserCommand::Create {
            name,
            admin,
            password_stdin,
            email,
            locale,
            time_zone,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let domain = settings.instance.domain.clone();
            let state = node_state(settings).await?;
            let account = accounts::admin::create(
                &state,
                accounts::admin::NewAccount {
                    name: &name,
                    email: email.as_deref(),
                    password: password.as_deref(),
                    admin,
                    locale: locale.as_deref(),
                    time_zone: time_zone.as_deref(),
                },
            )
            .await
            .map_err(|e| e.message)?;
            println!("created user {}@{domain}", account.name());
            Ok(())
        }
        UserCommand::List => list_users(settings).await,
        UserCommand::SetPassword { name } => {
            let password = read_password()?;
            let state = node_state(settings).await?;
            accounts::admin::set_password(&state, &name, &password)
                .await
                .map_err(|e| e.message)?;
            println!("set the password of {name}");
            Ok(())
        }
        UserCommand::Invite { uses, days, email } => {
            let state = node_state(settings).await?;
            let link = accounts::signup::invite(&state, "cli", uses, days)
                .await
                .map_err(|e| e.message)?;
            if let Some(email) = email {
                let days = days.unwrap_or(state.settings.accounts.invitation_days);
                accounts::signup::mail_invitation(&state, &email, &link, days)
                    .await
                    .map_err(|e| e.message)?;
            }
            println!("{link}");
            Ok(())
        }
        UserCommand::Approve { name } => {
            let state = node_state(settings).await?;
            let account = accounts::admin::approve(&state, &name)
                .await
                .map_err(|e| e.message)?;
            println!("approved {}", account.name());
            Ok(())
        }
        UserCommand::Decline { name } => {
            let state = node_state(settings).await?;
            accounts::admin::decline(&state, &name)
                .await
                .map_err(|e| e.message)?;
            println!("declined {name}");
            Ok(())
        }
        UserCommand::Registration { policy } => {
            let state = node_state(settings).await?;
            let policy = match policy {
                Some(p) => accounts::signup::set_registration(&state, &p, "cli").await,
                None => accounts::signup::registration(&state).await,
            }
            .map_err(|e| e.message)?;
            println!("registration: {}", policy.as_str());
            Ok(())
        }
        UserCommand::Delete { name } => {
            let state = node_state(settings).await?;
            accounts::admin::delete(&state, &name)
                .await
                .map_err(|e| e.message)?;
            println!("deleted the account of {name}");
            Ok(())
        }
        UserCommand::Suspend { who, reason } => {
            let db = open_db(&settings).await?;
            let state = app::node(settings, db).await.map_err(|e| e.to_string())?;
            let actor = reports::suspend(&state, &who, reason.as_deref(), "cli")
                .await
                .map_err(|e| e.message)?;
            if is_local_name(&who) {
                accounts::admin::set_suspended(&state, &who, true)
                    .await
                    .map_err(|e| e.message)?;
            }
            println!("suspended {actor}");
            Ok(())
        }
        UserCommand::Unsuspend { who } => {
            let db = open_db(&settings).await?;
            let state = app::node(settings, db).await.map_err(|e| e.to_string())?;
            let actor = reports::unsuspend(&state, &who, "cli")
                .await
                .map_err(|e| e.message)?;
            if is_local_name(&who) {
                accounts::admin::set_suspended(&state, &who, false)
                    .await
                    .map_err(|e| e.message)?;
            }
            println!("lifted the suspension of {actor}");
            Ok(())
        }
    }
}

/// `roundtable user list`: one line per account (name, state, admin, email, locale, zone,
/// created).
async fn list_users(settings: Settings) -> Result<(), String> {
    let state = node_state(settings).await?;
    for a in accounts::admin::list(&state).await.map_err(|e| e.message)? {
        let email = match (&a.user.email, a.user.email_verified) {
            (Some(e), true) => e.clone(),
            (Some(e), false) => format!("{e} (unconfirmed)"),
            (None, _) => "-".into(),
        };
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            a.name(),
            a.user.state.as_str(),
            if a.user.is_admin { "admin" } else { "-" },
            email,
            a.user.locale,
            a.user.time_zone,
            crate::activitypub::objects::rfc3339(a.user.created_at)
        );
    }
    Ok(())
}

/// `roundtable token …`: API tokens.
async fn token_command(command: TokenCommand, settings: Settings) -> Result<(), String> {
    match command {
        TokenCommand::Create {
            user,
            scopes,
            expires_days,
        } => {
            let db = open_db(&settings).await?;
            let (_, token) = accounts::issue_token(&db, &user, &scopes, expires_days)
                .await
                .map_err(|e| e.to_string())?;
            println!("{token}");
            Ok(())
        }
        TokenCommand::List { user } => {
            let db = open_db(&settings).await?;
            let tokens = accounts::tokens(&db, &user)
                .await
                .map_err(|e| e.to_string())?;
            let when = |ms: Option<i64>| {
                ms.and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.format("%Y-%m-%dT%H:%MZ").to_string())
                    .unwrap_or_else(|| "never".into())
            };
            for t in tokens {
                println!(
                    "{}\t{}\tcreated {}\texpires {}",
                    t.id,
                    t.scopes,
                    when(Some(t.created_at)),
                    when(t.expires_at)
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { user, id } => {
            let db = open_db(&settings).await?;
            accounts::revoke_token(&db, &user, id)
                .await
                .map_err(|e| e.to_string())?;
            println!("revoked token {id}");
            Ok(())
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
