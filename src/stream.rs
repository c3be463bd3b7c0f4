//! The `events` function: change events from the table's stream to EventBridge (issue 11).
//!
//! Every successful SCIM write puts one event item (`kind = Event`) in its own transaction
//! (`store/events.rs`). The table's stream hands each INSERT of such an item to this function,
//! which publishes the stored SET unchanged with `PutEvents`: `source` is `EVENT_SOURCE`,
//! `detail-type` the event URI, `detail` the SET. A re-delivered record publishes the same SET,
//! so the same `jti`: consumers de-duplicate on it.
//!
//! A record that cannot be published (malformed, too large, or refused by EventBridge) is
//! reported in `batchItemFailures`. The event source mapping then retries from it, bisects the
//! batch, and at last sends it to the dead-letter queue, so one bad record never blocks a shard
//! (`template.yaml`, docs/events.md).

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{json, Value};

use crate::store::keys::ItemKind;

/// PutEvents takes at most 10 entries a call...
pub const MAX_ENTRIES_PER_CALL: usize = 10;
/// ...and less than 256 KiB a call, which also bounds a single entry.
pub const MAX_CALL_BYTES: usize = 256 * 1024;

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0} is not set: the name of the event bus to publish to")]
    MissingBus(&'static str),
}

/// One event, ready for PutEvents.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub jti: String,
    /// The event URI: the write's own (`…:prov:create:full`, `…:prov:delete`, …).
    pub detail_type: String,
    /// The SET, as stored.
    pub detail: String,
}

impl Entry {
    /// The entry's size as EventBridge counts it (source, detail-type and detail bytes).
    fn size(&self, source: &str) -> usize {
        source.len() + self.detail_type.len() + self.detail.len()
    }
}

/// What one stream record asks of the publisher.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Not a new event item (the mapping's filter should already have dropped it).
    Skip,
    Publish(Entry),
    /// An event item that can never be published: it goes the way of failures, to the DLQ.
    Poison(String),
}

/// The record's stream sequence number: what `batchItemFailures` names.
pub fn sequence_number(record: &Value) -> Option<&str> {
    record.pointer("/dynamodb/SequenceNumber")?.as_str()
}

/// Reads one stream record (the Lambda DynamoDB event's `Records[i]`).
pub fn read_record(record: &Value, source: &str) -> Record {
    let image = record.pointer("/dynamodb/NewImage");
    let string = |name: &str| image?.get(name)?.get("S")?.as_str();
    let is_insert = record.get("eventName").and_then(Value::as_str) == Some("INSERT");
    if !is_insert || string("kind") != Some(ItemKind::Event.as_str()) {
        return Record::Skip;
    }
    let Some(raw) = string("set") else {
        return Record::Poison("the event item has no `set`".into());
    };
    let set: Value = match serde_json::from_str(raw) {
        Ok(set) => set,
        Err(e) => return Record::Poison(format!("the event's SET is not JSON: {e}")),
    };
    let Some(jti) = set.get("jti").and_then(Value::as_str) else {
        return Record::Poison("the event's SET has no `jti`".into());
    };
    let detail_type = match string("type") {
        Some(uri) => uri.to_string(),
        None => match set.get("events").and_then(Value::as_object) {
            Some(events) if !events.is_empty() => events.keys().next().cloned().unwrap_or_default(),
            _ => return Record::Poison("the event's SET has no `events`".into()),
        },
    };
    let entry = Entry {
        jti: jti.to_string(),
        detail_type,
        detail: raw.to_string(),
    };
    // EventBridge takes entries of less than 256 KiB.
    if entry.size(source) >= MAX_CALL_BYTES {
        return Record::Poison(format!(
            "the event is {} bytes, over EventBridge's {MAX_CALL_BYTES}",
            entry.size(source)
        ));
    }
    Record::Publish(entry)
}

/// Splits entries into PutEvents calls: at most 10 entries and 256 KiB each, in stream order.
pub fn calls<T>(entries: Vec<(T, Entry)>, source: &str) -> Vec<Vec<(T, Entry)>> {
    let mut calls: Vec<Vec<(T, Entry)>> = Vec::new();
    let mut bytes = 0;
    for (tag, entry) in entries {
        let size = entry.size(source);
        let fits = calls
            .last()
            .is_some_and(|call| call.len() < MAX_ENTRIES_PER_CALL && bytes + size < MAX_CALL_BYTES);
        if !fits {
            calls.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(call) = calls.last_mut() {
            call.push((tag, entry));
        }
    }
    calls
}

/// Publishes stream batches to one event bus.
pub struct Publisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
    source: String,
}

/// The default `source` of published entries.
pub const DEFAULT_SOURCE: &str = "scim-serverless";

