//! `cargo bench --bench cost`: prints DynamoDB requests per SCIM request against the local table.
#[path = "../tests/common/mod.rs"]
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
