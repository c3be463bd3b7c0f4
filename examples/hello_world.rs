//! The smallest `lambda_http` function: 200 and a fixed body for any request, no SDK client, no
//! logging. `scripts/perf.sh` builds it with the release profile and measures its start to first
//! response beside our functions: it is the baseline of the cold-start ratio in
//! docs/performance.md.

use lambda_http::{Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(lambda_http::service_fn(|_: Request| async {
        Response::builder()
            .status(200)
            .body(Body::from("hello"))
            .map_err(Error::from)
    }))
    .await
}
