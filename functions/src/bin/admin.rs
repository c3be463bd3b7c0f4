//! The admin API Lambda (`/admin/...`, AWS_IAM authorization).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scim_serverless::http::admin::serve().await
}
