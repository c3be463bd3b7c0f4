//! The query planner: turns a filter and a sort into how DynamoDB answers them, as a value.
//! Pure, so every row of the plan table in `docs/data-model.md` is tested without a table.
//!
//! A [`Plan`] has one [`Source`] (an index range or a key lookup), a residual filter checked in
//! memory, and whether the source's own order is the order asked for. A plan whose source yields
//! exactly the matches in the asked order is *streamed*: a page reads only its own items. Any
//! other plan is *examined*: every candidate is read (up to a cap), filtered, sorted and sliced.

use serde_json::Value;

use super::error::ScimError;
use super::filter::{AttrPath, CompareOp, Filter};
use super::resource::{name_key, resolve_with, ResourceKind, MAX_KEY_VALUE_BYTES};
use super::schema::{Index, SchemaSet};

/// Most index lookups one filter may plan (the branches of an `or`, after de-duplication): past
/// it, the filter is checked on the collection, under the examined cap.
pub const MAX_KEY_QUERIES: usize = 10;

/// A key condition on an index's sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCondition {
    Any,
    Eq(String),
    Prefix(String),
    Gt(String),
    Ge(String),
    Lt(String),
    Le(String),
}

/// Where candidates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every resource of the kind, in id order.
    Collection,
    /// By unique name (`userName`, group `displayName`), compared lower-cased.
    Name(KeyCondition),
    /// By `meta.lastModified`; values are instants in the store's UTC millisecond form.
    Modified(KeyCondition),
    Id(String),
    ExternalId(String),
    /// Users who are members of this group.
    MembersOf(String),
    /// Groups this user is a member of.
    GroupsOf(String),
    /// Each source's candidates, de-duplicated by id. At most [`MAX_KEY_QUERIES`] sources.
    Union(Vec<Source>),
    /// Nothing can match: the filter names a key no stored value has (an empty or over-long
    /// `userName`, say). Read without a request.
    Nothing,
}

impl Source {
    /// Every resource of the kind, in some index's order: its size is the kind's counters.
    pub fn is_whole(&self) -> bool {
        matches!(
            self,
            Source::Collection
                | Source::Name(KeyCondition::Any)
                | Source::Modified(KeyCondition::Any)
        )
    }

