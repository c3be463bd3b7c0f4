//! The token endpoint end to end: a client secret gets an access token (Basic or in the form)
//! that works on the tenant's SCIM API and nowhere else, every bad request gets its RFC 6749
//! error, and every way of revoking stops a live token at once. Stored state is read back.

use lambda_http::http::Request;
use lambda_http::Body;
use serde_json::{json, Value};

use crate::common::{resp, token_request, Resp, TestApp};
use scim_serverless::protocol::{ClientId, SecretId};
use scim_serverless::service::oauth::NewClient;
use scim_serverless::store::{AuditQuery, ClientAccess, CredentialStatus, Grant};

/// A client of `t`'s tenant: (client id, secret).
async fn client(t: &TestApp) -> (ClientId, String) {
    let issued = t
        .admin()
        .create_client(&t.tenant_id(), &NewClient::default())
        .await
        .unwrap();
    (
        issued.client_id,
        issued.client_secret.expect("a first secret"),
    )
}

async fn token_call(t: &TestApp, tenant: &str, form: &str, headers: &[(&str, &str)]) -> Resp {
    resp(t.app.handle(token_request(tenant, form, headers)).await)
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    let raw = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A token with the secret in the form (client_secret_post).
async fn post_token(t: &TestApp, id: &ClientId, secret: &str) -> Resp {
    let form =
        format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=scim");
    token_call(t, &t.tenant, &form, &[]).await
}

/// The client as stored, read back.
async fn stored_client(t: &TestApp, id: &ClientId) -> scim_serverless::store::OAuthClient {
    let stored = t.store().get_client(&t.tenant_id(), id).await.unwrap();
    stored.expect("the client is stored")
}

fn access_token(r: &Resp) -> String {
    r.body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

#[track_caller]
fn oauth_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.body["error"], code, "{:?}", r.body);
    assert!(r.body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn a_client_secret_gets_a_token_that_works_on_its_tenant_only() {
    let t = TestApp::new().await;
    let (id, secret) = client(&t).await;
    for r in [
        token_call(
            &t,
            &t.tenant,
            "grant_type=client_credentials",
            &[("authorization", &basic(id.as_str(), &secret))],
        )
        .await,
        post_token(&t, &id, &secret).await,
    ] {
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["token_type"], "Bearer");
        assert_eq!(r.body["expires_in"], 3600);
        assert_eq!(r.body["scope"], "scim");
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let token = access_token(&r);
        assert!(token.starts_with("scimat_"));
        assert_eq!(t.status_with(&token).await, 200);
    }
    let token = access_token(&post_token(&t, &id, &secret).await);

    // Stored: only the hash, under the secret it came from.
    let stored = stored_client(&t, &id).await;
    let tokens = &stored.secrets[0].tokens;
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|k| k.token_hash != token));
    assert!(tokens
        .iter()
        .any(|k| scim_serverless::auth::verify(&token, &k.token_hash)));

    // A write with it is audited as the client's.
    let writer = t.as_tenant(&t.tenant, &token);
    let created = writer
        .post("/Users", json!({"userName": "oauth@example.com"}))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let page = t
        .admin()
        .audit_events(
            &t.tenant_id(),
            &AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    let write = page.events.iter().find(|e| e.action == "create").unwrap();
    assert_eq!(write.client_id.as_ref(), Some(&id));
    assert_eq!(write.credential_id, None);
    assert!(page.events.iter().any(|e| e.action == "oauth.token.issue"));

    // Another tenant: neither its token endpoint nor its SCIM API knows this client or token.
    let other = TestApp::new().await;
    assert_eq!(other.status_with(&token).await, 401);
    oauth_error(
        &post_token(&other, &id, &secret).await,
        401,
        "invalid_client",
    );
    let through_other = other.as_tenant(&other.tenant, &token);
    let refused = through_other
        .post("/Users", json!({"userName": "x@example.com"}))
        .await;
    assert_eq!(refused.status, 401);
}

