//! DynamoDB storage: one table, single-table design (see `docs/data-model.md`). Knows SCIM resources
//! as attribute maps and nothing of HTTP.

mod audit;
mod check;
mod count;
mod error;
mod events;
/// Injected faults are for tests and the local stack only: release builds (`sam build`, the
/// deployed functions, `cargo build --release`) leave the layer and its variables out.
#[cfg(debug_assertions)]
pub mod faults;
pub mod keys;
mod lists;
mod oauth;
mod resources;
mod slots;
pub mod table;
mod tenant_delete;
mod tenants;
mod tls;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, WriteRequest};
use aws_sdk_dynamodb::Client;

use crate::domain::Timestamp;
use crate::protocol::Version;

pub use audit::{
    Actor, AuditEvent, AuditPage, AuditQuery, DEFAULT_AUDIT_PAGE, DEFAULT_AUDIT_RETENTION_DAYS,
};
pub use check::{CheckReport, Problem, ProblemKind, Progress};
pub use count::{counted, counted_items, CountRequests};
pub use error::StoreError;
pub use events::{EventPage, StoredEvent, DEFAULT_EVENT_RETENTION_DAYS};
#[cfg(debug_assertions)]
pub use faults::{Fault, Faults};
pub use keys::ItemKind;
pub use lists::{Bookmark, IndexKey, RangePage, RangeRead, RangeRow, ReadCap};
pub use oauth::{
    AccessToken, ClientAccess, ClientSecret, FederatedCredential, Grant, OAuthClient, TokenIssue,
    UsedAssertion, MAX_CLIENTS, MAX_CLIENT_SECRETS, MAX_FEDERATIONS, MAX_TOKENS_PER_SECRET,
};
pub use resources::{Revision, StoredResource, UserWithGroups};
pub use tenant_delete::DeleteProgress;
pub use tenants::{
    Credential, CredentialStatus, OAuthSettings, ProvisioningState, Tenant,
    DEFAULT_ACCESS_TOKEN_SECONDS, MAX_ACCESS_TOKEN_SECONDS, MAX_CREDENTIALS,
    MIN_ACCESS_TOKEN_SECONDS,
};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// BatchWriteItem takes at most 25 requests.
const MAX_BATCH_WRITE: usize = 25;
/// DynamoDB allows at most 100 actions in one `TransactWriteItems`.
const MAX_TRANSACTION_ACTIONS: usize = 100;
const MAX_TRANSACTION_ATTEMPTS: u32 = 6;

/// Sends of one BatchWriteItem chunk while DynamoDB leaves items unprocessed.
const BATCH_WRITE_ATTEMPTS: u32 = 10;
/// Attempts the SDK makes of one DynamoDB call before the error reaches us.
pub const SDK_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// Items per Query page; `None` is DynamoDB's own 1 MB pages. Tests set it small so that
    /// paging is exercised without writing megabytes.
    page_limit: Option<i32>,
    /// Days audit events are kept before the table's TTL removes them; 0 keeps them.
    audit_retention_days: u32,
    /// Days change events are kept (`EVENT_RETENTION_DAYS`, at least 1).
    event_retention_days: u32,
    /// The cursor-signing key, read from the table once per process.
    cursor_key: Arc<OnceLock<Arc<Vec<u8>>>>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
            page_limit: None,
            audit_retention_days: retention_from_env(),
            event_retention_days: event_retention_from_env(),
            cursor_key: Arc::default(),
        }
    }

    /// The same store, reading Query results `limit` items per page.
    pub fn with_page_limit(self, limit: i32) -> Self {
        Store {
            page_limit: Some(limit),
            ..self
        }
    }

    /// A Query on this table, paged as configured.
    fn query(&self) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .set_limit(self.page_limit)
    }

    /// Builds the client once per process from the standard AWS configuration (which honours
    /// `AWS_ENDPOINT_URL_DYNAMODB`), with the request counter installed. The table name comes from
    /// `TABLE_NAME`.
    pub async fn from_env() -> Result<Self, StoreError> {
        let table = std::env::var("TABLE_NAME")
            .map_err(|_| StoreError::Backend("TABLE_NAME is not set".into()))?;
        let config = config_loader().load().await;
        Ok(Store::new(client_for(&config), table))
    }

    /// A store for the given endpoint (or the standard AWS configuration) and table.
    pub async fn connect(endpoint: Option<&str>, table: &str) -> Self {
        let mut loader = config_loader();
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let config = loader.load().await;
        Store::new(client_for(&config), table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Runs one transaction, retrying when it collides with a concurrent one, and maps a failed
    /// condition to the error its action declares.
    async fn transact(&self, actions: Vec<Action>) -> Result<(), StoreError> {
        let items: Vec<TransactWriteItem> = actions.iter().map(|a| a.item.clone()).collect();
        let mut retry = Retry::new(MAX_TRANSACTION_ATTEMPTS);
        loop {
            // The SDK gives each call its own ClientRequestToken (an idempotency token) and
            // reuses it on its retries, so a retry after a lost answer is answered "done" by
            // DynamoDB instead of failing its conditions (for 10 minutes).
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let conflicted = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    let codes = cancellation_codes(e);
                    if let Some(i) = codes.iter().position(|c| c == "ConditionalCheckFailed") {
                        return Err(actions
                            .get(i)
                            .map_or(StoreError::VersionConflict, |a| a.on_fail.clone()));
                    }
                    if codes.iter().any(|c| error::is_throttling(Some(c))) {
                        return Err(StoreError::Throttled);
                    }
                    codes.iter().any(|c| c == "TransactionConflict")
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
                _ => false,
            };
            if !conflicted {
                return Err(err.into());
            }
            if !retry.again().await {
                return Err(StoreError::TransactionConflict);
            }
        }
    }

    /// Writes actions in as few transactions as possible. `units` are groups of actions that must
    /// land together (a membership and the check that its user exists); `anchor` (the resource item
    /// and its guards) goes into the first transaction, or the last when `anchor_last`. `guard`
    /// (the credential check of [`Store::still_authorized`]) goes into every one.
    async fn transact_in_chunks(
        &self,
        anchor: Vec<Action>,
        units: Vec<Vec<Action>>,
        anchor_last: bool,
        guard: Option<Action>,
    ) -> Result<(), StoreError> {
        let mut units = units;
        if anchor_last {
            units.push(anchor);
        } else {
            units.insert(0, anchor);
        }
        let room = MAX_TRANSACTION_ACTIONS - usize::from(guard.is_some());
        let mut chunks: Vec<Vec<Action>> = Vec::new();
        let mut current: Vec<Action> = Vec::new();
        for unit in units {
            if !current.is_empty() && current.len() + unit.len() > room {
                chunks.push(std::mem::take(&mut current));
            }
            current.extend(unit);
        }
        if !current.is_empty() {
            chunks.push(current);
        }
        for mut chunk in chunks {
            chunk.extend(guard.clone());
            self.transact(chunk).await?;
        }
        Ok(())
    }
}

