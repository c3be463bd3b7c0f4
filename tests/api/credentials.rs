//! The credential lifecycle at the admin-operation and authentication level: at most two per
//! tenant under concurrency, disable / enable / delete / expiry take effect on the next request,
//! rotation, last use recorded sparingly, and every bad token answered the same way.

use crate::common::{assert_scim_error, new_credential, resource_id, TestApp, Wire};
use lambda_http::Body;

use scim_serverless::auth;
use scim_serverless::domain::Timestamp;
use scim_serverless::protocol::schema::SchemaSet;
use scim_serverless::protocol::CredentialId;
use scim_serverless::service::admin::{
    AdminError, ErrorKind, IssuedCredential, NewCredential, ProvisioningState,
};
use scim_serverless::store::{Credential, CredentialStatus};

fn token(created: &IssuedCredential) -> String {
    created.token.clone()
}

fn id(created: &IssuedCredential) -> CredentialId {
    created.credential.id.clone()
}

async fn first_credential(t: &TestApp) -> CredentialId {
    let listed = t.admin().list_credentials(&t.tenant_id()).await.unwrap();
    listed.credentials[0].id.clone()
}

#[tokio::test]
async fn two_tokens_work_a_third_is_refused_and_deleting_frees_a_slot() {
    let t = TestApp::new().await;
    let admin = t.admin();
    let second = admin
        .create_credential(&t.tenant_id(), &new_credential("second"))
        .await
        .unwrap();
    assert_eq!(t.status_with(&t.token).await, 200);
    assert_eq!(t.status_with(&token(&second)).await, 200);
    let third = admin
        .create_credential(&t.tenant_id(), &new_credential("third"))
        .await
        .unwrap_err();
    assert!(
        matches!(third, AdminError::Conflict(ref m) if m.contains("delete one") && m.contains("rotate")),
        "{third:?}"
    );
    assert_eq!(third.kind(), ErrorKind::Conflict);
    admin
        .delete_credential(&t.tenant_id(), &id(&second))
        .await
        .unwrap();
    assert_eq!(t.status_with(&token(&second)).await, 401);
    let third = admin
        .create_credential(&t.tenant_id(), &new_credential("third"))
        .await
        .unwrap();
    assert_eq!(t.status_with(&token(&third)).await, 200);
}

