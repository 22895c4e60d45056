//! Structured logs with `tracing`: human text or JSON lines, filtered by `log.filter`
//! (`RUST_LOG` wins when set).

use crate::config::{LogFormat, LogSettings};
use std::io::IsTerminal;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (tests) is harmless.
    let _ = match settings.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
