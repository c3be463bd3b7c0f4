//! The admin API end to end, as API Gateway delivers it: the acceptance walk-through, who
//! may call it, its errors, the audit trail it and SCIM writes leave, and deleting a tenant.

use crate::common::{admin_call, new_credential, resource_id, Resp, TestApp, Wire};
use serde_json::{json, Value};

use scim_serverless::service::admin::ErrorKind;
use scim_serverless::store::{AuditQuery, Store};

const ADMIN: &str = "arn:aws:iam::123456789012:role/scim-operators";

async fn admin(store: &Store, method: &str, path: &str, body: Option<Value>) -> Resp {
    admin_call(store, Some(ADMIN), method, path, body, &[]).await
}

fn token(r: &Resp) -> String {
    r.body["token"].as_str().expect("token").to_string()
}

fn credential_id(r: &Resp) -> String {
    r.body["credential"]["id"].as_str().expect("id").to_string()
}

/// Steps 1 to 11 of the acceptance list, through the admin API and real SCIM requests.
#[tokio::test]
async fn the_acceptance_walkthrough() {
    let t = TestApp::new().await;
    let store = t.store();
    let created = admin(
        store,
        "POST",
        "/admin/tenants",
        Some(json!({"name": "Contoso"})),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let tenant = created.body["tenantId"].as_str().unwrap().to_string();
    // The harness's SCIM sender, pointed at the new tenant.
    let scim = t.as_tenant(&tenant, "");
    let base = format!("/admin/tenants/{tenant}");

    // 1. Enable provisioning: the endpoint and a token, shown once.
    let enabled = admin(
        store,
        "POST",
        &format!("{base}/provisioning/enable"),
        Some(json!({"description": "Entra ID"})),
    )
    .await;
    assert_eq!(enabled.status, 201, "{:?}", enabled.body);
    assert_eq!(
        enabled.body["scimBasePath"],
        format!("/{tenant}/scim/v2").as_str()
    );
    let first = token(&enabled);
    let first_id = credential_id(&enabled);
    let listed = admin(store, "GET", &format!("{base}/credentials"), None).await;
    assert!(
        !listed.body.to_string().contains(&first),
        "never shown again"
    );

    // 2. SCIM calls with it succeed.
    let writer = t.as_tenant(&tenant, &first);
    let user = writer.user("alice@contoso.com").await;
    assert_eq!(writer.get(&format!("/Users/{user}")).await.status, 200);

    // 3. A second token works.
    let second = admin(store, "POST", &format!("{base}/credentials"), None).await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    let second_token = token(&second);
    assert_eq!(scim.status_with(&second_token).await, 200);

    // 4. A third is refused, saying what to do.
    let third = admin(store, "POST", &format!("{base}/credentials"), None).await;
    assert_eq!(third.status, 409);
    assert_eq!(third.body["error"]["code"], "Conflict");
    let message = third.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("delete") && message.contains("rotate"),
        "{message}"
    );

    // 5. Disable the first: it gets 401, the second still works.
    let disabled = admin(
        store,
        "POST",
        &format!("{base}/credentials/{first_id}/disable"),
        None,
    )
    .await;
    assert_eq!(disabled.status, 200);
    assert_eq!(disabled.body["credential"]["status"], "disabled");
    assert_eq!(scim.status_with(&first).await, 401);
    assert_eq!(scim.status_with(&second_token).await, 200);

    // 6. Re-enable the first: it works again.
    let enabled_again = admin(
        store,
        "POST",
        &format!("{base}/credentials/{first_id}/enable"),
        None,
    )
    .await;
    assert_eq!(enabled_again.status, 200);
    assert_eq!(scim.status_with(&first).await, 200);

    // 7. Delete the first: 401.
    let deleted = admin(
        store,
        "DELETE",
        &format!("{base}/credentials/{first_id}"),
        None,
    )
    .await;
    assert_eq!(
        (deleted.status, &deleted.body["deleted"]),
        (200, &json!(true))
    );
    assert_eq!(scim.status_with(&first).await, 401);

    // 8. Rotate: a new credential, then finish; the old one is gone.
    let second_writer = t.as_tenant(&tenant, &second_token);
    second_writer.user("bob@contoso.com").await;
    let rotation = admin(store, "POST", &format!("{base}/rotation"), None).await;
    assert_eq!(rotation.status, 201, "{:?}", rotation.body);
    let rotated = token(&rotation);
    let refused = admin(store, "POST", &format!("{base}/rotation/finish"), None).await;
    assert_eq!(
        refused.status, 409,
        "the old token was used last: {:?}",
        refused.body
    );
    let rotated_writer = t.as_tenant(&tenant, &rotated);
    rotated_writer.user("carol@contoso.com").await;
    let finished = admin(store, "POST", &format!("{base}/rotation/finish"), None).await;
    assert_eq!(finished.status, 200, "{:?}", finished.body);
    assert_eq!(
        finished.body["removedCredentialId"],
        second.body["credential"]["id"]
    );
    assert_eq!(scim.status_with(&second_token).await, 401);
    let left = admin(store, "GET", &format!("{base}/credentials"), None).await;
    assert_eq!(left.body["credentials"].as_array().map(Vec::len), Some(1));

    // 9. The audit trail says which credential made each write.
    let audit = admin(store, "GET", &format!("{base}/audit"), None).await;
    assert_eq!(audit.status, 200);
    let writes: Vec<(String, String)> = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resourceType"] == "User")
        .map(|e| {
            (
                e["credentialId"].as_str().unwrap_or("-").to_string(),
                e["status"].to_string(),
            )
        })
        .collect();
    let rotated_id = rotation.body["credential"]["id"].as_str().unwrap();
    let second_id = second.body["credential"]["id"].as_str().unwrap();
    assert_eq!(
        writes,
        [
            (rotated_id.to_string(), "201".to_string()),
            (second_id.to_string(), "201".to_string()),
            (first_id.clone(), "201".to_string()),
        ],
        "newest first"
    );
    let by_admin: Vec<&str> = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["principal"] == ADMIN)
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "rotation.finish",
        "rotation.start",
        "credential.delete",
        "credential.enable",
        "credential.disable",
        "credential.create",
        "provisioning.enable",
        "tenant.create",
    ] {
        assert!(by_admin.contains(&action), "{action} in {by_admin:?}");
    }
    let refusals: Vec<(&str, u64)> = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"].as_u64().is_some_and(|s| s >= 400))
        .map(|e| (e["action"].as_str().unwrap(), e["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        refusals,
        [("rotation.finish", 409), ("credential.create", 409)],
        "refused admin actions are on record too"
    );
    let only_first = admin(
        store,
        "GET",
        &format!("{base}/audit?credentialId={first_id}"),
        None,
    )
    .await;
    assert_eq!(only_first.body["events"].as_array().map(Vec::len), Some(1));

    // 10. Disable provisioning: every token fails, the list is empty, the users stay.
    let off = admin(store, "POST", &format!("{base}/provisioning/disable"), None).await;
    assert_eq!(off.status, 200);
    assert_eq!(scim.status_with(&rotated).await, 401);
    let status = admin(store, "GET", &format!("{base}/provisioning"), None).await;
    assert_eq!(status.body["provisioning"], "disabled");
    assert_eq!(status.body["credentials"], json!([]));
    assert_eq!(
        store
            .get_user(&scim.tenant_id(), &resource_id(&user))
            .await
            .unwrap()
            .user
            .id,
        user,
        "users stay in the table"
    );

    // 11. Re-enable: a new token works, the old ones still fail.
    let on = admin(store, "POST", &format!("{base}/provisioning/enable"), None).await;
    assert_eq!(on.status, 201);
    assert_eq!(scim.status_with(&token(&on)).await, 200);
    for old in [&first, &second_token, &rotated] {
        assert_eq!(scim.status_with(old).await, 401);
    }
}

#[tokio::test]
async fn only_iam_principals_reach_the_admin_api_and_they_do_not_reach_scim() {
    let t = TestApp::new().await;
    let store = t.store();
    // No IAM authorizer context (a direct invoke, or a route misconfigured without AWS_IAM).
    let anonymous = admin_call(store, None, "GET", "/admin/tenants", None, &[]).await;
    assert_eq!(anonymous.status, 403);
    assert_eq!(anonymous.body["error"]["code"], "Forbidden");
    // A SCIM bearer token does not make it an admin request.
    let bearer = format!("Bearer {}", t.token);
    let with_token = admin_call(
        store,
        None,
        "GET",
        "/admin/tenants",
        None,
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(with_token.status, 403);
    // A SigV4-signed request does not authenticate a SCIM route.
    let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
    let r = t
        .send(t.raw_request(
            "GET",
            "/Users",
            lambda_http::Body::Empty,
            &[("authorization", sigv4)],
        ))
        .await;
    crate::common::assert_scim_error(&r, 401, None);
}

#[tokio::test]
async fn admin_errors_are_json_with_the_right_status() {
    let t = TestApp::new().await;
    let store = t.store();
    let base = format!("/admin/tenants/{}", t.tenant);
    let cases = [
        ("GET", "/admin/nothing".to_string(), None, 404, "NotFound"),
        (
            "GET",
            "/admin/tenants/not-a-ulid".to_string(),
            None,
            404,
            "NotFound",
        ),
        (
            "GET",
            "/admin/tenants/01ARZ3NDEKTSV4RRFFQ69G5FAV".to_string(),
            None,
            404,
            "NotFound",
        ),
        (
            "POST",
            "/admin/tenants".to_string(),
            Some(json!({})),
            400,
            "InvalidRequest",
        ),
        (
            "POST",
            "/admin/tenants".to_string(),
            Some(json!({"name": ""})),
            400,
            "InvalidRequest",
        ),
        (
            "POST",
            format!("{base}/credentials"),
            Some(json!({"expiresInDays": -1})),
            400,
            "InvalidRequest",
        ),
        (
            "POST",
            format!("{base}/credentials"),
            Some(json!({"description": 7})),
            400,
            "InvalidRequest",
        ),
        (
            "POST",
            format!("{base}/credentials/01ARZ3NDEKTSV4RRFFQ69G5FAV/disable"),
            None,
            404,
            "NotFound",
        ),
        (
            "DELETE",
            format!("{base}/credentials/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            None,
            404,
            "NotFound",
        ),
        ("DELETE", base.clone(), None, 400, "ConfirmationRequired"),
        (
            "GET",
            format!("{base}/audit?limit=0"),
            None,
            400,
            "InvalidRequest",
        ),
        (
            "GET",
            format!("{base}/audit?since=yesterday"),
            None,
            400,
            "InvalidRequest",
        ),
        (
            "GET",
            format!("{base}/audit?cursor=x"),
            None,
            400,
            "InvalidRequest",
        ),
        (
            "GET",
            format!("{base}/audit?colour=red"),
            None,
            400,
            "InvalidRequest",
        ),
        (
            "POST",
            format!("{base}/rotation/finish"),
            Some(json!({"force": "yes"})),
            400,
            "InvalidRequest",
        ),
        (
            "POST",
            format!("{base}/rotation/finish"),
            None,
            409,
            "Conflict",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let r = admin(store, method, &path, body).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {:?}",
            r.body
        );
        assert!(r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let long = "X".repeat(3000);
    for (method, path) in [
        ("POST", format!("{base}/credentials/{long}/disable")),
        ("DELETE", format!("{base}/credentials/{long}")),
        ("GET", format!("/admin/tenants/{long}")),
    ] {
        let r = admin(store, method, &path, None).await;
        assert_eq!(r.status, 404, "{method} a long id: {:?}", r.body);
    }
    let huge = json!({"name": "x".repeat(2 * 1024 * 1024)});
    let r = admin(store, "POST", "/admin/tenants", Some(huge)).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (413, Some("PayloadTooLarge"))
    );
    // Raw bodies that are not JSON objects.
    let r = admin_call(
        store,
        Some(ADMIN),
        "POST",
        "/admin/tenants",
        Some(json!([1])),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    // The tenant was not deleted by the unconfirmed DELETE.
    assert_eq!(t.status_with(&t.token).await, 200);
}

#[tokio::test]
async fn scim_writes_are_audited_with_their_outcome_and_never_the_token() {
    let t = TestApp::new().await;
    let admin_ops = t.admin();
    let credential = admin_ops
        .list_credentials(&t.tenant_id())
        .await
        .unwrap()
        .wire()["credentials"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = t.user("audited@example.com").await;
    let taken = t
        .post("/Users", json!({"userName": "AUDITED@example.com"}))
        .await;
    assert_eq!(taken.status, 409);
    let patched = t
        .patch(
            &format!("/Users/{user}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(patched.status, 200);
    let group = t.group("Auditors", std::slice::from_ref(&user)).await;
    assert_eq!(
        t.call("DELETE", &format!("/Groups/{group}"), None)
            .await
            .status,
        204
    );
    let missing = t.call("DELETE", &format!("/Users/{group}"), None).await;
    assert_eq!(missing.status, 404);
    t.get(&format!("/Users/{user}")).await;

    let page = admin_ops
        .audit_events(
            &t.tenant_id(),
            &AuditQuery {
                credential_id: Some(credential.clone()),
                limit: 100,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap()
        .wire();
    let seen: Vec<(String, String, String, u64)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["credentialId"], credential.as_str());
            assert_eq!(e["tenantId"], t.tenant.as_str());
            assert!(e["time"].as_str().is_some_and(|t| t.ends_with('Z')));
            (
                e["method"].as_str().unwrap().to_string(),
                e["resourceType"].as_str().unwrap().to_string(),
                e["resourceId"].as_str().unwrap_or("-").to_string(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("DELETE".into(), "User".into(), group.clone(), 404),
            ("DELETE".into(), "Group".into(), group.clone(), 204),
            ("POST".into(), "Group".into(), group.clone(), 201),
            ("PATCH".into(), "User".into(), user.clone(), 200),
            ("POST".into(), "User".into(), "-".into(), 409),
            ("POST".into(), "User".into(), user.clone(), 201),
        ],
        "every write, newest first, reads not at all"
    );

    // Paging: two at a time, following the cursor, gives the same events.
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = admin_ops
            .audit_events(
                &t.tenant_id(),
                &AuditQuery {
                    credential_id: Some(credential.clone()),
                    cursor: cursor.clone(),
                    limit: 2,
                    ..AuditQuery::default()
                },
            )
            .await
            .unwrap()
            .wire();
        paged.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["eventId"].clone()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let all: Vec<Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventId"].clone())
        .collect();
    assert_eq!(paged, all);

    // `since` in the future shows nothing; the raw items carry no token or hash.
    let future = admin_ops
        .audit_events(
            &t.tenant_id(),
            &AuditQuery {
                since: Some("2999-01-01T00:00:00.000Z".into()),
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap()
        .wire();
    assert_eq!(future["events"], json!([]));
    let raw = t
        .store()
        .client()
        .query()
        .table_name(t.store().table())
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("{}#AUDIT", t.tenant)),
        )
        .send()
        .await
        .unwrap();
    assert!(raw.count() >= 6);
    let text = format!("{:?}", raw.items());
    assert!(!text.contains(&t.token) && !text.contains("scimv2_") && !text.contains("secretHash"));
    let expires_at: i64 = raw.items()[0]["expiresAt"].as_n().unwrap().parse().unwrap();
    let days = (expires_at - time::OffsetDateTime::now_utc().unix_timestamp()) / 86_400;
    assert!(
        (89..=90).contains(&days),
        "default retention 90 days: {days}"
    );
}

#[tokio::test]
async fn a_successful_write_carries_its_audit_event_in_its_own_transaction() {
    let t = TestApp::new().await;
    let (r, cost) = t
        .send_counted(t.request("POST", "/Users", Some(&json!({"userName": "cheap"}))))
        .await;
    assert_eq!((r.status, cost), (201, 1), "still one round trip");
}

#[tokio::test]
async fn deleting_a_tenant_removes_everything_in_bounded_batches() {
    let t = TestApp::new().await;
    let store = t.store();
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(t.user(&format!("u{i}@example.com")).await);
    }
    t.group("Everyone", &users).await;
    t.group("Some", &users[..3]).await;
    t.admin()
        .create_credential(&t.tenant_id(), &new_credential("second"))
        .await
        .unwrap();
    let base = format!("/admin/tenants/{}", t.tenant);

    // Small batches: the admin operation stops after its budget and a repeat resumes.
    let mut reports = Vec::new();
    let partial = t
        .admin()
        .delete_tenant(&t.tenant_id(), 10, |p| reports.push(*p))
        .await
        .unwrap()
        .wire();
    assert_eq!(partial["complete"], false, "{partial}");
    assert!(reports.len() >= 2, "progress after each batch: {reports:?}");
    assert_eq!(t.status_with(&t.token).await, 401, "credentials go first");
    let refused = t
        .admin()
        .create_credential(&t.tenant_id(), &new_credential("late"))
        .await
        .unwrap_err();
    assert_eq!(
        refused.kind(),
        ErrorKind::Conflict,
        "no new credential while deleting"
    );
    let undo = store.disable_provisioning(&t.tenant_id()).await;
    assert!(
        matches!(undo, Err(scim_serverless::store::StoreError::Limit(_))),
        "disabling must not undo a delete: {undo:?}"
    );
    let shown = admin(store, "GET", &base, None).await;
    assert_eq!(shown.body["provisioning"], "deleting", "{:?}", shown.body);

    let done = admin(store, "DELETE", &format!("{base}?confirm=DELETE"), None).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["complete"], true);
    let total = |p: &Value| {
        ["users", "groups", "memberships", "credentials"]
            .map(|k| p["deleted"][k].as_u64().unwrap_or(0))
    };
    let (first, second) = (total(&partial), total(&done.body));
    let summed: Vec<u64> = first
        .iter()
        .zip(second.iter())
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(
        summed,
        [12, 2, 15, 2],
        "users, groups, memberships, credentials"
    );

    // Nothing with the tenant's id is left in the table.
    let items = crate::common::scan_all(store).await;
    let left: Vec<_> = items
        .iter()
        .filter(|item| {
            item.get("PK")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.contains(&t.tenant))
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let gone = admin(store, "GET", &base, None).await;
    assert_eq!(gone.status, 404);
    let listed = admin(store, "GET", "/admin/tenants", None).await;
    assert!(!listed.body.to_string().contains(&t.tenant));
    // The deletion itself is on record, apart from the tenant.
    let deletions = items.iter().filter(|item| {
        item.get("PK")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            == Some("TENANTS#DELETED#AUDIT")
            && item.get("tenantId").and_then(|v| v.as_s().ok()) == Some(&t.tenant)
    });
    assert_eq!(deletions.count(), 1);
}