#[tokio::test]
async fn disabling_and_enabling_take_effect_on_the_next_request() {
    let t = TestApp::new().await;
    let admin = t.admin();
    let other = admin
        .create_credential(&t.tenant_id(), &new_credential("other"))
        .await
        .unwrap();
    let first = first_credential(&t).await;
    let disabled = admin
        .set_credential_status(&t.tenant_id(), &first, CredentialStatus::Disabled)
        .await
        .unwrap();
    assert_eq!(disabled.credential.status, CredentialStatus::Disabled);
    let r = t.send(t.request("GET", "/Users", None)).await;
    assert_scim_error(&r, 401, None);
    assert_eq!(
        t.status_with(&token(&other)).await,
        200,
        "the other credential still works"
    );
    admin
        .set_credential_status(&t.tenant_id(), &first, CredentialStatus::Enabled)
        .await
        .unwrap();
    assert_eq!(t.status_with(&t.token).await, 200);
    let missing = admin
        .set_credential_status(
            &t.tenant_id(),
            &"01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap(),
            CredentialStatus::Enabled,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
}

#[tokio::test]
async fn ten_concurrent_creates_on_an_empty_tenant_make_exactly_two() {
    let t = TestApp::new().await;
    let admin = t.admin();
    let tenant = admin.create_tenant("empty").await.unwrap().tenant_id;
    let specs: Vec<NewCredential> = (0..10).map(|i| new_credential(&format!("c{i}"))).collect();
    let results =
        futures::future::join_all(specs.iter().map(|s| admin.create_credential(&tenant, s))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, AdminError::Conflict(_))));
    assert_eq!(t.store().list_credentials(&tenant).await.unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_rotations_and_creates_never_make_a_third() {
    let t = TestApp::new().await;
    let admin = t.admin();
    let spec = new_credential("rotated");
    let tenant = t.tenant_id();
    let rotations = (0..4).map(|_| admin.start_rotation(&tenant, &spec));
    let creates = (0..4).map(|_| admin.create_credential(&tenant, &spec));
    let (rotations, creates) = futures::future::join(
        futures::future::join_all(rotations),
        futures::future::join_all(creates),
    )
    .await;
    let made = rotations.iter().filter(|r| r.is_ok()).count()
        + creates.iter().filter(|r| r.is_ok()).count();
    assert_eq!(made, 1, "one free slot, one new credential");
    assert_eq!(
        t.store()
            .list_credentials(&t.tenant_id())
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn rotation_issues_a_new_token_and_finishing_removes_the_old_one() {
    let t = TestApp::new().await;
    let admin = t.admin();
    let old = first_credential(&t).await;
    assert_eq!(
        t.status_with(&t.token).await,
        200,
        "the IdP uses the old token"
    );
    let started = admin
        .start_rotation(&t.tenant_id(), &new_credential("rotated"))
        .await
        .unwrap();
    assert_eq!(started.replaces, old);
    let new_token = token(&started.issued);
    assert!(new_token.starts_with(auth::TOKEN_PREFIX));
    // No third slot: a second rotation is refused while this one is in progress.
    let again = admin
        .start_rotation(&t.tenant_id(), &new_credential("again"))
        .await
        .unwrap_err();
    assert!(matches!(again, AdminError::Conflict(ref m) if m.contains("--finish")));
    // The old token was used and the new one not yet: finishing would cut the IdP off.
    let refused = admin
        .finish_rotation(&t.tenant_id(), false)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AdminError::Conflict(ref m) if m.contains(old.as_str()) && m.contains("--force")),
        "{refused:?}"
    );
    assert_eq!(t.status_with(&t.token).await, 200, "nothing was removed");
    // The IdP switches to the new token: now the new one is the more recently used.
    assert_eq!(t.status_with(&new_token).await, 200);
    let finished = admin.finish_rotation(&t.tenant_id(), false).await.unwrap();
    assert_eq!(finished.removed_credential_id, old);
    assert_eq!(t.status_with(&t.token).await, 401, "the old token is gone");
    assert_eq!(t.status_with(&new_token).await, 200);
    let left = t.store().list_credentials(&t.tenant_id()).await.unwrap();
    assert_eq!(
        left.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [id(&started.issued).as_str()]
    );
    let nothing = admin
        .finish_rotation(&t.tenant_id(), false)
        .await
        .unwrap_err();
    assert!(matches!(nothing, AdminError::Conflict(ref m) if m.contains("no rotation")));
}

#[tokio::test]
async fn a_forced_finish_removes_an_old_credential_still_in_use() {
    let t = TestApp::new().await;
    let admin = t.admin();
    assert_eq!(t.status_with(&t.token).await, 200);
    admin
        .start_rotation(&t.tenant_id(), &new_credential("new"))
        .await
        .unwrap();
    let forced = admin.finish_rotation(&t.tenant_id(), true).await.unwrap();
    assert!(forced.forced);
    assert_eq!(t.status_with(&t.token).await, 401);
}

#[tokio::test]
async fn expired_credentials_get_401_and_no_expiry_is_allowed() {
    let t = TestApp::new().await;
    // A credential that expired a second ago (the admin surfaces only issue future expiries).
    let issued = auth::issue().unwrap();
    let expired = Credential {
        tenant_id: t.tenant_id(),
        id: issued.credential_id.clone(),
        status: CredentialStatus::Enabled,
        description: "expired".into(),
        created: Timestamp::now(),
        expires: Some(Timestamp::now().minus(time::Duration::seconds(1))),
        last_used: None,
        secret_hash: issued.secret_hash.clone(),
        oauth_only: false,
    };
    t.store().create_credential(&expired).await.unwrap();
    assert_eq!(t.status_with(&issued.token).await, 401);
    let shown = t.admin().list_credentials(&t.tenant_id()).await.unwrap();
    let expired_ones = shown.credentials.iter().filter(|c| c.expired).count();
    assert_eq!(expired_ones, 1, "{shown:?}");

    let listed = t.admin().list_credentials(&t.tenant_id()).await.unwrap();
    let never = listed
        .credentials
        .iter()
        .find(|c| c.description == "test")
        .unwrap();
    assert!(never.expires.is_none() && never.days_until_expiry.is_none());
    assert!(!never.expiring_soon);
}

#[tokio::test]
async fn new_credentials_expire_in_365_days_by_default_and_are_flagged_within_90() {
    let t = TestApp::new().await;
    let admin = t.admin();
    admin
        .delete_credential(&t.tenant_id(), &first_credential(&t).await)
        .await
        .unwrap();
    let default = admin
        .create_credential(&t.tenant_id(), &NewCredential::default())
        .await
        .unwrap();
    let days = default.credential.days_until_expiry.unwrap();
    assert!((364..=365).contains(&days), "{days}");
    assert!(!default.credential.expiring_soon);
    let short = admin
        .create_credential(
            &t.tenant_id(),
            &NewCredential {
                description: "short".into(),
                expires_in_days: 30,
            },
        )
        .await
        .unwrap();
    assert!(short.credential.expiring_soon);
    assert_eq!(
        short.credential.status,
        CredentialStatus::Enabled,
        "new ones start enabled"
    );
}

#[tokio::test]
async fn a_credential_of_one_tenant_never_opens_another() {
    let a = TestApp::new().await;
    let b = TestApp::new().await;
    let auth = format!("Bearer {}", a.token);
    let r = b
        .send(b.raw_request("GET", "/Users", Body::Empty, &[("authorization", &auth)]))
        .await;
    assert_scim_error(&r, 401, None);
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
    let listed = t.admin().list_credentials(&t.tenant_id()).await.unwrap();
    let shown = &listed.credentials[0];
    assert!(shown.last_used.is_some());
    assert_eq!(shown.status, CredentialStatus::Enabled);
    let wire = listed.wire();
    assert!(wire["credentials"][0].get("secretHash").is_none());
    assert!(!wire.to_string().contains(&t.token));
}

/// No oracle: a malformed token, an unknown one, a wrong secret for a real credential, a missing
/// header and an invalid tenant all get the same answer after the same DynamoDB work.
#[tokio::test]
async fn every_bad_token_gets_the_same_401_after_the_same_work() {
    let t = TestApp::new().await;
    let real_id = first_credential(&t).await;
    let unknown = auth::issue().unwrap().token;
    let wrong_secret = format!("{}{real_id}_{}", auth::TOKEN_PREFIX, "ab".repeat(32));
    let cases = [
        Some("Bearer scimv2_garbage".to_string()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {wrong_secret}")),
        Some("Basic dXNlcjpwYXNz".to_string()),
        None,
    ];
    let mut answers = Vec::new();
    for case in &cases {
        let headers: Vec<(&str, &str)> = case
            .as_deref()
            .map(|h| vec![("authorization", h)])
            .unwrap_or_default();
        let request = t.raw_request("GET", "/Users", Body::Empty, &headers);
        let (response, cost) = t.app.handle_counted(request).await;
        let status = response.status().as_u16();
        let challenge = response.headers().get("www-authenticate").cloned();
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            _ => String::new(),
        };
        answers.push((status, challenge, body, cost.auth + cost.handler));
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0].3, 1, "one GetItem, even for a malformed token");
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "identical answers: {answers:#?}"
    );
    // An invalid tenant id in the URL is answered the same way too.
    let mut request = t.request("GET", "/Users", None);
    *request.uri_mut() = "http://localhost/not-a-tenant/scim/v2/Users"
        .parse()
        .unwrap();
    let (response, cost) = t.app.handle_counted(request).await;
    assert_eq!(
        (response.status().as_u16(), cost.auth + cost.handler),
        (401, 1)
    );
}

