//! The change-event feed (issue 11): pages of a tenant's events in commit order, each event
//! exactly once across a walk of cursors.
//!
//! An event's sort key is its time, taken before its transaction commits, and a write commits
//! within the functions' 29 s timeout. So an event may appear behind one already served. The
//! cursor therefore keeps its position at the last event older than the settle horizon
//! (`SETTLE_SECONDS`), and names the newer events it has served (`seen`), which the next page
//! skips. A late commit falls between the position and those events, and the next page serves it.

use std::collections::BTreeSet;

use crate::store::StoredEvent;

/// An event older than this cannot be overtaken by a late commit: a write ends within the
/// functions' 29 s timeout; the rest is margin for clocks and the Query's eventual consistency.
pub const SETTLE_SECONDS: i64 = 60;

/// At most this many unsettled events are named in a cursor. Past it, the position moves on past
/// the oldest of them, which by then are seconds old at any IdP's rate (Entra: about 25 writes a
/// second, so 400 events take 16 s), far behind any commit still in flight.
pub const MAX_SEEN: usize = 400;

/// Characters of a jti that name it in a cursor: the end of its ULID, 30 random bits.
const TAG_LEN: usize = 6;

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

    /// Serves a page from `read` (the events after the position, oldest first) and returns it
    /// with the walk after it. `horizon` is the settle horizon as an RFC 3339 time.
    pub fn page(
        &self,
        read: Vec<StoredEvent>,
        limit: usize,
        horizon: &str,
    ) -> (Vec<StoredEvent>, Walk) {
        // The events covered: a prefix of `read` served now or before.
        let mut covered = Vec::new();
        let mut served = Vec::new();
        for event in read {
            let seen = self.seen.contains(&tag(&event));
            if !seen && served.len() == limit {
                break;
            }
            if !seen {
                served.push(event.clone());
            }
            covered.push(event);
        }
        let covered_tags: BTreeSet<String> = covered.iter().map(tag).collect();
        // Seen events past what was read stay seen.
        let beyond: BTreeSet<String> = self.seen.difference(&covered_tags).cloned().collect();
        let mut settled = covered
            .iter()
            .rposition(|e| e.time.as_str() <= horizon)
            .map_or(0, |i| i + 1);
        let unsettled = covered.len() - settled;
        if unsettled + beyond.len() > MAX_SEEN {
            settled = (covered.len() + beyond.len())
                .saturating_sub(MAX_SEEN)
                .min(covered.len());
        }
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
        (served, Walk { position, seen })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ResourceId, Version};
    use serde_json::json;

    fn event(time: &str, n: u32) -> StoredEvent {
        StoredEvent {
            jti: format!("01J0000000000000000{n:07}"),
            time: time.into(),
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

    #[test]
    fn settled_events_move_the_position_and_new_ones_are_named() {
        let read = vec![event(OLD, 1), event(OLD, 2), event(NEW, 3)];
        let (served, walk) = Walk::default().page(read.clone(), 10, HORIZON);
        assert_eq!(jtis(&served), jtis(&read));
        assert_eq!(walk.position, Some(read[1].sort_key()));
        assert_eq!(walk.seen, BTreeSet::from([tag(&read[2])]));
        assert_eq!(Walk::parse_seen(&walk.seen_string()), walk.seen);
    }

    #[test]
    fn a_late_commit_behind_served_events_is_served_once() {
        let (_, walk) = Walk::default().page(vec![event(NEW, 3)], 10, HORIZON);
        // Event 2 commits late with an earlier time than 3: the next page has it, and not 3.
        let read = vec![event(NEW, 2), event(NEW, 3)];
        let (served, walk) = walk.page(read, 10, HORIZON);
        assert_eq!(jtis(&served), jtis(&[event(NEW, 2)]));
        assert_eq!(walk.seen.len(), 2);
        let (served, _) = walk.page(vec![event(NEW, 2), event(NEW, 3)], 10, HORIZON);
        assert!(served.is_empty());
    }

    #[test]
    fn a_full_page_of_new_events_still_moves_on() {
        let read: Vec<_> = (0..5).map(|n| event(NEW, n)).collect();
        let (served, walk) = Walk::default().page(read.clone(), 2, HORIZON);
        assert_eq!(served.len(), 2);
        assert_eq!(walk.position, None);
        let (served, walk) = walk.page(read.clone(), 2, HORIZON);
        assert_eq!(jtis(&served), jtis(&read[2..4]));
        let (served, walk) = walk.page(read.clone(), 2, HORIZON);
        assert_eq!(jtis(&served), jtis(&read[4..]));
        let (served, _) = walk.page(read, 2, HORIZON);
        assert!(served.is_empty());
    }

    #[test]
    fn a_burst_is_served_at_once_and_the_cursor_names_at_most_max_seen() {
        let burst: Vec<_> = (0..(MAX_SEEN as u32 + 30)).map(|n| event(NEW, n)).collect();
        let (served, walk) = Walk::default().page(burst.clone(), 1000, HORIZON);
        assert_eq!(served.len(), burst.len());
        assert_eq!(walk.seen.len(), MAX_SEEN);
        assert_eq!(walk.position, Some(burst[29].sort_key()));
        let (served, _) = walk.page(burst[30..].to_vec(), 1000, HORIZON);
        assert!(served.is_empty(), "each once");
    }

    #[test]
    fn a_full_cursor_fits_its_length_limit() {
        use crate::protocol::cursor::{encode, CursorState, Position};
        let seen: String = (0..MAX_SEEN).map(|n| format!("{n:06}")).collect();
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
        };
        assert!(encode(b"k", &state).unwrap().len() < MAX_CURSOR_LEN);
    }
}
