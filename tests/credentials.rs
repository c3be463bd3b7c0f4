//! The credential lifecycle at the storage and authentication level: at most two per tenant,
//! disable / enable / delete take effect on the next request, last use is recorded sparingly.
mod common;

use common::{assert_scim_error, TestApp};
use lambda_http::Body;

use scim_serverless::admin;
use scim_serverless::store::{CredentialStatus, StoreError};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn status_with(t: &TestApp, token: &str) -> u16 {
    let auth = bearer(token);
    let request = t.raw_request(
        "GET",
        "/Users?count=0",
        Body::Empty,
        &[("authorization", &auth)],
    );
    t.send(request).await.status
}

#[tokio::test]
async fn two_tokens_work_a_third_is_refused_and_deleting_frees_a_slot() {
    let t = TestApp::new().await;
    let (second, token2) = admin::create_token(t.store(), &t.tenant, "second", 0)
        .await
        .unwrap();
    assert_eq!(status_with(&t, &t.token).await, 200);
    assert_eq!(status_with(&t, &token2).await, 200);
    let third = admin::create_token(t.store(), &t.tenant, "third", 0)
        .await
        .unwrap_err();
    assert!(
        matches!(third, StoreError::Limit(ref m) if m.contains("delete or rotate")),
        "{third:?}"
    );
    t.store()
        .delete_credential(&t.tenant, &second.id)
        .await
        .unwrap();
    assert_eq!(status_with(&t, &token2).await, 401);
    let (_, token3) = admin::create_token(t.store(), &t.tenant, "third", 0)
        .await
        .unwrap();
    assert_eq!(status_with(&t, &token3).await, 200);
}

#[tokio::test]
async fn disabling_and_enabling_take_effect_on_the_next_request() {
    let t = TestApp::new().await;
    let (_, other) = admin::create_token(t.store(), &t.tenant, "other", 0)
        .await
        .unwrap();
    let first = t.store().list_credentials(&t.tenant).await.unwrap();
    let first = first
        .iter()
        .find(|c| c.description == "test")
        .unwrap()
        .id
        .clone();
    t.store()
        .set_credential_status(&t.tenant, &first, CredentialStatus::Disabled)
        .await
        .unwrap();
    let r = t.send(t.request("GET", "/Users", None)).await;
    assert_scim_error(&r, 401, None);
    assert_eq!(
        status_with(&t, &other).await,
        200,
        "the other credential still works"
    );
    t.store()
        .set_credential_status(&t.tenant, &first, CredentialStatus::Enabled)
        .await
        .unwrap();
    assert_eq!(status_with(&t, &t.token).await, 200);
    let missing = t
        .store()
        .set_credential_status(
            &t.tenant,
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            CredentialStatus::Enabled,
        )
        .await;
    assert_eq!(missing, Err(StoreError::NotFound));
}

#[tokio::test]
async fn ten_concurrent_creates_on_an_empty_tenant_make_exactly_two() {
    let t = TestApp::new().await;
    let tenant = t.store().create_tenant("empty").await.unwrap();
    let creates = (0..10)
        .map(|i| admin::create_token(t.store(), &tenant.id, if i % 2 == 0 { "a" } else { "b" }, 0));
    let results = futures::future::join_all(creates).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, StoreError::Limit(_))));
    assert_eq!(
        t.store().list_credentials(&tenant.id).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn last_use_is_recorded_at_most_once_a_minute() {
    let t = TestApp::new().await;
    let (_, first) = t
        .app
        .handle_counted(t.request("GET", "/Users?count=0", None))
        .await;
    assert_eq!(first.auth, 2, "GetItem, then the first record of use");
    let (_, second) = t
        .app
        .handle_counted(t.request("GET", "/Users?count=0", None))
        .await;
    assert_eq!(second.auth, 1, "used a moment ago: no write");
    let listed = t.store().list_credentials(&t.tenant).await.unwrap();
    assert!(listed[0].last_used.is_some());
    let shown = admin::credential_json(&listed[0]);
    assert_eq!(shown["status"], "enabled");
    assert!(shown.get("secretHash").is_none());
}

#[tokio::test]
async fn disabling_provisioning_revokes_every_token_and_keeps_the_data() {
    let t = TestApp::new().await;
    let (_, second) = admin::create_token(t.store(), &t.tenant, "second", 0)
        .await
        .unwrap();
    let user = t.user("kept@example.com").await;
    assert_eq!(t.store().disable_provisioning(&t.tenant).await.unwrap(), 2);
    assert_eq!(status_with(&t, &t.token).await, 401);
    assert_eq!(status_with(&t, &second).await, 401);
    assert!(t
        .store()
        .list_credentials(&t.tenant)
        .await
        .unwrap()
        .is_empty());
    assert!(
        !t.store()
            .get_tenant(&t.tenant)
            .await
            .unwrap()
            .provisioning_enabled
    );
    assert_eq!(
        t.store().get_user(&t.tenant, &user).await.unwrap().user.id,
        user,
        "users stay"
    );
    let refused = admin::create_token(t.store(), &t.tenant, "while off", 0)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::Limit(ref m) if m.contains("provisioning enable")),
        "{refused:?}"
    );

    let (_, fresh) = admin::enable_provisioning(t.store(), &t.tenant, "again", 0)
        .await
        .unwrap();
    assert_eq!(status_with(&t, &fresh).await, 200);
    assert_eq!(
        status_with(&t, &t.token).await,
        401,
        "old tokens never work again"
    );
    assert_eq!(status_with(&t, &second).await, 401);
    assert!(
        t.store()
            .get_tenant(&t.tenant)
            .await
            .unwrap()
            .provisioning_enabled
    );
    assert_eq!(
        t.store().list_credentials(&t.tenant).await.unwrap().len(),
        1
    );
}