impl Store {
    /// BatchWriteItem, 25 requests at a time, retrying what DynamoDB leaves unprocessed with
    /// backoff, a bounded number of times.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(MAX_BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            let mut retry = Retry::new(BATCH_WRITE_ATTEMPTS);
            loop {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if !retry.again().await {
                    return Err(StoreError::Throttled);
                }
            }
        }
        Ok(())
    }
}

/// `AUDIT_RETENTION_DAYS`, or the default when unset or not a number.
fn retention_from_env() -> u32 {
    std::env::var("AUDIT_RETENTION_DAYS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS)
}

/// The TTL attribute of an item kept `days` days from now; `None` (kept for good) for 0.
fn expires_after_days(days: u32) -> Option<AttributeValue> {
    (days > 0)
        .then(|| n(time::OffsetDateTime::now_utc().unix_timestamp() + i64::from(days) * 86_400))
}

/// `EVENT_RETENTION_DAYS`, or the default when unset, not a number or 0.
fn event_retention_from_env() -> u32 {
    std::env::var("EVENT_RETENTION_DAYS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|days| *days > 0)
        .unwrap_or(DEFAULT_EVENT_RETENTION_DAYS)
}

/// Runs a query to its end, page by page (DynamoDB returns at most 1 MB per request).
async fn query_all(
    query: QueryFluentBuilder,
    mut each: impl FnMut(QueryOutput) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut start = None;
    loop {
        let mut page = query.clone().set_exclusive_start_key(start).send().await?;
        start = page.last_evaluated_key.take();
        each(page)?;
        if start.is_none() {
            return Ok(());
        }
    }
}

/// The standard AWS configuration (environment, profile, Lambda's role), with the HTTPS client
/// whose roots are compiled in ([`tls`]).
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(tls::client())
}

/// The DynamoDB client of a process: the request counter, bounded retries, and (debug builds
/// only) the fault layer when `SCIM_FAULT_RATE` or `SCIM_FAULT_LATENCY_MS` asks for it.
pub fn client_for(config: &aws_config::SdkConfig) -> Client {
    #[cfg(debug_assertions)]
    let client = client_with_faults(config, Faults::from_env());
    #[cfg(not(debug_assertions))]
    let client = Client::from_conf(client_config(config).build());
    client
}

/// [`client_for`] with the given fault layer (tests keep the handle to turn faults off).
#[cfg(debug_assertions)]
pub fn client_with_faults(config: &aws_config::SdkConfig, faults: Option<Arc<Faults>>) -> Client {
    let mut conf = client_config(config);
    if let Some(faults) = faults {
        conf = conf.http_client(faults::http_client(faults));
    }
    Client::from_conf(conf.build())
}

fn client_config(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(CountRequests)
        .retry_config(sdk_retries())
        .timeout_config(sdk_timeouts())
}

/// The SDK's retries of throttling, 5xx and dropped connections: 4 attempts, full jitter from
/// 25 ms, at most 1 s apart, so a call gives up within about 2 s and a request stays far inside
/// the Lambda timeout; our answer is then 429 or 503 with `Retry-After` and the IdP retries.
/// A DynamoDB call that hangs (no answer on an open connection) is cut after 10 s and retried;
/// a call with all its attempts ends within 20 s, inside the functions' 29 s timeout. A healthy
/// call takes milliseconds, a 1 MB Query page well under a second.
fn sdk_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(20))
        .build()
}

