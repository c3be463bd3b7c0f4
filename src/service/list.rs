//! Lists and searches: runs a query plan (`protocol::planner`) against the store.
//!
//! - A **streamed** plan reads only the page's own items: from the start, from a bookmark (index
//!   paging) or from the position a cursor carries. `totalResults` comes from the counters (a
//!   whole collection, in any index's order) or from one COUNT of the range per walk, carried on
//!   in the bookmarks and cursors that follow.
//! - An **examined** plan reads every candidate of its source, at most [`Limits::max_examined`]
//!   and [`Limits::max_examined_bytes`], then filters, sorts and slices in memory; `totalResults`
//!   is the number of matches.
//! - Every page stops before its rendered resources pass [`Limits::page_bytes`] (RFC 7644
//!   §3.4.2.4 lets a page hold fewer than `count`); it always holds at least one resource.
//!
//! Searches over several resource types (the root `/.search`) page through the first type, then
//! the next, as one list; each type has bookmarks of its own.

use std::collections::BTreeSet;

use crate::protocol::cursor::{self, CursorState, Position};
use crate::protocol::list::{ListQuery, Paging};
use crate::protocol::matcher::{self, ForKind};
use crate::protocol::planner::{self, Plan, SortRequest, Source};
use crate::protocol::resource::ResourceKind;
use crate::protocol::schema::SchemaSet;
use crate::protocol::sort::{self, SortOrder};
use crate::protocol::{ResourceId, ScimError, TenantId};
use crate::store::{Bookmark, RangePage, RangeRead, ReadCap, Store, StoredResource};

use super::{to_scim, Loaded};

/// Bounds on what one list request may read and answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Candidates an examined plan may read (past it: 400 `tooMany`).
    pub max_examined: usize,
    /// Stored bytes of those candidates (past it: 400 `tooMany`): a function has 256 MB.
    pub max_examined_bytes: usize,
    /// Deepest `startIndex` answered (past it: 400 `tooMany`, pointing to cursor paging). A jump
    /// there reads the index from the nearest bookmark, about 1,000 entries a request.
    pub max_start_index: usize,
    /// Rendered JSON one page may hold, far below Lambda's 6 MB response limit.
    pub page_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_examined: 10_000,
            max_examined_bytes: 24_000_000,
            max_start_index: 100_000,
            page_bytes: PAGE_BYTES,
        }
    }
}

/// The byte budget of one page (SCIM and admin alike).
pub const PAGE_BYTES: usize = 4_000_000;

/// A skip this long reads enough to be worth refusing at once when the page is known to be past
/// the end.
const CHEAP_SKIP: usize = 1_000;

/// Related ids (group members) are read this many resources at a time, so a page of large
/// groups stops reading once its budget is spent.
const RELATED_CHUNK: usize = 10;

/// One page of a list or search.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub total: usize,
    /// Index paging: the page's first position.
    pub start_index: Option<usize>,
    pub resources: Vec<Loaded>,
    /// Cursor paging: where the next page starts, when one follows.
    pub next_cursor: Option<String>,
}

/// Where one resource type's part of a page starts.
enum PartStart {
    /// Index paging: this many matches of this type come before the page.
    Offset(usize),
    /// Cursor paging: after this position (`None`: from the first).
    Cursor(Option<Position>),
    /// Only counted: the page is elsewhere.
    Nowhere,
}

/// What one resource type's part of a page is asked for.
struct Want {
    from: PartStart,
    count: usize,
    /// The type's total as the walk's first page counted it (cursor paging).
    known_total: Option<usize>,
}

/// What is left of a page's byte budget.
struct Budget {
    bytes: usize,
    /// Nothing is on the page yet: its first resource is kept whatever its size.
    empty: bool,
}

struct KindPage {
    total: usize,
    resources: Vec<Loaded>,
    /// Where the next page of this type starts, when more of it follows.
    next: Option<Position>,
    /// The byte budget ended the page here.
    cut: bool,
}

impl KindPage {
    fn counted(total: usize) -> KindPage {
        KindPage {
            total,
            resources: Vec::new(),
            next: None,
            cut: false,
        }
    }
}