    /// Whether the source is an ordered index range that can be read page by page.
    pub fn is_range(&self) -> bool {
        matches!(
            self,
            Source::Collection
                | Source::Name(_)
                | Source::Modified(_)
                | Source::MembersOf(_)
                | Source::GroupsOf(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub source: Source,
    /// What the source does not already guarantee, checked in memory on each candidate.
    pub residual: Option<Filter>,
    /// Read the source backwards (a descending sort the index order already gives).
    pub descending: bool,
    /// The asked order is not the source's: sort the candidates in memory.
    pub sort_in_memory: bool,
}

impl Plan {
    /// A page reads only its own items: no residual, the source's order, and a range source.
    pub fn is_streamed(&self) -> bool {
        self.residual.is_none() && !self.sort_in_memory && self.source.is_range()
    }
}

/// The sort a plan must honour: the attribute and whether descending.
#[derive(Debug, Clone, Copy)]
pub struct SortRequest<'a> {
    pub path: &'a AttrPath,
    pub descending: bool,
}

/// The store's index for the attribute a path names, if any: a characteristic of its
/// definition (`AttributeDef::index`), so a schema that indexes an attribute is all it takes.
fn indexed(schemas: &SchemaSet, kind: ResourceKind, path: &AttrPath) -> Option<Index> {
    let resolved = resolve_with(schemas, kind, path)?;
    resolved.sub.unwrap_or(resolved.attr).index
}

/// Whether the path names a group's members or a user's groups in any form.
fn is_membership(schemas: &SchemaSet, kind: ResourceKind, path: &AttrPath) -> bool {
    resolve_with(schemas, kind, path).is_some_and(|r| r.attr.index == Some(Index::Membership))
}

/// A membership condition the membership items answer: `members eq "u"`, `members.value eq "u"`,
/// `members[value eq "u"]` (and `groups…` for users). Returns the id.
fn membership_id<'f>(
    schemas: &SchemaSet,
    kind: ResourceKind,
    clause: &'f Filter,
) -> Option<&'f str> {
    match clause {
        Filter::Compare(path, CompareOp::Eq, Value::String(id))
            if indexed(schemas, kind, path) == Some(Index::Membership) =>
        {
            Some(id)
        }
        Filter::ValuePath(path, inner)
            if path.sub.is_none() && is_membership(schemas, kind, path) =>
        {
            match inner.as_ref() {
                Filter::Compare(p, CompareOp::Eq, Value::String(id))
                    if p.uri.is_none()
                        && p.sub.is_none()
                        && p.name.eq_ignore_ascii_case("value") =>
                {
                    Some(id)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn mentions_membership(schemas: &SchemaSet, kind: ResourceKind, filter: &Filter) -> bool {
    match filter {
        Filter::Present(p) | Filter::Compare(p, _, _) | Filter::ValuePath(p, _) => {
            is_membership(schemas, kind, p)
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            mentions_membership(schemas, kind, a) || mentions_membership(schemas, kind, b)
        }
        Filter::Not(f) => mentions_membership(schemas, kind, f),
    }
}

/// The operands of a chain of `and` (or of `or`), left to right.
fn chain(filter: &Filter, of_and: bool) -> Vec<&Filter> {
    let mut out = Vec::new();
    let mut stack = vec![filter];
    while let Some(f) = stack.pop() {
        match f {
            Filter::And(a, b) if of_and => stack.extend([b.as_ref(), a.as_ref()]),
            Filter::Or(a, b) if !of_and => stack.extend([b.as_ref(), a.as_ref()]),
            other => out.push(other),
        }
    }
    out
}

fn conjuncts(filter: &Filter) -> Vec<&Filter> {
    chain(filter, true)
}

fn disjuncts(filter: &Filter) -> Vec<&Filter> {
    chain(filter, false)
}

fn and_all(clauses: Vec<&Filter>) -> Option<Filter> {
    clauses
        .into_iter()
        .cloned()
        .reduce(|a, b| Filter::And(Box::new(a), Box::new(b)))
}

/// `meta.lastModified` values become the store's form (UTC, milliseconds, fixed width), so that
/// they compare as strings. Stored times have millisecond precision: a bound with a finer fraction
/// is rounded down, and `ge` of such a bound becomes `gt` of the rounded value.
fn modified_bound(op: CompareOp, value: &str) -> Option<KeyCondition> {
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).ok()?;
    let sub_milli = at.nanosecond() % 1_000_000 != 0;
    let text = super::resource::timestamp(at);
    // Stored times are whole milliseconds: with a finer bound b, `t > b` and `t >= b` are both
    // `t > floor(b)`, and `t < b`, `t <= b` are both `t <= floor(b)`.
    Some(match (op, sub_milli) {
        (CompareOp::Gt, _) | (CompareOp::Ge, true) => KeyCondition::Gt(text),
        (CompareOp::Ge, false) => KeyCondition::Ge(text),
        (CompareOp::Lt, false) => KeyCondition::Lt(text),
        (CompareOp::Lt, true) | (CompareOp::Le, _) => KeyCondition::Le(text),
        _ => return None,
    })
}

/// The source that answers one clause exactly, with its preference (lower is better).
fn clause_source(schemas: &SchemaSet, kind: ResourceKind, clause: &Filter) -> Option<(u8, Source)> {
    // Membership first: the residual is matched on stored attributes, which never hold members.
    if let Some(id) = membership_id(schemas, kind, clause) {
        let source = match kind {
            ResourceKind::Group => Source::GroupsOf(id.to_string()),
            ResourceKind::User => Source::MembersOf(id.to_string()),
        };
        return Some((0, source));
    }
    let Filter::Compare(path, op, Value::String(value)) = clause else {
        return None;
    };
    let indexed = indexed(schemas, kind, path)?;
    if let Some(decided) = unstorable(indexed, *op, value) {
        return decided;
    }
    let value = value.clone();
    Some(match (indexed, op) {
        (Index::Id, CompareOp::Eq) => (1, Source::Id(value)),
        (Index::Name, CompareOp::Eq) => (2, Source::Name(KeyCondition::Eq(value))),
        (Index::ExternalId, CompareOp::Eq) => (3, Source::ExternalId(value)),
        (Index::Name, CompareOp::Sw) => (4, Source::Name(KeyCondition::Prefix(value))),
        (Index::LastModified, op) => (5, Source::Modified(modified_bound(*op, &value)?)),
        (Index::Name, CompareOp::Gt) => (6, Source::Name(KeyCondition::Gt(value))),
        (Index::Name, CompareOp::Ge) => (6, Source::Name(KeyCondition::Ge(value))),
        (Index::Name, CompareOp::Lt) => (6, Source::Name(KeyCondition::Lt(value))),
        (Index::Name, CompareOp::Le) => (6, Source::Name(KeyCondition::Le(value))),
        _ => return None,
    })
}

/// How a comparison is planned when its value cannot be a stored key: DynamoDB refuses empty
/// and over-long key values (a 500), so the planner decides here, once, for every caller.
/// `Some(None)`: use no index for it (the matcher decides, exactly); `None`: an ordinary value.
fn unstorable(indexed: Index, op: CompareOp, value: &str) -> Option<Option<(u8, Source)>> {
    let key_len = match indexed {
        Index::Name => name_key(value).len(),
        Index::ExternalId => value.len(),
        _ => return None,
    };
    let nothing = Some(Some((0, Source::Nothing)));
    if key_len == 0 {
        // Stored names and externalIds are never empty.
        return match op {
            CompareOp::Eq | CompareOp::Lt | CompareOp::Le => nothing,
            CompareOp::Sw | CompareOp::Gt | CompareOp::Ge if indexed == Index::Name => {
                Some(Some((6, Source::Name(KeyCondition::Any))))
            }
            _ => Some(None),
        };
    }
    if key_len <= MAX_KEY_VALUE_BYTES {
        return None;
    }
    match op {
        // No stored value is that long, nor starts with that long a prefix.
        CompareOp::Eq | CompareOp::Sw => nothing,
        // A range bound longer than any key: checked in memory instead.
        _ => Some(None),
    }
}

/// The best source among a conjunction's clauses, and the clauses it leaves to check.
fn conjunction_source(
    schemas: &SchemaSet,
    kind: ResourceKind,
    filter: &Filter,
) -> Option<(Source, Option<Filter>)> {
    let clauses = conjuncts(filter);
    let (at, _, source) = clauses
        .iter()
        .enumerate()
        .filter_map(|(i, c)| clause_source(schemas, kind, c).map(|(rank, s)| (i, rank, s)))
        .min_by_key(|(_, rank, _)| *rank)?;
    let rest = clauses
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at)
        .map(|(_, c)| *c)
        .collect();
    Some((source, and_all(rest)))
}

/// Plans a list or search. The filter must already be validated against the kind's schemas in
/// `schemas`, which also say what a path names: only core attributes are indexed, so a clause on
/// an extension attribute is always left to the residual.
pub fn plan(
    schemas: &SchemaSet,
    kind: ResourceKind,
    filter: Option<&Filter>,
    sort: Option<SortRequest<'_>>,
) -> Result<Plan, ScimError> {
    let (source, residual) = match filter {
        None => (Source::Collection, None),
        Some(filter) => plan_filter(schemas, kind, filter)?,
    };
    Ok(order(schemas, kind, source, residual, sort))
}

fn plan_filter(
    schemas: &SchemaSet,
    kind: ResourceKind,
    filter: &Filter,
) -> Result<(Source, Option<Filter>), ScimError> {
    let clauses = conjuncts(filter);
    let membership: Vec<&&Filter> = clauses
        .iter()
        .filter(|c| mentions_membership(schemas, kind, c))
        .collect();
    let attr = match kind {
        ResourceKind::Group => "members",
        ResourceKind::User => "groups",
    };
    if membership.len() > 1
        || membership
            .iter()
            .any(|c| membership_id(schemas, kind, c).is_none())
    {
        return Err(ScimError::invalid_filter(format!(
            "a {attr} condition must be one `{attr}[value eq \"id\"]`, `{attr} eq \"id\"` or \
             `{attr}.value eq \"id\"`, alone or joined to the rest of the filter with 'and'"
        )));
    }
    if let Some(found) = conjunction_source(schemas, kind, filter) {
        return Ok(found);
    }
    // An `or` whose every branch has an indexed clause: the union of the branches' lookups, with
    // the whole filter checked again on what they find.
    let branches = distinct(disjuncts(filter));
    if let [only] = branches.as_slice() {
        // `a or a`: plan `a`.
        if let Some(found) = conjunction_source(schemas, kind, only) {
            return Ok(found);
        }
    }
    let residual = or_all(&branches);
    if branches.len() > 1 {
        let sources: Option<Vec<Source>> = branches
            .iter()
            .map(|b| conjunction_source(schemas, kind, b).map(|(s, _)| s))
            .collect();
        if let Some(sources) = sources {
            let mut sources = distinct(sources.iter().collect());
            sources.retain(|s| *s != Source::Nothing);
            match sources.len() {
                0 => return Ok((Source::Nothing, None)),
                1..=MAX_KEY_QUERIES => return Ok((Source::Union(sources), residual)),
                // Too many lookups for one request: one read of the collection instead.
                _ => {}
            }
        }
    }
    Ok((Source::Collection, residual))
}

/// The values once each, in their first order (few enough that pairwise comparison is cheapest).
fn distinct<T: PartialEq + Clone>(items: Vec<&T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

fn or_all(branches: &[Filter]) -> Option<Filter> {
    branches
        .iter()
        .cloned()
        .reduce(|a, b| Filter::Or(Box::new(a), Box::new(b)))
}

/// Chooses how the asked order is produced: by the index itself, or by sorting in memory.
fn order(
    schemas: &SchemaSet,
    kind: ResourceKind,
    source: Source,
    residual: Option<Filter>,
    sort: Option<SortRequest<'_>>,
) -> Plan {
    let Some(sort) = sort else {
        return Plan {
            source,
            residual,
            descending: false,
            sort_in_memory: false,
        };
    };
    let wanted = indexed(schemas, kind, sort.path);
    let source = match (&source, wanted) {
        // The whole collection in name or modification order is an index of its own.
        (Source::Collection, Some(Index::Name)) => Source::Name(KeyCondition::Any),
        (Source::Collection, Some(Index::LastModified)) => Source::Modified(KeyCondition::Any),
        _ => source,
    };
    let index_order = matches!(
        (&source, wanted),
        (Source::Name(_), Some(Index::Name))
            | (Source::Modified(_), Some(Index::LastModified))
            | (Source::Collection, Some(Index::Id))
    );
    Plan {
        descending: index_order && sort.descending,
        sort_in_memory: !index_order,
        source,
        residual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::filter::{parse_attr_path, parse_filter};

    fn plan_of(kind: ResourceKind, filter: &str) -> Plan {
        plan(
            SchemaSet::standard(),
            kind,
            Some(&parse_filter(filter).unwrap()),
            None,
        )
        .unwrap()
    }

    fn source(kind: ResourceKind, filter: &str) -> Source {
        plan_of(kind, filter).source
    }

    #[test]
    fn each_row_of_the_plan_table_picks_its_source() {
        use KeyCondition::*;
        let user = ResourceKind::User;
        let group = ResourceKind::Group;
        let rows: Vec<(ResourceKind, &str, Source)> = vec![
            (user, r#"userName eq "Ann""#, Source::Name(Eq("Ann".into()))),
            (user, r#"USERNAME eq "Ann""#, Source::Name(Eq("Ann".into()))),
            (
                user,
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
                Source::Name(Eq("a".into())),
            ),
            (
                group,
                r#"displayName eq "Ops""#,
                Source::Name(Eq("Ops".into())),
            ),
            (user, r#"externalId eq "e""#, Source::ExternalId("e".into())),
            (user, r#"id eq "i""#, Source::Id("i".into())),
            (
                user,
                r#"userName sw "an""#,
                Source::Name(Prefix("an".into())),
            ),
            (
                group,
                r#"displayName sw "o""#,
                Source::Name(Prefix("o".into())),
            ),
            (user, r#"userName gt "m""#, Source::Name(Gt("m".into()))),
            (user, r#"userName le "m""#, Source::Name(Le("m".into()))),
            (
                user,
                r#"meta.lastModified gt "2024-01-01T01:00:00+01:00""#,
                Source::Modified(Gt("2024-01-01T00:00:00.000Z".into())),
            ),
            (
                group,
                r#"meta.lastModified ge "2024-01-01T00:00:00.000Z""#,
                Source::Modified(Ge("2024-01-01T00:00:00.000Z".into())),
            ),
            (
                group,
                r#"members[value eq "u"]"#,
                Source::GroupsOf("u".into()),
            ),
            (group, r#"members eq "u""#, Source::GroupsOf("u".into())),
            (
                group,
                r#"members.value eq "u""#,
                Source::GroupsOf("u".into()),
            ),
            (
                user,
                r#"groups.value eq "g""#,
                Source::MembersOf("g".into()),
            ),
            (
                user,
                r#"groups[value eq "g"]"#,
                Source::MembersOf("g".into()),
            ),
            (user, r#"groups eq "g""#, Source::MembersOf("g".into())),
            (user, r#"title co "x""#, Source::Collection),
            (user, r#"not (userName eq "a")"#, Source::Collection),
            (
                user,
                r#"userName eq "a" or title eq "x""#,
                Source::Collection,
            ),
            (
                user,
                r#"userName eq "a" or externalId eq "b""#,
                Source::Union(vec![
                    Source::Name(Eq("a".into())),
                    Source::ExternalId("b".into()),
                ]),
            ),
        ];
        for (kind, filter, expected) in rows {
            assert_eq!(source(kind, filter), expected, "{filter}");
        }
    }

    #[test]
    fn values_no_stored_key_can_hold_are_planned_without_a_key_condition() {
        use KeyCondition::*;
        let user = ResourceKind::User;
        let long = "x".repeat(MAX_KEY_VALUE_BYTES + 1);
        // 600 × "Ⱥ" is 1,200 bytes, 1,800 lower-cased.
        let grows = "Ⱥ".repeat(600);
        for (filter, expected) in [
            (r#"userName eq """#.to_string(), Source::Nothing),
            (r#"userName lt """#.to_string(), Source::Nothing),
            (r#"externalId eq """#.to_string(), Source::Nothing),
            (r#"userName sw """#.to_string(), Source::Name(Any)),
            (r#"userName gt """#.to_string(), Source::Name(Any)),
            (format!(r#"userName eq "{long}""#), Source::Nothing),
            (format!(r#"userName sw "{grows}""#), Source::Nothing),
            (format!(r#"externalId eq "{long}""#), Source::Nothing),
            (format!(r#"userName gt "{long}""#), Source::Collection),
            (
                format!(r#"userName eq "{long}" and active eq true"#),
                Source::Nothing,
            ),
            (
                format!(r#"userName eq "{long}" or userName eq "a""#),
                Source::Union(vec![Source::Name(Eq("a".into()))]),
            ),
            (
                format!(r#"userName eq "{long}" or externalId eq """#),
                Source::Nothing,
            ),
        ] {
            let shown: String = filter.chars().take(30).collect();
            assert_eq!(source(user, &filter), expected, "{shown}");
        }
        // The bound kept in memory is the one sent.
        let p = plan_of(user, &format!(r#"userName lt "{long}""#));
        assert!(p.residual.is_some() && !p.is_streamed());
    }

    #[test]
    fn or_branches_are_deduplicated_and_too_many_lookups_read_the_collection() {
        let same = vec![r#"userName gt "a""#; 200].join(" or ");
        let p = plan_of(ResourceKind::User, &same);
        assert_eq!(p.source, Source::Name(KeyCondition::Gt("a".into())));
        assert!(p.is_streamed());
        let lookups = |n: usize| {
            (0..n)
                .map(|i| format!(r#"userName eq "u{i}""#))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        match source(ResourceKind::User, &lookups(MAX_KEY_QUERIES)) {
            Source::Union(sources) => assert_eq!(sources.len(), MAX_KEY_QUERIES),
            other => panic!("{other:?}"),
        }
        let p = plan_of(ResourceKind::User, &lookups(MAX_KEY_QUERIES + 1));
        assert_eq!(p.source, Source::Collection);
        assert_eq!(
            p.residual,
            Some(parse_filter(&lookups(MAX_KEY_QUERIES + 1)).unwrap())
        );
        // Duplicates are checked once in memory too.
        let twice = format!("{} or {}", lookups(2), lookups(2));
        assert_eq!(
            plan_of(ResourceKind::User, &twice).residual,
            Some(parse_filter(&lookups(2)).unwrap())
        );
    }

    #[test]
    fn an_and_prefers_the_most_selective_clause_and_keeps_the_rest_as_residual() {
        let p = plan_of(
            ResourceKind::User,
            r#"externalId eq "e" and id eq "i" and active eq true"#,
        );
        assert_eq!(p.source, Source::Id("i".into()));
        assert_eq!(
            p.residual,
            Some(parse_filter(r#"externalId eq "e" and active eq true"#).unwrap())
        );
        let p = plan_of(
            ResourceKind::Group,
            r#"id eq "g" and members[value eq "u"]"#,
        );
        assert_eq!(p.source, Source::GroupsOf("u".into()));
        assert_eq!(p.residual, Some(parse_filter(r#"id eq "g""#).unwrap()));
    }

    #[test]
    fn a_single_indexed_clause_is_streamed_and_a_residual_is_examined() {
        assert!(plan_of(ResourceKind::User, r#"userName sw "a""#).is_streamed());
        assert!(
            !plan_of(ResourceKind::User, r#"userName sw "a" and active eq true"#).is_streamed()
        );
        assert!(!plan_of(ResourceKind::User, r#"title co "a""#).is_streamed());
        assert!(plan(SchemaSet::standard(), ResourceKind::User, None, None)
            .unwrap()
            .is_streamed());
    }

    #[test]
    fn sub_millisecond_bounds_round_so_the_string_comparison_stays_exact() {
        assert_eq!(
            source(
                ResourceKind::User,
                r#"meta.lastModified ge "2024-01-01T00:00:00.0005Z""#
            ),
            Source::Modified(KeyCondition::Gt("2024-01-01T00:00:00.000Z".into()))
        );
        assert_eq!(
            source(
                ResourceKind::User,
                r#"meta.lastModified lt "2024-01-01T00:00:00.0005Z""#
            ),
            Source::Modified(KeyCondition::Le("2024-01-01T00:00:00.000Z".into()))
        );
        // Not an instant: no index, the matcher decides.
        assert_eq!(
            source(ResourceKind::User, r#"meta.lastModified gt "yesterday""#),
            Source::Collection
        );
    }

    #[test]
    fn membership_conditions_outside_a_top_level_and_are_refused() {
        for f in [
            r#"members[value eq "a"] or displayName eq "x""#,
            r#"not (members eq "a")"#,
            r#"members co "a""#,
            r#"members[value eq "a"] and members[value eq "b"]"#,
            r#"members[type eq "User"]"#,
        ] {
            let err = plan(
                SchemaSet::standard(),
                ResourceKind::Group,
                Some(&parse_filter(f).unwrap()),
                None,
            )
            .unwrap_err();
            assert_eq!(err.status, 400, "{f}");
        }
    }

    #[test]
    fn sorting_by_an_indexed_attribute_reads_that_index_in_either_direction() {
        let by = |path: &str, descending: bool, filter: Option<&str>| {
            let path = parse_attr_path(path).unwrap();
            let filter = filter.map(|f| parse_filter(f).unwrap());
            plan(
                SchemaSet::standard(),
                ResourceKind::User,
                filter.as_ref(),
                Some(SortRequest {
                    path: &path,
                    descending,
                }),
            )
            .unwrap()
        };
        let p = by("userName", true, None);
        assert_eq!(p.source, Source::Name(KeyCondition::Any));
        assert!(p.descending && p.is_streamed());
        let p = by("meta.lastModified", false, None);
        assert_eq!(p.source, Source::Modified(KeyCondition::Any));
        assert!(p.is_streamed());
        let p = by("name.familyName", false, None);
        assert!(p.sort_in_memory && !p.is_streamed());
        let p = by("userName", false, Some(r#"userName sw "a""#));
        assert!(p.is_streamed());
        let p = by("userName", false, Some(r#"externalId eq "a""#));
        assert!(p.sort_in_memory);
    }
}
