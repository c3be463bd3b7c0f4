//! The request-cost scenario: each row is one SCIM request, its measured DynamoDB requests (the auth
//! GetItem not counted) and the target from the issue. `tests/api/cost.rs` asserts it; `examples/cost_table.rs`
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
    // A new table of its own each run: moto reads an index by going through the whole table, so
    // the 10,000 users loaded here would slow every later request on a table they stay in.
    let suffix = format!("-cost-{}", ulid::Ulid::new().to_string().to_lowercase());
    let t = TestApp::on_table(&suffix).await;
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
    // Index paging forward, as Okta and Entra page: page 1, then the next page from its bookmark.
    let first = row(
        "GET /Users?startIndex=1&count=10 (41 users)",
        t.send_counted(t.request("GET", "/Users?startIndex=1&count=10", None))
            .await,
        3,
        200,
    );
    assert_eq!(first.body["totalResults"], 41);
    let page = row(
        "GET /Users?startIndex=11&count=10 (next page)",
        t.send_counted(t.request("GET", "/Users?startIndex=11&count=10", None))
            .await,
        3,
        200,
    );
    assert_eq!(page.body["totalResults"], 41);
    let first = t
        .send(t.request("GET", "/Users?count=10&cursor=", None))
        .await;
    let next = first.body["nextCursor"].as_str().unwrap_or_default();
    row(
        "GET /Users?count=10&cursor=… (next page)",
        t.send_counted(t.request("GET", &format!("/Users?count=10&cursor={next}"), None))
            .await,
        2,
        200,
    );

    // One row per planner row (docs/data-model.md, "Lists and searches").
    let planned = [
        ("userName sw \"member1\"", 1, 11),
        ("userName gt \"member8\"", 1, 2),
        (
            "meta.lastModified gt \"2000-01-01T00:00:00Z\" (count=100)",
            1,
            41,
        ),
        (
            "userName eq \"member3@example.com\" or userName eq \"member4@example.com\"",
            2,
            2,
        ),
        ("title co \"x\" (examined: 41 users)", 1, 0),
    ];
    for (filter, target, expected) in planned {
        let query = filter.split(" (").next().unwrap_or(filter);
        let found = row(
            &format!("GET /Users?filter={filter}"),
            t.send_counted(t.request("GET", &format!("/Users?filter={query}"), None))
                .await,
            target,
            200,
        );
        assert_eq!(found.body["totalResults"], expected, "{filter}");
    }
    // 200 copies of one branch: de-duplicated to one index range (issue 15).
    let fan_out = vec!["userName gt \"a\""; 200].join(" or ");
    let found = row(
        "GET /Users?filter=(userName gt \"a\" or …, 200 branches)",
        t.send_counted(t.request("GET", &format!("/Users?filter={fan_out}"), None))
            .await,
        1,
        200,
    );
    assert_eq!(found.body["totalResults"], 41);
    // 12 distinct lookups, more than one request may make: one read of the collection.
    let lookups: Vec<String> = (0..12)
        .map(|i| format!("userName eq \"member{i}@example.com\""))
        .collect();
    let found = row(
        "GET /Users?filter=(userName eq … or …, 12 distinct lookups)",
        t.send_counted(t.request(
            "GET",
            &format!("/Users?filter={}", lookups.join(" or ")),
            None,
        ))
        .await,
        1,
        200,
    );
    assert_eq!(found.body["totalResults"], 12);
    let found = row(
        "GET /Users?filter=groups.value eq {group}",
        t.send_counted(t.request(
            "GET",
            &format!("/Users?filter=groups.value eq \"{group}\"&count=100"),
            None,
        ))
        .await,
        2,
        200,
    );
    assert_eq!(found.body["totalResults"], 31);
    let found = row(
        "GET /Groups?filter=id eq and members[value eq] (no members)",
        t.send_counted(t.request(
            "GET",
            &format!(
                "/Groups?filter=id eq \"{group}\" and members[value eq \"{user}\"]&excludedAttributes=members"
            ),
            None,
        ))
        .await,
        2,
        200,
    );
    assert_eq!(found.body["totalResults"], 1);
    // AWS-style clients: 1,000 membership changes in one request, in bounded batches.
    let thousand = import_users(&t, 0, 1000).await;
    let big = t.group("Big", &[]).await;
    for op in ["add", "remove"] {
        row(
            &format!("PATCH /Groups/{{id}}?excludedAttributes=members, {op} 1000 members"),
            t.send_counted(t.request(
                "PATCH",
                &format!("/Groups/{big}?excludedAttributes=members"),
                Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": op, "path": "members", "value": members(&thousand)}]})),
            ))
            .await,
            2 + ceil_div(1000, 25),
            200,
        );
    }

    // Sorted lists over 3,000 users count with the counters, and a walk's page 30 costs what
    // page 1 does (issue 15).
    import_users(&t, 1000, 2000).await;
    let mut start = 1;
    for page in 1..=30 {
        let request = t.request(
            "GET",
            &format!("/Users?sortBy=userName&startIndex={start}&count=100"),
            None,
        );
        let counted = t.send_counted(request).await;
        let listed = if page == 1 || page == 30 {
            row(
                &format!("GET /Users?sortBy=userName&startIndex={start}&count=100 (3,041 users)"),
                counted,
                3,
                200,
            )
        } else {
            counted.0
        };
        assert_eq!(listed.body["totalResults"], 3041);
        start += listed.body["itemsPerPage"].as_u64().unwrap_or(0) as usize;
    }
    // A jump far past every bookmark: about one request per 1,000 index entries skipped.
    import_users(&t, 3000, 6959).await;
    let jumped = row(
        "GET /Users?startIndex=9001&count=100 (10,000 users, no bookmark near)",
        t.send_counted(t.request("GET", "/Users?startIndex=9001&count=100", None))
            .await,
        3 + ceil_div(9001, 1000),
        200,
    );
    assert_eq!(jumped.body["totalResults"], 10_000);
    assert_eq!(jumped.body["itemsPerPage"], 100);
    // A page of groups stops at its byte budget (here 60 KB, for groups of 100 members of
    // about 9 KB each): its members are read 10 groups at a time, then no more.
    let hundred = &thousand[..100];
    for i in 0..12 {
        t.post(
            "/Groups",
            json!({"displayName": format!("Budget{i:02}"), "members": members(hundred)}),
        )
        .await;
    }
    let budgeted = t.as_tenant(&t.tenant, &t.token);
    let budgeted = super::TestApp {
        app: budgeted
            .app
            .with_limits(scim_serverless::service::list::Limits {
                page_bytes: 60_000,
                ..Default::default()
            }),
        ..budgeted
    };
    let page = row(
        "GET /Groups?filter=displayName sw \"Budget\" (12 groups × 100 members, 60 KB budget)",
        budgeted
            .send_counted(budgeted.request("GET", "/Groups?filter=displayName sw \"Budget\"", None))
            .await,
        3 + 10,
        200,
    );
    assert_eq!(page.body["totalResults"], 12);
    let shown = page.body["itemsPerPage"].as_u64().unwrap_or(0);
    assert!((1..12).contains(&shown), "{shown} groups on a 60 KB page");
    assert!(page.body.to_string().len() <= 60_000 + 200);

    // OAuth (issue 17): the token endpoint, and what authenticating with its token costs.
    let client = t
        .admin()
        .create_client(&t.tenant_id(), &Default::default())
        .await
        .expect("create an OAuth client");
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        client.client_id,
        client.client_secret.as_deref().unwrap_or_default()
    );
    let request = super::token_request(&t.tenant, &form, &[]);
    let issued = row(
        "POST /{tenant}/oauth2/token (client secret)",
        t.send_counted(request).await,
        3,
        200,
    );
    let access = issued.body["access_token"].as_str().unwrap_or_default();
    let as_client = t.as_tenant(&t.tenant, access);
    let (response, cost) = as_client
        .app
        .handle_counted(as_client.request("GET", "/Users?count=0", None))
        .await;
    row(
        "authenticate with an access token (the auth GetItem itself)",
        (super::resp(response), cost.auth),
        1,
        200,
    );
    // A warm instance that verified the same token within 5 s (Lambda's default) reads nothing.
    let warm = as_client
        .app
        .clone()
        .with_auth_cache(std::time::Duration::from_secs(5));
    for expected in [1, 0] {
        let (response, cost) = warm
            .handle_counted(as_client.request("GET", "/Users?count=0", None))
            .await;
        if expected == 0 {
            row(
                "authenticate again within 5 s on a warm instance (cached)",
                (super::resp(response), cost.auth),
                0,
                200,
            );
        }
    }

    // Workload identity federation: an assertion with a jti, its JWKS already cached (the
    // first exchange fetched it); the replay guard rides in the token's transaction.
    let idp = super::idp::TestIdp::start().await;
    let federated = super::idp::federated_client(&t, &idp, false).await;
    let app = t.app.clone().with_federation(super::idp::LOCAL);
    let exchange = |assertion: String| {
        let form = super::idp::assertion_form(&federated.client_id, &assertion);
        super::token_request(&t.tenant, &form, &[])
    };
    let (_, _) = app
        .handle_counted(exchange(idp.rsa.sign(&idp.entra_claims())))
        .await;
    let (response, cost) = app
        .handle_counted(exchange(idp.rsa.sign(&idp.entra_claims())))
        .await;
    row(
        "POST /{tenant}/oauth2/token (client assertion with jti, keys cached)",
        (super::resp(response), cost.auth + cost.handler),
        3,
        200,
    );

    rows
}

/// Loads `n` users named `bulk{i}`, `i` from `from` on, as a large directory is loaded; their ids.
async fn import_users(t: &TestApp, from: usize, n: usize) -> Vec<String> {
    let attributes = (from..from + n)
        .map(|i| {
            let mut a = serde_json::Map::new();
            a.insert(
                "schemas".into(),
                json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
            );
            a.insert("userName".into(), json!(format!("bulk{i:05}@example.com")));
            a
        })
        .collect();
    t.store()
        .import(
            &t.tenant_id(),
            scim_serverless::protocol::resource::ResourceKind::User,
            attributes,
        )
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| u.id.to_string())
        .collect()
}

pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "| {:<72} | {:>8} | {:>6} |\n|{:-<74}|{:->10}|{:->8}|\n",
        "SCIM request", "DynamoDB", "target", "", "", ""
    );
    for r in rows {
        out.push_str(&format!(
            "| {:<72} | {:>8} | {:>6} |\n",
            r.request, r.measured, r.target
        ));
    }
    out
}
