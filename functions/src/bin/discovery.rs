//! Lambda function serving the Discovery routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scim_serverless::http::serve(scim_serverless::http::Function::Discovery).await
}
