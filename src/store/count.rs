//! Counts DynamoDB round trips per SCIM request. An SDK interceptor bumps a task-local counter on
//! every attempt (retries included: each is a real round trip); `counted` scopes one counter to one
//! request. Outside a scope the interceptor does nothing.

use std::cell::Cell;
use std::future::Future;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::Output;

tokio::task_local! {
    static REQUESTS: Cell<u32>;
    static ITEMS: Cell<u64>;
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

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Ok(output)) = context.inner().output_or_error() {
            let read = items_read(output);
            let _ = ITEMS.try_with(|n| n.set(n.get() + read));
        }
        Ok(())
    }
}

/// Items a read examined: a Query's scanned items (a COUNT query's too), a batch's or a
/// GetItem's items found.
fn items_read(output: &Output) -> u64 {
    if let Some(q) = output.downcast_ref::<QueryOutput>() {
        return u64::try_from(q.scanned_count).unwrap_or(0);
    }
    if let Some(b) = output.downcast_ref::<BatchGetItemOutput>() {
        return b
            .responses()
            .map_or(0, |r| r.values().map(|items| items.len() as u64).sum());
    }
    if let Some(g) = output.downcast_ref::<GetItemOutput>() {
        return u64::from(g.item.is_some());
    }
    0
}

/// Runs `work`, returning its output and the number of items its DynamoDB reads examined (for
/// the list benchmark).
pub async fn counted_items<F: Future>(work: F) -> (F::Output, u64) {
    ITEMS
        .scope(Cell::new(0), async {
            let out = work.await;
            (out, ITEMS.with(Cell::get))
        })
        .await
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