#[tokio::test]
async fn disabling_provisioning_revokes_every_token_and_keeps_the_data() {
    let t = TestApp::new().await;
    let admin = t.admin();
    let second = admin
        .create_credential(&t.tenant_id(), &new_credential("second"))
        .await
        .unwrap();
    let user = t.user("kept@example.com").await;
    let disabled = admin.disable_provisioning(&t.tenant_id()).await.unwrap();
    assert_eq!(disabled.deleted_credentials, 2);
    assert_eq!(t.status_with(&t.token).await, 401);
    assert_eq!(t.status_with(&token(&second)).await, 401);
    let status = admin.provisioning_status(&t.tenant_id()).await.unwrap();
    assert_eq!(status.tenant.provisioning, ProvisioningState::Disabled);
    assert!(status.credentials.is_empty());
    assert_eq!(
        t.store()
            .get_user(&t.tenant_id(), &resource_id(&user))
            .await
            .unwrap()
            .user
            .id,
        user,
        "users stay"
    );
    let refused = admin
        .create_credential(&t.tenant_id(), &new_credential("while off"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AdminError::Conflict(ref m) if m.contains("provisioning enable")),
        "{refused:?}"
    );

    let enabled = admin
        .enable_provisioning(&t.tenant_id(), &new_credential("again"))
        .await
        .unwrap();
    assert_eq!(enabled.provisioning, ProvisioningState::Enabled);
    assert_eq!(enabled.scim_base_path, format!("/{}/scim/v2", t.tenant));
    assert_eq!(t.status_with(&enabled.token).await, 200);
    assert_eq!(
        t.status_with(&t.token).await,
        401,
        "old tokens never work again"
    );
    assert_eq!(t.status_with(&token(&second)).await, 401);
    assert_eq!(
        t.store()
            .list_credentials(&t.tenant_id())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Writes that authenticated before provisioning was turned off or the tenant was deleted, and
/// reach DynamoDB after, are refused with 401: their transactions check that the credential still
/// exists. Nothing of them is stored, not even an audit event, and the checker finds nothing to fix.
#[tokio::test]
async fn a_write_in_flight_when_provisioning_is_disabled_or_the_tenant_deleted_never_commits() {
    use scim_serverless::protocol::resource::{normalize, ResourceKind};
    use scim_serverless::service::resources::{
        Change, Resources, WriteCommand, WriteOp, WriteTarget,
    };
    use scim_serverless::store::Actor;

    for delete_tenant in [false, true] {
        let t = TestApp::on_table("-revocation").await;
        let user = t.user("before").await;
        let many: Vec<String> = t
            .store()
            .import(
                &t.tenant_id(),
                ResourceKind::User,
                (0..120)
                    .map(|i| {
                        normalize(
                            ResourceKind::User,
                            &serde_json::json!({"userName": format!("many{i}")}),
                        )
                        .unwrap()
                    })
                    .collect(),
            )
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id.to_string())
            .collect();
        let group = t.group("team", std::slice::from_ref(&user)).await;
        let credential: scim_serverless::protocol::CredentialId =
            t.token.split('_').nth(1).unwrap().parse().unwrap();
        let tenant = t.tenant_id();
        // The switch-off lands between the writes' authentication and their commit.
        if delete_tenant {
            let done = t
                .admin()
                .delete_tenant(&t.tenant_id(), 1_000, |_| {})
                .await
                .unwrap();
            assert!(done.complete);
        } else {
            t.admin()
                .disable_provisioning(&t.tenant_id())
                .await
                .unwrap();
        }
        let resources = Resources {
            store: t.store(),
            tenant: &tenant,
            schemas: SchemaSet::standard(),
            base_url: "https://example.test/scim/v2",
        };
        let actor = Actor::Credential(credential.clone());
        let write = |kind, op, id, change| {
            let target = WriteTarget {
                kind,
                op,
                id,
                actor: actor.clone(),
            };
            let command = WriteCommand {
                change,
                if_match: None,
                show_members: false,
            };
            let resources = &resources;
            async move { resources.write(&target, Ok(command)).await }
        };
        let attributes = |body: serde_json::Value, kind| normalize(kind, &body).unwrap();
        let created = write(
            ResourceKind::User,
            WriteOp::Create,
            None,
            Change::Create(attributes(
                serde_json::json!({"userName": "late"}),
                ResourceKind::User,
            )),
        )
        .await;
        // More than one transaction's worth: every one of them carries the credential check.
        let members: Vec<_> = many
            .iter()
            .map(|id| serde_json::json!({"value": id}))
            .collect();
        let big = write(
            ResourceKind::Group,
            WriteOp::Create,
            None,
            Change::Create(attributes(
                serde_json::json!({"displayName": "late", "members": members}),
                ResourceKind::Group,
            )),
        )
        .await;
        let replaced = write(
            ResourceKind::Group,
            WriteOp::Replace,
            Some(group.as_str()),
            Change::Replace(attributes(
                serde_json::json!({"displayName": "renamed"}),
                ResourceKind::Group,
            )),
        )
        .await;
        let deleted = write(
            ResourceKind::User,
            WriteOp::Delete,
            Some(user.as_str()),
            Change::Delete,
        )
        .await;
        for (what, status) in [
            ("create", created.err().map(|e| e.status)),
            ("create of a large group", big.err().map(|e| e.status)),
            ("replace", replaced.err().map(|e| e.status)),
            ("delete", deleted.err().map(|e| e.status)),
        ] {
            if delete_tenant && what != "create" {
                // The resource, or the members, went with the tenant.
                assert!(
                    matches!(status, Some(400 | 401 | 404)),
                    "{what}: {status:?}"
                );
            } else {
                assert_eq!(status, Some(401), "{what} after the switch-off");
            }
        }
        let items = scan_tenant(t.store(), &t.tenant).await;
        if delete_tenant {
            assert!(items.is_empty(), "left behind: {items:?}");
        } else {
            // What was there stays as it was; nothing was added.
            let kinds: Vec<&str> = items
                .iter()
                .filter_map(|i| i.get("kind")?.as_s().ok().map(String::as_str))
                .collect();
            assert_eq!(kinds.iter().filter(|k| **k == "User").count(), 121);
            assert_eq!(kinds.iter().filter(|k| **k == "Group").count(), 1);
            assert_eq!(kinds.iter().filter(|k| **k == "Membership").count(), 1);
            let report = t.store().check(&tenant, false, |_| {}).await.unwrap();
            assert_eq!(report.unresolved(), 0, "{:?}", report.problems);
            let audited = t
                .admin()
                .audit_events(&t.tenant_id(), &Default::default())
                .await
                .unwrap();
            assert!(
                audited.events.iter().all(|e| e.action != "write"),
                "no audit event of a refused write: {audited:?}"
            );
        }
    }
}

/// The same race over HTTP: writes sent while provisioning is turned off either committed before
/// it (201, and stored) or are refused (401, and not stored).
#[tokio::test]
async fn writes_racing_a_provisioning_switch_off_are_either_stored_or_refused() {
    let t = TestApp::on_table("-revocation").await;
    let sends = (0..16).map(|i| {
        let t = &t;
        async move {
            let r = t
                .post(
                    "/Users",
                    serde_json::json!({"userName": format!("racer{i}")}),
                )
                .await;
            (i, r.status)
        }
    });
    let disable = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        t.admin()
            .disable_provisioning(&t.tenant_id())
            .await
            .unwrap();
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(sends), disable);
    let items = scan_tenant(t.store(), &t.tenant).await;
    for (i, status) in answers {
        let stored = items.iter().any(|item| {
            item.get("attributes")
                .and_then(|a| a.as_m().ok())
                .and_then(|a| a.get("userName"))
                .and_then(|v| v.as_s().ok())
                .is_some_and(|n| n == &format!("racer{i}"))
        });
        assert!(matches!(status, 201 | 401), "racer{i}: {status}");
        assert_eq!(stored, status == 201, "racer{i} answered {status}");
    }
    let report = t
        .store()
        .check(&t.tenant_id(), false, |_| {})
        .await
        .unwrap();
    assert_eq!(report.unresolved(), 0, "{:?}", report.problems);
}

/// Every item whose key names the tenant.
async fn scan_tenant(
    store: &scim_serverless::store::Store,
    tenant: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    crate::common::scan_all(store)
        .await
        .into_iter()
        .filter(|item| {
            item.get("PK")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.contains(tenant))
        })
        .collect()
}
