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
use super::{backoff, get_id, get_s, n, s, Action, Item, Store, StoreError};
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
    pub resources: Vec<StoredResource>,
    /// Index entries the page covers (more than `resources` when a membership is an orphan).
    pub entries: usize,
    /// Entries skipped before the page: fewer than asked when the range ends first.
    pub skipped: usize,
    /// Where the next page starts, when there is one.
    pub next: Option<IndexKey>,
    /// The key of the page's last entry, even when nothing follows yet: an index walk resumes
    /// there, and finds what was added behind it since.
    pub last: Option<IndexKey>,
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

impl RangeQuery {
    fn of(tenant: &TenantId, kind: ResourceKind, source: &Source) -> Option<Self> {
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
                Source::Id(_) | Source::ExternalId(_) | Source::Union(_) => return None,
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
    /// `count`, reading one more to learn whether another page follows.
    pub async fn read_range(
        &self,
        tenant: &TenantId,
        read: RangeRead<'_>,
        from: Option<IndexKey>,
        skip: usize,
        count: usize,
    ) -> Result<RangePage, StoreError> {
        let RangeRead {
            kind,
            source,
            descending,
        } = read;
        let range = RangeQuery::of(tenant, kind, source)
            .ok_or_else(|| StoreError::Backend("not a range source".into()))?;
        let wanted = skip + count + 1;
        let mut entries: Vec<Item> = Vec::new();
        let mut start = from.as_ref().map(to_item);
        loop {
            let room = i32::try_from(wanted - entries.len()).unwrap_or(i32::MAX);
            let limit = self.page_limit.map_or(room, |p| p.min(room));
            let page = range
                .build(self, descending)
                .limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            entries.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || entries.len() >= wanted {
                break;
            }
        }
        let more = entries.len() > skip + count;
        let skipped = entries.len().min(skip);
        entries.truncate(skip + count);
        let page: Vec<Item> = entries.into_iter().skip(skip).collect();
        let last = page.last().map(|l| range.key_of(l)).transpose()?;
        let resources = self.resources_of(tenant, kind, &range, &page).await?;
        Ok(RangePage {
            resources,
            entries: page.len(),
            skipped,
            next: last.clone().filter(|_| more),
            last,
        })
    }

    /// Every candidate of a source, in index order (a union: by id), up to `cap` entries.
    pub async fn read_all(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        source: &Source,
        cap: usize,
    ) -> Result<Vec<StoredResource>, StoreError> {
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
                let query = self
                    .query()
                    .index_name(GSI3)
                    .key_condition_expression("GSI3PK = :pk")
                    .expression_attribute_values(
                        ":pk",
                        s(external_id_pk(tenant, kind, external_id)),
                    );
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
                for source in sources {
                    for r in Box::pin(self.read_all(tenant, kind, source, cap)).await? {
                        by_id.insert(r.id.clone(), r);
                    }
                    if by_id.len() > cap {
                        return Err(too_many());
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
                let page = self.read_range(tenant, read, None, 0, cap).await?;
                if page.next.is_some() {
                    return Err(too_many());
                }
                Ok(page.resources)
            }
        }
    }

    /// Entries of a range source: the counters for a whole collection, else a COUNT query.
    pub async fn range_total(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        source: &Source,
    ) -> Result<usize, StoreError> {
        if *source == Source::Collection {
            let (counts, _) = self.list_state(tenant, &[kind], None).await?;
            return Ok(counts.first().copied().unwrap_or(0));
        }
        let range = RangeQuery::of(tenant, kind, source)
            .ok_or_else(|| StoreError::Backend("not a range source".into()))?;
        let mut total = 0;
        let query = range.build(self, false).select(Select::Count);
        super::query_all(query, |page| {
            total += usize::try_from(page.count).unwrap_or(0);
            Ok(())
        })
        .await?;
        Ok(total)
    }

    /// The resources behind a page of entries: the entries themselves, or for membership
    /// sources the users or groups they name (one BatchGetItem per 100), in entry order.
    async fn resources_of(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        range: &RangeQuery,
        entries: &[Item],
    ) -> Result<Vec<StoredResource>, StoreError> {
        if range.member_ids.is_none() {
            return entries.iter().map(StoredResource::from_item).collect();
        }
        let ids = entries
            .iter()
            .map(|e| range.member_id(e))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| key(resource_pk(tenant, kind, id), RESOURCE_SK))
            .collect();
        let mut by_id: HashMap<ResourceId, StoredResource> = HashMap::new();
        for item in self.batch_get(keys, None).await? {
            let r = StoredResource::from_item(&item)?;
            by_id.insert(r.id.clone(), r);
        }
        // A membership whose resource is gone (an orphan, see Known limits) lists nothing.
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
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
            let mut attempt = 0;
            while let Some(keys) = request.take() {
                attempt += 1;
                if attempt > BATCH_ATTEMPTS {
                    return Err(StoreError::Throttled);
                }
                if attempt > 1 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
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
    ) -> Result<(Vec<usize>, Option<IndexKey>), StoreError> {
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
        let position = match bookmark_sk.and_then(|sk| by_sk.remove(&sk)) {
            Some(item) => Some(bookmark_position(&item)?),
            None => None,
        };
        Ok((counts, position))
    }

    /// The bookmark at or below `start_index` nearest to it: one Query.
    pub async fn nearest_bookmark(
        &self,
        tenant: &TenantId,
        query: &str,
        start_index: usize,
    ) -> Result<Option<(usize, IndexKey)>, StoreError> {
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
        Ok(Some((at, bookmark_position(item)?)))
    }

    /// Remembers where the page starting at `start_index` begins, for an hour.
    pub async fn put_bookmark(
        &self,
        tenant: &TenantId,
        query: &str,
        start_index: usize,
        position: &IndexKey,
    ) -> Result<(), StoreError> {
        let expires = time::OffsetDateTime::now_utc().unix_timestamp() + BOOKMARK_TTL_SECONDS;
        let position =
            serde_json::to_string(position).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .put_item()
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
        let range = RangeQuery::of(tenant, kind, &Source::Collection)
            .ok_or_else(|| StoreError::Backend("not a range source".into()))?;
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

fn bookmark_position(item: &Item) -> Result<IndexKey, StoreError> {
    serde_json::from_str(get_s(item, "position")?)
        .map_err(|e| StoreError::Corrupt(format!("bookmark: {e}")))
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
        let key = modified_sk(t, &id);
        assert!(key.as_str() < gt.unwrap().as_str());
        assert!(key.as_str() >= ge.unwrap().as_str());
    }
}