/// A form, its headers, and the status and error code it must get.
type Case = (String, Vec<(&'static str, String)>, u16, &'static str);

#[tokio::test]
async fn bad_token_requests_get_their_rfc_6749_errors() {
    let t = TestApp::new().await;
    let (id, secret) = client(&t).await;
    let wrong = secret.replace(&secret[secret.len() - 4..], "0000");
    let cases: Vec<Case> = vec![
        ("grant_type=client_credentials".into(), vec![], 401, "invalid_client"),
        (format!("client_id={id}&client_secret={secret}"), vec![], 400, "invalid_request"),
        (
            format!("grant_type=password&client_id={id}&client_secret={secret}"),
            vec![],
            400,
            "unsupported_grant_type",
        ),
        (
            format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=admin"),
            vec![],
            400,
            "invalid_scope",
        ),
        (
            format!("grant_type=client_credentials&client_id={id}&client_secret={wrong}"),
            vec![],
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&client_id=nonsense&client_secret={secret}"),
            vec![],
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&client_id={id}&client_secret=nonsense"),
            vec![],
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&grant_type=client_credentials&client_id={id}&client_secret={secret}"),
            vec![],
            400,
            "invalid_request",
        ),
        (
            format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
            vec![("authorization", basic(id.as_str(), &secret))],
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials".into(),
            vec![("authorization", "Basic !!!".to_string())],
            401,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials".into(),
            vec![("authorization", format!("Bearer {secret}"))],
            400,
            "invalid_request",
        ),
        (
            format!("grant_type=client_credentials&client_id={id}&client_assertion=x.y.z"),
            vec![],
            400,
            "invalid_request",
        ),
    ];
    for (form, headers, status, code) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = token_call(&t, &t.tenant, &form, &headers).await;
        oauth_error(&r, status, code);
        if status == 401 {
            assert_eq!(
                r.header("www-authenticate"),
                Some("Basic realm=\"scim\""),
                "{form}"
            );
        }
    }
    // Not a form, too big, the wrong method, a tenant that is not one.
    let json_body = Request::builder()
        .method("POST")
        .uri(format!("http://localhost/{}/oauth2/token", t.tenant))
        .header("content-type", "application/json")
        .body(Body::Text("{}".into()))
        .unwrap();
    oauth_error(&resp(t.app.handle(json_body).await), 400, "invalid_request");
    let huge = format!("grant_type=client_credentials&pad={}", "a".repeat(20_000));
    oauth_error(
        &token_call(&t, &t.tenant, &huge, &[]).await,
        400,
        "invalid_request",
    );
    let get = Request::builder()
        .method("GET")
        .uri(format!("http://localhost/{}/oauth2/token", t.tenant))
        .body(Body::Empty)
        .unwrap();
    let r = resp(t.app.handle(get).await);
    oauth_error(&r, 405, "invalid_request");
    assert_eq!(r.header("allow"), Some("POST"));
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    oauth_error(
        &token_call(&t, "not-a-tenant", &form, &[]).await,
        401,
        "invalid_client",
    );

    // None of them stored a token.
    let stored = stored_client(&t, &id).await;
    assert!(stored.secrets[0].tokens.is_empty());
}

#[tokio::test]
async fn every_way_of_revoking_stops_a_live_token_at_once() {
    let t = TestApp::new().await;
    let tenant = t.tenant_id();
    let admin = t.admin();

    // Disable the client: the token stops, no new one is issued; enable: a new one works.
    let (id, secret) = client(&t).await;
    let token = access_token(&post_token(&t, &id, &secret).await);
    admin
        .set_client_status(&tenant, &id, CredentialStatus::Disabled)
        .await
        .unwrap();
    assert_eq!(t.status_with(&token).await, 401);
    let refused = post_token(&t, &id, &secret).await;
    oauth_error(&refused, 401, "invalid_client");
    assert!(refused.body["error_description"]
        .as_str()
        .unwrap()
        .contains("disabled"));
    admin
        .set_client_status(&tenant, &id, CredentialStatus::Enabled)
        .await
        .unwrap();
    let token = access_token(&post_token(&t, &id, &secret).await);
    assert_eq!(t.status_with(&token).await, 200);

    // Delete the secret: its tokens go with it, and a write in flight cannot commit.
    let added = admin.add_client_secret(&tenant, &id, 30).await.unwrap();
    let other_token = access_token(&post_token(&t, &id, &added.client_secret).await);
    let old = t
        .store()
        .get_client(&tenant, &id)
        .await
        .unwrap()
        .unwrap()
        .secrets[0]
        .id
        .clone();
    admin
        .delete_client_secret(&tenant, &id, &old)
        .await
        .unwrap();
    assert_eq!(t.status_with(&token).await, 401);
    oauth_error(&post_token(&t, &id, &secret).await, 401, "invalid_client");
    assert_eq!(
        t.status_with(&other_token).await,
        200,
        "the other secret's token lives"
    );

    // Delete the client.
    admin.delete_client(&tenant, &id).await.unwrap();
    assert_eq!(t.status_with(&other_token).await, 401);

    // Provisioning off.
    let (id, secret) = client(&t).await;
    let token = access_token(&post_token(&t, &id, &secret).await);
    assert_eq!(t.status_with(&token).await, 200);
    admin.disable_provisioning(&tenant).await.unwrap();
    assert_eq!(t.status_with(&token).await, 401);
    oauth_error(&post_token(&t, &id, &secret).await, 401, "invalid_client");
}

