//! Lambda function publishing the table's change events to EventBridge (DynamoDB stream source).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scim_serverless::stream::serve().await
}
