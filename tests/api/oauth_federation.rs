//! Workload identity federation end to end (RFC 7523 §2.2): a client with a federated
//! credential gets an access token for an assertion the test IdP signed (RS256 or ES256, keys
//! from its loopback JWKS), and every assertion that should not pass gets `invalid_client`.
//! Stored state (tokens, replay guards, audit) is read back.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::common::idp::{self, Serve, TestIdp};
use crate::common::{admin_call, resp, token_request, Resp, TestApp};
use scim_serverless::protocol::ClientId;
use scim_serverless::service::oauth::{NewClient, NewFederation};
use scim_serverless::store::{AuditQuery, CredentialStatus};

use idp::LOCAL;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A tenant whose app and admin may use a loopback JWKS, a client without a secret, and the IdP
/// federated to it.
struct Federated {
    t: TestApp,
    idp: TestIdp,
    client: ClientId,
}

async fn federated() -> Federated {
    let mut t = TestApp::new().await;
    t.app = t.app.clone().with_federation(LOCAL);
    let idp = TestIdp::start().await;
    let client = federate(&t, &idp).await;
    Federated { t, idp, client }
}

async fn federate(t: &TestApp, idp: &TestIdp) -> ClientId {
    let issued = idp::federated_client(t, idp, false).await;
    assert_eq!(issued.client_secret, None);
    assert!(issued
        .token_endpoint
        .ends_with(&format!("/{}/oauth2/token", t.tenant)));
    issued.client_id
}

fn federation_of(idp: &TestIdp) -> NewFederation {
    idp.federation()
}

/// Entra's token request: client_id, the assertion, its type and the `.default` scope.
fn form(client: &ClientId, assertion: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={client}&client_assertion_type={ASSERTION_TYPE}\
         &client_assertion={assertion}&scope=api%3A%2F%2Fscim%2F.default"
    )
}

impl Federated {
    async fn exchange(&self, assertion: &str) -> Resp {
        self.exchange_at(&self.t.tenant, &self.client, assertion)
            .await
    }

    async fn exchange_at(&self, tenant: &str, client: &ClientId, assertion: &str) -> Resp {
        let request = token_request(tenant, &form(client, assertion), &[]);
        resp(self.t.app.handle(request).await)
    }

    async fn tokens_stored(&self) -> usize {
        let stored = self
            .t
            .store()
            .get_client(&self.t.tenant_id(), &self.client)
            .await
            .unwrap()
            .unwrap();
        stored.federations.iter().map(|f| f.tokens.len()).sum()
    }
}

#[track_caller]
fn refused(r: &Resp, words: &str) {
    assert_eq!(r.status, 401, "{:?}", r.body);
    assert_eq!(r.body["error"], "invalid_client", "{:?}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let description = r.body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(words), "{words:?} in {description:?}");
}

#[tokio::test]
async fn an_entra_shaped_assertion_gets_a_token_that_works_on_its_tenant_only() {
    let f = federated().await;
    let claims = f.idp.entra_claims();
    let r = f.exchange(&f.idp.rsa.sign(&claims)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], "scim");
    let token = r.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(f.t.status_with(&token).await, 200);
    // ES256 works the same; the JWKS was fetched once for both.
    let r = f.exchange(&f.idp.ec.sign(&f.idp.entra_claims())).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(f.idp.fetches(), 1);
    assert_eq!(f.tokens_stored().await, 2);

    // Another tenant: its SCIM API refuses the token, its endpoint does not know the client.
    let other = TestApp::new().await;
    assert_eq!(
        other.as_tenant(&other.tenant, "").status_with(&token).await,
        401
    );
    let r = f
        .exchange_at(
            &other.tenant,
            &f.client,
            &f.idp.rsa.sign(&f.idp.entra_claims()),
        )
        .await;
    refused(&r, "client authentication failed");

    // The audit names the client and the federated credential behind the token.
    let events =
        f.t.admin()
            .audit_events(&f.t.tenant_id(), &AuditQuery::default())
            .await
            .unwrap();
    let issue = events
        .events
        .iter()
        .find(|e| e.action == "oauth.token.issue")
        .expect("the issue is audited");
    assert_eq!(issue.client_id.as_ref(), Some(&f.client));
    assert!(issue.federation_id.is_some(), "{issue:?}");
    assert_eq!(issue.secret_id, None);
}

#[tokio::test]
async fn an_assertion_is_single_use_by_its_jti() {
    let f = federated().await;
    let assertion = f.idp.rsa.sign(&f.idp.entra_claims());
    assert_eq!(f.exchange(&assertion).await.status, 200);
    refused(&f.exchange(&assertion).await, "already used");
    assert_eq!(f.tokens_stored().await, 1, "the replay stored no token");
    // An assertion without a jti (Entra's own carry none) may be presented again until it
    // expires: Entra reuses its cached token between cycles.
    let mut claims = f.idp.entra_claims();
    claims.as_object_mut().unwrap().remove("jti");
    let reusable = f.idp.rsa.sign(&claims);
    assert_eq!(f.exchange(&reusable).await.status, 200);
    assert_eq!(f.exchange(&reusable).await.status, 200);
}

