//! Counts DynamoDB round trips per SCIM request. An SDK interceptor bumps a task-local counter on
//! every attempt (retries included: each is a real round trip); `counted` scopes one counter to one
//! request. Outside a scope the interceptor does nothing.

use std::cell::Cell;
use std::future::Future;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;

tokio::task_local! {
    static REQUESTS: Cell<u32>;
}

#[derive(Debug, Default)]
pub struct CountRequests;

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let _ = REQUESTS.try_with(|n| n.set(n.get() + 1));
        Ok(())
    }
}

/// Runs `work`, returning its output and the number of DynamoDB requests it made.
pub async fn counted<F: Future>(work: F) -> (F::Output, u32) {
    REQUESTS
        .scope(Cell::new(0), async {
            let out = work.await;
            (out, REQUESTS.with(Cell::get))
        })
        .await
}
