//! The load generator: prepared requests sent at a fixed concurrency over kept-alive
//! connections, each one timed from send to the end of its answer.

use reqwest::{header::HeaderMap, Method};
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

/// One request, built (and signed) before the clock starts.
#[derive(Clone)]
pub struct Prepared {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Option<axum::body::Bytes>,
}

/// What one run measured.
pub struct Outcome {
    pub sent: usize,
    pub elapsed: Duration,
    /// Latencies of every request, sorted.
    pub latencies: Vec<Duration>,
    /// How many answers had each status (0: no answer).
    pub statuses: BTreeMap<u16, usize>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    /// Answers other than `expected`, as `status×count` (empty when all were as expected).
    pub fn unexpected(&self, expected: u16) -> String {
        self.statuses
            .iter()
            .filter(|(s, _)| **s != expected)
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A client with a pool as large as the concurrency, resolving `localhost` to the node.
pub fn client(node: SocketAddr, concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve("localhost", node)
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// Sends every request, `concurrency` at a time.
pub async fn run(client: &reqwest::Client, requests: Vec<Prepared>, concurrency: usize) -> Outcome {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(requests.len())));
    let statuses = Arc::new(Mutex::new(BTreeMap::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, requests, next) = (client.clone(), requests.clone(), next.clone());
        let (latencies, statuses) = (latencies.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut codes: BTreeMap<u16, usize> = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(r) = requests.get(i) else { break };
                let mut builder = client
                    .request(r.method.clone(), &r.url)
                    .headers(r.headers.clone());
                if let Some(body) = &r.body {
                    builder = builder.body(body.clone());
                }
                let began = Instant::now();
                let status = match builder.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        // The whole answer counts.
                        let _ = response.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                mine.push(began.elapsed());
                *codes.entry(status).or_default() += 1;
            }
            if let Ok(mut all) = latencies.lock() {
                all.extend(mine);
            }
            if let Ok(mut all) = statuses.lock() {
                for (code, n) in codes {
                    *all.entry(code).or_default() += n;
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = start.elapsed();
    let mut latencies = std::mem::take(&mut *latencies.lock().expect("latencies"));
    latencies.sort();
    let statuses = std::mem::take(&mut *statuses.lock().expect("statuses"));
    Outcome {
        sent: requests.len(),
        elapsed,
        latencies,
        statuses,
    }
}
