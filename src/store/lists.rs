//! What lists and searches read: the sources of a query plan (`protocol::planner::Source`) as
//! DynamoDB requests, the per-kind counters behind `totalResults`, the bookmarks that make index
//! paging cost the same at any depth, and the key that signs cursors. `docs/data-model.md`
//! ("Lists and searches") has each access pattern and its cost.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{KeysAndAttributes, Select, TransactWriteItem, Update};

use super::keys::*;
use super::resources::{build, key, StoredResource};
use super::{get_id, get_s, item_bytes, n, s, Action, Item, Retry, Store, StoreError};
use crate::protocol::planner::{KeyCondition, Source};
use crate::protocol::resource::ResourceKind;
use crate::protocol::{ResourceId, TenantId};

/// Where a read of an index range stopped: the key of the last entry returned, in the form
/// DynamoDB takes as `ExclusiveStartKey`. Every key attribute of this table is a string.
pub type IndexKey = BTreeMap<String, String>;

/// Bookmarks live this long; a walk that pauses longer starts over (or jumps, at a bounded cost).
const BOOKMARK_TTL_SECONDS: i64 = 3600;
/// BatchGetItem takes at most 100 keys.
const MAX_BATCH_GET: usize = 100;
/// Attempts at a batch read whose keys DynamoDB leaves unprocessed (it throttles part of it).
const BATCH_ATTEMPTS: u32 = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct RangePage {
    /// The page's resources, each with the index entry it was read from.
    pub rows: Vec<RangeRow>,
    /// Index entries the page covers (more than `rows` when a membership is an orphan).
    pub entries: usize,
    /// Entries skipped before the page: fewer than asked when the range ends first.
    pub skipped: usize,
    /// Where the next page starts, when there is one.
    pub next: Option<IndexKey>,
    /// The key of the page's last entry, even when nothing follows yet: an index walk resumes
    /// there, and finds what was added behind it since.
    pub last: Option<IndexKey>,
}

/// One resource of a range page.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeRow {
    pub resource: StoredResource,
    /// The index key of its entry: a page cut after this row goes on from here.
    pub key: IndexKey,
    /// Entries of the page up to and including this row's.
    pub through: usize,
}

impl RangePage {
    /// The page cut after its first `rows` rows (a byte budget): what follows starts after the
    /// last row kept.
    pub fn cut(mut self, rows: usize) -> RangePage {
        if rows >= self.rows.len() {
            return self;
        }
        self.rows.truncate(rows);
        let end = self.rows.last().map(|r| (r.through, r.key.clone()));
        let (entries, last) = end.map_or((0, None), |(n, key)| (n, Some(key)));
        self.entries = entries;
        self.next = last.clone();
        self.last = last;
        self
    }
}

/// Where an index page starts, remembered by the page before it, and the walk's total as
/// counted at its first page (a range is counted once per walk, not on every page).
#[derive(Debug, Clone, PartialEq)]
pub struct Bookmark {
    pub position: IndexKey,
    pub total: Option<usize>,
}

/// Bounds on what an examined read may hold: candidates, and their stored bytes (a Lambda
/// function has 256 MB, and each candidate is also rendered to be matched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCap {
    pub items: usize,
    pub bytes: usize,
}

/// Which range to read, and in which direction.
#[derive(Debug, Clone, Copy)]
pub struct RangeRead<'a> {
    pub kind: ResourceKind,
    pub source: &'a Source,
    pub descending: bool,
}

/// How a range source is read: its index, key condition and the attributes of its keys.
struct RangeQuery {
    index: Option<&'static str>,
    condition: String,
    values: Vec<(&'static str, String)>,
    key_attributes: &'static [&'static str],
    /// Entries are membership items: the resource ids come from this attribute.
    member_ids: Option<MemberIds>,
}

#[derive(Clone, Copy)]
enum MemberIds {
    /// A group's members: `GSI1SK` holds the user id.
    FromGsi1Sk,
    /// A user's groups: `SK` is `MEMBEROF#{groupId}`.
    FromSk,
}

