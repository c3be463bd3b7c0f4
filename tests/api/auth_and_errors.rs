//! Authentication, discovery and bad input: every client error is a SCIM Error, never a 500.

use crate::common::{assert_scim_error, TestApp};
use lambda_http::Body;
use serde_json::{json, Value};

#[tokio::test]
async fn bad_tokens_get_401_with_www_authenticate() {
    let t = TestApp::new().await;
    let other = TestApp::new().await;
    let forged = format!("scimv2_{}_{}", &t.token[7..33], "0".repeat(64));
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Basic dXNlcjpwYXNz".into()),
        Some("Bearer".into()),
        Some("Bearer garbage".into()),
        Some(format!("Bearer {forged}")),
        Some(format!("Bearer {}", other.token)),
    ];
    for h in headers {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(h) = &h {
            pairs.push(("authorization", h));
        }
        let r = t
            .send(t.raw_request("GET", "/Users", Body::Empty, &pairs))
            .await;
        assert_scim_error(&r, 401, None);
        assert!(
            r.header("www-authenticate").unwrap().starts_with("Bearer"),
            "{h:?}"
        );
    }
    assert_eq!(t.get("/Users").await.status, 200);
}

#[tokio::test]
async fn a_tenant_cannot_see_another_tenants_resources() {
    let t = TestApp::new().await;
    let other = TestApp::new().await;
    let theirs = other.user("secret@other").await;
    assert_scim_error(&t.get(&format!("/Users/{theirs}")).await, 404, None);
    assert_eq!(
        t.get("/Users?filter=userName eq \"secret@other\"")
            .await
            .body["totalResults"],
        0
    );
    assert_eq!(t.get("/Users").await.body["totalResults"], 0);
    assert_scim_error(
        &t.call("DELETE", &format!("/Users/{theirs}"), None).await,
        404,
        None,
    );
    assert_eq!(other.get(&format!("/Users/{theirs}")).await.status, 200);
}

#[tokio::test]
async fn discovery_endpoints_describe_the_service() {
    let t = TestApp::new().await;
    let spc = t.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, 200);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    let schemas = t.get("/Schemas").await;
    assert_eq!(schemas.body["totalResults"], 3);
    let user = t
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(
        user.body["id"],
        "urn:ietf:params:scim:schemas:core:2.0:User"
    );
    let types = t.get("/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 2);
    assert_eq!(
        t.get("/ResourceTypes/Group").await.body["endpoint"],
        "/Groups"
    );
    assert_scim_error(&t.get("/Schemas/urn:nope").await, 404, None);
    assert_scim_error(&t.get("/ResourceTypes/Device").await, 404, None);
}

#[tokio::test]
async fn malformed_bodies_are_400_invalid_syntax() {
    let t = TestApp::new().await;
    let auth = format!("Bearer {}", t.token);
    let bodies = [
        Body::Text("{\"userName\": ".into()),
        Body::Text("[1,2]".into()),
        Body::Binary(vec![b'{', 0xff, 0xfe, b'}']),
        Body::Empty,
    ];
    for body in bodies {
        let r = t
            .send(t.raw_request("POST", "/Users", body, &[("authorization", &auth)]))
            .await;
        assert_scim_error(&r, 400, Some("invalidSyntax"));
    }
}

#[tokio::test]
async fn badly_typed_or_missing_attributes_are_400_invalid_value() {
    let t = TestApp::new().await;
    for body in [
        json!({}),
        json!({"userName": 5}),
        json!({"userName": "  "}),
        json!({"userName": "a", "active": "yes"}),
        json!({"userName": "a", "emails": [{"value": 5}]}),
        json!({"userName": "a", "name": {"givenName": 7}}),
        json!({"userName": "a", "shoeSize": 44}),
    ] {
        let r = t.post("/Users", body.clone()).await;
        assert_scim_error(&r, 400, Some("invalidValue"));
        assert!(
            r.body["detail"].as_str().unwrap().len() > 10,
            "errors say what is wrong"
        );
    }
    assert_eq!(
        t.get("/Users").await.body["totalResults"],
        0,
        "no failed request wrote anything"
    );
}