pub struct Lists<'a> {
    pub store: &'a Store,
    pub tenant: &'a TenantId,
    /// The tenant's schemas: what filters are planned and candidates matched against.
    pub schemas: &'a SchemaSet,
    /// The tenant's SCIM base URL, for rendering candidates the residual filter checks.
    pub base_url: &'a str,
    pub limits: Limits,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Lists<'_> {
    /// Runs `query` over `kinds` in order, each with the filter as it applies to that type
    /// (`matcher::restrict`).
    pub async fn run(
        &self,
        kinds: &[ResourceKind],
        query: &ListQuery,
    ) -> Result<ListPage, ScimError> {
        let schemas = self.schemas;
        let sort = query.sort.as_ref().map(|s| SortRequest {
            path: &s.path,
            descending: s.order == SortOrder::Descending,
        });
        let mut plans = Vec::new();
        for kind in kinds {
            let restricted = query
                .filter
                .as_ref()
                .map(|f| matcher::restrict(schemas, *kind, &ResourceKind::ALL, f));
            let filter = match &restricted {
                None | Some(ForKind::Always) => None,
                Some(ForKind::Only(filter)) => Some(filter),
                Some(ForKind::Never) => continue,
            };
            plans.push((*kind, planner::plan(schemas, *kind, filter, sort)?));
        }
        let key = query.key(kinds);
        let (total, resources, start_index, next_cursor) = match &query.paging {
            Paging::Index { start_index } => {
                if *start_index > self.limits.max_start_index {
                    return Err(ScimError::too_many(format!(
                        "startIndex={start_index} is deeper than the deepest index page served \
                         ({}): page with cursor= (empty for the first page) to walk further",
                        self.limits.max_start_index
                    )));
                }
                let (total, page) = self.index_page(&plans, query, &key, *start_index).await?;
                (total, page, Some(*start_index), None)
            }
            Paging::Cursor(token) => {
                let (total, page, next) = self
                    .cursor_page(&plans, query, &key, token.as_deref())
                    .await?;
                (total, page, None, next)
            }
        };
        Ok(ListPage {
            total,
            start_index,
            resources,
            next_cursor,
        })
    }

    fn budget(&self) -> Budget {
        Budget {
            bytes: self.limits.page_bytes,
            empty: true,
        }
    }

    /// Index paging: each type's part of the page starts where the types before it end.
    async fn index_page(
        &self,
        plans: &[(ResourceKind, Plan)],
        query: &ListQuery,
        key: &str,
        start_index: usize,
    ) -> Result<(usize, Vec<Loaded>), ScimError> {
        let mut total = 0;
        let mut page = Vec::new();
        let mut budget = self.budget();
        let mut cut = false;
        for (kind, plan) in plans {
            let want = Want {
                from: PartStart::Offset((start_index - 1).saturating_sub(total)),
                count: if cut { 0 } else { query.count - page.len() },
                known_total: None,
            };
            let part = self
                .kind_page(*kind, plan, query, key, want, &mut budget)
                .await?;
            total += part.total;
            cut |= part.cut;
            page.extend(part.resources);
        }
        Ok((total, page))
    }

    /// Cursor paging: from the type and position the cursor names (the first type's start
    /// without one); types before it are only counted.
    async fn cursor_page(
        &self,
        plans: &[(ResourceKind, Plan)],
        query: &ListQuery,
        key: &str,
        token: Option<&str>,
    ) -> Result<(usize, Vec<Loaded>, Option<String>), ScimError> {
        let signing_key = self.store.cursor_key().await?;
        let (at, mut position, known) = match token {
            None => (0, None, Vec::new()),
            Some(token) => {
                let state = cursor::decode(&signing_key, token, self.tenant, key, now())?;
                (state.kind_index, Some(state.position), state.totals)
            }
        };
        if at >= plans.len().max(1) {
            return Err(ScimError::invalid_cursor(
                "the cursor is past the last resource type",
            ));
        }
        let count = query.count;
        let mut totals = Vec::new();
        let mut page = Vec::new();
        let mut next = None;
        let mut budget = self.budget();
        for (i, (kind, plan)) in plans.iter().enumerate() {
            let reading = i >= at && next.is_none();
            let from = match i.cmp(&at) {
                std::cmp::Ordering::Less => PartStart::Nowhere,
                std::cmp::Ordering::Equal => PartStart::Cursor(position.take()),
                std::cmp::Ordering::Greater if reading => PartStart::Cursor(None),
                std::cmp::Ordering::Greater => PartStart::Nowhere,
            };
            let want = Want {
                from,
                count: if reading { count - page.len() } else { 0 },
                known_total: known.get(i).copied(),
            };
            let part = self
                .kind_page(*kind, plan, query, key, want, &mut budget)
                .await?;
            totals.push(part.total);
            if reading {
                let full = page.len() + part.resources.len() == count || part.cut;
                page.extend(part.resources);
                next = match part.next {
                    Some(p) => Some((i, p)),
                    // The page ends exactly with this type: the next page starts the next type.
                    None if count > 0 && full && i + 1 < plans.len() => {
                        Some((i + 1, Position::Offset(0)))
                    }
                    None => None,
                };
            }
        }
        let next_cursor = next
            .map(|(kind_index, position)| {
                cursor::encode(
                    &signing_key,
                    &CursorState {
                        tenant: self.tenant.clone(),
                        query: key.to_string(),
                        kind_index,
                        position,
                        expires: now() + cursor::CURSOR_TIMEOUT_SECONDS,
                        totals: totals.clone(),
                    },
                )
            })
            .transpose()?;
        Ok((totals.iter().sum(), page, next_cursor))
    }

    async fn kind_page(
        &self,
        kind: ResourceKind,
        plan: &Plan,
        query: &ListQuery,
        key: &str,
        want: Want,
        budget: &mut Budget,
    ) -> Result<KindPage, ScimError> {
        if plan.is_streamed() {
            // Bookmarks are per type: a search across types has a position in each.
            let key = format!("{key}.{}", kind.name());
            self.streamed(kind, plan, query, &key, want, budget).await
        } else {
            self.examined(kind, plan, query, want, budget).await
        }
    }

    /// A range's size: the counters for a whole collection, else what the walk counted, else
    /// one COUNT.
    async fn range_total(
        &self,
        kind: ResourceKind,
        source: &Source,
        known: Option<usize>,
    ) -> Result<usize, ScimError> {
        match known {
            Some(total) if !source.is_whole() => Ok(total),
            _ => Ok(self.store.range_total(self.tenant, kind, source).await?),
        }
    }

    async fn streamed(
        &self,
        kind: ResourceKind,
        plan: &Plan,
        query: &ListQuery,
        key: &str,
        want: Want,
        budget: &mut Budget,
    ) -> Result<KindPage, ScimError> {
        let store = self.store;
        let source = &plan.source;
        let whole = source.is_whole();
        if want.count == 0 || matches!(want.from, PartStart::Nowhere) {
            let total = self.range_total(kind, source, want.known_total).await?;
            return Ok(KindPage::counted(total));
        }
        // Where to start reading, how many entries to skip there, and the total when known.
        let (start, skip, known, offset) = match want.from {
            PartStart::Nowhere => (None, 0, None, None),
            PartStart::Offset(offset) => {
                let start_index = offset + 1;
                let exact_at = (offset > 0).then_some((key, start_index));
                // One BatchGetItem: the counters, and the bookmark of exactly this page.
                let (counted, exact) = if whole {
                    let (counts, exact) = store.list_state(self.tenant, &[kind], exact_at).await?;
                    (counts.first().copied(), exact)
                } else {
                    (None, None)
                };
                let (start, skip, carried) = match exact {
                    Some(b) => (Some(b.position), 0, b.total),
                    None if offset == 0 => (None, 0, None),
                    None => match store
                        .nearest_bookmark(self.tenant, key, start_index)
                        .await?
                    {
                        Some((at, b)) => (Some(b.position), start_index - at, b.total),
                        None => (None, offset, None),
                    },
                };
                let known = counted.or(carried);
                // A long jump past the end is answered without reading there.
                if let Some(total) = known.filter(|t| skip > CHEAP_SKIP && offset >= *t) {
                    return Ok(KindPage::counted(total));
                }
                (start, skip, known, Some(offset))
            }
            // Offset 0: the previous page ended with the type before this one.
            PartStart::Cursor(None | Some(Position::Offset(0))) => {
                (None, 0, want.known_total, None)
            }
            PartStart::Cursor(Some(Position::After(at))) => (Some(at), 0, want.known_total, None),
            PartStart::Cursor(Some(Position::Offset(_))) => {
                return Err(ScimError::invalid_cursor(
                    "the cursor does not fit this query; start again with cursor=",
                ))
            }
        };
        let from_start = start.is_none();
        let resume = start.clone().map_or(Position::Offset(0), Position::After);
        let read = RangeRead {
            kind,
            source,
            descending: plan.descending,
        };
        let page = store
            .read_range(self.tenant, read, start, skip, want.count)
            .await?;
        let resources = page.rows.iter().map(|r| r.resource.clone()).collect();
        let (resources, cut) = self.fill(query, resources, budget).await?;
        let page: RangePage = page.cut(resources.len());
        let read_to_end = page.next.is_none() && !cut;
        // Entries known to exist before the page's end, and one more when another page follows.
        let seen = offset.unwrap_or(0).saturating_sub(skip) + page.skipped + page.entries;
        let at_least = seen + usize::from(!read_to_end);
        let total = match (whole, known) {
            // Counters of data written before they existed are short: never below what was seen.
            (true, Some(counted)) if offset.is_some() => counted.max(at_least),
            (true, _) => self.range_total(kind, source, None).await?.max(at_least),
            (false, _) if from_start && read_to_end => seen,
            (false, Some(known)) => known.max(at_least),
            (false, None) => self.range_total(kind, source, None).await?.max(at_least),
        };
        // Also after the last page of a walk, which then finds what was added since; not after a
        // first page that holds every match.
        let walking = page.next.is_some() || offset.is_some_and(|o| o > 0);
        if let (Some(offset), Some(last), true) = (offset, &page.last, walking) {
            let bookmark = Bookmark {
                position: last.clone(),
                total: (!whole).then_some(total),
            };
            store
                .put_bookmark(self.tenant, key, offset + 1 + page.entries, &bookmark)
                .await?;
        }
        // A page the budget filled before this type: the next one starts where this one would.
        let next = match page.next {
            Some(key) => Some(Position::After(key)),
            None if cut => Some(resume),
            None => None,
        };
        Ok(KindPage {
            total,
            resources,
            next,
            cut,
        })
    }

    async fn examined(
        &self,
        kind: ResourceKind,
        plan: &Plan,
        query: &ListQuery,
        want: Want,
        budget: &mut Budget,
    ) -> Result<KindPage, ScimError> {
        let schemas = self.schemas;
        let cap = ReadCap {
            items: self.limits.max_examined,
            bytes: self.limits.max_examined_bytes,
        };
        let candidates = self
            .store
            .read_all(self.tenant, kind, &plan.source, cap)
            .await?;
        let mut matched: Vec<(StoredResource, serde_json::Value)> = candidates
            .into_iter()
            .map(|r| {
                let json = to_scim(self.base_url, &r, None);
                (r, json)
            })
            .filter(|(_, json)| {
                plan.residual
                    .as_ref()
                    .is_none_or(|f| matcher::matches(schemas, kind, f, json))
            })
            .collect();
        if let Some(spec) = &query.sort {
            matched.sort_by(|(_, a), (_, b)| sort::compare(schemas, kind, spec, a, b));
        }
        let total = matched.len();
        let offset = match want.from {
            PartStart::Nowhere => return Ok(KindPage::counted(total)),
            PartStart::Offset(offset) => offset,
            PartStart::Cursor(None) => 0,
            PartStart::Cursor(Some(Position::Offset(n))) => n,
            PartStart::Cursor(Some(Position::After(_))) => {
                return Err(ScimError::invalid_cursor(
                    "the cursor does not fit this query; start again with cursor=",
                ))
            }
        };
        let slice: Vec<StoredResource> = matched
            .into_iter()
            .skip(offset)
            .take(want.count)
            .map(|(r, _)| r)
            .collect();
        let (resources, cut) = self.fill(query, slice, budget).await?;
        let end = offset.saturating_add(resources.len());
        Ok(KindPage {
            total,
            next: (want.count > 0 && end < total).then_some(Position::Offset(end)),
            resources,
            cut,
        })
    }

    /// The resources, with what their representation shows besides the stored attributes, that
    /// fit the page's byte budget (the first resource of a page always does), and whether the
    /// budget cut the list short.
    async fn fill(
        &self,
        query: &ListQuery,
        resources: Vec<StoredResource>,
        budget: &mut Budget,
    ) -> Result<(Vec<Loaded>, bool), ScimError> {
        let schemas = self.schemas;
        let wanted = resources.len();
        let mut kept = Vec::with_capacity(wanted);
        let mut pending = resources.into_iter();
        loop {
            let chunk: Vec<StoredResource> = pending.by_ref().take(RELATED_CHUNK).collect();
            if chunk.is_empty() {
                return Ok((kept, false));
            }
            for loaded in self.related(query, chunk).await? {
                let rendered = query.projection.apply(
                    schemas,
                    loaded.resource.kind,
                    to_scim(self.base_url, &loaded.resource, loaded.related.as_ref()),
                );
                // A comma apart in the ListResponse.
                let size = serde_json::to_string(&rendered).map_or(0, |s| s.len()) + 1;
                if size > budget.bytes && !budget.empty {
                    budget.bytes = 0;
                    return Ok((kept, true));
                }
                budget.bytes = budget.bytes.saturating_sub(size);
                budget.empty = false;
                kept.push(loaded);
            }
        }
    }

    /// Reads what the response shows besides the stored attributes, concurrently: groups'
    /// members (unless left out), and users' groups only when asked for by name.
    async fn related(
        &self,
        query: &ListQuery,
        page: Vec<StoredResource>,
    ) -> Result<Vec<Loaded>, ScimError> {
        let members = query.projection.includes(self.schemas, "members");
        let groups = query.projection.requests(self.schemas, "groups");
        let reads = page.into_iter().map(|resource| async move {
            let related = match resource.kind {
                ResourceKind::Group if members => Some(
                    self.store
                        .group_members(self.tenant, &resource.id)
                        .await?
                        .into_iter()
                        .collect::<BTreeSet<ResourceId>>(),
                ),
                ResourceKind::User if groups => Some(
                    self.store
                        .get_user(self.tenant, &resource.id)
                        .await?
                        .group_ids
                        .into_iter()
                        .collect(),
                ),
                _ => None,
            };
            Ok::<_, ScimError>(Loaded { resource, related })
        });
        futures::future::try_join_all(reads).await
    }
}
