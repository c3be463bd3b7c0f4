//! A multi-tenant SCIM 2.0 service provider (RFC 7643, RFC 7644) for AWS Lambda and DynamoDB.
//!
//! - [`protocol`]: SCIM itself, pure (schemas, filters, PATCH, projection, errors);
//! - [`service`]: the use cases between HTTP and the store (lists and searches);
//! - [`store`]: DynamoDB, single-table (no HTTP);
//! - [`auth`]: bearer tokens;
//! - [`http`]: the Lambda handler gluing them together;
//! - [`stream`]: the `events` function, change events from the table's stream to EventBridge.

// No panic reachable from input: outside tests, fail with a typed error instead. The Lambda
// mains (src/bin) only call `http::serve` or `stream::serve`; scimctl, which has logic of its own, denies the same.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod admin;
pub mod auth;
pub mod http;
pub mod protocol;
pub mod service;
pub mod store;
pub mod stream;
