//! The consistency checker (`scimctl check`): reads every item of a tenant and verifies each
//! invariant of `docs/data-model.md`; with `repair`, fixes what is safe to fix.
//!
//! The items of a tenant span many partitions (one per resource, one per name guard), and an
//! orphan guard is found by no index, so the checker scans the table in bounded pages, keeping
//! the items whose key starts with the tenant id. It is a maintenance tool: its cost grows with
//! the table, and no SCIM request runs it.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde::Serialize;

use super::keys::*;
use super::resources::{guard_item, key, name_attribute, StoredResource};
use super::{get_s, n, s, Item, Store, StoreError};
use crate::protocol::resource::ResourceKind;
use crate::protocol::{ResourceId, TenantId};

/// Items evaluated per Scan request.
const SCAN_PAGE: i32 = 1000;

/// The index attributes a resource item must carry (`docs/data-model.md`, "Item types").
const INDEX_ATTRIBUTES: [&str; 5] = [GSI1PK, GSI1SK, GSI2SK, GSI3PK, GSI4SK];

/// What is wrong with one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ProblemKind {
    /// A name guard whose owner does not exist.
    OrphanGuard,
    /// A name guard whose owner exists under another name.
    StaleGuard,
    /// A user or group whose name no guard reserves for it.
    MissingGuard,
    /// A membership of a user that does not exist.
    MembershipWithoutUser,
    /// A membership of a group that does not exist.
    MembershipWithoutGroup,
    /// A resource or membership item whose index attributes are missing or wrong.
    IndexAttributes,
    /// The counter shards of a kind do not add up to its number of resources.
    Counter,
    /// An item that cannot be read as what its key says it is.
    Malformed,
}

impl ProblemKind {
    /// The kind's name, as the report's JSON spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProblemKind::OrphanGuard => "orphanGuard",
            ProblemKind::StaleGuard => "staleGuard",
            ProblemKind::MissingGuard => "missingGuard",
            ProblemKind::MembershipWithoutUser => "membershipWithoutUser",
            ProblemKind::MembershipWithoutGroup => "membershipWithoutGroup",
            ProblemKind::IndexAttributes => "indexAttributes",
            ProblemKind::Counter => "counter",
            ProblemKind::Malformed => "malformed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub kind: ProblemKind,
    pub pk: String,
    pub sk: String,
    pub detail: String,
    /// Whether `--repair` fixed it (always false without `--repair`).
    pub repaired: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub tenant: String,
    /// Items of the table read by the scan, and how many were this tenant's.
    pub items_scanned: u64,
    pub tenant_items: u64,
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
    pub guards: u64,
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// Problems still there (found and not repaired).
    pub fn unresolved(&self) -> usize {
        self.problems.iter().filter(|p| !p.repaired).count()
    }
}

/// How far the scan has got: items read, and pages.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub pages: u64,
    pub items_scanned: u64,
    pub tenant_items: u64,
}

/// What the scan keeps of a tenant, in memory (ids and names, not attributes).
#[derive(Default)]
struct Snapshot {
    /// (kind, id) → (lower-cased unique name, the item).
    resources: BTreeMap<(ResourceKind, ResourceId), (Option<String>, Item)>,
    /// (kind, lower-cased name) → (owner id, as stored).
    guards: BTreeMap<(ResourceKind, String), String>,
    /// (user id, group id, the item).
    memberships: Vec<(ResourceId, ResourceId, Item)>,
    /// Sum of the counter shards per kind.
    counters: BTreeMap<ResourceKind, i64>,
    /// Resource items without a readable id: (PK, SK).
    malformed: Vec<(String, String)>,
}

