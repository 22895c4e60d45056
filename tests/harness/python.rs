//! Python tools the tests run (aiosmtpd as an SMTP server, authlib as an OAuth client), from
//! one virtualenv under `~/.cache/roundtable-ci/venv`, installed from PyPI on first use
//! (`.ci/run` installs them too, so a CI run fails early if PyPI is unreachable).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Mutex,
};

/// Every package the tests use, pinned.
pub const PACKAGES: [&str; 3] = ["aiosmtpd==1.4.6", "authlib==1.9.6", "requests==2.34.2"];
/// What `PACKAGES` must make importable.
const IMPORTS: &str = "import aiosmtpd, authlib, requests";

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
