//! A real browser for the web UI tests: Debian's `chromium` driven by `playwright-core`, with
//! `axe-core` for accessibility checks, both from npm. The packages are installed on first use
//! under `~/.cache/roundtable-ci/npm-browser` (`.ci/run` installs them too), and chromium with
//! `apt-get` when it is missing and the tests run as root; anything missing otherwise fails
//! the test with what to install. Scripts (`tests/web/*.mjs`) run beside `node_modules` and
//! print one JSON object as their last line.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Mutex,
};

pub const PACKAGES: [&str; 2] = ["playwright-core@1.65.2", "axe-core@4.14.1"];
pub const CHROMIUM: &str = "/usr/bin/chromium";

static INSTALL: Mutex<()> = Mutex::new(());

fn installed(dir: &Path) -> bool {
    PACKAGES.iter().all(|p| {
        let (name, version) = p.rsplit_once('@').expect("name@version");
        std::fs::read_to_string(dir.join("node_modules").join(name).join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v["version"] == version)
    })
}

/// The directory with the npm packages installed and the shared module written beside them,
/// and chromium present.
pub fn browser_dir() -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !Path::new(CHROMIUM).exists() {
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        assert!(
            root,
            "{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        );
        for args in [
            &["update", "-qq"][..],
            &["install", "-y", "-qq", "chromium"][..],
        ] {
            let out = std::process::Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
                .expect("run apt-get");
            assert!(
                out.status.success(),
                "apt-get {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let dir = std::env::var("ROUNDTABLE_CI_BROWSER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&home).join(".cache/roundtable-ci/npm-browser"));
    if !installed(&dir) {
        std::fs::create_dir_all(&dir).expect("create the npm cache dir");
        let out = std::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--save-exact",
            ])
            .args(PACKAGES)
            .current_dir(&dir)
            .output()
            .expect("run npm (Node.js 20 and npm are needed for the browser tests)");
        assert!(
            out.status.success(),
            "npm install {PACKAGES:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(installed(&dir), "{PACKAGES:?} missing after npm install");
    }
    // Written under the lock, so no script reads it half-written.
    let shared = dir.join("roundtable-browser.mjs");
    if std::fs::read_to_string(&shared).ok().as_deref() != Some(SHARED) {
        let tmp = dir.join(format!(".roundtable-browser-{}.mjs", std::process::id()));
        std::fs::write(&tmp, SHARED).expect("write the shared browser module");
        std::fs::rename(&tmp, &shared).expect("place the shared browser module");
    }
    dir
}

/// What every browser script imports (`./roundtable-browser.mjs`): the browser, contexts,
/// axe-core, screenshots.
const SHARED: &str = include_str!("../web/browser.mjs");

/// Runs a browser script (its text) with `env`, and reads the JSON object it prints last. A
/// failing script fails the test with its output.
pub async fn run(name: &str, script: &str, env: &[(&str, String)]) -> serde_json::Value {
    let dir = tokio::task::spawn_blocking(browser_dir)
        .await
        .expect("install the browser packages");

    // ES modules resolve imports from the script's own directory: it lives beside node_modules.
    let path = dir.join(format!("{name}-{}.mjs", std::process::id()));
    std::fs::write(&path, script).expect("write the browser script");
    let out = tokio::process::Command::new("node")
        .arg(&path)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("CHROMIUM", CHROMIUM)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run node");
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser script {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the browser script printed no JSON ({e}):\n{stdout}"))
}

/// Where the browser tests write their screenshots: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}
