//! A multi-tenant SCIM 2.0 service provider (RFC 7643, RFC 7644) for AWS Lambda and DynamoDB.
//!
//! Layers, each using only those above it in this list:
//! - [`domain`]: the domain's states as types (provisioning, credential status) and timestamps;
//! - [`protocol`]: SCIM itself, pure (schemas, filters, PATCH, projection, cursors, errors);
//! - [`store`]: DynamoDB, single-table, one key design per access pattern (no HTTP);
//! - [`auth`]: bearer tokens: issuing and authenticating them;
//! - [`federation`]: OAuth client assertions (RFC 7523): one JWT checked against a key, and the
//!   IdPs' keys (JWKS) fetched and cached;
//! - [`service`]: every use case, SCIM and administration: typed commands in, typed values out;
//! - [`telemetry`]: the JSON log set-up every function shares;
//! - [`http`]: the Lambda handlers: parse, call the service, render;
//! - [`stream`]: the `events` function, change events from the table's stream to EventBridge.

// No panic reachable from input: outside tests, fail with a typed error instead. The Lambda
// mains (functions/) only call `http::serve` or `stream::serve`; scimctl, which has logic of its
// own, denies the same.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod auth;
pub mod domain;
pub mod federation;
pub mod http;
pub mod protocol;
pub mod service;
pub mod store;
pub mod stream;
pub mod telemetry;

/// Whether this process is a deployed Lambda function. `LAMBDA_TASK_ROOT` is one of Lambda's
/// reserved variables (a function's configuration cannot set it), and `cargo lambda watch`,
/// which sets `AWS_LAMBDA_FUNCTION_NAME` for the local stack, does not set it.
pub fn deployed() -> bool {
    std::env::var_os("LAMBDA_TASK_ROOT").is_some()
}

#[cfg(test)]
mod tests;
