//! The fault-injection syncs (docs/reliability.md), in a binary of their own: they inject
//! timeouts and throttling into the SDK and measure what an IdP sees, so they run alone, after
//! `tests/api`, rather than beside tests that would compete for the local DynamoDB.

#[path = "../api/common/mod.rs"]
mod common;
mod faults;
