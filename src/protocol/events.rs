//! SCIM change events as RFC 9967 Security Event Tokens: the SET claims (RFC 8417) of one
//! successful write, as unsigned JSON. Pure: the store writes the value in the write's own
//! transaction, the feed and the stream publisher hand it out unchanged.
//!
//! One write is one SET. Its `events` claim holds the write's event URI and, when `active`
//! changed, the activate or deactivate URI too (RFC 9967 §2.1: several URIs in one SET are one
//! state change of one resource).

use serde_json::{json, Map, Value};

use super::resource::ResourceKind;
use super::{ResourceId, Version};

pub const CREATE_FULL: &str = "urn:ietf:params:scim:event:prov:create:full";
pub const PUT_FULL: &str = "urn:ietf:params:scim:event:prov:put:full";
pub const PATCH_FULL: &str = "urn:ietf:params:scim:event:prov:patch:full";
pub const DELETE: &str = "urn:ietf:params:scim:event:prov:delete";
pub const ACTIVATE: &str = "urn:ietf:params:scim:event:prov:activate";
pub const DEACTIVATE: &str = "urn:ietf:params:scim:event:prov:deactivate";

/// Every event URI this service emits (docs/events.md; not advertised in ServiceProviderConfig,
/// which the public conformance suite would refuse).
pub const EMITTED: [&str; 6] = [
    CREATE_FULL,
    PUT_FULL,
    PATCH_FULL,
    DELETE,
    ACTIVATE,
    DEACTIVATE,
];

/// A `full` event carries `data` up to this size (JSON bytes). A larger resource's event leaves it
/// out (`"dataOmitted": true`): with the member delta capped too, a SET stays below DynamoDB's
/// 400 KB item and EventBridge's 256 KiB entry limits.
pub const MAX_DATA_BYTES: usize = 128 * 1024;

/// A member delta lists up to this many ids; a larger one gives only its counts
/// (`addedCount`, `removedCount`).
pub const MAX_DELTA_IDS: usize = 1000;

/// Attributes no event ever carries, whatever the caller passes: secrets.
const NEVER_CARRIED: [&str; 1] = ["password"];

/// What a successful write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Replace,
    Patch,
    Delete,
}

/// One write's event, before it becomes a SET.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    pub change: Change,
    pub kind: ResourceKind,
    pub id: &'a ResourceId,
    pub external_id: Option<&'a str>,
    /// The resource's version after the write (for a delete: the version deleted).
    pub version: Version,
    /// The resource after the write, as the `returned`-default projection; `None` for a delete.
    pub resource: Option<&'a Value>,
    /// `active` before and after the write (users), when known.
    pub active: (Option<bool>, Option<bool>),
    /// Member ids added to and removed from a group by the write.
    pub members_added: &'a [String],
    pub members_removed: &'a [String],
}

/// The SET's envelope: who issues it, for whom, and its identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    /// The tenant's SCIM base URL.
    pub issuer: &'a str,
    pub audience: &'a str,
    /// Stable for the change: a consumer de-duplicates on it (and on `txn`, which equals it).
    pub jti: &'a str,
    /// Seconds since the epoch.
    pub issued_at: i64,
}

impl Event<'_> {
    /// The event URIs of this change, the write's own first.
    pub fn uris(&self) -> Vec<&'static str> {
        let mut uris = vec![match self.change {
            Change::Create => CREATE_FULL,
            Change::Replace => PUT_FULL,
            Change::Patch => PATCH_FULL,
            Change::Delete => DELETE,
        }];
        match self.active {
            (Some(true), Some(false)) | (None, Some(false)) if self.change != Change::Create => {
                uris.push(DEACTIVATE)
            }
            (Some(false), Some(true)) => uris.push(ACTIVATE),
            _ => {}
        }
        uris
    }

    /// The SET (RFC 8417 claims; RFC 9967 `sub_id` and event payloads).
    pub fn to_set(&self, envelope: &Envelope<'_>) -> Value {
        let mut subject = json!({
            "format": "scim",
            "uri": format!("/{}/{}", self.kind.endpoint(), self.id),
            "id": self.id.as_str(),
        });
        if let (Some(external_id), Some(subject)) = (self.external_id, subject.as_object_mut()) {
            subject.insert("externalId".into(), json!(external_id));
        }
        let mut events = Map::new();
        for uri in self.uris() {
            events.insert(uri.to_string(), self.payload(uri));
        }
        json!({
            "jti": envelope.jti,
            "txn": envelope.jti,
            "iat": envelope.issued_at,
            "iss": envelope.issuer,
            "aud": envelope.audience,
            "sub_id": subject,
            "events": events,
        })
    }

    fn payload(&self, uri: &str) -> Value {
        if matches!(uri, DELETE | ACTIVATE | DEACTIVATE) {
            return json!({});
        }
        let mut payload = Map::new();
        if let Some(resource) = self.resource {
            let data = without_secrets(resource);
            if data.to_string().len() <= MAX_DATA_BYTES {
                payload.insert("data".into(), data);
            } else {
                payload.insert("dataOmitted".into(), json!(true));
            }
        }
        payload.insert("version".into(), json!(self.version.etag()));
        let (added, removed) = (self.members_added, self.members_removed);
        if added.len() + removed.len() > MAX_DELTA_IDS {
            payload.insert(
                "members".into(),
                json!({"addedCount": added.len(), "removedCount": removed.len()}),
            );
        } else if !added.is_empty() || !removed.is_empty() {
            payload.insert(
                "members".into(),
                json!({"added": added, "removed": removed}),
            );
        }
        Value::Object(payload)
    }
}