impl Store {
    /// Checks every invariant of `tenant`'s items; with `repair`, fixes orphans, counters and
    /// index attributes, each under a condition that makes the fix a no-op if a request changed
    /// the item meanwhile. `progress` is called after each scanned page.
    pub async fn check(
        &self,
        tenant: &TenantId,
        repair: bool,
        mut progress: impl FnMut(Progress),
    ) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport {
            tenant: tenant.to_string(),
            ..CheckReport::default()
        };
        let snapshot = self.scan_tenant(tenant, &mut report, &mut progress).await?;
        let mut problems = Vec::new();
        find_resource_problems(tenant, &snapshot, &mut problems);
        find_guard_problems(tenant, &snapshot, &mut problems);
        find_membership_problems(tenant, &snapshot, &mut problems);
        find_counter_problems(tenant, &snapshot, &mut problems);
        if repair {
            for found in &mut problems {
                found.problem.repaired = self.repair(tenant, &found.fix).await?;
            }
        }
        report.problems = problems.into_iter().map(|f| f.problem).collect();
        Ok(report)
    }

    async fn scan_tenant(
        &self,
        tenant: &TenantId,
        report: &mut CheckReport,
        progress: &mut impl FnMut(Progress),
    ) -> Result<Snapshot, StoreError> {
        let prefix = format!("{tenant}#");
        let mut snapshot = Snapshot::default();
        let mut start = None;
        let mut pages = 0;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .limit(SCAN_PAGE)
                .filter_expression("begins_with(PK, :tenant)")
                .expression_attribute_values(":tenant", s(&prefix))
                .set_exclusive_start_key(start)
                .send()
                .await?;
            pages += 1;
            report.items_scanned += u64::try_from(page.scanned_count).unwrap_or(0);
            for item in page.items.unwrap_or_default() {
                report.tenant_items += 1;
                snapshot.add(tenant, item, report);
            }
            progress(Progress {
                pages,
                items_scanned: report.items_scanned,
                tenant_items: report.tenant_items,
            });
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(snapshot);
            }
        }
    }

    async fn repair(&self, tenant: &TenantId, fix: &Fix) -> Result<bool, StoreError> {
        match fix {
            Fix::None => Ok(false),
            Fix::DeleteGuard { pk, owner } => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(pk.clone(), UNIQUE_SK)))
                .condition_expression("ownerId = :owner")
                .expression_attribute_values(":owner", s(owner))
                .send()
                .await
                .map_or_else(not_applied, |_| Ok(true)),
            Fix::PutGuard { kind, name, owner } => self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(guard_item(tenant, *kind, name, owner)))
                .condition_expression("attribute_not_exists(PK)")
                .send()
                .await
                .map_or_else(not_applied, |_| Ok(true)),
            Fix::DeleteMembership { pk, sk } => {
                // Ids are never reused: a membership whose user or group is gone stays an orphan.
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk.clone(), sk)))
                    .send()
                    .await
                    .map_or_else(not_applied, |_| Ok(true))
            }
            Fix::SetIndexAttributes {
                pk,
                sk,
                set,
                remove,
                version,
            } => {
                let mut names = vec![];
                let mut update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk.clone(), sk)));
                for (i, (name, value)) in set.iter().enumerate() {
                    names.push(format!("#a{i} = :a{i}"));
                    update = update
                        .expression_attribute_names(format!("#a{i}"), name)
                        .expression_attribute_values(format!(":a{i}"), s(value));
                }
                let mut expression = format!("SET {}", names.join(", "));
                if !remove.is_empty() {
                    let removed: Vec<String> =
                        (0..remove.len()).map(|i| format!("#r{i}")).collect();
                    for (i, name) in remove.iter().enumerate() {
                        update = update.expression_attribute_names(format!("#r{i}"), name);
                    }
                    expression.push_str(&format!(" REMOVE {}", removed.join(", ")));
                }
                let condition = match version {
                    Some(v) => {
                        update = update.expression_attribute_values(":v", n(v));
                        "version = :v"
                    }
                    None => "attribute_exists(PK)",
                };
                update
                    .update_expression(expression)
                    .condition_expression(condition)
                    .send()
                    .await
                    .map_or_else(not_applied, |_| Ok(true))
            }
            Fix::AddToCounter { kind, delta } => self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(lists_pk(tenant), &counter_sk(*kind, 0))))
                .update_expression("ADD n :delta SET kind = :kind")
                .expression_attribute_values(":delta", n(delta))
                .expression_attribute_values(":kind", s(ItemKind::Counter.as_str()))
                .send()
                .await
                .map_or_else(not_applied, |_| Ok(true)),
        }
    }
}

