//! Injected DynamoDB faults, for tests and the local stack: an HTTP client in front of the SDK's
//! own that fails a share of requests *before they reach DynamoDB*, with the answers DynamoDB
//! really gives (throttling, server errors, transaction conflicts, unprocessed batch items), and
//! adds latency. The SDK parses them as real answers, so its retries and ours are what is tested.
//!
//! Off unless `SCIM_FAULT_RATE` (a fraction, e.g. `0.4`) or `SCIM_FAULT_LATENCY_MS` is set, or a
//! test builds the store with [`Faults`]. `docs/reliability.md` reports what it proves.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Value};

/// What an injected fault looks like to the SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttling,
    ProvisionedThroughputExceeded,
    InternalServerError,
    ServiceUnavailable,
    /// `TransactionCanceledException` with `TransactionConflict` for every action.
    TransactionConflict,
    /// A batch call answered with every key or item unprocessed.
    Unprocessed,
    /// The request goes through, late.
    Latency,
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::Throttling,
        Fault::ProvisionedThroughputExceeded,
        Fault::InternalServerError,
        Fault::ServiceUnavailable,
        Fault::TransactionConflict,
        Fault::Unprocessed,
        Fault::Latency,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttling => "ThrottlingException",
            Fault::ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException",
            Fault::InternalServerError => "InternalServerError",
            Fault::ServiceUnavailable => "ServiceUnavailable",
            Fault::TransactionConflict => "TransactionConflict",
            Fault::Unprocessed => "UnprocessedKeys/UnprocessedItems",
            Fault::Latency => "added latency",
        }
    }

    fn index(self) -> usize {
        Fault::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// The fault settings and what was injected. Shared: a test turns faults off by setting the rate
/// to 0 on the same value the client uses.
#[derive(Debug, Default)]
pub struct Faults {
    /// Share of requests that fail, in millionths.
    rate_ppm: AtomicU32,
    /// Upper bound of the latency added to a request picked for it.
    latency_ms: AtomicU32,
    rng: AtomicU64,
    requests: AtomicU64,
    injected: [AtomicU64; Fault::ALL.len()],
}

impl Faults {
    /// `rate` is the share of requests that fail (0.0–1.0); `latency` the most added to a delayed
    /// request (a share `rate` of the requests that do not fail are delayed).
    pub fn new(rate: f64, latency: Duration, seed: u64) -> Arc<Faults> {
        let faults = Faults {
            rng: AtomicU64::new(seed),
            ..Faults::default()
        };
        faults.set_rate(rate);
        faults.latency_ms.store(
            u32::try_from(latency.as_millis()).unwrap_or(u32::MAX),
            Ordering::Relaxed,
        );
        Arc::new(faults)
    }

    /// From `SCIM_FAULT_RATE`, `SCIM_FAULT_LATENCY_MS` and `SCIM_FAULT_SEED`; `None` when neither
    /// a rate nor a latency is set.
    pub fn from_env() -> Option<Arc<Faults>> {
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        let rate = number("SCIM_FAULT_RATE").unwrap_or(0.0);
        let latency = number("SCIM_FAULT_LATENCY_MS").unwrap_or(0.0);
        if rate <= 0.0 && latency <= 0.0 {
            return None;
        }
        let seed = number("SCIM_FAULT_SEED").map_or_else(seed_from_os, |s| s as u64);
        Some(Faults::new(
            rate,
            Duration::from_millis(latency.clamp(0.0, 60_000.0) as u64),
            seed,
        ))
    }

    pub fn set_rate(&self, rate: f64) {
        let ppm = (rate.clamp(0.0, 1.0) * 1_000_000.0).round() as u32;
        self.rate_ppm.store(ppm, Ordering::Relaxed);
    }

    /// Requests seen by the layer (every attempt of every DynamoDB call).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn injected(&self, fault: Fault) -> u64 {
        self.injected
            .get(fault.index())
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// Failed requests injected so far (latency not counted).
    pub fn failures(&self) -> u64 {
        Fault::ALL
            .iter()
            .filter(|f| **f != Fault::Latency)
            .map(|f| self.injected(*f))
            .sum()
    }

    /// A uniform random number (splitmix64): seeded, so a failing run can be replayed.
    fn next(&self) -> u64 {
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn chance(&self) -> bool {
        let rate = u64::from(self.rate_ppm.load(Ordering::Relaxed));
        rate > 0 && self.next() % 1_000_000 < rate
    }

    /// The fault for one request of `operation`, if any.
    fn pick(&self, operation: &str) -> Option<Fault> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let fault = if self.chance() {
            let specific = match operation {
                "TransactWriteItems" => Some(Fault::TransactionConflict),
                "BatchGetItem" | "BatchWriteItem" => Some(Fault::Unprocessed),
                _ => None,
            };
            let common = [
                Fault::Throttling,
                Fault::ProvisionedThroughputExceeded,
                Fault::InternalServerError,
                Fault::ServiceUnavailable,
            ];
            let choices = common.len() as u64 + u64::from(specific.is_some());
            let n = usize::try_from(self.next() % choices).unwrap_or(0);
            common.get(n).copied().or(specific)
        } else if self.latency_ms.load(Ordering::Relaxed) > 0 && self.chance() {
            Some(Fault::Latency)
        } else {
            None
        };
        if let Some(fault) = fault {
            if let Some(n) = self.injected.get(fault.index()) {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }
        fault
    }

    fn latency(&self) -> Duration {
        let most = u64::from(self.latency_ms.load(Ordering::Relaxed));
        Duration::from_millis(if most == 0 {
            0
        } else {
            self.next() % (most + 1)
        })
    }
}

fn seed_from_os() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// The SDK's HTTPS client (`store::tls`) behind the fault layer.
pub fn http_client(faults: Arc<Faults>) -> SharedHttpClient {
    let inner = super::tls::client();
    SharedHttpClient::new(FaultyClient { faults, inner })
}

#[derive(Debug)]
struct FaultyClient {
    faults: Arc<Faults>,
    inner: SharedHttpClient,
}

impl HttpClient for FaultyClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            faults: self.faults.clone(),
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    faults: Arc<Faults>,
    inner: SharedHttpConnector,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // "DynamoDB_20120810.TransactWriteItems" names the operation.
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit_once('.'))
            .map(|(_, op)| op.to_string())
            .unwrap_or_default();
        let fault = self.faults.pick(&operation);
        let delay = match fault {
            Some(Fault::Latency) => self.faults.latency(),
            _ => Duration::ZERO,
        };
        let answer = fault.and_then(|f| injected_answer(f, request.body().bytes()));
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match answer {
                Some((status, body)) => response(status, &body),
                None => inner.call(request).await,
            }
        })
    }
}

