//! The change-event feed (issue 11): pages of a tenant's events in commit order, each event
//! exactly once across a walk of cursors.
//!
//! An event's sort key is its time, taken before its transaction commits, and a write commits
//! within the functions' 29 s timeout. So an event may appear behind one already served. The
//! cursor therefore keeps its position at the last event older than the settle horizon
//! (`SETTLE_SECONDS`), and names the newer events it has served (`seen`), which the next page
//! skips. A late commit falls between the position and those events, and the next page serves it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::domain::Timestamp;
use crate::protocol::{cursor, ResourceId, ScimType, TenantId};
use crate::service::admin::{check_page_limit, parse_since, AdminError, DEFAULT_AUDIT_PAGE};
use crate::service::list::PAGE_BYTES;
use crate::store::{Store, StoredEvent};

/// An event older than this cannot be overtaken by a late commit: a write ends within the
/// functions' 29 s timeout; the rest is margin for clocks and the Query's eventual consistency.
pub const SETTLE_SECONDS: i64 = 60;

/// At most this many unsettled events are named in a cursor. Past it, a page stops and says the
/// reader is behind: the next pages go on once the oldest of them settle (a minute at most). At
/// Entra's rate of about 25 writes a second, 300 events are 12 s of writes.
pub const MAX_SEEN: usize = 300;

/// Characters of a jti that name it in a cursor: the end of its ULID, 65 random bits, so two of a
/// walk's events share a tag with a chance of about 1 in 10^14.
const TAG_LEN: usize = 13;

/// The longest events cursor accepted: `MAX_SEEN` tags, base64 inside the signed payload, and
/// the rest of the cursor (well under API Gateway's 10 KB request line).
pub const MAX_CURSOR_LEN: usize = 6144;

/// How an event is named in a cursor.
pub fn tag(event: &StoredEvent) -> String {
    let jti = event.jti.as_str();
    jti.get(jti.len().saturating_sub(TAG_LEN)..)
        .unwrap_or(jti)
        .to_string()
}

/// Where a walk stands: after `position` (a sort key; `None` is the walk's start), with the
/// events in `seen` already served.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Walk {
    pub position: Option<String>,
    pub seen: BTreeSet<String>,
}

/// One page of the feed and the walk after it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub events: Vec<StoredEvent>,
    pub walk: Walk,
    /// More events are there than the cursor can name until some settle: the page stopped short,
    /// and the next one goes on within a minute. Nothing is skipped.
    pub behind: bool,
}

impl Walk {
    /// Encodes `seen` as one string of tags.
    pub fn seen_string(&self) -> String {
        self.seen.iter().map(String::as_str).collect()
    }

    pub fn parse_seen(raw: &str) -> BTreeSet<String> {
        raw.as_bytes()
            .chunks(TAG_LEN)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    /// How many events to read for a page of `limit`: the seen ones come back and are skipped.
    pub fn read_size(&self, limit: usize) -> usize {
        limit + self.seen.len()
    }

    /// Serves a page from `read` (the events after the position, oldest first, possibly cut
    /// short by the store's byte budget) and returns it with the walk after it. `horizon` is
    /// the settle horizon; the page's SETs stop before `max_bytes` (its
    /// first event is served whatever its size).
    pub fn page(
        &self,
        read: Vec<StoredEvent>,
        limit: usize,
        horizon: Timestamp,
        max_bytes: usize,
    ) -> FeedPage {
        // The events covered: a prefix of `read` served now or before.
        let mut covered = Vec::new();
        let mut served = Vec::new();
        // Tags the cursor must name: unsettled covered events, and seen ones not yet covered.
        let mut named_unsettled = 0;
        let mut beyond = self.seen.len();
        let mut bytes = 0;
        let mut behind = false;
        for event in read {
            let seen = self.seen.contains(&tag(&event));
            let unsettled = event.time > horizon;
            if seen {
                beyond = beyond.saturating_sub(1);
            } else {
                if served.len() == limit {
                    break;
                }
                if unsettled && named_unsettled + beyond >= MAX_SEEN {
                    behind = true;
                    break;
                }
                let size = event.set.to_string().len();
                if !served.is_empty() && bytes + size > max_bytes {
                    break;
                }
                bytes += size;
                served.push(event.clone());
            }
            named_unsettled += usize::from(unsettled);
            covered.push(event);
        }
        let covered_tags: BTreeSet<String> = covered.iter().map(tag).collect();
        // Seen events past what was read stay seen.
        let beyond: BTreeSet<String> = self.seen.difference(&covered_tags).cloned().collect();
        let settled = covered
            .iter()
            .rposition(|e| e.time <= horizon)
            .map_or(0, |i| i + 1);
        let position = match settled.checked_sub(1).and_then(|i| covered.get(i)) {
            Some(event) => Some(event.sort_key()),
            None => self.position.clone(),
        };
        let seen = covered
            .iter()
            .skip(settled)
            .map(tag)
            .chain(beyond)
            .collect();
        FeedPage {
            events: served,
            walk: Walk { position, seen },
            behind,
        }
    }
}

/// What an events cursor is bound to, besides its tenant.
const EVENTS_QUERY: &str = "events";

/// A request for a page of the feed: go on from `cursor`, or start at `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsRequest {
    pub cursor: Option<String>,
    /// An RFC 3339 time, a date, or a span back from now (`parse_since`).
    pub since: Option<String>,
    pub limit: usize,
}

