//! Lambda function serving the Users routes.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scim_serverless::http::serve(scim_serverless::http::Function::Users).await
}
