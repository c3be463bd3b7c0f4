//! The admin API's wire format, pinned: for every route, the status and the shape of the answer
//! (each field's name and JSON type, recursively), as the API answered before its use cases
//! became typed views. A renamed, dropped or retyped field fails here.

use serde_json::{json, Value};

use crate::common::{admin_call, Resp, TestApp};

const ADMIN: &str = "arn:aws:iam::123456789012:user/wire";

/// `v` with every leaf replaced by its JSON type, and an array by the shape of its first item.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
    }
}

async fn call(t: &TestApp, method: &str, path: &str, body: Option<Value>) -> Resp {
    admin_call(t.store(), Some(ADMIN), method, path, body, &[]).await
}

fn tenant() -> Value {
    json!({"tenantId": "string", "name": "string", "created": "string",
           "provisioning": "string", "scimBasePath": "string",
           "oauth": {"oauthOnly": "bool", "accessTokenLifetimeHours": "number"}})
}

/// A credential never used, with an expiry.
fn credential() -> Value {
    json!({"id": "string", "tenantId": "string", "status": "string", "description": "string",
           "created": "string", "expires": "string", "lastUsed": "null",
           "daysUntilExpiry": "number", "expiringSoon": "bool", "expired": "bool"})
}

fn with(mut base: Value, fields: Value) -> Value {
    for (k, v) in fields.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

#[track_caller]
fn pinned(r: &Resp, status: u16, want: Value) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(shape(&r.body), want, "{}", r.body);
}

