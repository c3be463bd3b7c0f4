//! One user or group: read, and write (create, replace, patch, delete). A write is one command in
//! and one outcome out, and the service audits it whatever the outcome: inside the write's own
//! transaction when it commits, and by an event of its own (with its own time and id) when it
//! fails or changes nothing.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Loaded;
use crate::protocol::events::{Change as EventChange, Envelope, Event};
use crate::protocol::members::{self, MemberChanges};
use crate::protocol::patch::{self, PatchOp};
use crate::protocol::resource::{check_immutable_with, normalize_with, ResourceKind};
use crate::protocol::schema::SchemaSet;
use crate::protocol::{Precondition, ResourceId, ScimError, TenantId, Version};
use crate::store::{
    Actor, AuditEvent, Retry, Revision, Store, StoreError, StoredEvent, StoredResource,
};

/// A group's change event carries its `members` in `data` up to this many (docs/events.md).
pub const EVENT_MAX_MEMBERS: usize = 100;

/// `EVENTS_AUDIENCE`: the `aud` of every SET; unset, the tenant's SCIM base URL.
fn events_audience() -> Option<&'static str> {
    static AUDIENCE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    AUDIENCE
        .get_or_init(|| {
            std::env::var("EVENTS_AUDIENCE")
                .ok()
                .filter(|a| !a.is_empty())
        })
        .as_deref()
}

/// A write that loses a race with another is re-read and re-applied, up to this often (20
/// concurrent PATCHes of one user need up to 20 rounds).
const WRITE_ATTEMPTS: u32 = 24;

/// A SCIM write, as its HTTP method names it (RFC 7644 §3.3–3.6); its audit event records both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    Create,
    Replace,
    Patch,
    Delete,
}

impl WriteOp {
    pub fn method(self) -> &'static str {
        match self {
            WriteOp::Create => "POST",
            WriteOp::Replace => "PUT",
            WriteOp::Patch => "PATCH",
            WriteOp::Delete => "DELETE",
        }
    }

    fn action(self) -> &'static str {
        match self {
            WriteOp::Create => "create",
            WriteOp::Replace => "replace",
            WriteOp::Patch => "patch",
            WriteOp::Delete => "delete",
        }
    }

    /// The status of a write that commits (a group's members not read back aside).
    fn committed_status(self) -> u16 {
        match self {
            WriteOp::Create => 201,
            WriteOp::Replace | WriteOp::Patch => 200,
            WriteOp::Delete => 204,
        }
    }
}

/// What a write is about and who asks: the subject of its audit event, known before its body is
/// parsed (a request whose body is refused is audited too).
#[derive(Debug, Clone)]
pub struct WriteTarget<'a> {
    pub kind: ResourceKind,
    pub op: WriteOp,
    /// The id as the URL gave it; `None` for a create.
    pub id: Option<&'a str>,
    pub actor: Actor,
}

/// A write's parsed content: normalised attributes, or PATCH operations.
#[derive(Debug, Clone)]
pub enum Change {
    Create(Map<String, Value>),
    Replace(Map<String, Value>),
    Patch(Vec<PatchOp>),
    Delete,
}

/// One write: its change, the version the client pinned with `If-Match`, and whether the
/// response shows a group's members (read only then).
#[derive(Debug, Clone)]
pub struct WriteCommand {
    pub change: Change,
    pub if_match: Option<Precondition>,
    pub show_members: bool,
}

/// How a write ended.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    Created(Loaded),
    /// Replaced or patched, as the response shows it.
    Updated(Loaded),
    /// The request changed nothing, so nothing was written.
    Unchanged(Loaded),
    /// The update committed but its member list could not be read back: answer 204 (RFC 7644
    /// §3.5.2 allows it), not an error that would make the IdP send the change again.
    MembersUnread(Version),
    Deleted,
}

pub struct Resources<'a> {
    pub store: &'a Store,
    pub tenant: &'a TenantId,
    /// The tenant's schemas: what writes are validated and patched against.
    pub schemas: &'a SchemaSet,
    /// The tenant's SCIM base URL: the `iss` of its change events and their resources' `$ref`s.
    pub base_url: &'a str,
}

