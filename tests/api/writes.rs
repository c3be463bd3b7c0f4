//! Writes, table-driven, through the handler and the local DynamoDB: each case sends one request
//! and reads the stored resource back, so what is asserted is what was stored. The seven defects
//! of the PATCH issue each have a case (marked "defect N").

use crate::common::TestApp;
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn ops(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

fn ann() -> Value {
    json!({
        "userName": "ann",
        "nickName": "annie",
        "title": "Cook",
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [
            {"type": "work", "value": "ann@work.example", "primary": true},
            {"type": "home", "value": "ann@home.example"}
        ],
        ENTERPRISE: {"department": "Kitchen"}
    })
}

/// A PATCH of `ann()` and what the stored user must look like after it: (JSON pointer,
/// expected value; `null` for absent).
struct Case {
    name: &'static str,
    operations: Value,
    status: u16,
    scim_type: Option<&'static str>,
    expect: Vec<(&'static str, Value)>,
}

fn case(
    name: &'static str,
    operations: Value,
    status: u16,
    expect: Vec<(&'static str, Value)>,
) -> Case {
    Case {
        name,
        operations,
        status,
        scim_type: None,
        expect,
    }
}

fn refused(name: &'static str, operations: Value, scim_type: &'static str) -> Case {
    // A refused PATCH changes nothing: the stored user is still `ann()`.
    Case {
        name,
        operations,
        status: 400,
        scim_type: Some(scim_type),
        expect: vec![
            ("/nickName", json!("annie")),
            ("/title", json!("Cook")),
            ("/emails/0/value", json!("ann@work.example")),
            ("/meta/version", json!("W/\"1\"")),
        ],
    }
}

#[tokio::test]
async fn user_patches_store_exactly_what_rfc_7644_says() {
    let cases = vec![
        case("defect 1: replace with null clears", json!([{"op": "replace", "path": "nickName", "value": null}]), 200,
            vec![("/nickName", Value::Null), ("/title", json!("Cook"))]),
        case("replace with an empty string clears", json!([{"op": "replace", "path": "title", "value": ""}]), 200,
            vec![("/title", Value::Null)]),
        refused("defect 4: a filtered replace that matches nothing is noTarget, and nothing before it applies",
            json!([{"op": "replace", "path": "nickName", "value": "x"},
                   {"op": "replace", "path": "emails[value eq \"nobody@x.example\"].display", "value": "y"}]), "noTarget"),
        case("a filtered replace changes only the matching value",
            json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "new@home.example"}]), 200,
            vec![("/emails/0/value", json!("ann@work.example")), ("/emails/1/value", json!("new@home.example"))]),
        case("Entra: a filtered add creates the value it names",
            json!([{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 1"}]), 200,
            vec![("/phoneNumbers/0/type", json!("mobile")), ("/phoneNumbers/0/value", json!("+44 1"))]),
        case("Entra: a filtered replace of a work email that does not exist yet creates it",
            json!([{"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Road"}]), 200,
            vec![("/addresses/0/type", json!("work")), ("/addresses/0/streetAddress", json!("1 Road"))]),
        case("a filtered remove removes only the matches",
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]), 200,
            vec![("/emails/0/value", json!("ann@work.example")), ("/emails/1", Value::Null)]),
        case("add to a multi-valued attribute appends and does not duplicate",
            json!([{"op": "add", "path": "emails", "value": [{"type": "other", "value": "o@x.example"}, {"type": "home", "value": "ann@home.example"}]}]), 200,
            vec![("/emails/2/value", json!("o@x.example")), ("/emails/3", Value::Null)]),
        case("primary on one value clears it on the others",
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]), 200,
            vec![("/emails/0/primary", json!(false)), ("/emails/1/primary", json!(true))]),
        case("a path-less replace merges dotted and URN-qualified keys (aadOptscim062020)",
            json!([{"op": "replace", "value": {"name.givenName": "Anna", "active": false,
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Bakery"}}]), 200,
            vec![("/name/givenName", json!("Anna")), ("/name/familyName", json!("Lee")), ("/active", json!(false)),
                 ("/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department", json!("Bakery"))]),
        case("Entra default: capitalised ops, a string boolean and a bare manager id",
            json!([{"op": "Replace", "path": "active", "value": "False"},
                   {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "M-1"}]), 200,
            vec![("/active", json!(false)),
                 ("/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager/value", json!("M-1"))]),
        case("Entra: add on a singular attribute that has a value replaces it",
            json!([{"op": "Add", "path": "title", "value": "Chef"}]), 200, vec![("/title", json!("Chef"))]),
        case("Okta: a path-less replace of active deactivates",
            json!([{"op": "replace", "value": {"active": false}}]), 200, vec![("/active", json!(false))]),
        refused("remove without a path is noTarget", json!([{"op": "remove"}]), "noTarget"),
        refused("a read-only attribute in a PATCH is mutability", json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]), "mutability"),
        refused("groups of a user are read-only", json!([{"op": "add", "path": "groups", "value": [{"value": "x"}]}]), "mutability"),
        refused("a wrong type is invalidValue", json!([{"op": "replace", "path": "active", "value": "maybe"}]), "invalidValue"),
        refused("an unknown attribute is invalidValue", json!([{"op": "add", "path": "shoeSize", "value": 44}]), "invalidPath"),
        refused("removing a required attribute is refused", json!([{"op": "remove", "path": "userName"}]), "mutability"),
    ];
    for case in cases {
        let t = TestApp::new().await;
        let created = t.post("/Users", ann()).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let id = created.body["id"].as_str().unwrap().to_string();
        let path = format!("/Users/{id}");
        let r = t
            .call("PATCH", &path, Some(ops(case.operations.clone())))
            .await;
        assert_eq!(r.status, case.status, "{}: {:?}", case.name, r.body);
        if let Some(scim_type) = case.scim_type {
            assert_eq!(r.body["scimType"], scim_type, "{}", case.name);
        }
        let stored = t.get(&path).await.body;
        for (pointer, expected) in &case.expect {
            let found = stored.pointer(pointer).cloned().unwrap_or(Value::Null);
            assert_eq!(&found, expected, "{}: {pointer} in {stored}", case.name);
        }
    }
}

#[tokio::test]
async fn group_member_changes_by_every_spelling_go_through_the_checked_member_path() {
    let t = TestApp::new().await;
    let (a, b, c) = (t.user("ma").await, t.user("mb").await, t.user("mc").await);
    let members = |body: &Value| -> Vec<String> {
        let mut ids: Vec<String> = body["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|v| v["value"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    // defect 3: the same member twice, once in lower case, is one member, not a 500.
    let r = t
        .post(
            "/Groups",
            json!({"displayName": "g", "members": [{"value": a}, {"value": a.to_lowercase()}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let g = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Groups/{g}");
    assert_eq!(members(&t.get(&path).await.body), std::slice::from_ref(&a));

    // defect 2: a path-less add under the URN-qualified members key is checked like any other.
    let r = t
        .call("PATCH", &path, Some(ops(json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:Group:members": [{"value": "nobody"}]}}]))))
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(
        members(&t.get(&path).await.body),
        std::slice::from_ref(&a),
        "nothing stored"
    );
    let r = t
        .call("PATCH", &path, Some(ops(json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:Group:members": [{"value": b}]}}]))))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        members(&t.get(&path).await.body),
        sorted(vec![a.clone(), b.clone()])
    );

    // Entra: Remove with a value list removes only those listed.
    let r = t
        .call(
            "PATCH",
            &path,
            Some(ops(
                json!([{"op": "Remove", "path": "members", "value": [{"value": a}]}]),
            )),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(members(&t.get(&path).await.body), std::slice::from_ref(&b));

    // aadOptscim062020 / Okta: members[value eq "x"].
    let r = t
        .call(
            "PATCH",
            &path,
            Some(ops(
                json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}]),
            )),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(members(&t.get(&path).await.body).is_empty());

    // Okta: a full replace of members, and a rename carrying the group's own id.
    let r = t
        .call(
            "PATCH",
            &path,
            Some(ops(json!([
                {"op": "replace", "path": "members", "value": [{"value": a}, {"value": c}]},
                {"op": "replace", "value": {"id": g, "displayName": "renamed"}}
            ]))),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let stored = t.get(&path).await.body;
    assert_eq!(members(&stored), sorted(vec![a.clone(), c.clone()]));
    assert_eq!(stored["displayName"], "renamed");
    // …and a different id is refused.
    let r = t
        .call(
            "PATCH",
            &path,
            Some(ops(
                json!([{"op": "replace", "value": {"id": a, "displayName": "x"}}]),
            )),
        )
        .await;
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (400, Some("mutability"))
    );
    assert_eq!(t.get(&path).await.body["displayName"], "renamed");
}

#[tokio::test]
async fn a_no_op_patch_keeps_version_and_last_modified() {
    let t = TestApp::new().await;
    let id = t.post("/Users", ann()).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/Users/{id}");
    let before = t.get(&path).await.body;
    let r = t
        .call(
            "PATCH",
            &path,
            Some(ops(
                json!([{"op": "replace", "path": "title", "value": "Cook"}]),
            )),
        )
        .await;
    assert_eq!(r.status, 200);
    let after = t.get(&path).await.body;
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);
    assert_eq!(
        after["meta"]["lastModified"],
        before["meta"]["lastModified"]
    );
}

#[tokio::test]
async fn read_only_attributes_on_create_are_ignored_and_unknown_ones_refused() {
    let t = TestApp::new().await;
    let r = t
        .post("/Users", json!({"userName": "ro", "id": "mine", "meta": {"created": "2000-01-01T00:00:00Z"}, "groups": [{"value": "x"}]}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let stored = t
        .get(&format!("/Users/{}", r.body["id"].as_str().unwrap()))
        .await
        .body;
    assert_ne!(stored["id"], "mine");
    assert_ne!(stored["meta"]["created"], "2000-01-01T00:00:00Z");
    assert!(stored.get("groups").is_none());
    for body in [
        json!({"userName": "u1", "shoeSize": 44}),
        json!({"userName": "u2", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:example:unknown"]}),
        json!({"userName": "u3", "emails": [{"type": "work"}], "active": "sometimes"}),
    ] {
        let r = t.post("/Users", body.clone()).await;
        assert_eq!(
            (r.status, r.body["scimType"].as_str()),
            (400, Some("invalidValue")),
            "{body}"
        );
    }
    // canonicalValues are suggestions.
    let r = t
        .post(
            "/Users",
            json!({"userName": "u4", "emails": [{"type": "pager", "value": "p@x.example"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        t.get("/Users?filter=userName sw \"u\"").await.body["totalResults"],
        1
    );
}

#[tokio::test]
async fn over_a_thousand_member_changes_is_refused_before_anything_is_written() {
    let t = TestApp::new().await;
    let g = t.group("big", &[]).await;
    let ids: Vec<Value> = (0..1001)
        .map(|i| json!({"value": format!("01ARZ3NDEKTSV4RRFFQ69G{i:04}")}))
        .collect();
    let r = t
        .call(
            "PATCH",
            &format!("/Groups/{g}"),
            Some(ops(json!([{"op": "add", "path": "members", "value": ids}]))),
        )
        .await;
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (400, Some("invalidValue")),
        "{:?}",
        r.body
    );
    assert!(r.body["detail"].as_str().unwrap().contains("1000"));
    assert_eq!(
        t.get(&format!("/Groups/{g}")).await.body["meta"]["version"],
        "W/\"1\""
    );
}

/// A write that commits one transaction (with its audit event) and then fails records its
/// failure as an event of its own: the committed event is never overwritten.
#[tokio::test]
async fn a_failure_record_never_replaces_the_event_a_committed_part_stored() {
    use scim_serverless::store::{Actor, AuditEvent, AuditQuery};
    let t = TestApp::new().await;
    let tenant = t.tenant_id();
    let committed = AuditEvent::new(
        &tenant,
        Actor::Admin("test".into()),
        "POST",
        "create",
        "Group",
        None,
        201,
    );
    let failed = committed.answered(503);
    assert_ne!(
        (&committed.time, &committed.event_id),
        (&failed.time, &failed.event_id)
    );
    t.store().record_audit(&committed).await.unwrap();
    t.store().record_audit(&failed).await.unwrap();
    let page = t
        .store()
        .list_audit(&tenant, &AuditQuery::default())
        .await
        .unwrap();
    let mut statuses: Vec<u16> = page
        .events
        .iter()
        .filter(|e| e.action == "create")
        .map(|e| e.status)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [201, 503], "{:?}", page.events);
}
