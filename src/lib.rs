//! A multi-tenant SCIM 2.0 service provider (RFC 7643, RFC 7644) for AWS Lambda and DynamoDB.
//!
//! Layers, each using only those above it in this list:
//! - [`domain`]: the domain's states as types (provisioning, credential status) and timestamps;
//! - [`protocol`]: SCIM itself, pure (schemas, filters, PATCH, projection, cursors, errors);
//! - [`store`]: DynamoDB, single-table, one key design per access pattern (no HTTP);
//! - [`auth`]: bearer tokens: issuing and authenticating them;
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

#[cfg(test)]
mod tests;