/// A write that authenticated with an access token and reaches DynamoDB after the client was
/// disabled, or the token's secret deleted, is refused: its transaction checks the client item.
#[tokio::test]
async fn a_write_in_flight_when_its_token_is_revoked_commits_nothing() {
    use scim_serverless::protocol::resource::{normalize, ResourceKind};
    use scim_serverless::protocol::schema::SchemaSet;
    use scim_serverless::service::resources::{
        Change, Resources, WriteCommand, WriteOp, WriteTarget,
    };
    use scim_serverless::store::Actor;

    for delete_secret in [false, true] {
        let t = TestApp::new().await;
        let tenant = t.tenant_id();
        let (id, secret) = client(&t).await;
        let token = access_token(&post_token(&t, &id, &secret).await);
        let name = scim_serverless::auth::parse_access_token(&token).unwrap();
        let secret_id = SecretId::parse(&name.grant_id).unwrap();
        let access = ClientAccess {
            client_id: name.client_id,
            grant: Grant::Secret(secret_id.clone()),
            token_id: name.token_id,
        };
        // The revocation lands between the write's authentication and its commit.
        if delete_secret {
            t.admin()
                .delete_client_secret(&tenant, &id, &secret_id)
                .await
                .unwrap();
        } else {
            t.admin()
                .set_client_status(&tenant, &id, CredentialStatus::Disabled)
                .await
                .unwrap();
        }
        let resources = Resources {
            store: t.store(),
            tenant: &tenant,
            schemas: SchemaSet::standard(),
            base_url: "https://example.test/scim/v2",
        };
        let target = WriteTarget {
            kind: ResourceKind::User,
            op: WriteOp::Create,
            id: None,
            actor: Actor::Client(access),
        };
        let body = json!({"userName": "late@example.com"});
        let command = WriteCommand {
            change: Change::Create(normalize(ResourceKind::User, &body).unwrap()),
            if_match: None,
            show_members: false,
        };
        let refused = resources.write(&target, Ok(command)).await;
        assert!(refused.is_err(), "delete_secret={delete_secret}");
        let found = t
            .get("/Users?filter=userName eq \"late@example.com\"")
            .await;
        assert_eq!(found.body["totalResults"], 0);
    }
}

