//! IdP syncs under injected DynamoDB faults (`store::faults`): an Entra-style and an Okta-style
//! sync of 200 users and 20 groups, with creates, renames, member changes, deactivations and
//! deletes, at a 40% and a 60% fault rate. The simulated IdP retries 429 and 503 (as IdPs do) and
//! keeps a model of every acknowledged write. Then the faults go off and the test asserts:
//! - no answer was a 500, and every 429/503 carried `Retry-After`;
//! - every acknowledged write is there (each user and group read back against the model), and no
//!   failed write left anything behind (a retried create never meets its own name, a retried
//!   delete never finds the resource already gone);
//! - `Store::check` (the `scimctl check` oracle) finds no broken invariant;
//! - every committed change has exactly one change event and nothing else has one: each
//!   resource's events carry versions 1, 2, … up to its final version (a delete's event ends at
//!   the version deleted), each once, in order, and no event names a resource the IdP never had
//!   acknowledged;
//! - no request took longer than the Lambda timeout.
//!
//! `FAULT_SEED` replays a run; the figures go to `docs/reliability.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::common::{Resp, TestApp};
use scim_serverless::http::{App, Function};
use scim_serverless::service::admin::Admin;
use scim_serverless::store::{self, table, Fault, Faults, Store};

const USERS: usize = 200;
const GROUPS: usize = 20;
/// The functions' timeout in template.yaml.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(29);
/// Requests in flight at once, as an IdP's sync worker sends them.
const CONCURRENCY: usize = 8;
/// The simulated IdP gives up on a request after this many 429/503 answers. IdPs retry for
/// hours; at 60% faults, once the SDK's retry quota is spent, a three-call request succeeds only
/// about 6% of the time, so 60 attempts gave up about once in 50 requests' worth of bad luck
/// (seen in CI). 1,000 makes giving up a bug, not chance (0.94^1000 ≈ 1e-27).
const IDP_ATTEMPTS: u32 = 1000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Entra,
    Okta,
}

#[derive(Default, Debug)]
struct Figures {
    requests: u64,
    retried_answers: BTreeMap<u16, u64>,
    server_errors: Vec<String>,
    without_retry_after: u64,
    left_behind: Vec<String>,
    slowest: Duration,
    /// The most DynamoDB requests (SDK attempts included) one SCIM request made.
    most_dynamodb_requests: u32,
}

/// The simulated IdP: sends, retries 429 and 503, and records what it saw.
struct Idp {
    t: TestApp,
    figures: Mutex<Figures>,
}

impl Idp {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        for _ in 0..IDP_ATTEMPTS {
            let started = Instant::now();
            let request = self.t.request(method, path, body.as_ref());
            let (r, attempts) = self.t.send_counted(request).await;
            let took = started.elapsed();
            {
                let mut figures = self.figures.lock().unwrap();
                figures.requests += 1;
                figures.slowest = figures.slowest.max(took);
                figures.most_dynamodb_requests = figures.most_dynamodb_requests.max(attempts);
                match r.status {
                    429 | 503 => {
                        *figures.retried_answers.entry(r.status).or_default() += 1;
                        if r.header("retry-after").is_none() {
                            figures.without_retry_after += 1;
                        }
                    }
                    s if s >= 500 => {
                        figures
                            .server_errors
                            .push(format!("{method} {path}: {s} {}", r.body));
                        return r;
                    }
                    _ => return r,
                }
            }
            // IdPs wait the Retry-After seconds; the test keeps the spirit, not the second.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{method} {path}: still 429/503 after {IDP_ATTEMPTS} attempts");
    }

    /// A write that may have been retried: its final answer must be `want`, never the answer a
    /// half-applied earlier attempt would cause (`left_behind`).
    async fn write(&self, method: &str, path: &str, body: Option<Value>, want: u16) -> Resp {
        let r = self.send(method, path, body).await;
        // A PATCH that committed but could not read its members back answers 204 (RFC 7644
        // §3.5.2), which is success too.
        let succeeded = r.status == want || (method == "PATCH" && r.status == 204);
        if !succeeded {
            self.figures.lock().unwrap().left_behind.push(format!(
                "{method} {path}: {} (wanted {want}) {}",
                r.status, r.body
            ));
        }
        r
    }