#[tokio::test]
async fn every_bad_assertion_is_refused_with_its_reason() {
    let f = federated().await;
    let now = idp::now();
    let with = |changes: Value| {
        let mut claims = f.idp.entra_claims();
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let rsa = &f.idp.rsa;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong aud",
            rsa.sign(&with(json!({"aud": "api://other"}))),
            "aud",
        ),
        (
            "wrong iss",
            rsa.sign(&with(json!({"iss": "https://evil.example/v2.0"}))),
            "iss",
        ),
        (
            "wrong sub",
            rsa.sign(&with(json!({"sub": "someone-else"}))),
            "sub",
        ),
        (
            "expired",
            rsa.sign(&with(
                json!({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}),
            )),
            "expired",
        ),
        (
            "not yet valid",
            rsa.sign(&with(
                json!({"nbf": now + 3600, "iat": now, "exp": now + 4000}),
            )),
            "not valid before",
        ),
        ("no exp", rsa.sign(&with(json!({"exp": null}))), "exp"),
        (
            "a day long",
            rsa.sign(&with(json!({"exp": now + 86_400}))),
            "at most",
        ),
        (
            "unsigned",
            unsigned(&f.idp.entra_claims(), &rsa.kid),
            "\"none\"",
        ),
        (
            "HS256 with the RSA public key as secret",
            confused(&f.idp, &f.idp.entra_claims()),
            "\"HS256\"",
        ),
        (
            "signed by another key under the IdP's kid",
            idp::rsa_key(&rsa.kid).sign(&f.idp.entra_claims()),
            "signature",
        ),
        ("garbage", "not.a.jwt".to_string(), "not a signed JWT"),
    ];
    for (name, assertion, words) in cases {
        let r = f.exchange(&assertion).await;
        assert_eq!(r.status, 401, "{name}: {:?}", r.body);
        refused(&r, words);
    }
    assert_eq!(
        f.tokens_stored().await,
        0,
        "no refused assertion stored a token"
    );

    // A disabled client: the assertion verifies, and the answer says what is wrong.
    f.t.admin()
        .set_client_status(&f.t.tenant_id(), &f.client, CredentialStatus::Disabled)
        .await
        .unwrap();
    refused(
        &f.exchange(&rsa.sign(&f.idp.entra_claims())).await,
        "disabled",
    );
}

/// `alg: none`, no signature.
fn unsigned(claims: &Value, kid: &str) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": kid})),
        b64(claims)
    )
}

