//! Timing benchmark for rejected tokens: `cargo run --example auth_timing` sends malformed,
//! unknown and wrong-secret tokens, interleaved, to the handler against the configured DynamoDB
//! and prints latency percentiles per kind. Every kind does the same work (one GetItem and one
//! SHA-256), so the distributions should overlap; `tests/api/credentials.rs` asserts the same answer
//! and request count, this shows the time. `scripts/test.sh` runs it; nothing asserts on time.
#[path = "../tests/api/common/mod.rs"]
mod common;

use std::time::Instant;

use lambda_http::Body;
use scim_serverless::auth;

const ROUNDS: usize = 300;

#[tokio::main]
async fn main() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!(
            "set AWS_ENDPOINT_URL_DYNAMODB (scripts/test.sh does) to run the timing benchmark"
        );
        std::process::exit(2);
    }
    let t = common::TestApp::new().await;
    let listed = t
        .admin()
        .list_credentials(&t.tenant_id())
        .await
        .expect("list");
    let real_id = listed.credentials[0].id.to_string();
    let kinds = [
        ("malformed", "Bearer scimv2_not-a-token".to_string()),
        (
            "unknown credential",
            format!("Bearer {}", auth::issue().expect("rng").token),
        ),
        (
            "wrong secret",
            format!("Bearer {}{real_id}_{}", auth::TOKEN_PREFIX, "ab".repeat(32)),
        ),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); kinds.len()];
    // Warm the connection pool first, then interleave so drift hits every kind alike.
    for round in 0..ROUNDS + 20 {
        for (i, (_, header)) in kinds.iter().enumerate() {
            let request = t.raw_request(
                "GET",
                "/Users",
                Body::Empty,
                &[("authorization", header.as_str())],
            );
            let started = Instant::now();
            let response = t.app.handle(request).await;
            let micros = started.elapsed().as_secs_f64() * 1e6;
            assert_eq!(response.status().as_u16(), 401);
            if round >= 20 {
                samples[i].push(micros);
            }
        }
    }
    println!("Rejected-token latency, {ROUNDS} interleaved requests each (µs, handler against the local DynamoDB)\n");
    println!("| Token | p10 | median | p90 |\n|---|---:|---:|---:|");
    for ((name, _), times) in kinds.iter().zip(samples.iter_mut()) {
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} |",
            at(0.1),
            at(0.5),
            at(0.9)
        );
    }
}
