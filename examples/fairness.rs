//! Per-tenant fairness on the local stack: one tenant syncs at Entra's required pace (25 requests
//! a second) while another floods the same functions and table with as many requests as 32
//! concurrent clients can send. Prints the syncing tenant's latency and errors alone and under the
//! flood (`docs/operations.md`, "Per-tenant fairness"). Bounded: each phase runs 10 s.
//! `scripts/test.sh` runs it against its moto.
#[path = "../tests/api/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

const PHASE: Duration = Duration::from_secs(10);
const SYNC_RATE: u32 = 25;
const FLOODERS: usize = 32;

struct Sync {
    sent: usize,
    errors: usize,
    latencies_ms: Vec<f64>,
}

/// Entra's pattern at 25 requests a second: look a user up by userName, create it, patch it.
async fn sync(t: &common::TestApp, tag: &str) -> Sync {
    let mut out = Sync {
        sent: 0,
        errors: 0,
        latencies_ms: Vec::new(),
    };
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / SYNC_RATE);
    let mut id = String::new();
    while started.elapsed() < PHASE {
        tick.tick().await;
        let n = out.sent;
        let name = format!("{tag}{}@example.com", n / 3);
        let at = Instant::now();
        let r = match n % 3 {
            0 => {
                t.get(&format!("/Users?filter=userName eq \"{name}\""))
                    .await
            }
            1 => t.post("/Users", json!({"userName": name})).await,
            _ => {
                t.patch(
                    &format!("/Users/{id}"),
                    json!([{"op": "replace", "path": "active", "value": false}]),
                )
                .await
            }
        };
        out.latencies_ms.push(at.elapsed().as_secs_f64() * 1000.0);
        if n % 3 == 1 {
            id = r.body["id"].as_str().unwrap_or_default().to_string();
        }
        if r.status >= 400 {
            out.errors += 1;
        }
        out.sent += 1;
    }
    out
}

/// The other tenant: lists, searches and creates, back to back, until told to stop.
async fn flood(t: Arc<common::TestApp>, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let tasks = (0..FLOODERS).map(|worker| {
        let (t, stop, sent) = (t.clone(), stop.clone(), sent.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match i % 3 {
                    0 => t.get("/Users?count=100").await,
                    1 => t.get("/Users?filter=userName sw \"flood\"&count=50").await,
                    _ => {
                        t.post(
                            "/Users",
                            json!({"userName": format!("flood{worker}-{i}@example.com")}),
                        )
                        .await
                    }
                };
                i += 1;
                sent.fetch_add(1, Ordering::Relaxed);
            }
        })
    });
    futures::future::join_all(tasks).await;
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or(0.0)
}

fn row(label: &str, s: &mut Sync, flood: Option<f64>) -> String {
    s.latencies_ms.sort_by(f64::total_cmp);
    format!(
        "| {label} | {:.1} | {:.0} | {:.0} | {:.0} | {} | {} |",
        s.sent as f64 / PHASE.as_secs_f64(),
        percentile(&s.latencies_ms, 0.5),
        percentile(&s.latencies_ms, 0.99),
        s.latencies_ms.last().copied().unwrap_or(0.0),
        s.errors,
        flood.map_or("-".to_string(), |r| format!("{r:.0}")),
    )
}

#[tokio::main]
async fn main() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!(
            "set AWS_ENDPOINT_URL_DYNAMODB (scripts/test.sh does) to run the fairness benchmark"
        );
        std::process::exit(2);
    }
    let quiet = common::TestApp::new().await;
    let noisy = Arc::new(common::TestApp::new().await);
    let mut alone = sync(&quiet, "alone").await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let flooding = tokio::spawn(flood(noisy.clone(), stop.clone(), sent.clone()));
    let flood_started = Instant::now();
    let mut flooded = sync(&quiet, "flooded").await;
    stop.store(true, Ordering::Relaxed);
    let _ = flooding.await;
    let flood_rate = sent.load(Ordering::Relaxed) as f64 / flood_started.elapsed().as_secs_f64();
    println!(
        "A tenant syncing at {SYNC_RATE} requests/s, alone and while another tenant floods with \
         {FLOODERS} concurrent clients (one process, one local DynamoDB, {} s each)\n",
        PHASE.as_secs()
    );
    println!("| syncing tenant | requests/s | p50 ms | p99 ms | max ms | errors | flooding tenant, requests/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!("{}", row("alone", &mut alone, None));
    println!(
        "{}",
        row("while another floods", &mut flooded, Some(flood_rate))
    );
}
