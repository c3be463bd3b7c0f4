//! One CloudWatch Embedded Metric Format (EMF) line per request on stdout: CloudWatch Logs turns
//! it into metrics in the `ScimServerless` namespace, by function (docs/operations.md, "Metrics").
//! Written only in Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) or with `SCIM_METRICS=1`;
//! `SCIM_METRICS=0` turns it off.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

pub const NAMESPACE: &str = "ScimServerless";

/// What one request measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics<'a> {
    /// `users`, `groups`, `discovery`, `admin` (`all` for a single local server).
    pub function: &'a str,
    /// The tenant in the path, when it is a well-formed id; a property, not a dimension.
    pub tenant: Option<&'a str>,
    pub status: u16,
    /// DynamoDB round trips, authentication and retries included.
    pub ddb_requests: u32,
    pub latency: Duration,
}

/// The EMF document of one request, stamped `timestamp_ms` (milliseconds since the epoch).
pub fn emf(m: &RequestMetrics<'_>, timestamp_ms: u64) -> Value {
    let count = |name: &str| json!({"Name": name, "Unit": "Count"});
    let flag = |on: bool| u8::from(on);
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [
                    count("Requests"),
                    count("DynamoDbRequests"),
                    {"Name": "Latency", "Unit": "Milliseconds"},
                    count("Status4xx"),
                    count("Status5xx"),
                    count("Status429"),
                ],
            }],
        },
        "Function": m.function,
        "Requests": 1,
        "DynamoDbRequests": m.ddb_requests,
        // Microsecond resolution is plenty; more digits are noise in the logs.
        "Latency": (m.latency.as_secs_f64() * 1_000_000.0).round() / 1_000.0,
        "Status4xx": flag((400..500).contains(&m.status)),
        "Status5xx": flag(m.status >= 500),
        "Status429": flag(m.status == 429),
        "tenant": m.tenant.unwrap_or("-"),
        "status": m.status,
    })
}

/// Whether this process writes metrics: in Lambda, or when `SCIM_METRICS=1` (`0`: never).
fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| match std::env::var("SCIM_METRICS").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some(),
    })
}

/// Writes the request's EMF line to stdout, if metrics are on. One `write_all` of a whole line
/// under the stdout lock, as the JSON log lines are written, so the two never interleave.
pub fn emit(m: &RequestMetrics<'_>) {
    if !enabled() {
        return;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let line = format!("{}\n", emf(m, now));
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(status: u16) -> RequestMetrics<'static> {
        RequestMetrics {
            function: "users",
            tenant: Some("01JTENANT0000000000000000"),
            status,
            ddb_requests: 3,
            latency: Duration::from_micros(41_250),
        }
    }

    #[test]
    fn a_request_is_one_emf_document_with_function_as_the_only_dimension() {
        let doc = emf(&metrics(201), 1_700_000_000_000);
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "ScimServerless",
                        "Dimensions": [["Function"]],
                        "Metrics": [
                            {"Name": "Requests", "Unit": "Count"},
                            {"Name": "DynamoDbRequests", "Unit": "Count"},
                            {"Name": "Latency", "Unit": "Milliseconds"},
                            {"Name": "Status4xx", "Unit": "Count"},
                            {"Name": "Status5xx", "Unit": "Count"},
                            {"Name": "Status429", "Unit": "Count"},
                        ],
                    }],
                },
                "Function": "users",
                "Requests": 1,
                "DynamoDbRequests": 3,
                "Latency": 41.25,
                "Status4xx": 0,
                "Status5xx": 0,
                "Status429": 0,
                "tenant": "01JTENANT0000000000000000",
                "status": 201,
            })
        );
        // One line: CloudWatch Logs reads one EMF document per log event.
        assert!(!doc.to_string().contains('\n'));
    }

    #[test]
    fn status_flags_count_4xx_429_and_5xx() {
        let flags = |status| {
            let doc = emf(&metrics(status), 0);
            (
                doc["Status4xx"].clone(),
                doc["Status429"].clone(),
                doc["Status5xx"].clone(),
            )
        };
        assert_eq!(flags(200), (json!(0), json!(0), json!(0)));
        assert_eq!(flags(404), (json!(1), json!(0), json!(0)));
        assert_eq!(flags(429), (json!(1), json!(1), json!(0)));
        assert_eq!(flags(500), (json!(0), json!(0), json!(1)));
    }

    #[test]
    fn every_metric_named_in_the_directive_has_a_value() {
        let doc = emf(&metrics(200), 0);
        let names = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(names.len(), 6);
        for metric in names {
            let name = metric["Name"].as_str().unwrap_or_default();
            assert!(doc[name].is_number(), "{name} has no value");
        }
        assert!(doc["Function"].is_string());
    }
}