fn sort_condition(
    name: &'static str,
    condition: &KeyCondition,
    modified: bool,
) -> (String, Option<String>) {
    // Modification keys are `{time}#{id}`: '~' sorts after every id character.
    let low = |t: &str| format!("{t}#");
    let high = |t: &str| format!("{t}#~");
    let value = |v: &str| if modified { v.to_string() } else { name_key(v) };
    match condition {
        KeyCondition::Any => (String::new(), None),
        KeyCondition::Eq(v) => (format!(" AND {name} = :v"), Some(value(v))),
        KeyCondition::Prefix(v) => (format!(" AND begins_with({name}, :v)"), Some(value(v))),
        KeyCondition::Gt(v) if modified => (format!(" AND {name} > :v"), Some(high(v))),
        KeyCondition::Ge(v) if modified => (format!(" AND {name} >= :v"), Some(low(v))),
        KeyCondition::Lt(v) if modified => (format!(" AND {name} < :v"), Some(low(v))),
        KeyCondition::Le(v) if modified => (format!(" AND {name} <= :v"), Some(high(v))),
        KeyCondition::Gt(v) => (format!(" AND {name} > :v"), Some(value(v))),
        KeyCondition::Ge(v) => (format!(" AND {name} >= :v"), Some(value(v))),
        KeyCondition::Lt(v) => (format!(" AND {name} < :v"), Some(value(v))),
        KeyCondition::Le(v) => (format!(" AND {name} <= :v"), Some(value(v))),
    }
}

/// DynamoDB's bounds on a key attribute's value: not empty, at most 2,048 bytes for a partition
/// key and 1,024 for a sort key. The local moto enforces none of them, so the store checks every
/// value it puts in a key condition: one that does not fit is a planner bug, not a 500 in AWS only.
pub(super) fn check_key_value(value: &str, sort_key: bool) -> Result<(), StoreError> {
    let max = if sort_key { 1024 } else { 2048 };
    if value.is_empty() || value.len() > max {
        return Err(StoreError::Backend(format!(
            "a key condition value of {} bytes (DynamoDB takes 1 to {max})",
            value.len()
        )));
    }
    Ok(())
}

impl RangeQuery {
    fn of(tenant: &TenantId, kind: ResourceKind, source: &Source) -> Result<Self, StoreError> {
        let range = Self::unchecked(tenant, kind, source)
            .ok_or_else(|| StoreError::Backend("not a range source".into()))?;
        for (name, value) in &range.values {
            check_key_value(value, *name != ":pk")?;
        }
        Ok(range)
    }

    fn unchecked(tenant: &TenantId, kind: ResourceKind, source: &Source) -> Option<Self> {
        let collection = || {
            (
                "GSI1PK = :pk".to_string(),
                vec![(":pk", collection_pk(tenant, kind))],
            )
        };
        let indexed = |index, sk: &'static str, condition: &KeyCondition, modified| {
            let (mut expr, mut values) = collection();
            let (extra, value) = sort_condition(sk, condition, modified);
            expr.push_str(&extra);
            values.extend(value.map(|v| (":v", v)));
            (index, expr, values)
        };
        let (index, condition, values, key_attributes, member_ids): (_, _, _, &'static [&str], _) =
            match source {
                Source::Collection => {
                    let (expr, values) = collection();
                    (Some(GSI1), expr, values, &[PK, SK, GSI1PK, GSI1SK], None)
                }
                Source::Name(c) => {
                    let (i, e, v) = indexed(GSI2, GSI2SK, c, false);
                    (Some(i), e, v, &[PK, SK, GSI1PK, GSI2SK], None)
                }
                Source::Modified(c) => {
                    let (i, e, v) = indexed(GSI4, GSI4SK, c, true);
                    (Some(i), e, v, &[PK, SK, GSI1PK, GSI4SK], None)
                }
                Source::MembersOf(group) => (
                    Some(GSI1),
                    "GSI1PK = :pk".to_string(),
                    // An id that cannot exist has no members: a key no item has.
                    vec![(
                        ":pk",
                        ResourceId::parse(group).map_or_else(
                            |_| no_members_pk(tenant),
                            |group| members_pk(tenant, &group),
                        ),
                    )],
                    &[PK, SK, GSI1PK, GSI1SK],
                    Some(MemberIds::FromGsi1Sk),
                ),
                Source::GroupsOf(user) => (
                    None,
                    "PK = :pk AND begins_with(SK, :prefix)".to_string(),
                    vec![
                        (
                            ":pk",
                            ResourceId::parse(user).map_or_else(
                                |_| no_resource_pk(tenant, ResourceKind::User),
                                |user| resource_pk(tenant, ResourceKind::User, &user),
                            ),
                        ),
                        (":prefix", MEMBER_OF_PREFIX.to_string()),
                    ],
                    &[PK, SK],
                    Some(MemberIds::FromSk),
                ),
                Source::Id(_) | Source::ExternalId(_) | Source::Union(_) | Source::Nothing => {
                    return None
                }
            };
        Some(RangeQuery {
            index,
            condition,
            values,
            key_attributes,
            member_ids,
        })
    }