/// A repair whose condition failed changed nothing: the item changed since the scan, and the
/// next check looks again.
fn not_applied<E>(err: SdkError<E, HttpResponse>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if err.code() == Some("ConditionalCheckFailedException") {
        Ok(false)
    } else {
        Err(err.into())
    }
}

/// How to repair a problem, if it is safe to.
#[derive(Debug, Clone, PartialEq)]
enum Fix {
    None,
    DeleteGuard {
        pk: String,
        owner: String,
    },
    PutGuard {
        kind: ResourceKind,
        name: String,
        owner: ResourceId,
    },
    DeleteMembership {
        pk: String,
        sk: String,
    },
    SetIndexAttributes {
        pk: String,
        sk: String,
        set: Vec<(String, String)>,
        remove: Vec<String>,
        /// The version the item had (resources); memberships have none.
        version: Option<u64>,
    },
    AddToCounter {
        kind: ResourceKind,
        delta: i64,
    },
}

struct Found {
    problem: Problem,
    fix: Fix,
}

fn found(kind: ProblemKind, pk: &str, sk: &str, detail: String, fix: Fix) -> Found {
    Found {
        problem: Problem {
            kind,
            pk: pk.to_string(),
            sk: sk.to_string(),
            detail,
            repaired: false,
        },
        fix,
    }
}

fn item_key(item: &Item) -> (String, String) {
    (
        get_s(item, PK).unwrap_or_default().to_string(),
        get_s(item, SK).unwrap_or_default().to_string(),
    )
}

impl Snapshot {
    fn add(&mut self, tenant: &TenantId, item: Item, report: &mut CheckReport) {
        let (pk, sk) = item_key(&item);
        let rest = pk.strip_prefix(&format!("{tenant}#")).unwrap_or_default();
        let kind = get_s(&item, KIND).ok().and_then(ItemKind::parse);
        if sk == UNIQUE_SK {
            report.guards += 1;
            let guarded = rest
                .strip_prefix("UNIQUE#USER#")
                .map(|name| (ResourceKind::User, name))
                .or_else(|| {
                    rest.strip_prefix("UNIQUE#GROUP#")
                        .map(|name| (ResourceKind::Group, name))
                });
            if let Some((kind, name)) = guarded {
                let owner = get_s(&item, "ownerId").unwrap_or_default().to_string();
                self.guards.insert((kind, name.to_string()), owner);
            }
            return;
        }
        match kind {
            Some(ItemKind::User | ItemKind::Group) => {
                if kind == Some(ItemKind::User) {
                    report.users += 1;
                } else {
                    report.groups += 1;
                }
                let Some(resource_kind) = kind.and_then(ItemKind::resource_kind) else {
                    return;
                };
                let id = get_s(&item, "id")
                    .ok()
                    .and_then(|id| ResourceId::parse(id).ok());
                if let Some(id) = id {
                    let name = item
                        .get("attributes")
                        .and_then(|a| a.as_m().ok())
                        .and_then(|a| a.get(name_attribute(resource_kind)))
                        .and_then(|v| v.as_s().ok())
                        .map(|name| name_key(name));
                    self.resources.insert((resource_kind, id), (name, item));
                } else {
                    self.malformed.push((pk, sk));
                }
            }
            Some(ItemKind::Membership) => {
                report.memberships += 1;
                let user = rest
                    .strip_prefix("USER#")
                    .and_then(|id| ResourceId::parse(id).ok());
                let group = sk
                    .strip_prefix(MEMBER_OF_PREFIX)
                    .and_then(|id| ResourceId::parse(id).ok());
                if let (Some(user), Some(group)) = (user, group) {
                    self.memberships.push((user, group, item));
                }
            }
            Some(ItemKind::Counter) => {
                let shard_kind = if sk.starts_with("COUNT#USER#") {
                    ResourceKind::User
                } else {
                    ResourceKind::Group
                };
                let value = item
                    .get("n")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0);
                *self.counters.entry(shard_kind).or_default() += value;
            }
            _ => {}
        }
    }
}