#[tokio::test]
async fn every_admin_route_answers_its_pinned_status_and_shape() {
    let t = TestApp::new().await;
    let r = call(&t, "POST", "/admin/tenants", Some(json!({"name": "Wire"}))).await;
    pinned(&r, 201, tenant());
    let id = r.body["tenantId"].as_str().unwrap().to_string();
    let base = format!("/admin/tenants/{id}");

    let r = call(&t, "GET", "/admin/tenants", None).await;
    pinned(&r, 200, json!({"tenants": [tenant()]}));
    let r = call(&t, "GET", &base, None).await;
    pinned(&r, 200, with(tenant(), json!({"credentials": []})));

    let r = call(&t, "POST", &format!("{base}/provisioning/disable"), None).await;
    pinned(
        &r,
        200,
        json!({"tenantId": "string", "provisioning": "string", "deletedCredentials": "number"}),
    );
    let r = call(&t, "POST", &format!("{base}/provisioning/enable"), None).await;
    pinned(
        &r,
        201,
        json!({"tenantId": "string", "provisioning": "string", "scimBasePath": "string",
               "credential": credential(), "token": "string"}),
    );
    let first = r.body["credential"]["id"].as_str().unwrap().to_string();
    let r = call(&t, "GET", &format!("{base}/provisioning"), None).await;
    pinned(
        &r,
        200,
        with(tenant(), json!({"credentials": [credential()]})),
    );

    let issued = json!({"tenantId": "string", "credential": credential(), "token": "string"});
    let r = call(
        &t,
        "POST",
        &format!("{base}/credentials"),
        Some(json!({"description": "second", "expiresInDays": 30})),
    )
    .await;
    pinned(&r, 201, issued.clone());
    let second = r.body["credential"]["id"].as_str().unwrap().to_string();
    let r = call(&t, "GET", &format!("{base}/credentials"), None).await;
    pinned(
        &r,
        200,
        json!({"tenantId": "string", "credentials": [credential()]}),
    );
    let changed = json!({"tenantId": "string", "credential": credential()});
    for action in ["disable", "enable"] {
        let path = format!("{base}/credentials/{second}/{action}");
        pinned(&call(&t, "POST", &path, None).await, 200, changed.clone());
    }
    let r = call(&t, "DELETE", &format!("{base}/credentials/{second}"), None).await;
    pinned(
        &r,
        200,
        json!({"tenantId": "string", "credentialId": "string", "deleted": "bool"}),
    );

    let r = call(&t, "POST", &format!("{base}/rotation"), None).await;
    pinned(
        &r,
        201,
        with(issued, json!({"replaces": "string", "next": "string"})),
    );
    assert_eq!(r.body["replaces"], first.as_str());
    let token = r.body["token"].as_str().unwrap().to_string();
    let r = call(
        &t,
        "POST",
        &format!("{base}/rotation/finish"),
        Some(json!({"force": true})),
    )
    .await;
    pinned(
        &r,
        200,
        json!({"tenantId": "string", "removedCredentialId": "string", "forced": "bool",
               "credential": credential()}),
    );

    // OAuth clients (issue 17): pinned from their first release.
    let secret = json!({"secretId": "string", "created": "string", "expires": "string",
                        "daysUntilExpiry": "number", "expiringSoon": "bool", "expired": "bool"});
    let client = json!({"clientId": "string", "tenantId": "string", "status": "string",
                        "description": "string", "created": "string", "secrets": [secret],
                        "federations": []});
    let clients = format!("{base}/oauth/clients");
    let r = call(&t, "POST", &clients, Some(json!({"description": "Entra"}))).await;
    pinned(
        &r,
        201,
        json!({"tenantId": "string", "clientId": "string", "clientSecret": "string",
               "secretId": "string", "secretExpiresAt": "string", "tokenEndpoint": "string",
               "scimUrl": "string", "client": client.clone()}),
    );
    let client_path = format!("{clients}/{}", r.body["clientId"].as_str().unwrap());
    pinned(
        &call(&t, "GET", &clients, None).await,
        200,
        json!({"tenantId": "string", "clients": [client.clone()]}),
    );
    let r = call(&t, "POST", &format!("{client_path}/secrets"), None).await;
    pinned(
        &r,
        201,
        json!({"tenantId": "string", "clientId": "string", "clientSecret": "string",
               "secretId": "string", "secretExpiresAt": "string", "client": client.clone()}),
    );
    let changed_client = json!({"tenantId": "string", "client": client.clone()});
    let r = call(
        &t,
        "DELETE",
        &format!(
            "{client_path}/secrets/{}",
            r.body["secretId"].as_str().unwrap()
        ),
        None,
    )
    .await;
    pinned(&r, 200, changed_client.clone());
    for action in ["disable", "enable"] {
        let path = format!("{client_path}/{action}");
        pinned(
            &call(&t, "POST", &path, None).await,
            200,
            changed_client.clone(),
        );
    }
    let federations = format!("{client_path}/federations");
    let federation = json!({"issuer": "https://login.microsoftonline.com/t/v2.0",
        "jwksUrl": "https://login.microsoftonline.com/t/discovery/v2.0/keys",
        "subject": "s", "audience": "api://a"});
    let r = call(&t, "POST", &federations, Some(federation)).await;
    let federated = with(
        client.clone(),
        json!({"federations": [{"federationId": "string", "created": "string", "issuer": "string",
               "jwksUrl": "string", "subject": "string", "audience": "string"}]}),
    );
    pinned(
        &r,
        201,
        json!({"tenantId": "string", "clientId": "string", "federationId": "string",
               "tokenEndpoint": "string", "scimUrl": "string", "client": federated}),
    );
    let one = format!("{federations}/{}", r.body["federationId"].as_str().unwrap());
    pinned(
        &call(&t, "DELETE", &one, None).await,
        200,
        changed_client.clone(),
    );
    pinned(
        &call(&t, "DELETE", &client_path, None).await,
        200,
        json!({"tenantId": "string", "clientId": "string", "deleted": "bool"}),
    );
    let settings = json!({"oauthOnly": true, "accessTokenLifetimeHours": 2});
    let r = call(&t, "PUT", &format!("{base}/oauth"), Some(settings)).await;
    pinned(&r, 200, tenant());
    assert_eq!(
        r.body["oauth"],
        json!({"oauthOnly": true, "accessTokenLifetimeHours": 2})
    );
    let off = json!({"oauthOnly": false});
    pinned(
        &call(&t, "PUT", &format!("{base}/oauth"), Some(off)).await,
        200,
        tenant(),
    );

    let r = call(&t, "GET", &format!("{base}/audit?limit=1"), None).await;
    pinned(
        &r,
        200,
        json!({"tenantId": "string", "nextCursor": "string", "events": [{
            "time": "string", "eventId": "string", "tenantId": "string",
            "credentialId": "null", "principal": "string", "method": "string",
            "action": "string", "resourceType": "string", "resourceId": "string",
            "status": "number"}]}),
    );

    let scim = t.as_tenant(&id, &token);
    assert_eq!(
        scim.post("/Users", json!({"userName": "wire"}))
            .await
            .status,
        201
    );
    let r = call(&t, "GET", &format!("{base}/events"), None).await;
    pinned(
        &r,
        200,
        json!({"tenantId": "string", "nextCursor": "string", "events": [{
            "id": "string", "time": "string", "type": "string", "resourceType": "string",
            "resourceId": "string", "version": "number", "set": shape(&r.body["events"][0]["set"])}]}),
    );
    assert!(r.body["events"][0]["set"]["events"].is_object());

    let error = json!({"error": {"code": "string", "message": "string"}});
    pinned(
        &call(&t, "GET", "/admin/tenants/not-a-tenant", None).await,
        404,
        error.clone(),
    );
    pinned(
        &call(&t, "GET", &format!("{base}/events?limit=0"), None).await,
        400,
        error.clone(),
    );
    pinned(
        &call(
            &t,
            "POST",
            &format!("{base}/credentials/{second}/enable"),
            None,
        )
        .await,
        404,
        error.clone(),
    );

    let r = call(&t, "DELETE", &format!("{base}?confirm=DELETE"), None).await;
    pinned(
        &r,
        200,
        json!({"tenantId": "string", "complete": "bool", "deleted": {
            "credentials": "number", "users": "number", "groups": "number",
            "memberships": "number", "guards": "number", "auditEvents": "number"}}),
    );
    pinned(&call(&t, "GET", &base, None).await, 404, error);
}

#[tokio::test]
async fn the_events_feed_refuses_unknown_parameters_as_the_audit_trail_does() {
    let t = TestApp::new().await;
    for route in ["events", "audit"] {
        let path = format!("/admin/tenants/{}/{route}?limt=5", t.tenant);
        let r = call(&t, "GET", &path, None).await;
        assert_eq!(r.status, 400, "{route}: {:?}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("unknown parameter \"limt\""), "{message}");
    }
}