impl Default for EventsRequest {
    fn default() -> Self {
        EventsRequest {
            cursor: None,
            since: None,
            limit: DEFAULT_AUDIT_PAGE,
        }
    }
}

/// One change event as the feed and `scimctl events --json` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEventView {
    pub id: String,
    pub time: Timestamp,
    #[serde(rename = "type")]
    pub uri: String,
    pub resource_type: String,
    pub resource_id: ResourceId,
    pub version: u64,
    pub set: Value,
}

impl From<&StoredEvent> for ChangeEventView {
    fn from(event: &StoredEvent) -> Self {
        ChangeEventView {
            id: event.jti.clone(),
            time: event.time,
            uri: event.uri.clone(),
            resource_type: event.resource_type.clone(),
            resource_id: event.resource_id.clone(),
            version: event.version.get(),
            set: event.set.clone(),
        }
    }
}

/// A page of the feed, oldest first, and the cursor that goes on from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    pub tenant_id: TenantId,
    pub events: Vec<ChangeEventView>,
    pub next_cursor: String,
    /// Shown only when true (`FeedPage::behind`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub behind: bool,
}

/// A page of the tenant's change events, oldest first (issue 11). Across a walk of
/// `nextCursor`s each event comes exactly once, late commits included.
pub async fn read(
    store: &Store,
    tenant: &TenantId,
    request: &EventsRequest,
) -> Result<EventsPage, AdminError> {
    let limit = request.limit;
    check_page_limit(limit)?;
    let key = store.cursor_key().await?;
    let now = time::OffsetDateTime::now_utc();
    let state = match request.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(token) => {
            let state = cursor::decode_up_to(
                &key,
                token,
                tenant,
                EVENTS_QUERY,
                now.unix_timestamp(),
                MAX_CURSOR_LEN,
            )
            .map_err(|e| match e.scim_type {
                Some(ScimType::ExpiredCursor) => AdminError::Invalid(format!(
                    "the events cursor expired: events are kept {} days, so events after it \
                     may be gone; start again with --since (since=)",
                    store.event_retention_days()
                )),
                _ => AdminError::Invalid(
                    "the events cursor is not one this service issued for this tenant's \
                     events; start again without it"
                        .into(),
                ),
            })?;
            match state.position {
                cursor::Position::After(position) => position,
                cursor::Position::Offset(_) => BTreeMap::new(),
            }
        }
        None => BTreeMap::new(),
    };
    let since = match (state.get("since"), request.since.as_deref()) {
        (Some(since), _) => Some(since.clone()),
        (None, Some(raw)) => Some(parse_since(raw)?),
        (None, None) => None,
    };
    let walk = Walk {
        position: state.get("after").cloned(),
        seen: state
            .get("seen")
            .map(|raw| Walk::parse_seen(raw))
            .unwrap_or_default(),
    };
    let read = store
        .list_events(
            tenant,
            walk.position.as_deref(),
            since.as_deref(),
            (walk.read_size(limit), 2 * PAGE_BYTES),
        )
        .await?;
    let horizon = Timestamp::from(now - time::Duration::seconds(SETTLE_SECONDS));
    let FeedPage {
        events,
        walk,
        behind,
    } = walk.page(read.events, limit, horizon, PAGE_BYTES);
    let mut position = BTreeMap::new();
    match (walk.position.clone(), since) {
        (Some(after), _) => position.insert("after".to_string(), after),
        (None, Some(since)) => position.insert("since".to_string(), since),
        (None, None) => None,
    };
    if !walk.seen.is_empty() {
        position.insert("seen".to_string(), walk.seen_string());
    }
    let next_cursor = cursor::encode(
        &key,
        &cursor::CursorState {
            tenant: tenant.clone(),
            query: EVENTS_QUERY.into(),
            kind_index: 0,
            position: cursor::Position::After(position),
            expires: now.unix_timestamp() + i64::from(store.event_retention_days()) * 86_400,
            totals: vec![],
        },
    )
    .map_err(|e| AdminError::Internal(e.detail))?;
    Ok(EventsPage {
        tenant_id: tenant.clone(),
        events: events.iter().map(ChangeEventView::from).collect(),
        next_cursor,
        behind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Version;
    use serde_json::json;

    fn event(time: &str, n: u32) -> StoredEvent {
        StoredEvent {
            jti: format!("01J0000000000000000{n:07}"),
            time: Timestamp::parse(time).unwrap(),
            uri: "u".into(),
            resource_type: "User".into(),
            resource_id: ResourceId::parse("01J0000000000000000000000A").unwrap(),
            version: Version::FIRST,
            set: json!({}),
        }
    }

    fn jtis(events: &[StoredEvent]) -> Vec<String> {
        events.iter().map(|e| e.jti.clone()).collect()
    }

    const OLD: &str = "2026-01-01T00:00:00.000Z";
    const NEW: &str = "2026-01-01T00:10:00.000Z";
    const HORIZON: &str = "2026-01-01T00:05:00.000Z";

    fn horizon() -> Timestamp {
        Timestamp::parse(HORIZON).unwrap()
    }

    #[test]
    fn settled_events_move_the_position_and_new_ones_are_named() {
        let read = vec![event(OLD, 1), event(OLD, 2), event(NEW, 3)];
        let FeedPage {
            events: served,
            walk,
            ..
        } = Walk::default().page(read.clone(), 10, horizon(), usize::MAX);
        assert_eq!(jtis(&served), jtis(&read));
        assert_eq!(walk.position, Some(read[1].sort_key()));
        assert_eq!(walk.seen, BTreeSet::from([tag(&read[2])]));
        assert_eq!(Walk::parse_seen(&walk.seen_string()), walk.seen);
    }

    #[test]
    fn a_late_commit_behind_served_events_is_served_once() {
        let FeedPage { walk, .. } =
            Walk::default().page(vec![event(NEW, 3)], 10, horizon(), usize::MAX);
        // Event 2 commits late with an earlier time than 3: the next page has it, and not 3.
        let read = vec![event(NEW, 2), event(NEW, 3)];
        let FeedPage {
            events: served,
            walk,
            ..
        } = walk.page(read, 10, horizon(), usize::MAX);
        assert_eq!(jtis(&served), jtis(&[event(NEW, 2)]));
        assert_eq!(walk.seen.len(), 2);
        let FeedPage { events: served, .. } = walk.page(
            vec![event(NEW, 2), event(NEW, 3)],
            10,
            horizon(),
            usize::MAX,
        );
        assert!(served.is_empty());
    }

    #[test]
    fn a_full_page_of_new_events_still_moves_on() {
        let read: Vec<_> = (0..5).map(|n| event(NEW, n)).collect();
        let FeedPage {
            events: served,
            walk,
            ..
        } = Walk::default().page(read.clone(), 2, horizon(), usize::MAX);
        assert_eq!(served.len(), 2);
        assert_eq!(walk.position, None);
        let FeedPage {
            events: served,
            walk,
            ..
        } = walk.page(read.clone(), 2, horizon(), usize::MAX);
        assert_eq!(jtis(&served), jtis(&read[2..4]));
        let FeedPage {
            events: served,
            walk,
            ..
        } = walk.page(read.clone(), 2, horizon(), usize::MAX);
        assert_eq!(jtis(&served), jtis(&read[4..]));
        let FeedPage { events: served, .. } = walk.page(read, 2, horizon(), usize::MAX);
        assert!(served.is_empty());
    }

    #[test]
    fn past_max_seen_unsettled_events_a_page_says_behind_and_skips_nothing() {
        let burst: Vec<_> = (0..(MAX_SEEN as u32 + 30)).map(|n| event(NEW, n)).collect();
        let page = Walk::default().page(burst.clone(), 1000, horizon(), usize::MAX);
        assert_eq!(jtis(&page.events), jtis(&burst[..MAX_SEEN]));
        assert!(page.behind);
        assert_eq!(page.walk.seen.len(), MAX_SEEN);
        assert_eq!(page.walk.position, None);
        // Still unsettled: nothing more yet, and nothing skipped.
        let again = page.walk.page(burst.clone(), 1000, horizon(), usize::MAX);
        assert!(again.events.is_empty() && again.behind);
        assert_eq!(again.walk, page.walk);
        // Once they settle, the rest come, each once.
        let later = Timestamp::parse("2026-01-01T00:20:00.000Z").unwrap();
        let rest = again.walk.page(burst.clone(), 1000, later, usize::MAX);
        assert_eq!(jtis(&rest.events), jtis(&burst[MAX_SEEN..]));
        assert!(!rest.behind);
        assert_eq!(rest.walk.position, Some(burst[burst.len() - 1].sort_key()));
        assert!(rest.walk.seen.is_empty());
    }

    #[test]
    fn a_page_stops_at_its_byte_budget_and_the_next_goes_on() {
        let mut read: Vec<_> = (0..5).map(|n| event(OLD, n)).collect();
        for e in &mut read {
            e.set = json!({"data": "x".repeat(1000)});
        }
        let page = Walk::default().page(read.clone(), 10, horizon(), 2500);
        assert_eq!(jtis(&page.events), jtis(&read[..2]));
        let next = page.walk.page(read[2..].to_vec(), 10, horizon(), 2500);
        assert_eq!(jtis(&next.events), jtis(&read[2..4]));
        // One event larger than the budget still makes a page.
        let one = Walk::default().page(read.clone(), 10, horizon(), 10);
        assert_eq!(one.events.len(), 1);
    }

    #[test]
    fn tags_of_distinct_events_do_not_collide() {
        let tags: BTreeSet<String> = (0..10_000)
            .map(|_| {
                let mut e = event(NEW, 0);
                e.jti = ulid::Ulid::new().to_string();
                tag(&e)
            })
            .collect();
        assert_eq!(tags.len(), 10_000);
        assert_eq!(TAG_LEN * 5, 65, "random bits named");
    }

    #[test]
    fn a_full_cursor_fits_its_length_limit() {
        use crate::protocol::cursor::{encode, CursorState, Position};
        let seen: String = (0..MAX_SEEN).map(|n| format!("{n:013}")).collect();
        let state = CursorState {
            tenant: crate::protocol::TenantId::parse("01J0000000000000000000000T").unwrap(),
            query: "events".into(),
            kind_index: 0,
            position: Position::After(
                [
                    (
                        "after".to_string(),
                        format!("{NEW}#01J0000000000000000000000A"),
                    ),
                    ("seen".to_string(), seen),
                ]
                .into(),
            ),
            expires: i64::MAX,
            totals: vec![],
        };
        assert!(encode(b"k", &state).unwrap().len() < MAX_CURSOR_LEN);
    }
}
