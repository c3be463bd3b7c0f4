//! A panic stops at its request: the request is answered 500 and the instance serves the next one
//! (the release profile unwinds; see docs/architecture.md, "Panics").

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use lambda_http::{Body, Response};

use super::response;
use crate::protocol::ScimError;

/// Runs `work`; if it panics, logs the panic and returns `on_panic()` instead.
///
/// `AssertUnwindSafe`: a request's state lives in its own future and is dropped with it; what
/// requests share (the SDK client, the limits) is immutable or synchronised, so nothing a
/// half-finished request leaves behind is observed by the next.
pub async fn guard<F: Future>(work: F, on_panic: impl FnOnce() -> F::Output) -> F::Output {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(output) => output,
        Err(payload) => {
            tracing::error!(
                panic = panic_message(payload.as_ref()),
                "request handler panicked; answered 500"
            );
            on_panic()
        }
    }
}

/// What a SCIM request that panicked is answered: a SCIM Error, without the panic's internals.
pub fn scim_panic_response() -> Response<Body> {
    response::error(&ScimError::internal(
        "the server failed while handling the request; it may or may not have been applied",
    ))
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}

/// Logs every panic as one JSON line with its location (the default hook writes plain text to
/// stderr); Lambda processes only, so test failures keep their usual output.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        tracing::error!(
            panic = panic_message(info.payload()),
            location = location.as_deref().unwrap_or("-"),
            "panic"
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_future_gives_the_fallback_and_the_next_future_runs() {
        let out = guard(async { panic!("boom") }, || "fallback").await;
        assert_eq!(out, "fallback");
        let out = guard(async { "served" }, || "fallback").await;
        assert_eq!(out, "served");
    }

    #[test]
    fn the_panic_message_is_read_from_str_and_string_payloads() {
        let payload: Box<dyn Any + Send> = Box::new("static");
        assert_eq!(panic_message(payload.as_ref()), "static");
        let payload: Box<dyn Any + Send> = Box::new(format!("formatted {}", 1));
        assert_eq!(panic_message(payload.as_ref()), "formatted 1");
        let payload: Box<dyn Any + Send> = Box::new(7);
        assert_eq!(
            panic_message(payload.as_ref()),
            "(a panic without a message)"
        );
    }
}
