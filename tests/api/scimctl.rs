//! The `scimctl` binary as an operator runs it against the local DynamoDB: human output by
//! default, the admin API's JSON with `--json`, a clear error and exit 1 when refused.

use std::process::Command;

use crate::common::{admin_call, TestApp};
use serde_json::Value;

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn scimctl(t: &TestApp, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .args(args)
        .env("TABLE_NAME", t.store().table())
        .output()
        .expect("scimctl runs");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(t: &TestApp, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let run = scimctl(t, &with_json);
    assert!(run.ok, "{args:?}: {}", run.stderr);
    serde_json::from_str(&run.stdout).expect("--json prints JSON")
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn an_operator_session() {
    let t = TestApp::new().await;
    let tenant = json(&t, &["tenant", "create", "Fabrikam"])["tenantId"]
        .as_str()
        .unwrap()
        .to_string();

    // Provisioning on: the token is printed once, with the endpoint.
    let enabled = scimctl(
        &t,
        &["provisioning", "enable", &tenant, "--description", "Okta"],
    );
    assert!(enabled.ok, "{}", enabled.stderr);
    assert!(enabled.stdout.contains(&format!("/{tenant}/scim/v2")));
    assert!(enabled.stdout.contains("token scimv2_"));
    assert!(enabled.stdout.contains("shown once"));
    let token = enabled
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("token "))
        .unwrap()
        .to_string();
    let scim = t.as_tenant(&tenant, &token);
    assert_eq!(scim.status_with(&token).await, 200);
    scim.user("dana@fabrikam.com").await;

    // The list never shows the token; the JSON has the admin API's field names.
    let listed = scimctl(&t, &["token", "list", &tenant]);
    assert!(listed.ok && !listed.stdout.contains(&token));
    assert!(listed.stdout.contains("LAST USED") && listed.stdout.contains("Okta"));
    let from_cli = json(&t, &["token", "list", &tenant]);
    let from_api = admin_call(
        t.store(),
        Some("arn:aws:iam::123456789012:user/ops"),
        "GET",
        &format!("/admin/tenants/{tenant}/credentials"),
        None,
        &[],
    )
    .await
    .body;
    assert_eq!(keys(&from_cli), keys(&from_api));
    assert_eq!(
        keys(&from_cli["credentials"][0]),
        keys(&from_api["credentials"][0])
    );
    assert_eq!(
        from_cli["credentials"][0]["id"],
        from_api["credentials"][0]["id"]
    );

    // Rotation through the CLI, refused until the new token is in use.
    let started = scimctl(&t, &["token", "rotate", &tenant, "--no-expiry"]);
    assert!(started.ok, "{}", started.stderr);
    assert!(started.stdout.contains("--finish"));
    let new_token = started
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("token "))
        .unwrap()
        .to_string();
    let refused = scimctl(&t, &["token", "rotate", &tenant, "--finish"]);
    assert!(!refused.ok);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(scim.status_with(&new_token).await, 200);
    let finished = scimctl(&t, &["token", "rotate", &tenant, "--finish"]);
    assert!(finished.ok, "{}", finished.stderr);
    assert_eq!(scim.status_with(&token).await, 401);

    // The audit trail names the credential of each write and the administrator of each action.
    let audit = scimctl(&t, &["audit", &tenant, "--since", "1h"]);
    assert!(audit.ok, "{}", audit.stderr);
    let old_id = from_cli["credentials"][0]["id"].as_str().unwrap();
    assert!(audit.stdout.contains(&format!("credential {old_id}")));
    assert!(audit.stdout.contains("rotation.finish"));
    assert!(audit.stdout.contains("scimctl:"));
    let only_old = json(&t, &["audit", &tenant, "--credential", old_id]);
    assert_eq!(only_old["events"].as_array().map(Vec::len), Some(1));

    // A third token is refused with what to do; a bad --since is explained.
    json(&t, &["token", "create", &tenant]);
    let third = scimctl(&t, &["token", "create", &tenant]);
    assert!(
        !third.ok && third.stderr.contains("delete one"),
        "{}",
        third.stderr
    );
    let far = scimctl(
        &t,
        &["token", "create", &tenant, "--expires-in-days", "99999999"],
    );
    assert!(
        !far.ok && far.stderr.contains("at most 36500"),
        "{}",
        far.stderr
    );
    let bad_since = scimctl(&t, &["audit", &tenant, "--since", "last week"]);
    assert!(!bad_since.ok && bad_since.stderr.contains("RFC 3339"));

    // Deleting asks for --yes, then reports progress and removes everything.
    let unconfirmed = scimctl(&t, &["tenant", "delete", &tenant]);
    assert!(!unconfirmed.ok && unconfirmed.stderr.contains("--yes"));
    assert_eq!(scim.status_with(&new_token).await, 200, "nothing deleted");
    let deleted = scimctl(&t, &["tenant", "delete", &tenant, "--yes"]);
    assert!(deleted.ok, "{}", deleted.stderr);
    assert!(deleted.stderr.contains("1 user(s)") && deleted.stderr.contains("tenant deleted"));
    assert_eq!(scim.status_with(&new_token).await, 401);
    let gone = scimctl(&t, &["tenant", "show", &tenant]);
    assert!(!gone.ok && gone.stderr.contains(&format!("no tenant {tenant}")));
}