/// Algorithm confusion: HS256 "signed" with the RSA public key as the HMAC secret.
fn confused(idp: &TestIdp, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(idp.rsa.kid.clone());
    let key = EncodingKey::from_secret(&idp.rsa_public_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_and_a_rotated_key_is_found() {
    let f = federated().await;
    assert_eq!(
        f.exchange(&f.idp.rsa.sign(&f.idp.entra_claims()))
            .await
            .status,
        200
    );
    assert_eq!(f.idp.fetches(), 1);
    // The IdP rotates: a new kid is fetched on first sight.
    let rotated = idp::rsa_key("rotated");
    f.idp.publish(&rotated);
    assert_eq!(
        f.exchange(&rotated.sign(&f.idp.entra_claims()))
            .await
            .status,
        200
    );
    assert_eq!(f.idp.fetches(), 2);
    // A made-up kid right after: no new fetch within the minute, and a clear refusal.
    let r = f
        .exchange(&f.idp.rsa.sign_as("made-up", &f.idp.entra_claims()))
        .await;
    refused(&r, "no key \"made-up\"");
    assert_eq!(f.idp.fetches(), 2, "at most one refetch a minute per URL");
}

#[tokio::test]
async fn an_unknown_kid_fails_after_the_refetch() {
    let f = federated().await;
    let r = f
        .exchange(&f.idp.rsa.sign_as("nobody", &f.idp.entra_claims()))
        .await;
    refused(&r, "even after fetching it again");
    assert_eq!(f.idp.fetches(), 1);
}

#[tokio::test]
async fn a_jwks_host_that_hangs_or_fails_is_a_clean_error_and_issued_tokens_keep_working() {
    let f = federated().await;
    let r = f.exchange(&f.idp.rsa.sign(&f.idp.entra_claims())).await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    for (how, words) in [(Serve::Hang, "no answer within 2 s"), (Serve::Fail, "500")] {
        // A fresh instance has no keys cached.
        let t = f.t.as_tenant(&f.t.tenant, &f.t.token);
        let cold = Federated {
            t: TestApp {
                app: t.app.clone().with_federation(LOCAL),
                ..t
            },
            idp: TestIdp::start().await,
            client: f.client.clone(),
        };
        f.idp.serve(how);
        let started = Instant::now();
        let r = cold.exchange(&f.idp.rsa.sign(&f.idp.entra_claims())).await;
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{how:?} took {:?}",
            started.elapsed()
        );
        refused(&r, words);
        f.idp.serve(Serve::Keys);
    }
    assert_eq!(
        f.t.status_with(&token).await,
        200,
        "issued tokens keep working"
    );
}

#[tokio::test]
async fn deleting_the_federated_credential_revokes_its_tokens_at_once() {
    let f = federated().await;
    let r = f.exchange(&f.idp.rsa.sign(&f.idp.entra_claims())).await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(f.t.status_with(&token).await, 200);
    let client =
        f.t.store()
            .get_client(&f.t.tenant_id(), &f.client)
            .await
            .unwrap()
            .unwrap();
    let federation = client.federations[0].id.clone();
    f.t.admin()
        .delete_federation(&f.t.tenant_id(), &f.client, &federation)
        .await
        .unwrap();
    assert_eq!(f.t.status_with(&token).await, 401);
    refused(
        &f.exchange(&f.idp.rsa.sign(&f.idp.entra_claims())).await,
        "no federated credential",
    );
    let stored =
        f.t.store()
            .get_client(&f.t.tenant_id(), &f.client)
            .await
            .unwrap()
            .unwrap();
    assert!(stored.federations.is_empty());
}

#[tokio::test]
async fn an_assertion_for_another_tenants_client_is_refused() {
    let a = federated().await;
    let b = federated().await;
    // B's client, B's IdP, presented at A's endpoint; and A's client id with B's assertion.
    let r = a
        .exchange_at(
            &a.t.tenant,
            &b.client,
            &b.idp.rsa.sign(&b.idp.entra_claims()),
        )
        .await;
    refused(&r, "client authentication failed");
    let r = a.exchange(&b.idp.rsa.sign(&b.idp.entra_claims())).await;
    assert_eq!(r.status, 401, "{:?}", r.body);
    assert_eq!(a.tokens_stored().await + b.tokens_stored().await, 0);
}

#[tokio::test]
async fn federated_credentials_are_checked_limited_and_managed_over_the_admin_api() {
    let t = TestApp::new().await;
    let idp = TestIdp::start().await;
    let admin = t.admin();
    let client = admin
        .create_client(&t.tenant_id(), &NewClient::default())
        .await
        .unwrap()
        .client_id;
    // The deployed policy: a loopback http JWKS is refused, and so is any other http.
    for url in [
        idp.jwks_url.as_str(),
        "http://example.com/keys",
        "ftp://x/keys",
    ] {
        let new = NewFederation {
            jwks_url: url.into(),
            ..federation_of(&idp)
        };
        let err = admin
            .add_federation(&t.tenant_id(), &client, &new)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("https"), "{url}: {err}");
    }
    let path = format!(
        "/admin/tenants/{}/oauth/clients/{client}/federations",
        t.tenant
    );
    let body = json!({
        "issuer": idp.issuer, "jwksUrl": "https://login.microsoftonline.com/x/discovery/v2.0/keys",
        "subject": idp.subject, "audience": idp.audience,
    });
    let principal = Some("arn:aws:iam::123456789012:user/ops");
    for _ in 0..2 {
        let r = admin_call(t.store(), principal, "POST", &path, Some(body.clone()), &[]).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert!(r.body["federationId"].is_string());
        assert!(r.body["tokenEndpoint"]
            .as_str()
            .unwrap()
            .ends_with("/oauth2/token"));
    }
    let r = admin_call(t.store(), principal, "POST", &path, Some(body.clone()), &[]).await;
    assert_eq!(r.status, 409, "a third is refused: {:?}", r.body);
    let r = admin_call(
        t.store(),
        principal,
        "POST",
        &path,
        Some(json!({"issuer": "x"})),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let stored = t
        .store()
        .get_client(&t.tenant_id(), &client)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.federations.len(), 2);
    let id = stored.federations[0].id.clone();
    let one = format!("{path}/{id}");
    let delete = || admin_call(t.store(), principal, "DELETE", &one, None, &[]);
    let r = delete().await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["client"]["federations"].as_array().unwrap().len(), 1);
    assert_eq!(delete().await.status, 404, "it is gone");
    let events = admin
        .audit_events(&t.tenant_id(), &AuditQuery::default())
        .await
        .unwrap();
    let actions: Vec<&str> = events.events.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"oauth.federation.add") && actions.contains(&"oauth.federation.delete")
    );
}
