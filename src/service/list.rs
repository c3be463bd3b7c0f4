//! Lists and searches: runs a query plan (`protocol::planner`) against the store.
//!
//! - A **streamed** plan reads only the page's own items: from the start, from a bookmark (index
//!   paging) or from the position a cursor carries. `totalResults` comes from the counters (a
//!   whole collection) or a COUNT query over the source's key condition.
//! - An **examined** plan reads every candidate of its source, at most [`Limits::max_examined`],
//!   then filters, sorts and slices in memory; `totalResults` is the number of matches.
//!
//! Searches over several resource types (the root `/.search`) page through the first type, then
//! the next, as one list.

use std::collections::BTreeSet;

use crate::protocol::cursor::{self, CursorState, Position};
use crate::protocol::list::{ListQuery, Paging};
use crate::protocol::matcher;
use crate::protocol::planner::{self, Plan, SortRequest, Source};
use crate::protocol::resource::ResourceKind;
use crate::protocol::schema::SchemaSet;
use crate::protocol::sort::{self, SortOrder};
use crate::protocol::{ResourceId, ScimError, TenantId};
use crate::store::{RangeRead, Store, StoredResource};

use super::{to_scim, Loaded};

/// Bounds on what one list request may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Candidates an examined plan may read (past it: 400 `tooMany`).
    pub max_examined: usize,
    /// Resources an index page may skip from the nearest bookmark below it (past it: 400, with
    /// a pointer to cursor paging).
    pub max_skip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_examined: 10_000,
            max_skip: 2_000,
        }
    }
}

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
enum From {
    /// Index paging: this many matches of this type come before the page.
    Offset(usize),
    /// Cursor paging: after this position (`None`: from the first).
    Cursor(Option<Position>),
}

struct KindPage {
    total: usize,
    resources: Vec<StoredResource>,
    /// Where the next page of this type starts, when more of it follows.
    next: Option<Position>,
}