    async fn patch(&self, path: &str, operations: Value) -> Resp {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.write("PATCH", path, Some(body), 200).await
    }
}

/// What the IdP believes, from the writes that were acknowledged.
#[derive(Default)]
struct Model {
    users: BTreeMap<String, (String, bool)>,
    groups: BTreeMap<String, (String, BTreeSet<String>)>,
    deleted: Vec<(String, String)>,
}

/// Each workload has a table of its own: moto reads a whole table for every Query, so a shared
/// one would make each workload as slow as all of them together.
async fn faults_table(workload: &str) -> Store {
    let table_name = format!(
        "{}-faults-{workload}",
        std::env::var("TABLE_NAME").unwrap_or_else(|_| "scim-test".into())
    );
    let store = Store::connect(None, &table_name).await;
    table::ensure_table(store.client(), store.table())
        .await
        .expect("create the fault table");
    store
}

/// A tenant and token made without faults, and a handler whose DynamoDB client has them.
async fn idp_with_faults(workload: &str, faults: Arc<Faults>) -> Idp {
    let clean = faults_table(workload).await;
    let admin = Admin::new(clean.clone(), "test");
    let tenant = admin
        .create_tenant("faults")
        .await
        .expect("tenant")
        .tenant_id;
    let created = admin
        .create_credential(&tenant, &crate::common::new_credential("faults"))
        .await
        .expect("token");
    let config = aws_config::from_env().load().await;
    let client = store::client_with_faults(&config, Some(faults));
    let app = App::new(Store::new(client, clean.table()), Function::All);
    Idp {
        t: TestApp {
            app,
            tenant: tenant.to_string(),
            token: created.token,
        },
        figures: Mutex::default(),
    }
}

fn user_body(style: Style, name: &str, n: usize) -> Value {
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "externalId": format!("ext-{n}"),
        "name": {"givenName": "User", "familyName": format!("Number{n}")},
        "displayName": format!("User {n}"),
        "emails": [{"value": name, "type": "work", "primary": true}],
        "active": true,
    });
    if style == Style::Okta {
        user["password"] = json!("Okta-initial-password-1");
    }
    user
}

