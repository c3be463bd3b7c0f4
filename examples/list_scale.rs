//! The list benchmark: `cargo run --example list_scale` seeds 1,000 and 10,000 users straight into
//! the table (in batches) and walks them by index (`startIndex`/`count=100`) and by cursor,
//! printing DynamoDB requests, items read and time per page. It fails (exit 1) unless each walk
//! returns every user exactly once at no more than 3 requests a page. `scripts/test.sh` runs it
//! against the local DynamoDB; times there are moto's, so read them as relative.
#[path = "../tests/api/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::time::Instant;

use common::TestApp;
use scim_serverless::protocol::resource::ResourceKind;
use scim_serverless::store::counted_items;
use serde_json::{json, Map, Value};

const PAGE: usize = 100;

struct Measured {
    status: u16,
    body: Value,
    requests: u32,
    items: u64,
    ms: f64,
}

async fn measure(t: &TestApp, path: &str) -> Measured {
    let started = Instant::now();
    let ((resp, requests), items) =
        counted_items(t.send_counted(t.request("GET", path, None))).await;
    Measured {
        status: resp.status,
        body: resp.body,
        requests,
        items,
        ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

fn row(users: usize, walk: &str, at: &str, m: &Measured) {
    println!(
        "| {users:>6} | {walk:<28} | {at:>7} | {:>8} | {:>10} | {:>8.1} |",
        m.requests, m.items, m.ms
    );
}

/// Seeds `n` users and walks them both ways; returns the worst requests per page seen.
async fn scenario(n: usize, report_at: &[usize]) -> Result<u32, String> {
    let t = TestApp::new().await;
    let started = Instant::now();
    let users: Vec<Map<String, Value>> = (0..n)
        .map(|i| {
            let mut attributes = Map::new();
            attributes.insert(
                "schemas".into(),
                json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
            );
            attributes.insert("userName".into(), json!(format!("user{i:05}@example.com")));
            attributes.insert("displayName".into(), json!(format!("User {i}")));
            attributes.insert("active".into(), json!(true));
            attributes
        })
        .collect();
    let seeded: BTreeSet<String> = t
        .store()
        .import(&t.tenant_id(), ResourceKind::User, users)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|u| u.id.to_string())
        .collect();
    eprintln!(
        "seeded {n} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut worst = 0;
    // Index paging, page after page, as Okta and Entra walk.
    let mut seen = Vec::new();
    let mut start = 1;
    while start <= n {
        let m = measure(&t, &format!("/Users?startIndex={start}&count={PAGE}")).await;
        if m.status != 200 || m.body["totalResults"] != json!(n) {
            return Err(format!("index page at {start}: {} {}", m.status, m.body));
        }
        worst = worst.max(m.requests);
        if report_at.contains(&start) {
            row(n, "index, walking forward", &start.to_string(), &m);
        }
        let page = common::listed_ids(&m.body);
        if page.is_empty() {
            break;
        }
        start += page.len();
        seen.extend(page);
    }
    check(n, "index", &seen, &seeded)?;

    // A jump straight to a deep page of a query never paged before (sorted by id: same order,
    // another query, so no bookmark).
    for at in report_at.iter().filter(|a| **a > 1) {
        let m = measure(
            &t,
            &format!("/Users?startIndex={at}&count={PAGE}&sortBy=id"),
        )
        .await;
        if m.status == 200 {
            row(n, "index, jump (no bookmark)", &at.to_string(), &m);
        } else {
            println!(
                "| {n:>6} | {:<28} | {at:>7} | {:>8} | {:>10} | {:>8} |",
                "index, jump (no bookmark)",
                m.requests,
                format!("{} {}", m.status, "→cursor"),
                "-"
            );
        }
    }

    // Cursor paging.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut position = 1;
    loop {
        let m = measure(&t, &format!("/Users?count={PAGE}&cursor={cursor}")).await;
        if m.status != 200 {
            return Err(format!(
                "cursor page at {position}: {} {}",
                m.status, m.body
            ));
        }
        // The first cursor page also reads the signing key, once per process.
        if position > 1 {
            worst = worst.max(m.requests);
        }
        if report_at.contains(&position) {
            row(n, "cursor", &position.to_string(), &m);
        }
        let page = common::listed_ids(&m.body);
        position += page.len();
        seen.extend(page);
        match m.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    check(n, "cursor", &seen, &seeded)?;
    Ok(worst)
}

fn check(n: usize, walk: &str, seen: &[String], seeded: &BTreeSet<String>) -> Result<(), String> {
    let unique: BTreeSet<&String> = seen.iter().collect();
    if seen.len() != n || unique.len() != n || unique.iter().any(|id| !seeded.contains(*id)) {
        return Err(format!(
            "{walk} walk over {n} users returned {} ({} distinct)",
            seen.len(),
            unique.len()
        ));
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("set AWS_ENDPOINT_URL_DYNAMODB (scripts/test.sh does) to run the list benchmark");
        std::process::exit(2);
    }
    println!("List pages of {PAGE}: DynamoDB requests (auth not counted), items read, time\n");
    println!(
        "| {:>6} | {:<28} | {:>7} | {:>8} | {:>10} | {:>8} |",
        "users", "walk", "page at", "requests", "items read", "ms"
    );
    println!(
        "|{:-<8}|{:-<30}|{:-<9}|{:-<10}|{:-<12}|{:-<10}|",
        "", "", "", "", "", ""
    );
    let mut worst = 0;
    for (n, at) in [
        (1_000, vec![1, 501, 901]),
        (10_000, vec![1, 1_901, 5_001, 9_901]),
    ] {
        match scenario(n, &at).await {
            Ok(w) => worst = worst.max(w),
            Err(e) => {
                eprintln!("FAILED: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("\nMost requests of any page in every walk: {worst}");
    if worst > 3 {
        eprintln!("FAILED: a page took {worst} requests (target: 3)");
        std::process::exit(1);
    }
}
