//! The consistency checker (`Store::check`, `scimctl check`) on deliberately corrupted data: it
//! finds each kind of broken invariant, `--repair` fixes the safe ones, and a second check is clean.

use std::collections::BTreeSet;
use std::process::Command;

use crate::common::{resource_id, TestApp};
use aws_sdk_dynamodb::types::AttributeValue;
use scim_serverless::protocol::resource::ResourceKind;
use scim_serverless::store::keys::*;
use scim_serverless::store::CheckReport;
use serde_json::{json, Value};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

async fn check(t: &TestApp, repair: bool) -> CheckReport {
    t.admin()
        .check(&t.tenant_id(), repair, |_| {})
        .await
        .expect("check runs")
}

fn kinds(report: &CheckReport) -> BTreeSet<(String, String)> {
    report
        .problems
        .iter()
        .map(|p| (format!("{:?}", p.kind), p.pk.clone()))
        .collect()
}

async fn get(
    t: &TestApp,
    pk: &str,
    sk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    t.store()
        .client()
        .get_item()
        .table_name(t.store().table())
        .key(PK, s(pk))
        .key(SK, s(sk))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
}

fn scimctl(t: &TestApp, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .args(args)
        .env("TABLE_NAME", t.store().table())
        .output()
        .expect("scimctl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn a_clean_tenant_has_no_problems() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    t.group("admins", &[alice.clone(), bob]).await;
    let r = t
        .patch(
            &format!("/Users/{alice}"),
            json!([{"op": "replace", "path": "userName", "value": "alice2"}]),
        )
        .await;
    assert_eq!(r.status, 200);

    let report = check(&t, false).await;
    assert_eq!(report.problems, vec![], "{report:?}");
    assert_eq!(
        (
            report.users,
            report.groups,
            report.memberships,
            report.guards
        ),
        (2, 1, 2, 3)
    );

    let (status, out) = scimctl(&t, &["check", &t.tenant, "--json"]);
    assert_eq!(status, 0, "{out}");
    let value: Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(value["problems"], json!([]));
    assert_eq!(value["users"], 2);
}

#[tokio::test]
async fn every_broken_invariant_is_found_and_the_safe_ones_repaired() {
    let t = TestApp::new().await;
    let tenant = t.tenant_id();
    let gone = t.user("gone").await;
    let unindexed = t.user("unindexed").await;
    let unguarded = t.user("unguarded").await;
    let group = t.group("team", &[gone.clone(), unindexed.clone()]).await;
    let client = t.store().client();
    let table = t.store().table();
    let (gone_id, unindexed_id, unguarded_id, group_id) = (
        resource_id(&gone),
        resource_id(&unindexed),
        resource_id(&unguarded),
        resource_id(&group),
    );

    // 1. A user item deleted behind the service's back: its guard and membership are orphans,
    //    and the user counter is one too high.
    client
        .delete_item()
        .table_name(table)
        .key(PK, s(&resource_pk(&tenant, ResourceKind::User, &gone_id)))
        .key(SK, s(RESOURCE_SK))
        .send()
        .await
        .unwrap();
    // 2. A stale guard: the group's old name still reserved for it.
    let stale = unique_pk(&tenant, ResourceKind::Group, "old team name");
    client
        .put_item()
        .table_name(table)
        .item(PK, s(&stale))
        .item(SK, s(UNIQUE_SK))
        .item("ownerId", s(group_id.as_str()))
        .send()
        .await
        .unwrap();
    // 3. A user item without its name index attribute.
    client
        .update_item()
        .table_name(table)
        .key(
            PK,
            s(&resource_pk(&tenant, ResourceKind::User, &unindexed_id)),
        )
        .key(SK, s(RESOURCE_SK))
        .update_expression("REMOVE GSI2SK")
        .send()
        .await
        .unwrap();
    // 4. A user whose guard is gone.
    client
        .delete_item()
        .table_name(table)
        .key(PK, s(&unique_pk(&tenant, ResourceKind::User, "unguarded")))
        .key(SK, s(UNIQUE_SK))
        .send()
        .await
        .unwrap();
    // 5. A membership of a group that does not exist.
    let ghost_group = scim_serverless::protocol::ResourceId::generate();
    let ghost_pk = resource_pk(&tenant, ResourceKind::User, &unguarded_id);
    client
        .put_item()
        .table_name(table)
        .item(PK, s(&ghost_pk))
        .item(SK, s(&member_of_sk(&ghost_group)))
        .item(KIND, s("Membership"))
        .item(GSI1PK, s(&members_pk(&tenant, &ghost_group)))
        .item(GSI1SK, s(unguarded_id.as_str()))
        .send()
        .await
        .unwrap();
    // 6. A group counter shard that drifted.
    client
        .update_item()
        .table_name(table)
        .key(PK, s(&lists_pk(&tenant)))
        .key(SK, s(&counter_sk(ResourceKind::Group, 7)))
        .update_expression("ADD n :five SET kind = :kind")
        .expression_attribute_values(":five", AttributeValue::N("5".into()))
        .expression_attribute_values(":kind", s("Counter"))
        .send()
        .await
        .unwrap();

    let gone_pk = resource_pk(&tenant, ResourceKind::User, &gone_id);
    let expected: BTreeSet<(String, String)> = [
        (
            "OrphanGuard",
            unique_pk(&tenant, ResourceKind::User, "gone"),
        ),
        ("MembershipWithoutUser", gone_pk.clone()),
        ("StaleGuard", stale.clone()),
        (
            "IndexAttributes",
            resource_pk(&tenant, ResourceKind::User, &unindexed_id),
        ),
        (
            "MissingGuard",
            resource_pk(&tenant, ResourceKind::User, &unguarded_id),
        ),
        ("MembershipWithoutGroup", ghost_pk.clone()),
        ("Counter", lists_pk(&tenant)),
    ]
    .into_iter()
    .map(|(k, pk)| (k.to_string(), pk))
    .collect();

    let found = check(&t, false).await;
    assert_eq!(kinds(&found), expected, "{found:#?}");
    assert_eq!(found.problems.len(), 8, "two counters are off: {found:#?}");
    assert!(found.problems.iter().all(|p| !p.repaired));
    assert_eq!(found.unresolved(), 8);
    // Finding changes nothing.
    assert!(get(&t, &stale, UNIQUE_SK).await.is_some());

    // The CLI reports them too, as a table and with exit 1.
    let (status, out) = scimctl(&t, &["check", &t.tenant]);
    assert_eq!(status, 1, "{out}");
    assert!(
        out.contains("orphanGuard") && out.contains("staleGuard"),
        "{out}"
    );

    let repaired = check(&t, true).await;
    assert_eq!(repaired.unresolved(), 0, "{repaired:#?}");
    assert_eq!(check(&t, false).await.problems, vec![]);

    // Each repair is audited, naming its problem and item.
    let audit = t
        .admin()
        .audit_events(&t.tenant_id(), &Default::default())
        .await
        .unwrap();
    let mut audited: Vec<String> = audit
        .events
        .iter()
        .filter(|e| e.action == "check.repair")
        .map(|e| {
            assert_eq!((e.method.as_str(), e.status), ("POST", 200));
            assert!(e.principal.is_some() && e.credential_id.is_none());
            e.resource_id.clone().unwrap()
        })
        .collect();
    let mut fixed: Vec<String> = repaired
        .problems
        .iter()
        .filter(|p| p.repaired)
        .map(|p| format!("{}: {} / {}", p.kind.as_str(), p.pk, p.sk))
        .collect();
    audited.sort();
    fixed.sort();
    assert!(!fixed.is_empty());
    assert_eq!(audited, fixed, "one audit event per repair");

    // Read back what the repairs did.
    assert!(get(
        &t,
        &unique_pk(&tenant, ResourceKind::User, "gone"),
        UNIQUE_SK
    )
    .await
    .is_none());
    assert!(get(&t, &stale, UNIQUE_SK).await.is_none());
    assert!(get(&t, &gone_pk, &member_of_sk(&group_id)).await.is_none());
    assert!(get(&t, &ghost_pk, &member_of_sk(&ghost_group))
        .await
        .is_none());
    let guard = get(
        &t,
        &unique_pk(&tenant, ResourceKind::User, "unguarded"),
        UNIQUE_SK,
    )
    .await
    .expect("the guard is back");
    assert_eq!(guard["ownerId"], s(unguarded_id.as_str()));
    // The service sees the repaired state: the name is taken again, the lookup by name works,
    // the totals are right, and the group no longer lists the deleted user.
    let r = t.post("/Users", json!({"userName": "UNGUARDED"})).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    let r = t.get("/Users?filter=userName eq \"unindexed\"").await;
    assert_eq!(crate::common::listed_ids(&r.body), vec![unindexed.clone()]);
    assert_eq!(t.get("/Users?count=0").await.body["totalResults"], 2);
    assert_eq!(t.get("/Groups?count=0").await.body["totalResults"], 1);
    let members = t.get(&format!("/Groups/{group}")).await.body["members"].clone();
    let member_ids: Vec<&Value> = members
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| &m["value"])
        .collect();
    assert_eq!(member_ids, vec![&json!(unindexed)], "{members}");
}