pub struct Lists<'a> {
    pub store: &'a Store,
    pub tenant: &'a TenantId,
    /// The tenant's SCIM base URL, for rendering candidates the residual filter checks.
    pub base_url: &'a str,
    pub limits: Limits,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Lists<'_> {
    /// Runs `query` over `kinds` in order. A kind whose schema the filter does not fit (a root
    /// search with `userName eq` finds no groups) must not be passed.
    pub async fn run(
        &self,
        kinds: &[ResourceKind],
        query: &ListQuery,
    ) -> Result<ListPage, ScimError> {
        let plans = kinds
            .iter()
            .map(|kind| {
                let sort = query.sort.as_ref().map(|s| SortRequest {
                    path: &s.path,
                    descending: s.order == SortOrder::Descending,
                });
                planner::plan(SchemaSet::standard(), *kind, query.filter.as_ref(), sort)
                    .map(|p| (*kind, p))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let key = query.key(kinds);
        let (total, page, start_index, next_cursor) = match &query.paging {
            Paging::Index { start_index } => {
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
            resources: self.related(query, page).await?,
            next_cursor,
        })
    }

    /// Index paging: each type's part of the page starts where the types before it end.
    async fn index_page(
        &self,
        plans: &[(ResourceKind, Plan)],
        query: &ListQuery,
        key: &str,
        start_index: usize,
    ) -> Result<(usize, Vec<StoredResource>), ScimError> {
        let mut total = 0;
        let mut page = Vec::new();
        for (kind, plan) in plans {
            let offset = (start_index - 1).saturating_sub(total);
            let wanted = query.count - page.len();
            let part = self
                .kind_page(*kind, plan, query, key, From::Offset(offset), wanted)
                .await?;
            total += part.total;
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
    ) -> Result<(usize, Vec<StoredResource>, Option<String>), ScimError> {
        let signing_key = self.store.cursor_key().await?;
        let (at, mut position) = match token {
            None => (0, None),
            Some(token) => {
                let state = cursor::decode(&signing_key, token, self.tenant, key, now())?;
                (state.kind_index, Some(state.position))
            }
        };
        if at >= plans.len() {
            return Err(ScimError::invalid_cursor(
                "the cursor is past the last resource type",
            ));
        }
        let count = query.count;
        let mut total = 0;
        let mut page = Vec::new();
        let mut next = None;
        for (i, (kind, plan)) in plans.iter().enumerate() {
            let reading = i >= at && next.is_none();
            let from = match i.cmp(&at) {
                std::cmp::Ordering::Less => From::Offset(usize::MAX),
                std::cmp::Ordering::Equal => From::Cursor(position.take()),
                std::cmp::Ordering::Greater => From::Cursor(None),
            };
            let wanted = if reading { count - page.len() } else { 0 };
            let part = self
                .kind_page(*kind, plan, query, key, from, wanted)
                .await?;
            total += part.total;
            if reading {
                page.extend(part.resources);
                next = match part.next {
                    Some(p) => Some((i, p)),
                    // The page ends exactly with this type: the next page starts the next type.
                    None if count > 0 && page.len() == count && i + 1 < plans.len() => {
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
                    },
                )
            })
            .transpose()?;
        Ok((total, page, next_cursor))
    }

    async fn kind_page(
        &self,
        kind: ResourceKind,
        plan: &Plan,
        query: &ListQuery,
        key: &str,
        from: From,
        wanted: usize,
    ) -> Result<KindPage, ScimError> {
        if plan.is_streamed() {
            self.streamed(kind, plan, key, from, wanted).await
        } else {
            self.examined(kind, plan, query, from, wanted).await
        }
    }

    async fn streamed(
        &self,
        kind: ResourceKind,
        plan: &Plan,
        key: &str,
        from: From,
        wanted: usize,
    ) -> Result<KindPage, ScimError> {
        let store = self.store;
        let source = &plan.source;
        let collection = *source == Source::Collection;
        let total_only = || async {
            Ok::<_, ScimError>(KindPage {
                total: store.range_total(self.tenant, kind, source).await?,
                resources: Vec::new(),
                next: None,
            })
        };
        if wanted == 0 {
            return total_only().await;
        }
        // Where to start reading, how many entries to skip there, and the counter when read.
        let (start, skip, counted, offset) = match from {
            From::Offset(usize::MAX) => return total_only().await,
            From::Offset(offset) => {
                let start_index = offset + 1;
                let bookmark = (offset > 0).then_some((key, start_index));
                let (counted, exact) = if collection {
                    let (counts, exact) = store.list_state(self.tenant, &[kind], bookmark).await?;
                    (counts.first().copied(), exact)
                } else {
                    (None, None)
                };
                let (start, skip) = match exact {
                    Some(at) => (Some(at), 0),
                    None if offset == 0 => (None, 0),
                    None => match store
                        .nearest_bookmark(self.tenant, key, start_index)
                        .await?
                    {
                        Some((at, position)) => (Some(position), start_index - at),
                        None => (None, offset),
                    },
                };
                if skip > self.limits.max_skip {
                    // A page past the end is empty, whatever its depth.
                    let total = match counted {
                        Some(counted) => counted,
                        None => store.range_total(self.tenant, kind, source).await?,
                    };
                    if offset >= total {
                        return Ok(KindPage {
                            total,
                            resources: Vec::new(),
                            next: None,
                        });
                    }
                    return Err(ScimError::invalid_value(format!(
                        "startIndex={start_index} would skip {skip} {}s from the nearest page read \
                         before (at most {}): page forward from startIndex=1, or use cursor paging \
                         (cursor=) for deep walks",
                        kind.name(),
                        self.limits.max_skip
                    )));
                }
                (start, skip, counted, Some(offset))
            }
            // Offset 0: the previous page ended with the type before this one.
            From::Cursor(None | Some(Position::Offset(0))) => (None, 0, None, None),
            From::Cursor(Some(Position::After(at))) => (Some(at), 0, None, None),
            From::Cursor(Some(Position::Offset(_))) => {
                return Err(ScimError::invalid_cursor(
                    "the cursor does not fit this query; start again with cursor=",
                ))
            }
        };
        let from_start = start.is_none();
        let read = RangeRead {
            kind,
            source,
            descending: plan.descending,
        };
        let page = store
            .read_range(self.tenant, read, start, skip, wanted)
            .await?;
        let read_to_end = page.next.is_none();
        // Entries known to exist before the page's end, and one more when another page follows.
        let seen = offset.unwrap_or(0).saturating_sub(skip) + page.skipped + page.entries;
        let total = match counted {
            // Counters of data written before they existed are short: never below what was seen.
            Some(counted) => counted.max(seen + usize::from(!read_to_end)),
            None if from_start && read_to_end => seen,
            None => store.range_total(self.tenant, kind, source).await?,
        };
        // Also after the last page of a walk, which then finds what was added since; not after a
        // first page that holds every match.
        let walking = page.next.is_some() || offset.is_some_and(|o| o > 0);
        if let (Some(offset), Some(last), true) = (offset, &page.last, walking) {
            store
                .put_bookmark(self.tenant, key, offset + 1 + page.entries, last)
                .await?;
        }
        Ok(KindPage {
            total,
            resources: page.resources,
            next: page.next.map(Position::After),
        })
    }

    async fn examined(
        &self,
        kind: ResourceKind,
        plan: &Plan,
        query: &ListQuery,
        from: From,
        wanted: usize,
    ) -> Result<KindPage, ScimError> {
        let candidates = self
            .store
            .read_all(self.tenant, kind, &plan.source, self.limits.max_examined)
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
                    .is_none_or(|f| matcher::matches(SchemaSet::standard(), kind, f, json))
            })
            .collect();
        if let Some(spec) = &query.sort {
            matched
                .sort_by(|(_, a), (_, b)| sort::compare(SchemaSet::standard(), kind, spec, a, b));
        }
        let total = matched.len();
        let offset = match from {
            From::Offset(offset) => offset,
            From::Cursor(None) => 0,
            From::Cursor(Some(Position::Offset(n))) => n,
            From::Cursor(Some(Position::After(_))) => {
                return Err(ScimError::invalid_cursor(
                    "the cursor does not fit this query; start again with cursor=",
                ))
            }
        };
        let resources: Vec<StoredResource> = matched
            .into_iter()
            .skip(offset)
            .take(wanted)
            .map(|(r, _)| r)
            .collect();
        let end = offset.saturating_add(resources.len());
        Ok(KindPage {
            total,
            next: (wanted > 0 && end < total).then_some(Position::Offset(end)),
            resources,
        })
    }

    /// Reads what the response shows besides the stored attributes, concurrently: groups'
    /// members (unless left out), and users' groups only when asked for by name.
    async fn related(
        &self,
        query: &ListQuery,
        page: Vec<StoredResource>,
    ) -> Result<Vec<Loaded>, ScimError> {
        let members = query.projection.includes(SchemaSet::standard(), "members");
        let groups = query.projection.requests(SchemaSet::standard(), "groups");
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