#[tokio::test]
async fn bad_patch_requests_are_400_and_change_nothing() {
    let t = TestApp::new().await;
    let id = t.user("p").await;
    let path = format!("/Users/{id}");
    let cases = [
        (
            json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "title", "value": "x"}, {"op": "remove"}]}),
            "noTarget",
        ),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "title", "value": "x"}, {"op": "add", "path": "bogus[", "value": 1}]}),
            "invalidPath",
        ),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "title", "value": "x"}, {"op": "replace", "path": "id", "value": "y"}]}),
            "mutability",
        ),
    ];
    for (body, scim_type) in cases {
        let r = t.call("PATCH", &path, Some(body)).await;
        assert_scim_error(&r, 400, Some(scim_type));
    }
    assert!(
        t.get(&path).await.body.get("title").is_none(),
        "no operation of a failed PATCH applies"
    );
}

#[tokio::test]
async fn unknown_ids_routes_and_methods() {
    let t = TestApp::new().await;
    assert_scim_error(&t.get("/Users/01ARZ3NDEKTSV4RRFFQ69G5FAV").await, 404, None);
    assert_scim_error(&t.get("/Users/not-a-ulid").await, 404, None);
    assert_scim_error(
        &t.get("/Groups/01ARZ3NDEKTSV4RRFFQ69G5FAV").await,
        404,
        None,
    );
    assert_scim_error(&t.get("/Widgets").await, 404, None);
    let r = t.call("DELETE", "/Users", None).await;
    assert_scim_error(&r, 405, None);
    assert_scim_error(
        &t.call("POST", "/ServiceProviderConfig", Some(json!({})))
            .await,
        405,
        None,
    );
    assert_scim_error(&t.call("PATCH", "/Users/01ARZ3NDEKTSV4RRFFQ69G5FAV", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "title", "value": "x"}]}))).await, 404, None);
}

#[tokio::test]
async fn values_too_large_for_dynamodb_are_400_not_500() {
    let t = TestApp::new().await;
    let long = "n".repeat(2000);
    assert_scim_error(
        &t.post("/Users", json!({"userName": long})).await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &t.post("/Groups", json!({"displayName": long})).await,
        400,
        Some("invalidValue"),
    );
    let big = json!({"userName": "big", "title": "t".repeat(500 * 1024)});
    assert_scim_error(&t.post("/Users", big).await, 400, Some("invalidValue"));
    let id = t.user("grows").await;
    let r = t
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "title", "value": "t".repeat(500 * 1024)}]),
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let t = TestApp::new().await;
    let big = json!({"userName": "big", "displayName": "x".repeat(1024 * 1024)});
    assert_scim_error(&t.post("/Users", big).await, 413, None);
}

#[tokio::test]
async fn a_resource_id_that_is_not_a_ulid_is_404_after_the_requests_own_errors() {
    let t = TestApp::new().await;
    let lower = t.user("lower@example.com").await.to_lowercase();
    assert_eq!(t.get(&format!("/Users/{lower}")).await.status, 200);
    let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    for method in ["PUT", "PATCH", "DELETE"] {
        let body = (method == "PATCH")
            .then(|| patch(json!([{"op": "add", "path": "title", "value": "x"}])));
        let body = body.or_else(|| (method == "PUT").then(|| json!({"userName": "x"})));
        assert_scim_error(&t.call(method, "/Users/not-a-ulid", body).await, 404, None);
    }
    // The body is judged first, as for an id that is a ULID.
    assert_scim_error(
        &t.call("PUT", "/Users/not-a-ulid", Some(json!({"userName": 7})))
            .await,
        400,
        Some("invalidValue"),
    );
    let member_filter = patch(json!([{"op": "remove", "path": "members[display eq \"x\"]"}]));
    assert_scim_error(
        &t.call("PATCH", "/Groups/not-a-ulid", Some(member_filter))
            .await,
        400,
        Some("invalidFilter"),
    );
}