/// The status and body DynamoDB answers with for `fault` (`None`: the request goes through).
fn injected_answer(fault: Fault, body: Option<&[u8]>) -> Option<(u16, Value)> {
    let request: Value = body
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Value::Null);
    let error = |status: u16, code: &str, message: &str| {
        (
            status,
            json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
                "message": format!("{message} (injected fault)"),
            }),
        )
    };
    Some(match fault {
        Fault::Latency => return None,
        Fault::Throttling => error(400, "ThrottlingException", "Rate exceeded"),
        Fault::ProvisionedThroughputExceeded => error(
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded",
        ),
        Fault::InternalServerError => error(500, "InternalServerError", "Internal server error"),
        Fault::ServiceUnavailable => error(503, "ServiceUnavailable", "Service unavailable"),
        Fault::TransactionConflict => {
            let actions = request
                .get("TransactItems")
                .and_then(Value::as_array)
                .map_or(1, Vec::len);
            let reasons: Vec<Value> = (0..actions)
                .map(|_| json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}))
                .collect();
            (
                400,
                json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict] (injected fault)",
                    "CancellationReasons": reasons,
                }),
            )
        }
        Fault::Unprocessed => {
            let items = request.get("RequestItems").cloned().unwrap_or(json!({}));
            if request.get("RequestItems").is_some() && is_batch_get(&items) {
                (200, json!({"Responses": {}, "UnprocessedKeys": items}))
            } else {
                (200, json!({"UnprocessedItems": items}))
            }
        }
    })
}

/// BatchGetItem asks for `Keys`; BatchWriteItem sends lists of put and delete requests.
fn is_batch_get(items: &Value) -> bool {
    items
        .as_object()
        .is_some_and(|tables| tables.values().any(|t| t.get("Keys").is_some()))
}

fn response(status: u16, body: &Value) -> Result<HttpResponse, ConnectorError> {
    let status = StatusCode::try_from(status).map_err(|e| ConnectorError::other(e.into(), None))?;
    let mut response = HttpResponse::new(status, SdkBody::from(body.to_string()));
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_share_of_failed_requests_and_the_seed_replays_them() {
        let run = |seed| {
            let faults = Faults::new(0.4, Duration::ZERO, seed);
            let picks: Vec<_> = (0..10_000).map(|_| faults.pick("GetItem")).collect();
            (faults.failures(), picks)
        };
        let (failures, picks) = run(7);
        assert!((3_700..4_300).contains(&failures), "{failures}");
        assert_eq!(run(7).1, picks);
        assert_ne!(run(8).1, picks);
    }

    #[test]
    fn each_operation_gets_the_faults_dynamodb_gives_it() {
        let faults = Faults::new(1.0, Duration::ZERO, 1);
        for _ in 0..200 {
            faults.pick("TransactWriteItems");
            faults.pick("BatchGetItem");
            faults.pick("Query");
        }
        for fault in Fault::ALL {
            let seen = faults.injected(fault);
            assert_eq!(seen > 0, fault != Fault::Latency, "{fault:?}: {seen}");
        }
        faults.set_rate(0.0);
        assert_eq!(faults.pick("Query"), None);
    }

    #[test]
    fn answers_are_shaped_as_dynamodb_gives_them() {
        let transaction = json!({"TransactItems": [{}, {}, {}]}).to_string();
        let (status, body) =
            injected_answer(Fault::TransactionConflict, Some(transaction.as_bytes())).unwrap();
        assert_eq!(status, 400);
        assert_eq!(body["CancellationReasons"].as_array().unwrap().len(), 3);

        let get = json!({"RequestItems": {"t": {"Keys": [{"PK": {"S": "a"}}]}}}).to_string();
        let (_, body) = injected_answer(Fault::Unprocessed, Some(get.as_bytes())).unwrap();
        assert_eq!(body["UnprocessedKeys"]["t"]["Keys"][0]["PK"]["S"], "a");

        let write = json!({"RequestItems": {"t": [{"PutRequest": {}}]}}).to_string();
        let (_, body) = injected_answer(Fault::Unprocessed, Some(write.as_bytes())).unwrap();
        assert!(body["UnprocessedItems"]["t"].is_array());

        let (status, body) = injected_answer(Fault::ServiceUnavailable, None).unwrap();
        assert_eq!(status, 503);
        assert!(body["__type"]
            .as_str()
            .unwrap()
            .ends_with("#ServiceUnavailable"));
        assert_eq!(injected_answer(Fault::Latency, None), None);
    }
}