    fn build(&self, store: &Store, descending: bool) -> QueryFluentBuilder {
        let mut query = store
            .client
            .query()
            .table_name(&store.table)
            .set_index_name(self.index.map(String::from))
            .key_condition_expression(&self.condition)
            .scan_index_forward(!descending);
        for (name, value) in &self.values {
            query = query.expression_attribute_values(*name, s(value));
        }
        query
    }

    fn key_of(&self, item: &Item) -> Result<IndexKey, StoreError> {
        self.key_attributes
            .iter()
            .map(|a| Ok((a.to_string(), get_s(item, a)?.to_string())))
            .collect()
    }

    fn member_id(&self, item: &Item) -> Result<Option<ResourceId>, StoreError> {
        Ok(match self.member_ids {
            None => None,
            Some(MemberIds::FromGsi1Sk) => Some(get_id(item, GSI1SK)?),
            Some(MemberIds::FromSk) => match get_s(item, SK)?.strip_prefix(MEMBER_OF_PREFIX) {
                Some(group) => Some(ResourceId::parse(group).map_err(|_| {
                    StoreError::Corrupt(format!("membership of a malformed group id {group}"))
                })?),
                None => None,
            },
        })
    }
}

fn to_item(key: &IndexKey) -> Item {
    key.iter().map(|(k, v)| (k.clone(), s(v))).collect()
}

impl Store {
    /// Reads a range source in index order after `from`: skips `skip` entries and returns up to
    /// `count`, reading one more to learn whether another page follows. Skipped entries are
    /// counted, not kept, so a deep jump holds one response page at a time. With `max_bytes`,
    /// entries past that many stored bytes fail the read ([`StoreError::TooMany`]).
    pub async fn read_range(
        &self,
        tenant: &TenantId,
        read: RangeRead<'_>,
        from: Option<IndexKey>,
        skip: usize,
        count: usize,
    ) -> Result<RangePage, StoreError> {
        self.read_range_capped(tenant, read, (from, skip), count, None)
            .await
    }