/// The id in a resource's URL: one that is not a ULID names no resource (404, as an unknown
/// one). Replace, patch and delete take the id as the URL gave it and parse it where they read
/// the resource, so the request's own errors (body, members) still come first.
pub fn path_id(raw: &str) -> Result<ResourceId, ScimError> {
    ResourceId::parse(raw).map_err(|_| StoreError::NotFound.into())
}

/// `If-Match`: 412 unless it names the current version.
fn check_if_match(
    if_match: Option<&Precondition>,
    resource: &StoredResource,
) -> Result<(), ScimError> {
    match if_match {
        Some(wanted) if !wanted.names(resource.version) => {
            Err(ScimError::precondition_failed(format!(
                "If-Match {wanted} does not match the current version {}",
                resource.version.etag()
            )))
        }
        _ => Ok(()),
    }
}

/// The member ids of a request that name users (ULIDs); the others name nobody.
fn user_ids(members: &BTreeSet<String>) -> BTreeSet<ResourceId> {
    members
        .iter()
        .filter_map(|m| ResourceId::parse(m).ok())
        .collect()
}

/// Takes `members` out of a group's attributes: they are stored as their own items.
pub fn take_members(
    kind: ResourceKind,
    attributes: &mut Map<String, Value>,
) -> Result<Option<BTreeSet<String>>, ScimError> {
    match (kind, attributes.remove("members")) {
        (ResourceKind::Group, Some(value)) => members::member_ids(&value).map(Some),
        _ => Ok(None),
    }
}