fn sdk_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(SDK_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(25))
        .with_max_backoff(Duration::from_secs(1))
}

/// One action of a transaction, and what a failure of its condition means.
#[derive(Debug, Clone)]
struct Action {
    item: TransactWriteItem,
    on_fail: StoreError,
}

fn cancellation_codes(
    e: &aws_sdk_dynamodb::types::error::TransactionCanceledException,
) -> Vec<String> {
    let reasons = e.cancellation_reasons();
    if !reasons.is_empty() {
        return reasons
            .iter()
            .map(|r| r.code().unwrap_or("None").to_string())
            .collect();
    }
    // Some emulators only spell the reasons in the message: "... [ConditionalCheckFailed, None]".
    e.message()
        .and_then(|m| {
            m.rsplit_once('[')
                .map(|(_, rest)| rest.trim_end_matches(']'))
        })
        .map(|list| list.split(',').map(|c| c.trim().to_string()).collect())
        .unwrap_or_default()
}

/// Bounded retries with exponential backoff and jitter: every loop that retries (a write that
/// lost a race, a conflicting transaction, a batch's unprocessed items) counts with one.
#[derive(Debug)]
pub struct Retry {
    /// Attempts made so far (the first counts).
    made: u32,
    max: u32,
}

impl Retry {
    pub fn new(max_attempts: u32) -> Self {
        Retry {
            made: 1,
            max: max_attempts,
        }
    }

    /// After a failed attempt: `false` when all are spent; otherwise waits a jittered, growing
    /// moment before the next.
    pub async fn again(&mut self) -> bool {
        if self.made >= self.max {
            return false;
        }
        tokio::time::sleep(backoff(self.made)).await;
        self.made += 1;
        true
    }
}

/// A random wait between half and all of 10, 20, 40, 80, then 160 ms, so that racing writers
/// spread out.
fn backoff(attempt: u32) -> Duration {
    let mut random = [0u8; 2];
    let _ = getrandom::fill(&mut random);
    let cap = 5 * 2u64.pow(attempt.clamp(1, 5));
    Duration::from_millis(cap / 2 + u64::from(u16::from_le_bytes(random)) % (cap / 2 + 1))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// An item's size as DynamoDB counts it, closely enough for budgets: names and values in bytes,
/// numbers at most 21, containers 3 more than their content (DynamoDB's "Item sizes" rules).
pub(crate) fn item_bytes(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_bytes(v)).sum()
}

fn value_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().min(21),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().min(21)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| k.len() + value_bytes(v) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| value_bytes(v) + 1).sum::<usize>(),
        _ => 1,
    }
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("missing string attribute {name}")))
}

fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("missing number attribute {name}")))
}

/// An id attribute, parsed (`TenantId`, `ResourceId`, `CredentialId`): an item whose id does not
/// parse is malformed.
fn get_id<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    get_s(item, name)?
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("malformed id attribute {name}")))
}

fn get_version(item: &Item, name: &str) -> Result<Version, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| Version::parse(v).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("missing number attribute {name}")))
}

/// The `kind` attribute of an item.
fn kind_attr(kind: ItemKind) -> (String, AttributeValue) {
    (keys::KIND.into(), s(kind.as_str()))
}

fn opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn get_time(item: &Item, name: &str) -> Result<Timestamp, StoreError> {
    Timestamp::parse(get_s(item, name)?)
        .map_err(|_| StoreError::Corrupt(format!("malformed time attribute {name}")))
}

fn opt_time(item: &Item, name: &str) -> Result<Option<Timestamp>, StoreError> {
    item.contains_key(name)
        .then(|| get_time(item, name))
        .transpose()
}

/// Current time as RFC 3339 UTC with millisecond precision.
pub fn now() -> String {
    Timestamp::now().to_string()
}

/// Now, or 1 ms after `previous` if the clock is not past it: a resource's `lastModified` (and
/// so its events' order) strictly increases with its version, whatever the skew between instances.
pub fn now_after(previous: Timestamp) -> Timestamp {
    let now = Timestamp::now();
    match previous >= now {
        true => previous.plus(time::Duration::milliseconds(1)),
        false => now,
    }
}

pub use crate::protocol::resource::timestamp;