/// `--limit 0` is refused as the API refuses `limit=0`, with the same message.
#[tokio::test]
async fn audit_and_events_limits_agree_with_the_api() {
    let t = TestApp::new().await;
    for (command, route) in [("audit", "audit"), ("events", "events")] {
        for limit in ["0", "1001"] {
            let run = scimctl(&t, &[command, &t.tenant, "--limit", limit]);
            assert!(!run.ok, "{command} --limit {limit}: {}", run.stdout);
            let api = crate::common::admin_call(
                t.store(),
                Some("arn:aws:iam::123456789012:user/limits"),
                "GET",
                &format!("/admin/tenants/{}/{route}?limit={limit}", t.tenant),
                None,
                &[],
            )
            .await;
            assert_eq!(api.status, 400);
            let message = api.body["error"]["message"].as_str().unwrap();
            assert_eq!(run.stderr.trim(), format!("error: {message}"), "{command}");
        }
        let run = scimctl(&t, &[command, &t.tenant, "--limit", "1", "--json"]);
        assert!(run.ok, "{}", run.stderr);
    }
}

#[tokio::test]
async fn oauth_clients_from_the_command_line_are_those_the_api_lists() {
    let t = TestApp::new().await;
    let tenant = t.tenant.as_str();
    let created = scimctl(
        &t,
        &[
            "oauth",
            "client",
            "create",
            tenant,
            "--description",
            "Entra",
        ],
    );
    assert!(created.ok, "{}", created.stderr);
    assert!(
        created.stdout.contains("client secret scimcs_"),
        "{}",
        created.stdout
    );
    assert!(created.stdout.contains(&format!("/{tenant}/oauth2/token")));
    let issued = json(&t, &["oauth", "client", "create", tenant]);
    let client = issued["clientId"].as_str().unwrap().to_string();
    assert_eq!(
        keys(&issued),
        [
            "client",
            "clientId",
            "clientSecret",
            "scimUrl",
            "secretExpiresAt",
            "secretId",
            "tenantId",
            "tokenEndpoint"
        ]
    );
    let third = scimctl(&t, &["oauth", "client", "create", tenant]);
    assert!(!third.ok && third.stderr.contains("already has 2 OAuth clients"));

    let added = json(
        &t,
        &[
            "oauth",
            "secret",
            "add",
            tenant,
            &client,
            "--expires-in-days",
            "90",
        ],
    );
    let secret = added["secretId"].as_str().unwrap().to_string();
    let short = scimctl(
        &t,
        &[
            "oauth",
            "secret",
            "add",
            tenant,
            &client,
            "--expires-in-days",
            "7",
        ],
    );
    assert!(
        !short.ok && short.stderr.contains("30 to 1095 days"),
        "{}",
        short.stderr
    );
    assert!(scimctl(&t, &["oauth", "secret", "delete", tenant, &client, &secret]).ok);
    assert!(scimctl(&t, &["oauth", "client", "disable", tenant, &client]).ok);

    let listed = scimctl(&t, &["oauth", "client", "list", tenant]);
    assert!(listed.ok, "{}", listed.stderr);
    assert!(!listed.stdout.contains("scimcs_"));
    assert!(
        !listed.stdout.contains(&secret),
        "the deleted secret is gone"
    );
    let api = admin_call(
        t.store(),
        Some("arn:aws:iam::123456789012:user/x"),
        "GET",
        &format!("/admin/tenants/{tenant}/oauth/clients"),
        None,
        &[],
    )
    .await;
    assert_eq!(
        json(&t, &["oauth", "client", "list", tenant]),
        api.body,
        "scimctl --json prints what the API answers"
    );
    let clients = api.body["clients"].as_array().unwrap();
    let disabled = clients.iter().find(|c| c["clientId"] == client.as_str());
    assert_eq!(disabled.unwrap()["status"], "disabled");
    assert!(scimctl(&t, &["oauth", "client", "delete", tenant, &client]).ok);
    let gone = scimctl(&t, &["oauth", "client", "delete", tenant, &client]);
    assert!(!gone.ok && gone.stderr.contains("has no OAuth client"));
}