impl Resources<'_> {
    /// A resource with what its response needs: a user's groups come with it (same
    /// partition); a group's members only when `with_members`.
    pub async fn load(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        with_members: bool,
    ) -> Result<Loaded, ScimError> {
        Ok(match kind {
            ResourceKind::User => {
                let found = self.store.get_user(self.tenant, id).await?;
                Loaded {
                    resource: found.user,
                    related: Some(found.group_ids.into_iter().collect()),
                }
            }
            ResourceKind::Group => {
                let resource = self.store.get(self.tenant, kind, id).await?;
                let related = match with_members {
                    true => Some(self.members(&resource.id).await?),
                    false => None,
                };
                Loaded { resource, related }
            }
        })
    }

    async fn members(&self, group_id: &ResourceId) -> Result<BTreeSet<ResourceId>, ScimError> {
        Ok(self
            .store
            .group_members(self.tenant, group_id)
            .await?
            .into_iter()
            .collect())
    }

    /// Runs one write and audits it, whatever the outcome. `command` is the request as parsed:
    /// a request refused before it is a command (its body, its parameters) is audited with its
    /// error. A write refused with 401 (its credential revoked while it ran) is not audited: like
    /// a request that never authenticated, it writes nothing.
    pub async fn write(
        &self,
        target: &WriteTarget<'_>,
        command: Result<WriteCommand, ScimError>,
    ) -> Result<WriteOutcome, ScimError> {
        let op = target.op;
        let audit = AuditEvent::new(
            self.tenant,
            target.actor.clone(),
            op.method(),
            op.action(),
            target.kind.name(),
            target.id,
            op.committed_status(),
        );
        let outcome = match command {
            Ok(command) => self.apply(target, command, &audit).await,
            Err(e) => Err(e),
        };
        let status = match &outcome {
            // A write that committed stored its audit event in its own transaction.
            Ok(WriteOutcome::Unchanged(_)) => 200,
            Ok(_) => return outcome,
            Err(e) if e.status == 401 => return outcome,
            Err(e) => e.status,
        };
        // Recorded anew: a multi-transaction write may have stored `audit` already.
        let event = audit.answered(status);
        match self.store.record_audit(&event).await {
            // Revoked while it ran: nothing is written in a switched-off tenant.
            Ok(()) | Err(StoreError::Revoked) => {}
            Err(e) => tracing::warn!(error = %e, "could not record audit event"),
        }
        outcome
    }

    async fn apply(
        &self,
        target: &WriteTarget<'_>,
        command: WriteCommand,
        audit: &AuditEvent,
    ) -> Result<WriteOutcome, ScimError> {
        let WriteCommand {
            change,
            if_match,
            show_members,
        } = command;
        let (kind, id) = (target.kind, target.id.unwrap_or_default());
        let how = |change| How {
            change,
            if_match: if_match.clone(),
            show_members,
        };
        match change {
            Change::Create(attributes) => {
                let loaded = self.create(kind, attributes, audit).await?;
                Ok(WriteOutcome::Created(loaded))
            }
            Change::Replace(attributes) => {
                let how = how(EventChange::Replace);
                self.replace(kind, id, attributes, how, audit).await
            }
            Change::Patch(ops) => {
                let how = how(EventChange::Patch);
                self.patch(kind, id, ops, how, audit).await
            }
            Change::Delete => {
                self.delete(kind, id, if_match.as_ref(), audit).await?;
                Ok(WriteOutcome::Deleted)
            }
        }
    }

    /// Creates a resource from normalised attributes (a group's `members` among them).
    async fn create(
        &self,
        kind: ResourceKind,
        mut attributes: Map<String, Value>,
        audit: &AuditEvent,
    ) -> Result<Loaded, ScimError> {
        let members = take_members(kind, &mut attributes)?.unwrap_or_default();
        let related = user_ids(&members);
        // A group's create event names its members as added too: the delta stays when `data`
        // leaves out the members of a large group.
        let added: Vec<String> = related.iter().map(ResourceId::to_string).collect();
        let resource = self
            .store
            .create(self.tenant, kind, attributes, &members, audit, |created| {
                self.event(
                    EventChange::Create,
                    None,
                    created,
                    Some(&related),
                    &added,
                    &[],
                )
            })
            .await?;
        Ok(Loaded {
            resource,
            related: Some(related),
        })
    }

    /// The change event of a successful write: an RFC 9967 SET whose `full` payload is the
    /// resource as a GET shows it by default (docs/events.md).
    fn event(
        &self,
        change: EventChange,
        before: Option<&StoredResource>,
        after: &StoredResource,
        related: Option<&BTreeSet<ResourceId>>,
        added: &[String],
        removed: &[String],
    ) -> StoredEvent {
        let jti = ulid::Ulid::new().to_string();
        let active = |r: &StoredResource| r.attributes.get("active").and_then(Value::as_bool);
        // A large group's event carries its member delta, not its members: the SET stays far
        // below DynamoDB's item and EventBridge's entry limits.
        let related = related.filter(|r| r.len() <= EVENT_MAX_MEMBERS);
        // A removed id that is not a ULID named no user: nothing was removed.
        let removed: Vec<String> = removed
            .iter()
            .filter(|id| ResourceId::parse(id).is_ok())
            .cloned()
            .collect();
        let data = super::to_scim(self.base_url, after, related);
        let event = Event {
            change,
            kind: after.kind,
            id: &after.id,
            external_id: after.attributes.get("externalId").and_then(Value::as_str),
            version: after.version,
            resource: (change != EventChange::Delete).then_some(&data),
            active: (before.and_then(active), active(after)),
            members_added: added,
            members_removed: &removed,
        };
        let envelope = Envelope {
            issuer: self.base_url,
            audience: events_audience().unwrap_or(self.base_url),
            jti: &jti,
            issued_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        };
        StoredEvent {
            set: event.to_set(&envelope),
            uri: event
                .uris()
                .first()
                .copied()
                .unwrap_or_default()
                .to_string(),
            resource_type: after.kind.name().to_string(),
            resource_id: after.id.clone(),
            version: after.version,
            // A delete happens after the resource's last change.
            time: match change {
                EventChange::Delete => crate::store::now_after(after.last_modified),
                _ => after.last_modified,
            },
            jti,
        }
    }

    /// PUT: the normalised body becomes the resource. A group body without `members` leaves
    /// them as they are: replacing them with nothing by omission would empty groups on a
    /// careless client.
    async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        mut attributes: Map<String, Value>,
        how: How,
        audit: &AuditEvent,
    ) -> Result<WriteOutcome, ScimError> {
        let changes = MemberChanges {
            replace_with: take_members(kind, &mut attributes)?,
            ..MemberChanges::default()
        };
        let id = path_id(id)?;
        self.update(kind, &id, &how, audit, |current| {
            check_immutable_with(self.schemas, kind, &current.attributes, &attributes)?;
            Ok((attributes.clone(), changes.clone()))
        })
        .await
    }

    /// PATCH: member operations become member changes; the others apply to the stored
    /// attributes, and the result is validated again.
    async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        ops: Vec<PatchOp>,
        how: How,
        audit: &AuditEvent,
    ) -> Result<WriteOutcome, ScimError> {
        let schemas = self.schemas;
        let (changes, ops) = match kind {
            ResourceKind::Group => members::split(ops)?,
            ResourceKind::User => (MemberChanges::default(), ops),
        };
        let id = path_id(id)?;
        self.update(kind, &id, &how, audit, |current| {
            let mut attributes = current.attributes.clone();
            patch::apply(kind, current.id.as_str(), &mut attributes, &ops)?;
            let attributes = normalize_with(schemas, kind, &Value::Object(attributes))?;
            check_immutable_with(schemas, kind, &current.attributes, &attributes)?;
            Ok((attributes, changes.clone()))
        })
        .await
    }

    /// Member changes as ids to add and remove: a complete new list is diffed against the
    /// current members.
    async fn member_delta(
        &self,
        group_id: &ResourceId,
        changes: &MemberChanges,
    ) -> Result<MemberDelta, ScimError> {
        Ok(match &changes.replace_with {
            Some(wanted) => {
                let existing = self.members(group_id).await?;
                let wanted: BTreeSet<String> =
                    wanted.iter().map(|m| members::canonical_id(m)).collect();
                MemberDelta {
                    add: wanted
                        .iter()
                        .filter(|m| !existing.contains(m.as_str()))
                        .cloned()
                        .collect(),
                    remove: existing
                        .iter()
                        .filter(|m| !wanted.contains(m.as_str()))
                        .map(ResourceId::to_string)
                        .collect(),
                    all: Some(wanted),
                }
            }
            None => MemberDelta {
                add: changes.add.clone(),
                remove: changes.remove.clone(),
                all: None,
            },
        })
    }

    /// Attempts until one is not a lost race: on a lost race, again after a jittered wait
    /// (unless the client pinned the version with `If-Match`: then the 412 is the answer).
    async fn update(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        how: &How,
        audit: &AuditEvent,
        compute: impl Fn(&StoredResource) -> Result<(Map<String, Value>, MemberChanges), ScimError>,
    ) -> Result<WriteOutcome, ScimError> {
        let mut retry = Retry::new(WRITE_ATTEMPTS);
        loop {
            if let Some(outcome) = self.try_update(kind, id, how, audit, &compute).await? {
                return Ok(outcome);
            }
            if !retry.again().await {
                return Err(too_busy());
            }
        }
    }

    /// One attempt: read, compute the new attributes, write if still at the version read.
    /// `None` when another write got there first.
    async fn try_update(
        &self,
        kind: ResourceKind,
        id: &ResourceId,
        how: &How,
        audit: &AuditEvent,
        compute: &impl Fn(&StoredResource) -> Result<(Map<String, Value>, MemberChanges), ScimError>,
    ) -> Result<Option<WriteOutcome>, ScimError> {
        let current = self.load(kind, id, false).await?;
        check_if_match(how.if_match.as_ref(), &current.resource)?;
        let (attributes, changes) = compute(&current.resource)?;
        let delta = self.member_delta(&current.resource.id, &changes).await?;
        let unchanged = attributes == current.resource.attributes
            && delta.add.is_empty()
            && delta.remove.is_empty();
        if unchanged {
            let related = match kind {
                ResourceKind::User => current.related,
                ResourceKind::Group if !how.show_members => None,
                ResourceKind::Group => match delta.all {
                    Some(all) => Some(user_ids(&all)),
                    None => Some(self.members(&current.resource.id).await?),
                },
            };
            return Ok(Some(WriteOutcome::Unchanged(Loaded {
                resource: current.resource,
                related,
            })));
        }
        let revision = Revision {
            attributes,
            add: &delta.add,
            remove: &delta.remove,
        };
        let written = self
            .store
            .update(
                self.tenant,
                &current.resource,
                revision,
                &audit.about(current.resource.id.as_str()),
                |updated| {
                    let added: Vec<String> = delta.add.iter().cloned().collect();
                    let removed: Vec<String> = delta.remove.iter().cloned().collect();
                    let related = match kind {
                        ResourceKind::User => current.related.as_ref(),
                        ResourceKind::Group => None,
                    };
                    self.event(
                        how.change,
                        Some(&current.resource),
                        updated,
                        related,
                        &added,
                        &removed,
                    )
                },
            )
            .await;
        match written {
            Ok(resource) => Ok(Some(
                self.read_back(kind, resource, current.related, &delta, how.show_members)
                    .await,
            )),
            Err(StoreError::VersionConflict) if how.if_match.is_none() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A committed update as its response shows it: a user's groups as read before the write; a
    /// group's members, when shown, read back, with this request's own changes applied (the
    /// index may lag the write just made).
    async fn read_back(
        &self,
        kind: ResourceKind,
        resource: StoredResource,
        groups: Option<BTreeSet<ResourceId>>,
        delta: &MemberDelta,
        show_members: bool,
    ) -> WriteOutcome {
        let related = match kind {
            ResourceKind::User => groups,
            ResourceKind::Group if !show_members => None,
            ResourceKind::Group => Some(match &delta.all {
                Some(all) => user_ids(all),
                None => match self.members(&resource.id).await {
                    Ok(mut ids) => {
                        ids.extend(user_ids(&delta.add));
                        for gone in &delta.remove {
                            ids.remove(gone.as_str());
                        }
                        ids
                    }
                    Err(e) => {
                        tracing::warn!(error = %e.detail, "members not read back after a write");
                        return WriteOutcome::MembersUnread(resource.version);
                    }
                },
            }),
        };
        WriteOutcome::Updated(Loaded { resource, related })
    }

    /// Deletes a resource and its memberships, as read: while it is still at the version read
    /// (and, with `If-Match`, at the version the client named). A lost race re-reads, unless the
    /// client pinned the version: then the 412 is the answer.
    async fn delete(
        &self,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&Precondition>,
        audit: &AuditEvent,
    ) -> Result<(), ScimError> {
        let id = path_id(id)?;
        let mut retry = Retry::new(WRITE_ATTEMPTS);
        loop {
            let current = self.load(kind, &id, true).await?;
            check_if_match(if_match, &current.resource)?;
            let related = current.related.unwrap_or_default();
            let deleted = self
                .store
                .delete(
                    self.tenant,
                    &current.resource,
                    &related,
                    &audit.about(current.resource.id.as_str()),
                    |deleted| {
                        self.event(EventChange::Delete, Some(deleted), deleted, None, &[], &[])
                    },
                )
                .await;
            match deleted {
                Err(StoreError::VersionConflict) if if_match.is_none() => {
                    if !retry.again().await {
                        return Err(too_busy());
                    }
                }
                other => return Ok(other?),
            }
        }
    }
}

/// After [`WRITE_ATTEMPTS`] lost races: 429, which IdPs retry.
fn too_busy() -> ScimError {
    ScimError::new(
        429,
        None,
        "the resource is being modified by many requests at once; retry after the Retry-After delay",
    )
}

/// How a replace or patch writes: which change event it makes, the version the client pinned,
/// and whether the response shows a group's members.
struct How {
    change: EventChange,
    if_match: Option<Precondition>,
    show_members: bool,
}

/// Member ids to add and remove, and the complete new list when the request gave one: as the
/// client named them (the store refuses to add an id that is not a user's).
struct MemberDelta {
    add: BTreeSet<String>,
    remove: BTreeSet<String>,
    all: Option<BTreeSet<String>>,
}
