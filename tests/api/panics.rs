//! A panic while handling a request is answered 500, without its internals, and the same process
//! serves the next request (the release profile unwinds; `http::guard` catches).

use crate::common::{admin_call, assert_scim_error, resp, TestApp};
use scim_serverless::http::admin;
use scim_serverless::http::{guard, scim_panic_response};

#[tokio::test]
async fn a_panicking_scim_handler_answers_a_scim_500_and_the_next_request_is_served() {
    let t = TestApp::new().await;
    let panicked = resp(
        guard(
            async { panic!("index out of bounds in row 42 of table secrets") },
            scim_panic_response,
        )
        .await,
    );
    assert_scim_error(&panicked, 500, None);
    let detail = panicked.body["detail"].as_str().unwrap_or_default();
    assert!(!detail.contains("secrets"), "{detail}");

    let next = t.invoke(t.request("GET", "/Users?count=0", None)).await;
    assert_eq!(next.status, 200, "{:?}", next.body);
}

#[tokio::test]
async fn a_panicking_admin_handler_answers_the_admin_json_500_and_the_next_request_is_served() {
    let t = TestApp::new().await;
    let panicked = resp(guard(async { panic!("secret internals") }, admin::panic_response).await);
    assert_eq!(panicked.status, 500);
    assert_eq!(panicked.body["error"]["code"], "InternalError");
    assert!(!panicked.body.to_string().contains("secret internals"));

    let path = format!("/admin/tenants/{}", t.tenant);
    let next = admin_call(
        t.store(),
        Some("arn:aws:iam::123456789012:user/a"),
        "GET",
        &path,
        None,
        &[],
    )
    .await;
    assert_eq!(next.status, 200, "{:?}", next.body);
}