/// Resource items: readable, with the index attributes their own data gives.
fn find_resource_problems(tenant: &TenantId, snapshot: &Snapshot, problems: &mut Vec<Found>) {
    for (pk, sk) in &snapshot.malformed {
        let detail = "a user or group item without a readable id".to_string();
        problems.push(found(ProblemKind::Malformed, pk, sk, detail, Fix::None));
    }
    for ((kind, id), (_, item)) in &snapshot.resources {
        let (pk, sk) = item_key(item);
        let stored = match StoredResource::from_item(item) {
            Ok(stored) if stored.id == *id && pk == resource_pk(tenant, *kind, id) => stored,
            Ok(_) => {
                problems.push(found(
                    ProblemKind::Malformed,
                    &pk,
                    &sk,
                    "the item's id does not match its key".into(),
                    Fix::None,
                ));
                continue;
            }
            Err(e) => {
                problems.push(found(
                    ProblemKind::Malformed,
                    &pk,
                    &sk,
                    e.to_string(),
                    Fix::None,
                ));
                continue;
            }
        };
        let Ok(expected) = stored.to_item(tenant) else {
            continue;
        };
        problems.extend(index_problem(
            item,
            &expected,
            &pk,
            &sk,
            Some(stored.version.get()),
        ));
    }
}

/// The item's index attributes that differ from `expected`'s, and the update that fixes them.
fn index_problem(
    item: &Item,
    expected: &Item,
    pk: &str,
    sk: &str,
    version: Option<u64>,
) -> Option<Found> {
    let text = |item: &Item, name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let mut set = Vec::new();
    let mut remove = Vec::new();
    let mut wrong = Vec::new();
    for name in INDEX_ATTRIBUTES {
        match (text(item, name), text(expected, name)) {
            (have, Some(want)) if have.as_ref() != Some(&want) => {
                wrong.push(format!("{name} missing or wrong"));
                set.push((name.to_string(), want));
            }
            (Some(_), None) => {
                wrong.push(format!("{name} should be absent"));
                remove.push(name.to_string());
            }
            _ => {}
        }
    }
    if wrong.is_empty() {
        return None;
    }
    let fix = Fix::SetIndexAttributes {
        pk: pk.to_string(),
        sk: sk.to_string(),
        set,
        remove,
        version,
    };
    Some(found(
        ProblemKind::IndexAttributes,
        pk,
        sk,
        wrong.join(", "),
        fix,
    ))
}

