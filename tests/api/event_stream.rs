//! The push path of change events (issue 11): table stream → `events` function → EventBridge.
//!
//! - The stream is moto's real one (DynamoDB Streams `GetRecords`), read end to end.
//! - EventBridge is a local stand-in that speaks PutEvents and records what was published; it
//!   can refuse chosen entries, as EventBridge does with `ErrorCode`.
//! - Lambda's event source mapping is modelled by `deliver`: retry from the first failed
//!   record, bisect once retries run out, and send a lone failing record to the dead-letter queue.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::common::TestApp;
use scim_serverless::http::{App, Function};
use scim_serverless::protocol::events::{CREATE_FULL, DEACTIVATE, DELETE, PATCH_FULL};
use scim_serverless::service::admin::Admin;
use scim_serverless::store::{table, Store};
use scim_serverless::stream::Publisher;

// ---- A stand-in for EventBridge -------------------------------------------------------------

#[derive(Default)]
struct Bus {
    /// Every entry published, in order: (source, detail-type, detail).
    published: Vec<(String, String, Value)>,
    /// Entries to refuse, by jti: how many more times.
    refuse: BTreeMap<String, u32>,
    calls: usize,
}

impl Bus {
    fn jtis(&self) -> Vec<String> {
        self.published
            .iter()
            .map(|(_, _, detail)| detail["jti"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn put_events(&mut self, request: &Value) -> Value {
        self.calls += 1;
        let mut failed = 0;
        let entries: Vec<Value> = request["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let detail: Value =
                    serde_json::from_str(entry["Detail"].as_str().unwrap_or("null")).unwrap();
                let jti = detail["jti"].as_str().unwrap_or_default().to_string();
                if let Some(left) = self.refuse.get_mut(&jti).filter(|n| **n > 0) {
                    *left -= 1;
                    failed += 1;
                    return json!({"ErrorCode": "InternalFailure", "ErrorMessage": "stand-in refused it"});
                }
                self.published.push((
                    entry["Source"].as_str().unwrap_or_default().to_string(),
                    entry["DetailType"].as_str().unwrap_or_default().to_string(),
                    detail,
                ));
                json!({"EventId": ulid::Ulid::new().to_string()})
            })
            .collect();
        json!({"FailedEntryCount": failed, "Entries": entries})
    }
}

/// Serves PutEvents (JSON 1.1 over HTTP/1.1, keep-alive) on a local port.
async fn stand_in_bus() -> (Arc<Mutex<Bus>>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let bus = Arc::new(Mutex::new(Bus::default()));
    let shared = bus.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let bus = shared.clone();
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                while let Some(body) = read_request(&mut socket).await {
                    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let answer = bus.lock().unwrap().put_events(&request).to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if socket
                        .get_mut()
                        .write_all(response.as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (bus, url)
}

/// One HTTP/1.1 request's body, or `None` when the connection closed.
async fn read_request(socket: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if socket.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    socket.read_exact(&mut body).await.ok()?;
    Some(body)
}

fn publisher(url: &str) -> Publisher {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(url)
        .build();
    Publisher::new(
        aws_sdk_eventbridge::Client::from_conf(config),
        "scim-test-bus",
        "scim-serverless",
    )
}

// ---- Lambda's event source mapping, modelled --------------------------------------------------

const RETRIES: u32 = 2;

fn sequence(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap_or_default()
}

/// Delivers a batch as the mapping does with `ReportBatchItemFailures`, `MaximumRetryAttempts`
/// and `BisectBatchOnFunctionError`: a partial failure resumes from the first failed record;
/// when retries run out the batch is split in two, and a lone record goes to the DLQ.
async fn deliver(publisher: &Publisher, records: Vec<Value>, dead_letters: &mut Vec<Value>) {
    let mut pending = vec![records];
    while let Some(mut batch) = pending.pop() {
        let mut retries = 0;
        loop {
            let answer = publisher.handle(&json!({ "Records": batch })).await;
            let failed: BTreeSet<&str> = answer["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f["itemIdentifier"].as_str())
                .collect();
            let Some(first) = batch.iter().position(|r| failed.contains(sequence(r))) else {
                assert!(failed.is_empty(), "unknown failures: {answer}");
                break;
            };
            batch.drain(..first);
            if retries < RETRIES {
                retries += 1;
            } else if batch.len() == 1 {
                dead_letters.append(&mut batch);
                break;
            } else {
                let second = batch.split_off(batch.len() / 2);
                pending.push(second);
                pending.push(batch);
                break;
            }
        }
    }
}

// ---- The real stream, from moto -------------------------------------------------------------

/// One DynamoDB Streams call to the local endpoint (moto does not check signatures).
async fn streams_call(target: &str, body: Value) -> Value {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amz-target: DynamoDBStreams_20120810.{target}\r\n\
         authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut socket = TcpStream::connect(address).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{target}: {response}");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    serde_json::from_str(&body).unwrap()
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// Every record of the table's stream, oldest first, as Lambda's DynamoDB event records.
async fn stream_records(store: &Store) -> Vec<Value> {
    let arn = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("the table has a stream");
    let described = streams_call("DescribeStream", json!({"StreamArn": arn})).await;
    let mut records = Vec::new();
    for shard in described["StreamDescription"]["Shards"].as_array().unwrap() {
        let mut iterator = streams_call(
            "GetShardIterator",
            json!({"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .await["ShardIterator"]
            .clone();
        while let Some(current) = iterator.as_str().map(str::to_string) {
            let page = streams_call(
                "GetRecords",
                json!({"ShardIterator": current, "Limit": 1000}),
            )
            .await;
            let got = page["Records"].as_array().cloned().unwrap_or_default();
            if got.is_empty() {
                break;
            }
            records.extend(got);
            iterator = page["NextShardIterator"].clone();
        }
    }
    records
}

/// A tenant on a table of its own, so that its stream holds only this test's writes.
async fn app_on_own_table() -> TestApp {
    let table_name = format!(
        "{}-stream-{}",
        std::env::var("TABLE_NAME").unwrap_or_else(|_| "scim-test".into()),
        ulid::Ulid::new()
    );
    let store = Store::connect(None, &table_name).await;
    table::ensure_table(store.client(), store.table())
        .await
        .unwrap();
    let admin = Admin::new(store.clone(), "test");
    let tenant = admin.create_tenant("stream").await.unwrap().tenant_id;
    let created = admin
        .create_credential(&tenant, &crate::common::new_credential("stream"))
        .await
        .unwrap();
    TestApp {
        app: App::new(store, Function::All),
        tenant: tenant.to_string(),
        token: created.token,
    }
}

/// (event URI, resource id, version) of each event, as a consumer reads it from its type and
/// its SET. A delete's payload is empty (RFC 9967 §2.4.4), so it has no version.
fn changes(events: &[(String, Value)]) -> Vec<(String, String, Option<u64>)> {
    events
        .iter()
        .map(|(uri, set)| {
            let version = set["events"][uri]["version"].as_str().map(|v| {
                v.trim_start_matches("W/\"")
                    .trim_end_matches('"')
                    .parse()
                    .unwrap()
            });
            (
                uri.clone(),
                set["sub_id"]["id"].as_str().unwrap().to_string(),
                version,
            )
        })
        .collect()
}

#[tokio::test]
async fn an_entra_sync_reaches_the_bus_as_exactly_its_events() {
    let t = app_on_own_table().await;
    let ok = |r: crate::common::Resp| assert!(r.status < 300, "{:?}", r.body);
    let ann = t.user("ann").await;
    let bob = t.user("bob").await;
    let team = t.group("team", &[]).await;
    let patch = |path: String, ops: Value| {
        let t = &t;
        async move { t.patch(&path, ops).await }
    };
    ok(patch(
        format!("/Groups/{team}"),
        json!([{"op": "Add", "path": "members", "value": [{"value": ann}, {"value": bob}]}]),
    )
    .await);
    ok(patch(
        format!("/Users/{ann}"),
        json!([{"op": "Replace", "path": "userName", "value": "ann.new"}]),
    )
    .await);
    ok(patch(
        format!("/Users/{bob}"),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await);
    ok(patch(
        format!("/Groups/{team}"),
        json!([{"op": "Remove", "path": format!("members[value eq \"{bob}\"]")}]),
    )
    .await);
    ok(t.call("DELETE", &format!("/Users/{bob}"), None).await);

    let want = vec![
        (CREATE_FULL.to_string(), ann.clone(), Some(1)),
        (CREATE_FULL.to_string(), bob.clone(), Some(1)),
        (CREATE_FULL.to_string(), team.clone(), Some(1)),
        (PATCH_FULL.to_string(), team.clone(), Some(2)),
        (PATCH_FULL.to_string(), ann.clone(), Some(2)),
        (PATCH_FULL.to_string(), bob.clone(), Some(2)),
        (PATCH_FULL.to_string(), team.clone(), Some(3)),
        (DELETE.to_string(), bob.clone(), None),
    ];

    // Through the stream and the events function.
    let (bus, url) = stand_in_bus().await;
    let records = stream_records(t.store()).await;
    assert!(records.len() > want.len(), "the stream has other items too");
    let publisher = publisher(&url);
    let answer = publisher.handle(&json!({ "Records": records })).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let published = bus.lock().unwrap().published.clone();
    let details: Vec<Value> = published.iter().map(|(_, _, d)| d.clone()).collect();
    let typed: Vec<(String, Value)> = published
        .iter()
        .map(|(_, t, d)| (t.clone(), d.clone()))
        .collect();
    assert_eq!(changes(&typed), want);
    for (source, detail_type, detail) in &published {
        assert_eq!(source, "scim-serverless");
        assert!(detail["events"].get(detail_type).is_some(), "{detail}");
        assert_eq!(detail["txn"], detail["jti"]);
        assert!(detail["iss"].as_str().unwrap().ends_with("/scim/v2"));
    }
    assert_eq!(details[5]["events"][DEACTIVATE], json!({}));
    assert_eq!(
        details[6]["events"][PATCH_FULL]["members"]["removed"],
        json!([bob])
    );

    // Through the feed, as `scimctl events --json` prints it: the same events, same ids.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .args(["events", &t.tenant, "--json"])
        .env("TABLE_NAME", t.store().table())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = page["events"].as_array().unwrap();
    let feed: Vec<(String, Value)> = listed
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_string(), e["set"].clone()))
        .collect();
    assert_eq!(changes(&feed), want);
    let versions: Vec<u64> = listed
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(
        versions,
        [1, 1, 1, 2, 2, 2, 3, 2],
        "the feed names a delete's version too"
    );
    assert_eq!(
        listed.iter().map(|e| e["id"].clone()).collect::<Vec<_>>(),
        details.iter().map(|d| d["jti"].clone()).collect::<Vec<_>>()
    );
    assert!(page["nextCursor"].is_string());

    // Re-delivery: the same batch publishes the same ids again, and nothing else.
    publisher
        .handle(&json!({ "Records": stream_records(t.store()).await }))
        .await;
    let bus = bus.lock().unwrap();
    let jtis = bus.jtis();
    assert_eq!(jtis[..want.len()], jtis[want.len()..]);
}

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn sample_jtis(batch: &Value) -> Vec<String> {
    batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["eventName"] == "INSERT" && r["dynamodb"]["NewImage"]["kind"]["S"] == "Event")
        .filter_map(|r| r["dynamodb"]["NewImage"]["jti"]["S"].as_str())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_sample_batch_publishes_its_events_and_again_the_same_ids_when_replayed() {
    let batch = sample("events-stream-batch.json");
    let (bus, url) = stand_in_bus().await;
    let publisher = publisher(&url);
    for _ in 0..2 {
        let answer = publisher.handle(&batch).await;
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
    let bus = bus.lock().unwrap();
    let want = sample_jtis(&batch);
    assert!(want.len() >= 3, "the sample has events to publish");
    assert!(
        batch["Records"].as_array().unwrap().len() > want.len(),
        "and records to skip"
    );
    assert_eq!(bus.jtis(), [want.clone(), want].concat());
    let (first, second) = bus.published.split_at(bus.published.len() / 2);
    assert_eq!(first, second, "identical entries, ids and details alike");
}

#[tokio::test]
async fn a_poison_record_ends_in_the_dead_letter_queue_and_the_rest_is_published() {
    let batch = sample("events-stream-poison.json");
    let records = batch["Records"].as_array().unwrap().clone();
    const POISON: &str = "01KB2POISON000000000000000";
    let good: Vec<String> = sample_jtis(&batch)
        .into_iter()
        .filter(|jti| jti != POISON)
        .collect();
    let (bus, url) = stand_in_bus().await;
    // EventBridge also refuses one good entry twice: a transient failure, retried.
    bus.lock().unwrap().refuse.insert(good[0].clone(), 2);
    let publisher = publisher(&url);

    // One invocation: the poison and the refused entry are reported, the rest is published.
    let answer = publisher.handle(&batch).await;
    let failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    assert_eq!(failed.len(), 2, "{answer}");
    let published: BTreeSet<String> = bus.lock().unwrap().jtis().into_iter().collect();
    assert_eq!(published.len(), good.len() - 1);

    // Through the mapping: the poison alone reaches the dead-letter queue, every event the bus.
    let mut dead_letters = Vec::new();
    deliver(&publisher, records, &mut dead_letters).await;
    assert_eq!(dead_letters.len(), 1, "{dead_letters:#?}");
    assert_eq!(dead_letters[0]["dynamodb"]["NewImage"]["jti"]["S"], POISON);
    let published: BTreeSet<String> = bus.lock().unwrap().jtis().into_iter().collect();
    assert_eq!(published, good.into_iter().collect());
}

#[tokio::test]
async fn an_unreachable_bus_fails_every_record_for_a_retry() {
    // A port nothing listens on.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let batch = sample("events-stream-batch.json");
    let answer = publisher(&url).handle(&batch).await;
    let failed = answer["batchItemFailures"].as_array().unwrap().len();
    assert_eq!(failed, sample_jtis(&batch).len(), "{answer}");
}
