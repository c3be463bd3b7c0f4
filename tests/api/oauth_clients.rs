//! OAuth clients of a tenant, managed through the admin API as tokens are: at most two clients,
//! at most two secrets each, secrets shown once and stored hashed, every change audited, and all
//! of it removed when provisioning is turned off. Each test reads the stored state back.

use serde_json::{json, Value};

use crate::common::{admin_call, Resp, TestApp};
use scim_serverless::protocol::{ClientId, TenantId};
use scim_serverless::store::{AuditQuery, CredentialStatus, MAX_CLIENTS};

const ADMIN: &str = "arn:aws:iam::123456789012:role/scim-operators";

async fn admin(t: &TestApp, method: &str, path: &str, body: Option<Value>) -> Resp {
    admin_call(t.store(), Some(ADMIN), method, path, body, &[]).await
}

fn clients_path(t: &TestApp) -> String {
    format!("/admin/tenants/{}/oauth/clients", t.tenant)
}

fn client_id(r: &Resp) -> ClientId {
    r.body["clientId"]
        .as_str()
        .expect("clientId")
        .parse()
        .expect("a client id")
}

#[tokio::test]
async fn a_created_client_shows_its_secret_once_and_stores_only_its_hash() {
    let t = TestApp::new().await;
    let created = admin(
        &t,
        "POST",
        &clients_path(&t),
        Some(json!({"description": "Entra ID"})),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let secret = created.body["clientSecret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("scimcs_"), "{secret}");
    // The endpoints an IdP's admin copies, under the API's own domain.
    let root = "https://abc123example.execute-api.us-east-1.amazonaws.com";
    assert_eq!(
        created.body["tokenEndpoint"],
        format!("{root}/{}/oauth2/token", t.tenant).as_str()
    );
    assert_eq!(
        created.body["scimUrl"],
        format!("{root}/{}/scim/v2", t.tenant).as_str()
    );

    let id = client_id(&created);
    let stored = t
        .store()
        .get_client(&t.tenant_id(), &id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.description, "Entra ID");
    assert_eq!(stored.status, CredentialStatus::Enabled);
    assert_eq!(stored.secrets.len(), 1);
    let kept = &stored.secrets[0];
    assert_eq!(kept.id.as_str(), created.body["secretId"].as_str().unwrap());
    assert!(scim_serverless::auth::verify(&secret, &kept.secret_hash));
    assert_ne!(kept.secret_hash, secret);
    // A year by default, never unlimited.
    let days = (kept.expires.as_datetime() - kept.created.as_datetime()).whole_days();
    assert_eq!(days, 365);

    let listed = admin(&t, "GET", &clients_path(&t), None).await;
    assert_eq!(listed.status, 200);
    let text = listed.body.to_string();
    assert!(!text.contains(&secret) && !text.contains(&kept.secret_hash));
    assert_eq!(listed.body["clients"][0]["clientId"], id.as_str());
    assert_eq!(
        listed.body["clients"][0]["secrets"][0]["secretId"],
        kept.id.as_str()
    );
}

#[tokio::test]
async fn a_tenant_has_at_most_two_clients_and_a_client_two_secrets() {
    let t = TestApp::new().await;
    let mut ids = Vec::new();
    for _ in 0..MAX_CLIENTS {
        let r = admin(&t, "POST", &clients_path(&t), None).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        ids.push(client_id(&r));
    }
    // The consistency checker knows client items.
    let report = t
        .admin()
        .check(&t.tenant_id(), false, |_| {})
        .await
        .unwrap();
    assert_eq!(report.unresolved(), 0, "{report:?}");
    let third = admin(&t, "POST", &clients_path(&t), None).await;
    assert_eq!(third.status, 409, "{:?}", third.body);
    let message = third.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(ids[0].as_str()) && message.contains("delete"));
    assert_eq!(
        t.store().list_clients(&t.tenant_id()).await.unwrap().len(),
        2
    );

    // A second secret overlaps the first; a third is refused, naming what to do.
    let secrets = format!("{}/{}/secrets", clients_path(&t), ids[0]);
    let added = admin(&t, "POST", &secrets, Some(json!({"expiresInDays": 30}))).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let refused = admin(&t, "POST", &secrets, None).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("delete the older"));
    let stored = t
        .store()
        .get_client(&t.tenant_id(), &ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.secrets.len(), 2);
    let newest = &stored.secrets[1];
    assert_eq!(
        newest.id.as_str(),
        added.body["secretId"].as_str().unwrap(),
        "secrets are listed oldest first"
    );
    assert_eq!(
        (newest.expires.as_datetime() - newest.created.as_datetime()).whole_days(),
        30
    );

    // Deleting the older frees the slot; deleting it again is a 404.
    let older = stored.secrets[0].id.clone();
    let path = format!("{secrets}/{older}");
    let deleted = admin(&t, "DELETE", &path, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(admin(&t, "DELETE", &path, None).await.status, 404);
    let stored = t
        .store()
        .get_client(&t.tenant_id(), &ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.secrets.len(), 1);
    assert_eq!(stored.secrets[0].id, newest.id);
    assert_eq!(admin(&t, "POST", &secrets, None).await.status, 201);

    // Deleting a client frees its slot.
    let client = format!("{}/{}", clients_path(&t), ids[1]);
    assert_eq!(admin(&t, "DELETE", &client, None).await.status, 200);
    assert_eq!(admin(&t, "DELETE", &client, None).await.status, 404);
    assert!(t
        .store()
        .get_client(&t.tenant_id(), &ids[1])
        .await
        .unwrap()
        .is_none());
    assert_eq!(admin(&t, "POST", &clients_path(&t), None).await.status, 201);
}

#[tokio::test]
async fn secret_lifetimes_are_bounded_and_bad_input_is_a_clear_400() {
    let t = TestApp::new().await;
    for body in [
        json!({"secretExpiresInDays": 0}),
        json!({"secretExpiresInDays": 29}),
        json!({"secretExpiresInDays": 1096}),
        json!({"secretExpiresInDays": "365"}),
        json!({"description": 7}),
        json!({"description": "x".repeat(257)}),
    ] {
        let r = admin(&t, "POST", &clients_path(&t), Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(r.body["error"]["code"], "InvalidRequest");
    }
    assert!(t
        .store()
        .list_clients(&t.tenant_id())
        .await
        .unwrap()
        .is_empty());
    let longest = admin(
        &t,
        "POST",
        &clients_path(&t),
        Some(json!({"secretExpiresInDays": 1095})),
    )
    .await;
    assert_eq!(longest.status, 201, "{:?}", longest.body);
    for bad in ["not-a-ulid", "01ARZ3NDEKTSV4RRFFQ69G5FAV"] {
        let r = admin(
            &t,
            "POST",
            &format!("{}/{bad}/disable", clients_path(&t)),
            None,
        )
        .await;
        assert_eq!(r.status, 404, "{bad}: {:?}", r.body);
    }
}

#[tokio::test]
async fn disable_and_enable_are_stored_and_every_change_is_audited() {
    let t = TestApp::new().await;
    let created = admin(&t, "POST", &clients_path(&t), None).await;
    let id = client_id(&created);
    let client = format!("{}/{id}", clients_path(&t));
    let disabled = admin(&t, "POST", &format!("{client}/disable"), None).await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.body);
    assert_eq!(disabled.body["client"]["status"], "disabled");
    let stored = t.store().get_client(&t.tenant_id(), &id).await.unwrap();
    assert_eq!(stored.unwrap().status, CredentialStatus::Disabled);
    let enabled = admin(&t, "POST", &format!("{client}/enable"), None).await;
    assert_eq!(enabled.body["client"]["status"], "enabled");
    let stored = t.store().get_client(&t.tenant_id(), &id).await.unwrap();
    assert_eq!(stored.unwrap().status, CredentialStatus::Enabled);
    let added = admin(&t, "POST", &format!("{client}/secrets"), None).await;
    let secret = added.body["secretId"].as_str().unwrap();
    assert_eq!(
        admin(&t, "DELETE", &format!("{client}/secrets/{secret}"), None)
            .await
            .status,
        200
    );
    assert_eq!(admin(&t, "DELETE", &client, None).await.status, 200);
    assert_eq!(admin(&t, "DELETE", &client, None).await.status, 404);

    let page = t
        .store()
        .list_audit(
            &t.tenant_id(),
            &AuditQuery {
                limit: 100,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    let trail: Vec<(String, u16, Option<String>)> = page
        .events
        .iter()
        .filter(|e| e.action.starts_with("oauth."))
        .map(|e| (e.action.clone(), e.status, e.resource_id.clone()))
        .collect();
    let about = Some(id.to_string());
    assert_eq!(
        trail,
        vec![
            ("oauth.client.delete".into(), 404, about.clone()),
            ("oauth.client.delete".into(), 200, about.clone()),
            ("oauth.secret.delete".into(), 200, about.clone()),
            ("oauth.secret.add".into(), 201, about.clone()),
            ("oauth.client.enable".into(), 200, about.clone()),
            ("oauth.client.disable".into(), 200, about.clone()),
            ("oauth.client.create".into(), 201, about.clone()),
        ]
    );
    assert!(!format!("{:?}", page.events).contains("scimcs_"));
}

#[tokio::test]
async fn provisioning_off_removes_every_client_and_refuses_new_ones() {
    let t = TestApp::new().await;
    for _ in 0..2 {
        assert_eq!(admin(&t, "POST", &clients_path(&t), None).await.status, 201);
    }
    let tenant = format!("/admin/tenants/{}", t.tenant);
    let off = admin(&t, "POST", &format!("{tenant}/provisioning/disable"), None).await;
    assert_eq!(off.status, 200, "{:?}", off.body);
    assert!(t
        .store()
        .list_clients(&t.tenant_id())
        .await
        .unwrap()
        .is_empty());
    let refused = admin(&t, "POST", &clients_path(&t), None).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("provisioning enable"));

    // Turned on again, the client slots are free again.
    let on = admin(&t, "POST", &format!("{tenant}/provisioning/enable"), None).await;
    assert_eq!(on.status, 201, "{:?}", on.body);
    for _ in 0..2 {
        assert_eq!(admin(&t, "POST", &clients_path(&t), None).await.status, 201);
    }
}

#[tokio::test]
async fn a_tenant_delete_removes_its_clients() {
    let t = TestApp::new().await;
    let created = admin(&t, "POST", &clients_path(&t), None).await;
    let id = client_id(&created);
    let tenant = format!("/admin/tenants/{}?confirm=DELETE", t.tenant);
    let deleted = admin(&t, "DELETE", &tenant, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert!(t
        .store()
        .get_client(&t.tenant_id(), &id)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn another_tenants_client_is_not_found_through_this_one() {
    let a = TestApp::new().await;
    let b = TestApp::new().await;
    let created = admin(&a, "POST", &clients_path(&a), None).await;
    let id = client_id(&created);
    let through_b = format!("{}/{id}", clients_path(&b));
    for (method, path) in [
        ("POST", format!("{through_b}/disable")),
        ("POST", format!("{through_b}/secrets")),
        ("DELETE", through_b.clone()),
    ] {
        let r = admin(&b, method, &path, None).await;
        assert_eq!(r.status, 404, "{method} {path}: {:?}", r.body);
    }
    let listed = admin(&b, "GET", &clients_path(&b), None).await;
    assert_eq!(listed.body["clients"], json!([]));
    let stored = a
        .store()
        .get_client(&a.tenant_id(), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, CredentialStatus::Enabled);
    assert_eq!(stored.secrets.len(), 1);
    let other: TenantId = b.tenant_id();
    assert!(a.store().get_client(&other, &id).await.unwrap().is_none());
}
