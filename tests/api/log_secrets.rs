//! No log level leaks a secret: with `RUST_LOG=trace` through the functions' own filter
//! (`http::log_filter`), a full request cycle (a token, a password in a body, the SDK's items
//! with their hashes) leaves no token, secret hash or password in any log line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::TestApp;
use scim_serverless::telemetry::log_filter;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut out) = self.0.lock() {
            out.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn trace_logs_of_a_full_request_cycle_carry_no_token_hash_or_password() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter(log_filter(Some("trace")))
        .with_writer(move || writer.clone())
        .finish();
    let password = "Pa55word-that-must-never-be-logged";
    let mut oauth_secrets = Vec::new();
    let (token, hash) = tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let t = TestApp::new().await;
            let created = t
                .post("/Users", json!({"userName": "quiet", "password": password}))
                .await;
            assert_eq!(created.status, 201);
            let id = created.body["id"].as_str().unwrap().to_string();
            t.get(&format!("/Users/{id}")).await;
            t.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "password", "value": password}]))
                .await;
            t.get("/Users?filter=userName eq \"quiet\"").await;
            assert_eq!(t.status_with("scimv2_bogus").await, 401);
            // The events the capped crates would log: kept out whatever their level.
            tracing::trace!(target: "lambda_runtime", "raw event with Authorization: Bearer {}", t.token);
            tracing::debug!(target: "aws_smithy_runtime", "response body {}", t.token);
            tracing::info!(target: "scim_serverless", "capture works");
            // An OAuth client's secret, and the access token it gets, used on SCIM.
            let client = t
                .admin()
                .create_client(&t.tenant_id(), &Default::default())
                .await
                .unwrap();
            let form = format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                client.client_id,
                client.client_secret.as_deref().unwrap_or_default()
            );
            let request = crate::common::token_request(&t.tenant, &form, &[]);
            let issued = crate::common::resp(t.app.handle(request).await);
            let access = issued.body["access_token"].as_str().unwrap().to_string();
            assert_eq!(t.status_with(&access).await, 200);
            oauth_secrets.extend(client.client_secret.into_iter().chain([access]));
            // A federated exchange: the assertion, its signature, and the token it gets.
            let idp = crate::common::idp::TestIdp::start().await;
            let federated = crate::common::idp::federated_client(&t, &idp, false).await;
            let app = t.app.clone().with_federation(crate::common::idp::LOCAL);
            let assertion = idp.rsa.sign(&idp.entra_claims());
            let form = crate::common::idp::assertion_form(&federated.client_id, &assertion);
            let issued = crate::common::resp(
                app.handle(crate::common::token_request(&t.tenant, &form, &[])).await,
            );
            let access = issued.body["access_token"].as_str().unwrap().to_string();
            assert_eq!(t.status_with(&access).await, 200);
            let signature = assertion.rsplit('.').next().unwrap().to_string();
            oauth_secrets.extend([assertion, signature, access]);
            let credentials = t.store().list_credentials(&t.tenant_id()).await.unwrap();
            (t.token.clone(), credentials[0].secret_hash.clone())
        })
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("capture works"), "the capture saw nothing");
    assert!(
        logs.contains("\"request\""),
        "the request lines were captured"
    );
    let secret = token.rsplit('_').next().unwrap();
    for (what, needle) in [
        ("token", token.as_str()),
        ("token secret", secret),
        ("secret hash", &hash),
        ("password", password),
    ] {
        assert!(!logs.contains(needle), "the logs carry the {what}");
    }
    assert_eq!(oauth_secrets.len(), 5);
    for secret in &oauth_secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "the logs carry an OAuth secret, assertion or access token"
        );
    }
}
