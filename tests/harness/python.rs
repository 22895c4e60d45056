//! Python tools the tests run (aiosmtpd as an SMTP server, authlib as an OAuth client,
//! Mastodon.py and toot as Mastodon apps, websocket-client for Mastodon.py's streaming, pytest
//! for the suites written as pytest modules), from
//! one virtualenv under `~/.cache/roundtable-ci/venv`, installed from PyPI on first use
//! (`.ci/run` installs them too, so a CI run fails early if PyPI is unreachable).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Mutex,
};

/// Every package the tests use, pinned.
pub const PACKAGES: [&str; 7] = [
    "aiosmtpd==1.4.6",
    "authlib==1.9.6",
    "requests==2.34.2",
    "Mastodon.py==2.3.3",
    "toot==0.52.1",
    // Mastodon.py's WebSocket streaming.
    "websocket-client==1.9.2",
    // The Mastodon.py suite across two nodes is a pytest module.
    "pytest==8.4.2",
];
/// What `PACKAGES` must make importable.
const IMPORTS: &str = "import aiosmtpd, authlib, requests, mastodon, toot, websocket, pytest";

static INSTALL: Mutex<()> = Mutex::new(());

/// The Python of the tests' virtualenv, with `PACKAGES` installed if missing.
pub fn python() -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let venv = Path::new(&home).join(".cache/roundtable-ci/venv");
    let python = venv.join("bin/python");
    let has = |python: &Path| {
        std::process::Command::new(python)
            .args(["-c", IMPORTS])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has(&python) {
        return python;
    }
    std::fs::create_dir_all(venv.parent().expect("cache dir")).expect("create the cache dir");
    if !python.exists() {
        let out = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .expect("run python3 -m venv");
        assert!(
            out.status.success(),
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = std::process::Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .output()
        .expect("run pip");
    assert!(
        out.status.success(),
        "pip install {PACKAGES:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        has(&python),
        "{IMPORTS:?} fails after installing {PACKAGES:?}"
    );
    python
}

/// Runs a Python client script (after the shared browser prelude, `consent.py`) with `env`,
/// and reads the one JSON object it prints. A failing script fails the test with its output.
pub async fn run_client(script: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let python = tokio::task::spawn_blocking(python)
        .await
        .expect("install the Python packages");
    let code = format!("{}\n{script}", include_str!("consent.py"));
    let out = tokio::process::Command::new(python)
        .arg("-c")
        .arg(code)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run the Python client");
    assert!(
        out.status.success(),
        "the Python client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the Python client printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs a pytest module (saved as `file_name`, after the shared browser prelude, `consent.py`)
/// with `env` and `OUT`, a file the module writes what its tests saw to as JSON, through
/// `python -m pytest -x -q -p no:cacheprovider`; panics with pytest's output unless every test
/// passed. Returns what the module wrote.
pub async fn run_pytest(file_name: &str, module: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let python = tokio::task::spawn_blocking(python)
        .await
        .expect("install the Python packages");
    let dir = std::env::temp_dir().join(format!(
        "roundtable-pytest-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("create the pytest dir");
    let module_path = dir.join(file_name);
    std::fs::write(
        &module_path,
        format!("{}\n{module}", include_str!("consent.py")),
    )
    .expect("write the pytest module");
    let out_path = dir.join("out.json");
    let out = tokio::process::Command::new(python)
        .args(["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"])
        .arg(&module_path)
        .current_dir(&dir)
        .envs(env.iter().copied())
        .env("OUT", &out_path)
        .output()
        .await
        .expect("run pytest");
    let seen = std::fs::read_to_string(&out_path).unwrap_or_default();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "pytest failed:\n{}\n{}\nwhat the tests saw: {seen}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&seen)
        .unwrap_or_else(|e| panic!("pytest's module wrote no JSON ({e}): {seen}"))
}