fn without_secrets(resource: &Value) -> Value {
    let mut resource = resource.clone();
    if let Some(object) = resource.as_object_mut() {
        object.retain(|name, _| !NEVER_CARRIED.iter().any(|s| s.eq_ignore_ascii_case(name)));
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_resource_or_delta_is_left_out_not_carried() {
        let id = id();
        let big = json!({"userName": "x".repeat(MAX_DATA_BYTES)});
        let ids: Vec<String> = (0..=MAX_DELTA_IDS).map(|n| n.to_string()).collect();
        let event = Event {
            change: Change::Patch,
            kind: ResourceKind::Group,
            id: &id,
            external_id: None,
            version: Version::FIRST,
            resource: Some(&big),
            active: (None, None),
            members_added: &ids,
            members_removed: &[],
        };
        let set = event.to_set(&envelope());
        let payload = &set["events"][PATCH_FULL];
        assert_eq!(payload["dataOmitted"], true);
        assert!(payload.get("data").is_none());
        assert_eq!(
            payload["members"],
            json!({"addedCount": MAX_DELTA_IDS + 1, "removedCount": 0})
        );
        assert!(set.to_string().len() < 10_000);
    }

    fn id() -> ResourceId {
        ResourceId::parse("01J0000000000000000000000A").unwrap()
    }

    fn envelope() -> Envelope<'static> {
        Envelope {
            issuer: "https://scim.example.com/T/scim/v2",
            audience: "https://app.example.com",
            jti: "evt-1",
            issued_at: 1_800_000_000,
        }
    }

    fn event<'a>(change: Change, id: &'a ResourceId, resource: Option<&'a Value>) -> Event<'a> {
        Event {
            change,
            kind: ResourceKind::User,
            id,
            external_id: Some("ext-1"),
            version: Version::parse("3").unwrap(),
            resource,
            active: (None, None),
            members_added: &[],
            members_removed: &[],
        }
    }

    #[test]
    fn a_create_is_a_full_event_with_the_resource_its_version_and_the_subject() {
        let id = id();
        let user =
            json!({"id": id.as_str(), "userName": "ann", "password": "secret", "active": true});
        let set = event(Change::Create, &id, Some(&user)).to_set(&envelope());
        assert_eq!(set["jti"], "evt-1");
        assert_eq!(set["txn"], set["jti"]);
        assert_eq!(set["iss"], "https://scim.example.com/T/scim/v2");
        assert_eq!(set["aud"], "https://app.example.com");
        assert_eq!(set["iat"], 1_800_000_000);
        assert_eq!(
            set["sub_id"],
            json!({"format": "scim", "uri": format!("/Users/{id}"), "id": id.as_str(), "externalId": "ext-1"})
        );
        let events = set["events"].as_object().unwrap();
        assert_eq!(events.keys().collect::<Vec<_>>(), vec![CREATE_FULL]);
        assert_eq!(events[CREATE_FULL]["version"], "W/\"3\"");
        assert_eq!(events[CREATE_FULL]["data"]["userName"], "ann");
        assert!(events[CREATE_FULL]["data"].get("password").is_none());
        assert!(
            set.get("sub").is_none(),
            "RFC 9967 §2.1: sub MUST NOT be used"
        );
    }

    #[test]
    fn deactivation_and_reactivation_ride_in_the_same_set() {
        let id = id();
        let user = json!({"userName": "ann", "active": false});
        let mut patch = event(Change::Patch, &id, Some(&user));
        patch.active = (Some(true), Some(false));
        assert_eq!(patch.uris(), vec![PATCH_FULL, DEACTIVATE]);
        assert_eq!(patch.to_set(&envelope())["events"][DEACTIVATE], json!({}));
        patch.active = (Some(false), Some(true));
        assert_eq!(patch.uris(), vec![PATCH_FULL, ACTIVATE]);
        patch.active = (Some(true), Some(true));
        assert_eq!(patch.uris(), vec![PATCH_FULL]);
        let mut put = event(Change::Replace, &id, Some(&user));
        put.active = (Some(true), Some(false));
        assert_eq!(put.uris(), vec![PUT_FULL, DEACTIVATE]);
        // A user created inactive was never active: no deactivation.
        let mut create = event(Change::Create, &id, Some(&user));
        create.active = (None, Some(false));
        assert_eq!(create.uris(), vec![CREATE_FULL]);
    }

    #[test]
    fn a_delete_carries_no_payload_and_a_member_change_carries_its_delta() {
        let id = id();
        let set = event(Change::Delete, &id, None).to_set(&envelope());
        assert_eq!(set["events"], json!({DELETE: {}}));

        let group = json!({"displayName": "team"});
        let added = vec!["01J0000000000000000000000B".to_string()];
        let mut patch = event(Change::Patch, &id, Some(&group));
        patch.kind = ResourceKind::Group;
        patch.members_added = &added;
        let set = patch.to_set(&envelope());
        assert_eq!(set["sub_id"]["uri"], format!("/Groups/{id}"));
        assert_eq!(
            set["events"][PATCH_FULL]["members"],
            json!({"added": added, "removed": []})
        );
    }
}