    async fn read_range_capped(
        &self,
        tenant: &TenantId,
        read: RangeRead<'_>,
        (from, skip): (Option<IndexKey>, usize),
        count: usize,
        max_bytes: Option<usize>,
    ) -> Result<RangePage, StoreError> {
        let RangeRead {
            kind,
            source,
            descending,
        } = read;
        let range = RangeQuery::of(tenant, kind, source)?;
        let wanted = skip.saturating_add(count).saturating_add(1);
        let mut read_entries = 0usize;
        let mut bytes = 0usize;
        let mut kept: Vec<Item> = Vec::new();
        let mut start = from.as_ref().map(to_item);
        loop {
            let room = i32::try_from(wanted - read_entries).unwrap_or(i32::MAX);
            let limit = self.page_limit.map_or(room, |p| p.min(room));
            let page = range
                .build(self, descending)
                .limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items.unwrap_or_default() {
                read_entries += 1;
                if read_entries > skip {
                    bytes += item_bytes(&item);
                    if max_bytes.is_some_and(|max| bytes > max) {
                        return Err(StoreError::TooMany(format!(
                            "the candidates are more than {} MB",
                            max_bytes.unwrap_or(0) / 1_000_000
                        )));
                    }
                    kept.push(item);
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() || read_entries >= wanted {
                break;
            }
        }
        let more = kept.len() > count;
        kept.truncate(count);
        let last = kept.last().map(|l| range.key_of(l)).transpose()?;
        let resources = self.resources_of(tenant, kind, &range, &kept).await?;
        let mut rows = Vec::with_capacity(kept.len());
        for (i, (entry, resource)) in kept.iter().zip(resources).enumerate() {
            if let Some(resource) = resource {
                rows.push(RangeRow {
                    resource,
                    key: range.key_of(entry)?,
                    through: i + 1,
                });
            }
        }
        Ok(RangePage {
            rows,
            entries: kept.len(),
            skipped: read_entries.min(skip),
            next: last.clone().filter(|_| more),
            last,
        })
    }

    /// Every candidate of a source, in index order (a union: by id), up to `cap` items read (a
    /// union counts what each of its lookups read, not the distinct ids).
    pub async fn read_all(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        source: &Source,
        limit: ReadCap,
    ) -> Result<Vec<StoredResource>, StoreError> {
        let cap = limit.items;
        let too_many = || {
            StoreError::TooMany(format!(
                "the filter needs more than {cap} {}s examined; narrow it with an indexed condition \
                 (id, externalId, {} eq or sw, meta.lastModified gt) or page with cursor=",
                kind.name(),
                match kind {
                    ResourceKind::User => "userName",
                    ResourceKind::Group => "displayName",
                },
            ))
        };
        match source {
            Source::Nothing => Ok(vec![]),
            Source::Id(id) => {
                // An id that cannot exist names nothing.
                let Ok(id) = ResourceId::parse(id) else {
                    return Ok(vec![]);
                };
                match self.get(tenant, kind, &id).await {
                    Ok(r) => Ok(vec![r]),
                    Err(StoreError::NotFound) => Ok(vec![]),
                    Err(e) => Err(e),
                }
            }
            Source::ExternalId(external_id) => {
                let pk = external_id_pk(tenant, kind, external_id);
                check_key_value(&pk, false)?;
                let query = self
                    .query()
                    .index_name(GSI3)
                    .key_condition_expression("GSI3PK = :pk")
                    .expression_attribute_values(":pk", s(pk));
                let mut found = Vec::new();
                super::query_all(query, |page| {
                    for item in page.items() {
                        found.push(StoredResource::from_item(item)?);
                    }
                    Ok(())
                })
                .await?;
                if found.len() > cap {
                    return Err(too_many());
                }
                Ok(found)
            }
            Source::Union(sources) => {
                let mut by_id = BTreeMap::new();
                let mut read = 0;
                for source in sources {
                    let rest = ReadCap {
                        items: cap.saturating_sub(read),
                        ..limit
                    };
                    let found = Box::pin(self.read_all(tenant, kind, source, rest))
                        .await
                        .map_err(|e| match e {
                            StoreError::TooMany(_) => too_many(),
                            e => e,
                        })?;
                    read += found.len();
                    if read > cap {
                        return Err(too_many());
                    }
                    for r in found {
                        by_id.insert(r.id.clone(), r);
                    }
                }
                Ok(by_id.into_values().collect())
            }
            range_source => {
                let read = RangeRead {
                    kind,
                    source: range_source,
                    descending: false,
                };
                let page = self
                    .read_range_capped(tenant, read, (None, 0), cap, Some(limit.bytes))
                    .await
                    .map_err(|e| match e {
                        StoreError::TooMany(_) => too_many(),
                        e => e,
                    })?;
                if page.next.is_some() {
                    return Err(too_many());
                }
                Ok(page.rows.into_iter().map(|r| r.resource).collect())
            }
        }
    }

    /// Entries of a range source: the counters for a whole collection (in any index's order),
    /// else a COUNT query.
    pub async fn range_total(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        source: &Source,
    ) -> Result<usize, StoreError> {
        if source.is_whole() {
            let (counts, _) = self.list_state(tenant, &[kind], None).await?;
            return Ok(counts.first().copied().unwrap_or(0));
        }
        let range = RangeQuery::of(tenant, kind, source)?;
        let mut total = 0;
        let query = range.build(self, false).select(Select::Count);
        super::query_all(query, |page| {
            total += usize::try_from(page.count).unwrap_or(0);
            Ok(())
        })
        .await?;
        Ok(total)
    }

    /// The resources behind a page of entries, one per entry: the entries themselves, or for
    /// membership sources the users or groups they name (one BatchGetItem per 100); `None` for a
    /// membership whose resource is gone (an orphan, see Known limits).
    async fn resources_of(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        range: &RangeQuery,
        entries: &[Item],
    ) -> Result<Vec<Option<StoredResource>>, StoreError> {
        if range.member_ids.is_none() {
            return entries
                .iter()
                .map(|e| StoredResource::from_item(e).map(Some))
                .collect();
        }
        let ids = entries
            .iter()
            .map(|e| range.member_id(e))
            .collect::<Result<Vec<_>, _>>()?;
        let keys: Vec<Item> = ids
            .iter()
            .flatten()
            .map(|id| key(resource_pk(tenant, kind, id), RESOURCE_SK))
            .collect();
        let mut by_id: HashMap<ResourceId, StoredResource> = HashMap::new();
        for item in self.batch_get(keys, None).await? {
            let r = StoredResource::from_item(&item)?;
            by_id.insert(r.id.clone(), r);
        }
        Ok(ids
            .iter()
            .map(|id| id.as_ref().and_then(|id| by_id.remove(id)))
            .collect())
    }

    /// Strongly consistent BatchGetItem of any number of keys (only the `projection`
    /// attributes when given), retrying unprocessed keys with backoff a bounded number of times.
    pub(super) async fn batch_get(
        &self,
        keys: Vec<Item>,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(MAX_BATCH_GET) {
            let mut request = Some(build(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .set_projection_expression(projection.map(String::from))
                    .consistent_read(true)
                    .build(),
            )?);
            let mut retry = Retry::new(BATCH_ATTEMPTS);
            while let Some(keys) = request.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await?;
                found.extend(
                    out.responses
                        .unwrap_or_default()
                        .remove(&self.table)
                        .unwrap_or_default(),
                );
                request = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if request.is_some() && !retry.again().await {
                    return Err(StoreError::Throttled);
                }
            }
        }
        Ok(found)
    }

    /// The counts of the given kinds and, when asked, the exact bookmark of a page: one
    /// BatchGetItem.
    pub async fn list_state(
        &self,
        tenant: &TenantId,
        kinds: &[ResourceKind],
        bookmark: Option<(&str, usize)>,
    ) -> Result<(Vec<usize>, Option<Bookmark>), StoreError> {
        let pk = lists_pk(tenant);
        let mut keys: Vec<Item> = kinds
            .iter()
            .flat_map(|k| (0..COUNTER_SHARDS).map(|shard| counter_sk(*k, shard)))
            .map(|sk| key(pk.clone(), &sk))
            .collect();
        let bookmark_sk = bookmark.map(|(query, start)| bookmark_sk(query, start));
        if let Some(sk) = &bookmark_sk {
            keys.push(key(pk.clone(), sk));
        }
        let items = self.batch_get(keys, None).await?;
        let mut by_sk: HashMap<String, Item> = HashMap::new();
        for item in items {
            by_sk.insert(get_s(&item, SK)?.to_string(), item);
        }
        let counts = kinds
            .iter()
            .map(|k| {
                let sum: i64 = (0..COUNTER_SHARDS)
                    .filter_map(|shard| by_sk.get(&counter_sk(*k, shard)))
                    .map(|item| signed(item, "n"))
                    .sum();
                usize::try_from(sum).unwrap_or(0)
            })
            .collect();
        let bookmark = match bookmark_sk.and_then(|sk| by_sk.remove(&sk)) {
            Some(item) => Some(bookmark_of(&item)?),
            None => None,
        };
        Ok((counts, bookmark))
    }

    /// The bookmark at or below `start_index` nearest to it: one Query.
    pub async fn nearest_bookmark(
        &self,
        tenant: &TenantId,
        query: &str,
        start_index: usize,
    ) -> Result<Option<(usize, Bookmark)>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(lists_pk(tenant)))
            .expression_attribute_values(":low", s(bookmark_sk(query, 0)))
            .expression_attribute_values(":high", s(bookmark_sk(query, start_index)))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await?;
        let Some(item) = out.items().first() else {
            return Ok(None);
        };
        let at = get_s(item, SK)?
            .rsplit('#')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt("bookmark without a start index".into()))?;
        Ok(Some((at, bookmark_of(item)?)))
    }

    /// Remembers where the page starting at `start_index` begins, for an hour.
    pub async fn put_bookmark(
        &self,
        tenant: &TenantId,
        query: &str,
        start_index: usize,
        bookmark: &Bookmark,
    ) -> Result<(), StoreError> {
        let expires = time::OffsetDateTime::now_utc().unix_timestamp() + BOOKMARK_TTL_SECONDS;
        let position = serde_json::to_string(&bookmark.position)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .put_item()
            .set_item(Some(
                bookmark
                    .total
                    .map(|t| HashMap::from([("total".to_string(), n(t))]))
                    .unwrap_or_default(),
            ))
            .table_name(&self.table)
            .item(PK, s(lists_pk(tenant)))
            .item(SK, s(bookmark_sk(query, start_index)))
            .item(KIND, s(ItemKind::Bookmark.as_str()))
            .item("position", s(position))
            .item(TTL_ATTRIBUTE, n(expires))
            .send()
            .await?;
        Ok(())
    }

    /// The transaction action that moves a kind's count by `delta`, on a shard chosen at random.
    pub(super) fn counter_action(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        delta: i64,
    ) -> Result<Action, StoreError> {
        let mut random = [0u8; 1];
        let _ = getrandom::fill(&mut random);
        let shard = random[0] % COUNTER_SHARDS;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(lists_pk(tenant), &counter_sk(kind, shard))))
            .update_expression("ADD n :delta SET kind = :kind")
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":kind", s(ItemKind::Counter.as_str()));
        Ok(Action {
            item: TransactWriteItem::builder()
                .update(build(update.build())?)
                .build(),
            on_fail: StoreError::TransactionConflict,
        })
    }

    /// The table's cursor-signing key: read once per process, created by the first process that
    /// finds none.
    pub async fn cursor_key(&self) -> Result<Arc<Vec<u8>>, StoreError> {
        if let Some(key) = self.cursor_key.get() {
            return Ok(key.clone());
        }
        let read = || async {
            let item = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(PK, s(CONFIG_PK))
                .key(SK, s(CURSOR_KEY_SK))
                .consistent_read(true)
                .send()
                .await?
                .item;
            match item {
                Some(item) => decode_hex(get_s(&item, "secret")?).map(Some),
                None => Ok::<_, StoreError>(None),
            }
        };
        let key = match read().await? {
            Some(key) => key,
            None => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret)
                    .map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
                let created = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .item(PK, s(CONFIG_PK))
                    .item(SK, s(CURSOR_KEY_SK))
                    .item(KIND, s(ItemKind::CursorKey.as_str()))
                    .item("secret", s(encode_hex(&secret)))
                    .condition_expression("attribute_not_exists(PK)")
                    .send()
                    .await;
                match created {
                    Ok(_) => secret.to_vec(),
                    // Another process created it first: use theirs.
                    Err(_) => read()
                        .await?
                        .ok_or_else(|| StoreError::Backend("no cursor key".into()))?,
                }
            }
        };
        let key = Arc::new(key);
        let _ = self.cursor_key.set(key.clone());
        Ok(key)
    }

    /// The number of resources of each kind as the counters hold it, and as the collection does:
    /// (counted, actual). For checks and tests.
    pub async fn recount(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
    ) -> Result<(usize, usize), StoreError> {
        let (counts, _) = self.list_state(tenant, &[kind], None).await?;
        let range = RangeQuery::of(tenant, kind, &Source::Collection)?;
        let mut actual = 0;
        super::query_all(range.build(self, false).select(Select::Count), |page| {
            actual += usize::try_from(page.count).unwrap_or(0);
            Ok(())
        })
        .await?;
        Ok((counts.first().copied().unwrap_or(0), actual))
    }
}