async fn sync(style: Style, rate: f64, seed: u64) {
    scim_serverless::telemetry::init_tracing();
    let faults = Faults::new(rate, Duration::from_millis(20), seed);
    let domain = format!("{style:?}-{}", (rate * 100.0) as u32).to_lowercase();
    let domain = domain.as_str();
    let idp = idp_with_faults(domain, faults.clone()).await;
    let idp = &idp;
    let model = Mutex::new(Model::default());
    let model = &model;
    let started = Instant::now();

    // 1. Users: look up by userName, then create.
    stream::iter(0..USERS)
        .for_each_concurrent(CONCURRENCY, |n| async move {
            let name = format!("user{n}@{domain}.example.com");
            let found = idp
                .send(
                    "GET",
                    &format!("/Users?filter=userName eq \"{name}\""),
                    None,
                )
                .await;
            assert_eq!(found.body["totalResults"], 0, "{name}: {}", found.body);
            let r = idp
                .write("POST", "/Users", Some(user_body(style, &name, n)), 201)
                .await;
            if let Some(id) = r.body["id"].as_str() {
                model
                    .lock()
                    .unwrap()
                    .users
                    .insert(id.to_string(), (name, true));
            }
        })
        .await;
    let user_ids: Vec<String> = model.lock().unwrap().users.keys().cloned().collect();
    let user_ids = &user_ids;

    // 2. Groups: look up, create empty, then push members five at a time (group g gets every
    //    user whose position is g modulo 10: 20 members each, every user in two groups).
    stream::iter(0..GROUPS)
        .for_each_concurrent(CONCURRENCY, |g| async move {
            let name = format!("Group {g} {domain}");
            let found = idp
                .send(
                    "GET",
                    &format!("/Groups?filter=displayName eq \"{name}\"&excludedAttributes=members"),
                    None,
                )
                .await;
            assert_eq!(found.body["totalResults"], 0);
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name,
                "externalId": format!("gext-{g}"),
                "members": [],
            });
            let r = idp.write("POST", "/Groups", Some(body), 201).await;
            let Some(id) = r.body["id"].as_str().map(str::to_string) else {
                return;
            };
            model
                .lock()
                .unwrap()
                .groups
                .insert(id.clone(), (name, BTreeSet::new()));
            let members: Vec<&String> = user_ids.iter().skip(g % 10).step_by(10).collect();
            for chunk in members.chunks(5) {
                let values: Vec<Value> = chunk.iter().map(|m| json!({"value": m})).collect();
                let op = match style {
                    Style::Entra => json!([{"op": "Add", "path": "members", "value": values}]),
                    Style::Okta => json!([{"op": "add", "path": "members", "value": values}]),
                };
                if idp.patch(&format!("/Groups/{id}"), op).await.status / 100 == 2 {
                    let mut m = model.lock().unwrap();
                    if let Some(group) = m.groups.get_mut(&id) {
                        group.1.extend(chunk.iter().map(|s| s.to_string()));
                    }
                }
            }
        })
        .await;
    let group_ids: Vec<String> = model.lock().unwrap().groups.keys().cloned().collect();

    // 3. Renames and deactivations of users; renames of groups; member removals.
    stream::iter(user_ids.iter().enumerate().take(60))
        .for_each_concurrent(CONCURRENCY, |(n, id)| async move {
            let path = format!("/Users/{id}");
            let renamed = format!("renamed{n}@{domain}.example.com");
            let deactivate = n % 3 == 0;
            let r = match style {
                Style::Entra => {
                    let mut ops =
                        vec![json!({"op": "Replace", "path": "userName", "value": renamed})];
                    if deactivate {
                        ops.push(json!({"op": "Replace", "path": "active", "value": "False"}));
                    }
                    idp.patch(&path, Value::Array(ops)).await
                }
                Style::Okta => {
                    let mut user = user_body(style, &renamed, n);
                    user["active"] = json!(!deactivate);
                    idp.write("PUT", &path, Some(user), 200).await
                }
            };
            if r.status / 100 == 2 {
                model
                    .lock()
                    .unwrap()
                    .users
                    .insert(id.clone(), (renamed, !deactivate));
            }
        })
        .await;
    stream::iter(group_ids.iter().enumerate())
        .for_each_concurrent(CONCURRENCY, |(g, id)| async move {
            let path = format!("/Groups/{id}");
            let members: Vec<String> = model.lock().unwrap().groups[id]
                .1
                .iter()
                .take(3)
                .cloned()
                .collect();
            for member in &members {
                let op = match style {
                    Style::Entra => {
                        json!([{"op": "Remove", "path": "members", "value": [{"value": member}]}])
                    }
                    Style::Okta => {
                        json!([{"op": "remove", "path": format!("members[value eq \"{member}\"]")}])
                    }
                };
                if idp.patch(&path, op).await.status / 100 == 2 {
                    if let Some(group) = model.lock().unwrap().groups.get_mut(id) {
                        group.1.remove(member);
                    }
                }
            }
            if g % 4 == 0 {
                let name = format!("Renamed group {g} {domain}");
                let op = match style {
                    Style::Entra => {
                        json!([{"op": "Replace", "path": "displayName", "value": name}])
                    }
                    Style::Okta => {
                        json!([{"op": "replace", "value": {"id": id, "displayName": name}}])
                    }
                };
                if idp.patch(&path, op).await.status / 100 == 2 {
                    if let Some(group) = model.lock().unwrap().groups.get_mut(id) {
                        group.0 = name;
                    }
                }
            }
        })
        .await;

    // 4. Deletes: 20 users (members of groups) and 4 groups.
    let doomed_users: Vec<String> = user_ids.iter().rev().take(20).cloned().collect();
    let doomed_groups: Vec<String> = group_ids.iter().skip(1).step_by(5).cloned().collect();
    let deletes = doomed_users
        .iter()
        .map(|id| ("Users", id))
        .chain(doomed_groups.iter().map(|id| ("Groups", id)));
    stream::iter(deletes)
        .for_each_concurrent(CONCURRENCY, |(kind, id)| async move {
            let r = idp
                .write("DELETE", &format!("/{kind}/{id}"), None, 204)
                .await;
            if r.status == 204 {
                let mut m = model.lock().unwrap();
                m.users.remove(id);
                m.groups.remove(id);
                for group in m.groups.values_mut() {
                    group.1.remove(id);
                }
                m.deleted.push((kind.to_string(), id.clone()));
            }
        })
        .await;

    // 5. An import walk, as Okta pages: every user exactly once, with the true total.
    let mut walked = Vec::new();
    let mut start = 1;
    loop {
        let r = idp
            .send("GET", &format!("/Users?startIndex={start}&count=50"), None)
            .await;
        let page = crate::common::listed_ids(&r.body);
        let total = r.body["totalResults"].as_u64().unwrap_or(0) as usize;
        assert_eq!(total, model.lock().unwrap().users.len(), "{}", r.body);
        if page.is_empty() {
            break;
        }
        start += page.len();
        walked.extend(page);
    }
    let want: Vec<String> = model.lock().unwrap().users.keys().cloned().collect();
    walked.sort();
    assert_eq!(walked, want, "the walk under faults");
    let sync_time = started.elapsed();

    // Faults off: read everything back.
    faults.set_rate(0.0);
    let t = &idp.t;
    let model = std::mem::take(&mut *model.lock().unwrap());
    let mut lost = Vec::new();
    let mut groups_of: BTreeMap<&String, BTreeSet<&String>> = BTreeMap::new();
    for (gid, (_, members)) in &model.groups {
        for m in members {
            groups_of.entry(m).or_default().insert(gid);
        }
    }
    for (id, (name, active)) in &model.users {
        let r = t.get(&format!("/Users/{id}")).await;
        let groups: BTreeSet<&str> = r.body["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["value"].as_str())
            .collect();
        let want: BTreeSet<&str> = groups_of
            .get(id)
            .into_iter()
            .flatten()
            .map(|s| s.as_str())
            .collect();
        if r.status != 200
            || r.body["userName"] != *name
            || r.body["active"] != *active
            || groups != want
        {
            lost.push(format!(
                "user {id}: want {name} active={active} groups={want:?}, got {} {}",
                r.status, r.body
            ));
        }
    }
    for (id, (name, members)) in &model.groups {
        let r = t.get(&format!("/Groups/{id}")).await;
        let got: BTreeSet<String> = r.body["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["value"].as_str().map(str::to_string))
            .collect();
        if r.status != 200 || r.body["displayName"] != *name || &got != members {
            lost.push(format!(
                "group {id}: want {name} {members:?}, got {} {}",
                r.status, r.body
            ));
        }
    }
    for (kind, id) in &model.deleted {
        let r = t.get(&format!("/{kind}/{id}")).await;
        if r.status != 404 {
            lost.push(format!("{kind} {id} was deleted, GET says {}", r.status));
        }
    }
    let users_total = t.get("/Users?count=0").await.body["totalResults"].clone();
    let groups_total = t.get("/Groups?count=0").await.body["totalResults"].clone();
    if users_total != json!(model.users.len()) || groups_total != json!(model.groups.len()) {
        lost.push(format!(
            "totals: users {users_total} (want {}), groups {groups_total} (want {})",
            model.users.len(),
            model.groups.len()
        ));
    }
    let report = t
        .store()
        .check(&t.tenant_id(), false, |_| {})
        .await
        .expect("the checker runs");
    let event_problems = check_events(t, &model).await;

    let figures = idp.figures.lock().unwrap();
    let injected: Vec<String> = Fault::ALL
        .iter()
        .map(|f| format!("{} {}", f.name(), faults.injected(*f)))
        .collect();
    println!(
        "| {style:?} | {:.0}% | {} SCIM requests ({} users, {} groups left) | {} DynamoDB requests, {} failed by injection ({}) | 429: {}, 503: {} | 500s: {} | lost: {} | left behind: {} | invariant violations: {} | event problems: {} | slowest request {} ms, most DynamoDB requests {} | sync {:.1} s |",
        rate * 100.0,
        figures.requests,
        model.users.len(),
        model.groups.len(),
        faults.requests(),
        faults.failures(),
        injected.join(", "),
        figures.retried_answers.get(&429).unwrap_or(&0),
        figures.retried_answers.get(&503).unwrap_or(&0),
        figures.server_errors.len(),
        lost.len(),
        figures.left_behind.len(),
        report.problems.len(),
        event_problems.len(),
        figures.slowest.as_millis(),
        figures.most_dynamodb_requests,
        sync_time.as_secs_f64(),
    );
    assert!(
        figures.server_errors.is_empty(),
        "500s: {:#?}",
        figures.server_errors
    );
    assert_eq!(
        figures.without_retry_after, 0,
        "a 429/503 without Retry-After"
    );
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:#?}");
    assert!(
        figures.left_behind.is_empty(),
        "failed writes left state behind: {:#?}",
        figures.left_behind
    );
    assert_eq!(report.problems, vec![], "invariants broken: {report:#?}");
    assert!(
        event_problems.is_empty(),
        "change events not one per committed change: {event_problems:#?}"
    );
    assert!(
        figures.slowest < LAMBDA_TIMEOUT,
        "a request took {:?}",
        figures.slowest
    );
    assert!(
        faults.failures() > 0 && figures.retried_answers.values().sum::<u64>() > 0,
        "faults were injected and surfaced"
    );
    assert_eq!(model.users.len(), USERS - 20);
}

/// Each resource's change events against its committed versions (faults off).
async fn check_events(t: &TestApp, model: &Model) -> Vec<String> {
    use scim_serverless::protocol::events::{CREATE_FULL, DELETE};
    let mut by_resource: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = t
            .store()
            .list_events(&t.tenant_id(), after.as_deref(), None, (1000, usize::MAX))
            .await
            .expect("the feed reads");
        for e in &page.events {
            by_resource
                .entry(e.resource_id.to_string())
                .or_default()
                .push((e.uri.clone(), e.version.get()));
        }
        match page.last {
            Some(last) if !page.events.is_empty() => after = Some(last),
            _ => break,
        }
    }
    let deleted_last: BTreeMap<&String, u64> = model
        .deleted
        .iter()
        .map(|(_, id)| {
            let last = by_resource
                .get(id)
                .and_then(|events| events.last())
                .map_or(0, |(_, v)| *v);
            (id, last)
        })
        .collect();
    let mut problems = Vec::new();
    let mut expect = |id: &str, last: u64, deleted: bool| {
        let events = by_resource.remove(id).unwrap_or_default();
        let versions: Vec<u64> = events.iter().map(|(_, v)| *v).collect();
        let mut want: Vec<u64> = (1..=last).collect();
        if deleted {
            want.push(last);
        }
        let first_is_create = events.first().is_some_and(|(uri, _)| uri == CREATE_FULL);
        let last_is_delete = events.last().is_some_and(|(uri, _)| uri == DELETE);
        if versions != want || !first_is_create || last_is_delete != deleted {
            problems.push(format!("{id}: events {events:?}, want versions {want:?}"));
        }
    };
    let version = |r: &Resp| {
        r.body["meta"]["version"]
            .as_str()
            .and_then(|v| {
                v.trim_start_matches("W/\"")
                    .trim_end_matches('"')
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    for id in model.users.keys() {
        expect(id, version(&t.get(&format!("/Users/{id}")).await), false);
    }
    for id in model.groups.keys() {
        expect(id, version(&t.get(&format!("/Groups/{id}")).await), false);
    }
    for (id, last) in deleted_last {
        expect(id, last, true);
    }
    for (id, events) in by_resource {
        problems.push(format!(
            "{id} has events but was never acknowledged: {events:?}"
        ));
    }
    problems
}

fn seed() -> u64 {
    std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64);
            println!("FAULT_SEED={seed}");
            seed
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_sync_with_40_percent_faults() {
    sync(Style::Entra, 0.4, seed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_sync_with_40_percent_faults() {
    sync(Style::Okta, 0.4, seed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_sync_with_60_percent_faults() {
    sync(Style::Entra, 0.6, seed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_sync_with_60_percent_faults() {
    sync(Style::Okta, 0.6, seed()).await;
}