/// Each guard has an owner of its kind under its name; each resource has its guard.
fn find_guard_problems(tenant: &TenantId, snapshot: &Snapshot, problems: &mut Vec<Found>) {
    for ((kind, name), owner) in &snapshot.guards {
        let pk = unique_pk(tenant, *kind, name);
        let owner_item = ResourceId::parse(owner)
            .ok()
            .and_then(|id| snapshot.resources.get(&(*kind, id)));
        match owner_item {
            None => problems.push(found(
                ProblemKind::OrphanGuard,
                &pk,
                UNIQUE_SK,
                format!(
                    "reserves \"{name}\" for {} {owner}, which does not exist",
                    kind.name()
                ),
                Fix::DeleteGuard {
                    pk: pk.clone(),
                    owner: owner.clone(),
                },
            )),
            Some((owner_name, _)) if owner_name.as_deref() != Some(name.as_str()) => {
                problems.push(found(
                    ProblemKind::StaleGuard,
                    &pk,
                    UNIQUE_SK,
                    format!(
                        "reserves \"{name}\" for {} {owner}, whose name is now \"{}\"",
                        kind.name(),
                        owner_name.as_deref().unwrap_or("")
                    ),
                    Fix::DeleteGuard {
                        pk: pk.clone(),
                        owner: owner.clone(),
                    },
                ))
            }
            Some(_) => {}
        }
    }
    for ((kind, id), (name, item)) in &snapshot.resources {
        let Some(name) = name else { continue };
        let (pk, sk) = item_key(item);
        match snapshot.guards.get(&(*kind, name.clone())) {
            Some(owner) if owner == id.as_str() => {}
            Some(other) => problems.push(found(
                ProblemKind::MissingGuard,
                &pk,
                &sk,
                format!("its name \"{name}\" is reserved for {other}: two resources share a name"),
                Fix::None,
            )),
            None => problems.push(found(
                ProblemKind::MissingGuard,
                &pk,
                &sk,
                format!("no guard reserves its name \"{name}\""),
                Fix::PutGuard {
                    kind: *kind,
                    name: name.clone(),
                    owner: id.clone(),
                },
            )),
        }
    }
}

/// Each membership joins an existing user and an existing group, and is indexed by its group.
fn find_membership_problems(tenant: &TenantId, snapshot: &Snapshot, problems: &mut Vec<Found>) {
    for (user, group, item) in &snapshot.memberships {
        let (pk, sk) = item_key(item);
        let delete = Fix::DeleteMembership {
            pk: pk.clone(),
            sk: sk.clone(),
        };
        if !snapshot
            .resources
            .contains_key(&(ResourceKind::User, user.clone()))
        {
            problems.push(found(
                ProblemKind::MembershipWithoutUser,
                &pk,
                &sk,
                format!("user {user} does not exist (group {group})"),
                delete,
            ));
        } else if !snapshot
            .resources
            .contains_key(&(ResourceKind::Group, group.clone()))
        {
            problems.push(found(
                ProblemKind::MembershipWithoutGroup,
                &pk,
                &sk,
                format!("group {group} does not exist (user {user})"),
                delete,
            ));
        } else {
            let expected = Item::from([
                (GSI1PK.into(), s(members_pk(tenant, group))),
                (GSI1SK.into(), s(user.as_str())),
            ]);
            let mut have = item.clone();
            // Only the two membership index attributes are compared.
            have.retain(|k, _| k == GSI1PK || k == GSI1SK);
            problems.extend(index_problem(&have, &expected, &pk, &sk, None));
        }
    }
}

/// The counter shards of each kind add up to the number of its resources.
fn find_counter_problems(tenant: &TenantId, snapshot: &Snapshot, problems: &mut Vec<Found>) {
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let actual = i64::try_from(
            snapshot
                .resources
                .keys()
                .filter(|(k, _)| *k == kind)
                .count(),
        )
        .unwrap_or(i64::MAX);
        let counted = snapshot.counters.get(&kind).copied().unwrap_or(0);
        if counted != actual {
            problems.push(found(
                ProblemKind::Counter,
                &lists_pk(tenant),
                &counter_sk(kind, 0),
                format!(
                    "the {} counter says {counted}, there are {actual}",
                    kind.name()
                ),
                Fix::AddToCounter {
                    kind,
                    delta: actual - counted,
                },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_reports_json() {
        for kind in [
            ProblemKind::OrphanGuard,
            ProblemKind::StaleGuard,
            ProblemKind::MissingGuard,
            ProblemKind::MembershipWithoutUser,
            ProblemKind::MembershipWithoutGroup,
            ProblemKind::IndexAttributes,
            ProblemKind::Counter,
            ProblemKind::Malformed,
        ] {
            assert_eq!(serde_json::to_value(&kind).unwrap(), kind.as_str());
        }
    }
}
