//! The request-count benchmark: `cargo run --example cost_table` prints DynamoDB requests per SCIM
//! request against the configured DynamoDB endpoint (`scripts/test.sh` runs it). It counts requests,
//! not time, so it is built like the tests (dev profile) and shares their build.
#[path = "../tests/api/common/mod.rs"]
mod common;

#[tokio::main]
async fn main() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("set AWS_ENDPOINT_URL_DYNAMODB (scripts/test.sh does) to run the cost benchmark");
        std::process::exit(2);
    }
    let rows = common::cost::measure().await;
    println!("DynamoDB requests per SCIM request (auth GetItem not counted)\n");
    print!("{}", common::cost::table(&rows));
}