#[tokio::test]
async fn the_metadata_names_the_token_endpoint_and_its_methods() {
    let t = TestApp::new().await;
    let request = Request::builder()
        .method("GET")
        .uri(format!(
            "http://localhost/{}/.well-known/oauth-authorization-server",
            t.tenant
        ))
        .body(Body::Empty)
        .unwrap();
    let r = resp(t.app.handle(request).await);
    assert_eq!(r.status, 200, "{:?}", r.body);
    let issuer = format!("http://localhost/{}", t.tenant);
    assert_eq!(r.body["issuer"], issuer.as_str());
    assert_eq!(
        r.body["token_endpoint"],
        format!("{issuer}/oauth2/token").as_str()
    );
    assert_eq!(
        r.body["grant_types_supported"],
        json!(["client_credentials"])
    );
    let methods: Vec<Value> = r.body["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .clone();
    assert!(methods.contains(&json!("client_secret_basic")));
    assert!(methods.contains(&json!("client_secret_post")));
}

#[tokio::test]
async fn a_tenants_access_tokens_live_as_long_as_it_says_from_one_to_six_hours() {
    let t = TestApp::new().await;
    let (id, secret) = client(&t).await;
    let path = format!("/admin/tenants/{}/oauth", t.tenant);
    let principal = Some("arn:aws:iam::123456789012:user/ops");
    for bad in [
        json!({"accessTokenLifetimeHours": 0}),
        json!({"accessTokenLifetimeHours": 7}),
        json!({"accessTokenLifetimeHours": "2"}),
        json!({}),
    ] {
        let r =
            crate::common::admin_call(t.store(), principal, "PUT", &path, Some(bad.clone()), &[])
                .await;
        assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
    }
    let r = crate::common::admin_call(
        t.store(),
        principal,
        "PUT",
        &path,
        Some(json!({"accessTokenLifetimeHours": 2})),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["oauth"]["accessTokenLifetimeHours"], 2);
    let r = post_token(&t, &id, &secret).await;
    assert_eq!(r.body["expires_in"], 7200, "{:?}", r.body);
    let stored = stored_client(&t, &id).await;
    let expires = stored.secrets[0].tokens[0].expires;
    let left = expires.unix_seconds() - scim_serverless::domain::Timestamp::now().unix_seconds();
    assert!((7100..=7200).contains(&left), "stored expiry {left} s away");
}

#[tokio::test]
async fn an_oauth_only_tenant_refuses_its_static_tokens_until_turned_off() {
    let t = TestApp::new().await;
    let tenant = t.tenant_id();
    let (id, secret) = client(&t).await;
    let access = access_token(&post_token(&t, &id, &secret).await);
    assert_eq!(t.status_with(&t.token).await, 200);

    let changed = t.admin().set_oauth_only(&tenant, true).await.unwrap();
    assert!(changed.tenant.oauth.oauth_only);
    let r = t.get("/Users?count=0").await;
    assert_eq!(r.status, 401);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("OAuth access tokens only"),
        "{:?}",
        r.body
    );
    assert_eq!(
        t.status_with(&access).await,
        200,
        "access tokens still work"
    );
    let stored = t.store().list_credentials(&tenant).await.unwrap();
    assert!(
        stored.iter().all(|c| c.oauth_only),
        "the flag reached every credential"
    );
    let err = t
        .admin()
        .create_credential(&tenant, &crate::common::new_credential("more"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("OAuth access tokens only"),
        "{err}"
    );

    t.admin().set_oauth_only(&tenant, false).await.unwrap();
    assert_eq!(t.status_with(&t.token).await, 200);
    let stored = t.store().list_credentials(&tenant).await.unwrap();
    assert!(stored.iter().all(|c| !c.oauth_only));

    // Provisioning off and on again starts from the default.
    t.admin().set_oauth_only(&tenant, true).await.unwrap();
    t.admin().disable_provisioning(&tenant).await.unwrap();
    let enabled = t
        .admin()
        .enable_provisioning(&tenant, &crate::common::new_credential("again"))
        .await
        .unwrap();
    assert_eq!(t.status_with(&enabled.token).await, 200);
    assert!(
        !t.store()
            .get_tenant(&tenant)
            .await
            .unwrap()
            .oauth
            .oauth_only
    );
}

#[tokio::test]
async fn a_warm_instance_remembers_a_verified_credential_for_seconds_and_writes_check_it_anyway() {
    let t = TestApp::new().await;
    let (id, secret) = client(&t).await;
    let access = access_token(&post_token(&t, &id, &secret).await);
    let mut cached = t.as_tenant(&t.tenant, &t.token);
    cached.app = cached
        .app
        .with_auth_cache(std::time::Duration::from_secs(1));
    for token in [t.token.clone(), access.clone()] {
        let as_token = cached.as_tenant(&t.tenant, &token);
        let request = || as_token.request("GET", "/Users?count=0", None);
        let (first, cost) = as_token.app.handle_counted(request()).await;
        // One GetItem (and, for a static token, at most one last-use update).
        assert_eq!(first.status().as_u16(), 200);
        assert!((1..=2).contains(&cost.auth), "{}", cost.auth);
        let (again, cost) = as_token.app.handle_counted(request()).await;
        assert_eq!(
            (again.status().as_u16(), cost.auth),
            (200, 0),
            "served from the cache"
        );
        // The same token for another tenant is not a hit.
        let other = TestApp::new().await;
        let elsewhere = cached.as_tenant(&other.tenant, &token);
        let (r, cost) = elsewhere
            .app
            .handle_counted(elsewhere.request("GET", "/Users", None))
            .await;
        assert_eq!((r.status().as_u16(), cost.auth), (401, 1));
    }
    // Revoked: a write is refused at once (its transaction checks the credential) …
    t.admin()
        .set_client_status(&t.tenant_id(), &id, CredentialStatus::Disabled)
        .await
        .unwrap();
    let as_client = cached.as_tenant(&t.tenant, &access);
    let r = as_client
        .post(
            "/Users",
            json!({"userName": "after-revocation@example.com"}),
        )
        .await;
    assert_eq!(r.status, 401, "{:?}", r.body);
    let listed = t
        .get("/Users?filter=userName eq \"after-revocation@example.com\"")
        .await;
    assert_eq!(listed.body["totalResults"], 0, "nothing was stored");
    // … and reads within the cache's time: here 1 s, in Lambda 5 s.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(as_client.status_with(&access).await, 401);
}
