//! Every SCIM request stays within its DynamoDB request budget (counted by the SDK interceptor).
mod common;

#[tokio::test]
async fn every_request_meets_its_dynamodb_request_target() {
    let rows = common::cost::measure().await;
    let table = common::cost::table(&rows);
    println!("{table}");
    for row in &rows {
        assert!(row.measured <= row.target, "over budget:\n{table}");
        assert!(
            row.measured >= 1,
            "nothing was counted for {}: is the interceptor installed?",
            row.request
        );
    }
}
