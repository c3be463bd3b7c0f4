//! The request-cost scenario: each row is one SCIM request, its measured DynamoDB requests (the auth
//! GetItem not counted) and the target from the issue. `tests/cost.rs` asserts it; `examples/cost_table.rs`
//! prints it.

use serde_json::{json, Value};

use super::TestApp;

pub struct Row {
    pub request: String,
    pub measured: u32,
    pub target: u32,
}

fn members(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

fn ceil_div(a: u32, b: u32) -> u32 {
    a.div_ceil(b)
}

pub async fn measure() -> Vec<Row> {
    let t = TestApp::new().await;
    let mut rows = Vec::new();
    let mut row =
        |request: &str, (resp, measured): (super::Resp, u32), target: u32, status: u16| {
            assert_eq!(resp.status, status, "{request}: {:?}", resp.body);
            rows.push(Row {
                request: request.into(),
                measured,
                target,
            });
            resp
        };

    let created = row(
        "POST /Users",
        t.send_counted(t.request(
            "POST",
            "/Users",
            Some(&json!({"userName": "cost@example.com", "externalId": "ext-1"})),
        ))
        .await,
        1,
        201,
    );
    let user = created.body["id"].as_str().unwrap_or_default().to_string();

    let mut others = Vec::new();
    for i in 0..40 {
        others.push(t.user(&format!("member{i}@example.com")).await);
    }
    let k = 30u32;
    let mut initial: Vec<String> = others[..k as usize].to_vec();
    initial.push(user.clone());
    let group = row(
        &format!("POST /Groups with {} members", k + 1),
        t.send_counted(t.request(
            "POST",
            "/Groups",
            Some(&json!({"displayName": "Cost", "members": members(&initial)})),
        ))
        .await,
        1 + ceil_div(k + 1, 25),
        201,
    );
    let group = group.body["id"].as_str().unwrap_or_default().to_string();

    let got = row(
        "GET /Users/{id} (with groups)",
        t.send_counted(t.request("GET", &format!("/Users/{user}"), None))
            .await,
        1,
        200,
    );
    assert_eq!(got.body["groups"][0]["value"], group.as_str());

    let found = row(
        "GET /Users?filter=userName eq",
        t.send_counted(t.request(
            "GET",
            "/Users?filter=userName eq \"COST@example.com\"",
            None,
        ))
        .await,
        1,
        200,
    );
    assert_eq!(found.body["totalResults"], 1);
    let found = row(
        "GET /Users?filter=externalId eq",
        t.send_counted(t.request("GET", "/Users?filter=externalId eq \"ext-1\"", None))
            .await,
        1,
        200,
    );
    assert_eq!(found.body["totalResults"], 1);

    row(
        "PUT /Users/{id}",
        t.send_counted(t.request(
            "PUT",
            &format!("/Users/{user}"),
            Some(&json!({"userName": "cost@example.com", "displayName": "Cost"})),
        ))
        .await,
        2,
        200,
    );
    row(
        "PATCH /Users/{id}",
        t.send_counted(t.request(
            "PATCH",
            &format!("/Users/{user}"),
            Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
        ))
        .await,
        2,
        200,
    );

    let add: Vec<String> = others[k as usize..].to_vec();
    let n = add.len() as u32;
    row(
        &format!("PATCH /Groups/{{id}} adding {n} members"),
        t.send_counted(t.request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "members", "value": members(&add)}]})),
        ))
        .await,
        2 + ceil_div(n, 25),
        200,
    );
    row(
        &format!("PATCH /Groups/{{id}} removing {n} members"),
        t.send_counted(t.request(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "members", "value": members(&add)}]})),
        ))
        .await,
        2 + ceil_div(n, 25),
        200,
    );
    row(
        "GET /Groups/{id}?excludedAttributes=members",
        t.send_counted(t.request(
            "GET",
            &format!("/Groups/{group}?excludedAttributes=members"),
            None,
        ))
        .await,
        1,
        200,
    );
    let page = row(
        "GET /Users?startIndex=11&count=10 (41 users)",
        t.send_counted(t.request("GET", "/Users?startIndex=11&count=10", None))
            .await,
        2,
        200,
    );
    assert_eq!(page.body["totalResults"], 41);
    rows
}

pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "| {:<46} | {:>8} | {:>6} |\n|{:-<48}|{:->10}|{:->8}|\n",
        "SCIM request", "DynamoDB", "target", "", "", ""
    );
    for r in rows {
        out.push_str(&format!(
            "| {:<46} | {:>8} | {:>6} |\n",
            r.request, r.measured, r.target
        ));
    }
    out
}
