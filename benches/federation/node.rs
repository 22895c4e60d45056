//! A real node for the benchmark: the `roundtable` binary as a process, on a fresh database
//! (a SQLite file, or a new PostgreSQL database dropped afterwards), set up through its CLI.

use sea_orm::{ConnectionTrait, Database};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A database for one run; removed on drop.
pub struct BenchDb {
    pub url: String,
    postgres: Option<(String, String)>,
}

impl BenchDb {
    pub async fn create(backend: Backend, work: &Path, admin_url: &str) -> BenchDb {
        match backend {
            Backend::Sqlite => BenchDb {
                url: format!("sqlite://{}/bench.db?mode=rwc", work.display()),
                postgres: None,
            },
            Backend::Postgres => {
                let name = format!("rt_bench_{}_{}", std::process::id(), rand::random::<u32>());
                let admin = Database::connect(admin_url)
                    .await
                    .expect("connect to PostgreSQL (BENCH_POSTGRES_URL)");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create the benchmark database");
                admin.close().await.ok();
                let mut url = url::Url::parse(admin_url).expect("PostgreSQL URL");
                url.set_path(&format!("/{name}"));
                BenchDb {
                    url: url.to_string(),
                    postgres: Some((admin_url.to_string(), name)),
                }
            }
        }
    }

    pub async fn drop_database(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                admin.close().await.ok();
            }
        }
    }
}

/// A `roundtable serve` process.
pub struct NodeProcess {
    pub addr: SocketAddr,
    pub base: String,
    bin: PathBuf,
    work: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl NodeProcess {
    /// Configures a node (nothing runs yet). The per-host inbox rate limit is lifted, as the
    /// load comes from one peer; everything else is the default configuration.
    pub fn new(bin: &Path, work: &Path, db_url: &str) -> NodeProcess {
        let port = free_port();
        let domain = format!("localhost:{port}");
        let env = [
            ("INSTANCE__DOMAIN", domain.clone()),
            ("HTTP__BIND", format!("127.0.0.1:{port}")),
            ("DATABASE__URL", db_url.to_string()),
            ("FEDERATION__DEBUG", "true".into()),
            ("FEDERATION__INBOX_RATE_PER_MINUTE", "0".into()),
            ("LOG__FILTER", "warn".into()),
            ("EMAIL__OUTBOX_DIR", work.join("mail").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (format!("ROUNDTABLE__{k}"), v))
        .collect();
        NodeProcess {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            base: format!("http://{domain}"),
            bin: bin.to_path_buf(),
            work: work.to_path_buf(),
            env,
            child: None,
        }
    }

    /// Runs a CLI command of the node (same settings), returning its standard output.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write;
        let mut child = Command::new(&self.bin)
            .args(args)
            .current_dir(&self.work)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the roundtable CLI");
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            let _ = input.write_all(text.as_bytes());
        }
        let out = child.wait_with_output().expect("CLI output");
        assert!(
            out.status.success(),
            "roundtable {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Starts `roundtable serve` and returns the time until `/readyz` first answers 200.
    pub async fn start(&mut self) -> Duration {
        let log = std::fs::File::create(self.work.join("node.log")).expect("log file");
        let began = Instant::now();
        let child = Command::new(&self.bin)
            .arg("serve")
            .current_dir(&self.work)
            .envs(self.env.iter().cloned())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start roundtable serve");
        self.child = Some(child);
        let client = reqwest::Client::builder()
            .resolve("localhost", self.addr)
            .build()
            .expect("client");
        let ready = format!("{}/readyz", self.base);
        while began.elapsed() < Duration::from_secs(60) {
            if let Ok(r) = client.get(&ready).send().await {
                if r.status().is_success() {
                    return began.elapsed();
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!(
            "the node did not become ready; see {}/node.log",
            self.work.display()
        );
    }

    /// Resident set size now and at its peak, in MiB (from /proc).
    pub fn rss_mib(&self) -> (f64, f64) {
        let Some(pid) = self.child.as_ref().map(|c| c.id()) else {
            return (0.0, 0.0);
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
                .unwrap_or(0.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