#[tokio::test]
async fn federation_and_oauth_settings_from_the_command_line() {
    let t = TestApp::new().await;
    let tenant = t.tenant.as_str();
    let created = scimctl(&t, &["oauth", "client", "create", tenant, "--no-secret"]);
    assert!(created.ok, "{}", created.stderr);
    assert!(created.stdout.contains("no secret"), "{}", created.stdout);
    let issued = json(&t, &["oauth", "client", "create", tenant, "--no-secret"]);
    assert!(issued.get("clientSecret").is_none(), "{issued}");
    let client = issued["clientId"].as_str().unwrap().to_string();
    let add = |url: &str| {
        vec![
            "oauth",
            "federation",
            "add",
            tenant,
            &client,
            "--issuer",
            "https://login.microsoftonline.com/t/v2.0",
            "--jwks-url",
            url,
            "--subject",
            "sp",
            "--audience",
            "api://app",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    // Without the local stack's switch, a loopback http JWKS is refused, naming the switch.
    let loopback = add("http://127.0.0.1:9/keys");
    let args: Vec<&str> = loopback.iter().map(String::as_str).collect();
    let refused = scimctl(&t, &args);
    assert!(
        !refused.ok && refused.stderr.contains("ALLOW_LOOPBACK_JWKS"),
        "{}",
        refused.stderr
    );
    let https = add("https://login.microsoftonline.com/t/discovery/v2.0/keys");
    let args: Vec<&str> = https.iter().map(String::as_str).collect();
    let added = json(&t, &args);
    let federation = added["federationId"].as_str().unwrap().to_string();
    assert!(added["tokenEndpoint"]
        .as_str()
        .unwrap()
        .ends_with("/oauth2/token"));
    let listed = scimctl(&t, &["oauth", "client", "list", tenant]);
    assert!(listed.stdout.contains(&federation), "{}", listed.stdout);
    assert!(
        scimctl(
            &t,
            &[
                "oauth",
                "federation",
                "delete",
                tenant,
                &client,
                &federation
            ]
        )
        .ok
    );
    let stored = t
        .store()
        .get_client(&t.tenant_id(), &client.parse().unwrap())
        .await;
    assert!(stored.unwrap().unwrap().federations.is_empty());

    // Settings: the lifetime's bounds, and OAuth-only refusing the static token.
    let long = scimctl(&t, &["tenant", "token-lifetime", tenant, "7"]);
    assert!(
        !long.ok && long.stderr.contains("1 to 6 hours"),
        "{}",
        long.stderr
    );
    let set = json(&t, &["tenant", "token-lifetime", tenant, "3"]);
    assert_eq!(set["oauth"]["accessTokenLifetimeHours"], 3);
    assert_eq!(t.status_with(&t.token).await, 200);
    let on = scimctl(&t, &["tenant", "oauth-only", tenant, "on"]);
    assert!(
        on.ok && on.stdout.contains("OAuth only on"),
        "{}",
        on.stderr
    );
    assert_eq!(t.status_with(&t.token).await, 401);
    assert!(scimctl(&t, &["tenant", "oauth-only", tenant, "off"]).ok);
    assert_eq!(t.status_with(&t.token).await, 200);
}
