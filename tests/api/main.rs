//! Everything that talks to DynamoDB (the local moto through `scripts/test.sh`), in one binary:
//! each test gets its own tenant from `common::TestApp`, or its own table where it scans one.

mod common;

mod admin_api;
mod admin_wire;
mod auth_and_errors;
mod change_events;
mod check;
mod concurrency;
mod cost;
mod credentials;
mod event_stream;
mod events;
mod groups;
mod http_fuzz;
mod idp_sequences;
mod lists;
mod log_secrets;
mod oauth_clients;
mod oauth_federation;
mod oauth_tokens;
mod panics;
mod planner_property;
mod scimctl;
mod token_fuzz;
mod users;
mod writes;