impl Publisher {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: &str, source: &str) -> Self {
        Publisher {
            client,
            bus: bus.to_string(),
            source: source.to_string(),
        }
    }

    /// `EVENT_BUS_NAME` (required) and `EVENT_SOURCE`; the endpoint follows the SDK's own
    /// settings (`AWS_ENDPOINT_URL_EVENTBRIDGE` points it at a local stand-in).
    pub async fn from_env() -> Result<Self, PublishError> {
        let bus = std::env::var("EVENT_BUS_NAME")
            .ok()
            .filter(|b| !b.is_empty())
            .ok_or(PublishError::MissingBus("EVENT_BUS_NAME"))?;
        let source = std::env::var("EVENT_SOURCE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SOURCE.to_string());
        let config = crate::store::config_loader().load().await;
        Ok(Publisher::new(
            aws_sdk_eventbridge::Client::new(&config),
            &bus,
            &source,
        ))
    }

    /// Publishes one stream batch and answers which records failed (`batchItemFailures`).
    pub async fn handle(&self, batch: &Value) -> Value {
        let records = batch
            .get("Records")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut failed: Vec<String> = Vec::new();
        let mut pending = Vec::new();
        for record in records {
            // Without a sequence number a failure cannot be named; "" fails the whole batch,
            // which the mapping then bisects down to this record.
            let sequence = sequence_number(record).unwrap_or_default().to_string();
            match read_record(record, &self.source) {
                Record::Skip => {}
                Record::Publish(entry) => pending.push((sequence, entry)),
                Record::Poison(reason) => {
                    tracing::error!(sequence, reason, "poison stream record");
                    failed.push(sequence);
                }
            }
        }
        let poison = failed.len();
        let to_publish = pending.len();
        // After a call with a failure, the rest are not sent: Lambda resends from the first
        // failed record, so the later ones would be published twice, and out of order.
        for call in calls(pending, &self.source) {
            if failed.len() > poison {
                failed.extend(call.into_iter().map(|(sequence, _)| sequence));
                continue;
            }
            failed.extend(self.put(call).await);
        }
        let published = to_publish - (failed.len() - poison);
        tracing::info!(
            records = records.len(),
            failed = failed.len(),
            published,
            "stream batch"
        );
        json!({
            "batchItemFailures": failed
                .into_iter()
                .map(|sequence| json!({"itemIdentifier": sequence}))
                .collect::<Vec<_>>()
        })
    }

    /// One PutEvents call; returns the sequence numbers of the entries it did not publish.
    async fn put(&self, call: Vec<(String, Entry)>) -> Vec<String> {
        let entries = call
            .iter()
            .map(|(_, entry)| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(&self.source)
                    .detail_type(&entry.detail_type)
                    .detail(&entry.detail)
                    .build()
            })
            .collect::<Vec<_>>();
        let sequences = call
            .into_iter()
            .map(|(sequence, entry)| (sequence, entry.jti));
        match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(answer) => {
                let results = answer.entries();
                sequences
                    .enumerate()
                    .filter_map(|(i, (sequence, jti))| {
                        // Results come in request order; a missing one counts as not published.
                        let error = match results.get(i) {
                            Some(result) => result.error_code().map(str::to_string),
                            None => Some("no result".into()),
                        };
                        error.map(|code| {
                            tracing::warn!(sequence, jti, code, "entry not published");
                            sequence
                        })
                    })
                    .collect()
            }
            Err(e) => {
                let error = aws_sdk_eventbridge::error::DisplayErrorContext(&e).to_string();
                tracing::warn!(error, "PutEvents failed");
                sequences.map(|(sequence, _)| sequence).collect()
            }
        }
    }
}

/// The body of the `events` function's `main`.
pub async fn serve() -> Result<(), lambda_http::Error> {
    crate::telemetry::init_tracing();
    let publisher = Publisher::from_env().await?;
    let publisher = &publisher;
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<Value>| async move {
            Ok::<_, std::convert::Infallible>(publisher.handle(&event.payload).await)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, name: &str, set: Option<&str>) -> Value {
        let mut image = json!({"PK": {"S": "t#EVENTS"}, "kind": {"S": kind},
            "type": {"S": "urn:ietf:params:scim:event:prov:create:full"}});
        if let Some(set) = set {
            image["set"] = json!({"S": set});
        }
        json!({"eventName": name, "dynamodb": {"SequenceNumber": "100", "NewImage": image}})
    }

    #[test]
    fn only_inserted_event_items_are_published() {
        let set = r#"{"jti":"J1","events":{"urn:ietf:params:scim:event:prov:create:full":{}}}"#;
        match read_record(&record("Event", "INSERT", Some(set)), "s") {
            Record::Publish(entry) => {
                assert_eq!(entry.jti, "J1");
                assert_eq!(entry.detail, set);
                assert_eq!(
                    entry.detail_type,
                    "urn:ietf:params:scim:event:prov:create:full"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read_record(&record("Event", "REMOVE", Some(set)), "s"),
            Record::Skip
        );
        assert_eq!(
            read_record(&record("User", "INSERT", Some(set)), "s"),
            Record::Skip
        );
        assert_eq!(read_record(&json!({}), "s"), Record::Skip);
    }

    #[test]
    fn malformed_or_oversized_events_are_poison() {
        for set in [None, Some("{"), Some(r#"{"events":{}}"#)] {
            assert!(matches!(
                read_record(&record("Event", "INSERT", set), "s"),
                Record::Poison(_)
            ));
        }
        let huge = format!(r#"{{"jti":"J","pad":"{}"}}"#, "x".repeat(MAX_CALL_BYTES));
        assert!(matches!(
            read_record(&record("Event", "INSERT", Some(&huge)), "s"),
            Record::Poison(_)
        ));
    }

    #[test]
    fn calls_hold_at_most_ten_entries_and_256_kib() {
        let entry = |bytes: usize| Entry {
            jti: "J".into(),
            detail_type: "t".into(),
            detail: "x".repeat(bytes),
        };
        let sizes: Vec<usize> = calls((0..25).map(|i| (i, entry(10))).collect(), "s")
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
        let big = MAX_CALL_BYTES / 2;
        let sizes: Vec<usize> = calls((0..3).map(|i| (i, entry(big))).collect(), "s")
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [1, 1, 1]);
        assert!(calls(Vec::<(u8, Entry)>::new(), "s").is_empty());
    }
}
