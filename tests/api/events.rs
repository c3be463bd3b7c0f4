//! Every sample event in `events/` goes through its own function's handler against the local
//! DynamoDB, in an order that makes each one meaningful, so the files never rot.

use std::collections::BTreeSet;

use lambda_http::Body;
use serde_json::Value;

use scim_serverless::http::admin::AdminApp;
use scim_serverless::http::{App, Function};

/// (file, expected status), in the order a provisioning run would send them.
const SEQUENCE: &[(&str, u16)] = &[
    ("users-create", 201),
    ("users-get", 200),
    ("users-list-filter", 200),
    ("users-list-page", 200),
    ("users-search", 200),
    ("users-replace", 200),
    ("users-patch", 200),
    ("groups-create", 201),
    ("groups-get", 200),
    ("groups-get-without-members", 200),
    ("groups-list-filter", 200),
    ("groups-add-members", 200),
    ("groups-remove-member", 200),
    ("groups-rename", 200),
    ("groups-replace", 200),
    ("groups-delete", 204),
    ("users-delete", 204),
    ("discovery-service-provider-config", 200),
    ("discovery-schemas", 200),
    ("discovery-schema-user", 200),
    ("discovery-resource-types", 200),
    ("discovery-resource-type-user", 200),
];

/// The admin API's samples, as an operator would send them: create a tenant, turn provisioning on
/// (`{{TENANT}}` is the created one), look, and delete it.
const ADMIN_SEQUENCE: &[(&str, u16)] = &[
    ("admin-tenants-create", 201),
    ("admin-provisioning-enable", 201),
    ("admin-credentials-list", 200),
    ("admin-audit", 200),
    ("admin-tenant-delete", 200),
];

/// Sample stream batches for the `events` function: `tests/api/event_stream.rs` feeds them through it.
const STREAM_SAMPLES: &[&str] = &["events-stream-batch", "events-stream-poison"];

fn function_for(name: &str) -> Function {
    match name.split('-').next() {
        Some("users") => Function::Users,
        Some("groups") => Function::Groups,
        _ => Function::Discovery,
    }
}

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/events");

/// `events/{name}.json` with its `{{…}}` placeholders filled in, as the Lambda runtime would pass it.
fn load_event(name: &str, vars: &[(&str, String)]) -> lambda_http::Request {
    let mut text =
        std::fs::read_to_string(format!("{EVENTS}/{name}.json")).expect("readable event");
    for (placeholder, value) in vars {
        text = text.replace(placeholder, value);
    }
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{name}.json is not an API Gateway event: {e}"))
}

fn json_body(response: &lambda_http::Response<Body>) -> Value {
    match response.body() {
        Body::Text(s) => serde_json::from_str(s).expect("JSON body"),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn every_sample_event_is_served_by_its_function() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(EVENTS)
        .expect("events/ exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json").map(String::from))
        .collect();
    let exercised: BTreeSet<String> = SEQUENCE
        .iter()
        .chain(ADMIN_SEQUENCE)
        .map(|(n, _)| n.to_string())
        .chain(STREAM_SAMPLES.iter().map(|n| n.to_string()))
        .collect();
    assert_eq!(
        on_disk, exercised,
        "every file in events/ must be in SEQUENCE, ADMIN_SEQUENCE or STREAM_SAMPLES (and only those)"
    );

    let t = crate::common::TestApp::new().await;
    let mut vars = vec![
        ("{{TENANT}}", t.tenant.clone()),
        ("{{TOKEN}}", t.token.clone()),
    ];
    for (name, status) in SEQUENCE {
        let request = load_event(name, &vars);
        let app = App::new(t.store().clone(), function_for(name));
        let response = app.handle(request).await;
        let body = json_body(&response);
        assert_eq!(response.status().as_u16(), *status, "{name}: {body}");
        match *name {
            "users-create" => {
                vars.push((
                    "{{USER_ID}}",
                    body["id"].as_str().unwrap_or_default().to_string(),
                ));
                let location = response.headers()["location"].to_str().unwrap_or_default();
                assert!(
                    location
                        .starts_with("https://abc123example.execute-api.us-east-1.amazonaws.com/"),
                    "{location}"
                );
            }
            "groups-create" => vars.push((
                "{{GROUP_ID}}",
                body["id"].as_str().unwrap_or_default().to_string(),
            )),
            "users-list-filter" | "users-search" | "groups-list-filter" => {
                assert_eq!(body["totalResults"], 1, "{name}: {body}")
            }
            "users-patch" => assert_eq!(body["active"], false),
            "groups-add-members" | "groups-replace" => {
                assert_eq!(body["members"].as_array().map(Vec::len), Some(1), "{name}")
            }
            "groups-remove-member" => assert!(body.get("members").is_none(), "{name}: {body}"),
            "groups-get-without-members" => assert!(body.get("members").is_none()),
            _ => {}
        }
    }
}

#[tokio::test]
async fn every_admin_sample_event_is_served_by_the_admin_function() {
    let t = crate::common::TestApp::new().await;
    let app = AdminApp::new(t.store().clone());
    let mut tenant = String::new();
    for (name, status) in ADMIN_SEQUENCE {
        let request = load_event(name, &[("{{TENANT}}", tenant.clone())]);
        let response = app.handle(request).await;
        let body = json_body(&response);
        assert_eq!(response.status().as_u16(), *status, "{name}: {body}");
        match *name {
            "admin-tenants-create" => tenant = body["tenantId"].as_str().unwrap().to_string(),
            "admin-provisioning-enable" => assert!(body["token"].is_string()),
            "admin-credentials-list" => {
                assert_eq!(body["credentials"].as_array().map(Vec::len), Some(1))
            }
            "admin-audit" => {
                let by = &body["events"][0]["principal"];
                assert_eq!(
                    by, "arn:aws:sts::123456789012:assumed-role/scim-operators/alice",
                    "{body}"
                );
            }
            _ => assert_eq!(body["complete"], true),
        }
    }
}

#[tokio::test]
async fn a_function_does_not_serve_another_functions_routes() {
    let t = crate::common::TestApp::new().await;
    let app = App::new(t.store().clone(), Function::Groups);
    let response = app.handle(t.request("GET", "/Users", None)).await;
    assert_eq!(response.status().as_u16(), 404);
}