fn signed(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn bookmark_of(item: &Item) -> Result<Bookmark, StoreError> {
    let position = serde_json::from_str(get_s(item, "position")?)
        .map_err(|e| StoreError::Corrupt(format!("bookmark: {e}")))?;
    let total = item
        .get("total")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok());
    Ok(Bookmark { position, total })
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Result<Vec<u8>, StoreError> {
    let bad = || StoreError::Corrupt("cursor key is not hex".into());
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return Err(bad());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(decode_hex(&encode_hex(&bytes)).unwrap(), bytes);
        assert!(decode_hex("abc").is_err());
        assert!(decode_hex("zz").is_err());
        assert!(decode_hex("éé").is_err());
    }

    #[test]
    fn modified_bounds_bracket_every_id_at_that_instant() {
        let t = "2024-01-01T00:00:00.000Z";
        let (_, gt) = sort_condition(GSI4SK, &KeyCondition::Gt(t.into()), true);
        let (_, ge) = sort_condition(GSI4SK, &KeyCondition::Ge(t.into()), true);
        let id = ResourceId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
        let key = modified_sk(crate::domain::Timestamp::parse(t).unwrap(), &id);
        assert!(key.as_str() < gt.unwrap().as_str());
        assert!(key.as_str() >= ge.unwrap().as_str());
    }
}
