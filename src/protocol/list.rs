//! List and search requests (RFC 7644 §3.4.2, §3.4.3): paging parameters, the filter and how it is
//! answered from an index, and the ListResponse body.

use serde_json::{json, Value};

use super::error::ScimError;
use super::filter::{parse_filter, AttrPath, CompareOp, Filter};
use super::matcher;
use super::patch::get_ci;
use super::projection::Projection;
use super::resource::{resolve, ResourceKind};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Larger `count` values are clamped to this (advertised as `filter.maxResults`).
pub const MAX_PAGE_SIZE: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
}

/// How a filter is answered: one key or index lookup, then the whole filter re-checked in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Id(String),
    UserName(String),
    DisplayName(String),
    ExternalId(String),
}

impl ListQuery {
    /// From the query string of `GET /Users` or `GET /Groups`.
    pub fn from_params(kind: ResourceKind, params: &[(String, String)]) -> Result<Self, ScimError> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            get(name)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        ScimError::invalid_value(format!(
                            "\"{name}\" must be an integer, got \"{v}\""
                        ))
                    })
                })
                .transpose()
        };
        Self::build(
            kind,
            get("filter"),
            number("startIndex")?,
            number("count")?,
            Projection::parse(get("attributes"), get("excludedAttributes"))?,
        )
    }

    /// From a `POST /.search` body.
    pub fn from_search_body(kind: ResourceKind, body: &Value) -> Result<Self, ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the search body must be a JSON object"))?;
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            match get_ci(obj, name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::invalid_value(format!("\"{name}\" must be an integer"))
                }),
            }
        };
        let names = |name: &str| -> Result<Vec<String>, ScimError> {
            match get_ci(obj, name) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(String::from).ok_or_else(|| {
                            ScimError::invalid_value(format!("\"{name}\" must hold strings"))
                        })
                    })
                    .collect(),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "\"{name}\" must be an array"
                ))),
            }
        };
        let filter = match get_ci(obj, "filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(ScimError::invalid_filter("\"filter\" must be a string")),
        };
        Self::build(
            kind,
            filter,
            number("startIndex")?,
            number("count")?,
            Projection::from_lists(&names("attributes")?, &names("excludedAttributes")?)?,
        )
    }

    fn build(
        kind: ResourceKind,
        filter: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
        projection: Projection,
    ) -> Result<Self, ScimError> {
        let filter = match filter.map(str::trim).filter(|f| !f.is_empty()) {
            None => None,
            Some(text) => {
                let parsed = parse_filter(text).map_err(|e| {
                    ScimError::invalid_filter(format!("cannot parse filter \"{text}\": {e}"))
                })?;
                check_attributes(kind, &parsed)?;
                Some(parsed)
            }
        };
        Ok(ListQuery {
            filter,
            // RFC 7644 §3.4.2.4: startIndex below 1 is read as 1; a negative count as 0.
            start_index: start_index.unwrap_or(1).max(1) as usize,
            count: count
                .unwrap_or(MAX_PAGE_SIZE as i64)
                .clamp(0, MAX_PAGE_SIZE as i64) as usize,
            projection,
        })
    }

    /// Whether a resource passes the filter (always true without one).
    pub fn admits(&self, kind: ResourceKind, resource: &Value) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| matcher::matches(kind, f, resource))
    }
}

fn check_attributes(kind: ResourceKind, filter: &Filter) -> Result<(), ScimError> {
    matcher::validate(kind, filter)?;
    let check = |path: &AttrPath| {
        let resolved = resolve(kind, path).ok_or_else(|| {
            ScimError::invalid_filter(format!("\"{path}\" is not an attribute of {}", kind.name()))
        })?;
        // Memberships live in their own items, not in the resources a filter is checked against.
        if matches!(resolved.attr.name, "groups" | "members") && resolved.extension.is_none() {
            return Err(ScimError::invalid_filter(format!(
                "filtering on \"{}\" is not supported yet",
                resolved.attr.name
            )));
        }
        Ok(())
    };
    match filter {
        Filter::Present(p) | Filter::Compare(p, _, _) => check(p),
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_attributes(kind, a)?;
            check_attributes(kind, b)
        }
        Filter::Not(f) => check_attributes(kind, f),
        Filter::ValuePath(p, _) => check(p),
    }
}

/// Picks the indexed `eq` clause that answers the filter in one request: `id`, then `userName`
/// (Users) or `displayName` (Groups), then `externalId`, found anywhere in a top-level `and`.
pub fn plan(kind: ResourceKind, filter: &Filter) -> Result<Lookup, ScimError> {
    let mut conjuncts = Vec::new();
    flatten_and(filter, &mut conjuncts);
    let mut best: Option<(u8, Lookup)> = None;
    for clause in conjuncts {
        let Filter::Compare(path, CompareOp::Eq, Value::String(value)) = clause else {
            continue;
        };
        let Some(resolved) =
            resolve(kind, path).filter(|r| r.extension.is_none() && r.sub.is_none())
        else {
            continue;
        };
        let candidate = match (kind, resolved.attr.name) {
            (_, "id") => (0, Lookup::Id(value.clone())),
            (ResourceKind::User, "userName") => (1, Lookup::UserName(value.clone())),
            (ResourceKind::Group, "displayName") => (1, Lookup::DisplayName(value.clone())),
            (_, "externalId") => (2, Lookup::ExternalId(value.clone())),
            _ => continue,
        };
        if best.as_ref().is_none_or(|(rank, _)| candidate.0 < *rank) {
            best = Some(candidate);
        }
    }
    best.map(|(_, lookup)| lookup).ok_or_else(|| {
        let indexed = match kind {
            ResourceKind::User => "id, userName or externalId",
            ResourceKind::Group => "id, displayName or externalId",
        };
        ScimError::invalid_filter(format!(
            "this filter is not supported yet: a {} filter needs an 'eq' on {indexed} (optionally \
             joined with 'and' to other conditions)",
            kind.name()
        ))
    })
}

fn flatten_and<'a>(filter: &'a Filter, out: &mut Vec<&'a Filter>) {
    match filter {
        Filter::And(a, b) => {
            flatten_and(a, out);
            flatten_and(b, out);
        }
        other => out.push(other),
    }
}

/// RFC 7644 §3.4.2: `totalResults` is every match; `Resources` is omitted when `count=0` asked for none.
pub fn list_response(
    total: usize,
    start_index: usize,
    count: usize,
    resources: Vec<Value>,
) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
    });
    if count > 0 {
        body["Resources"] = Value::Array(resources);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn query(pairs: &[(&str, &str)]) -> Result<ListQuery, ScimError> {
        ListQuery::from_params(ResourceKind::User, &params(pairs))
    }

    #[test]
    fn paging_defaults_clamps_and_floors() {
        let q = query(&[]).unwrap();
        assert_eq!((q.start_index, q.count), (1, MAX_PAGE_SIZE));
        let q = query(&[("startIndex", "0"), ("count", "100000")]).unwrap();
        assert_eq!((q.start_index, q.count), (1, MAX_PAGE_SIZE));
        let q = query(&[("startIndex", "-5"), ("count", "-1")]).unwrap();
        assert_eq!((q.start_index, q.count), (1, 0));
        assert!(query(&[("count", "ten")]).is_err());
    }

    #[test]
    fn user_name_eq_is_planned_on_the_user_name_index() {
        let q = query(&[("filter", "userName eq \"Ann\"")]).unwrap();
        let plan = plan(ResourceKind::User, q.filter.as_ref().unwrap()).unwrap();
        assert_eq!(plan, Lookup::UserName("Ann".into()));
    }

    #[test]
    fn and_of_eq_clauses_prefers_the_most_selective_key() {
        let q = query(&[(
            "filter",
            "externalId eq \"e\" and id eq \"i\" and active eq true",
        )])
        .unwrap();
        assert_eq!(
            plan(ResourceKind::User, q.filter.as_ref().unwrap()).unwrap(),
            Lookup::Id("i".into())
        );
    }

    #[test]
    fn unindexed_filters_are_invalid_filter_not_ignored() {
        for f in [
            "userName co \"a\"",
            "displayName eq \"x\"",
            "userName eq \"a\" or id eq \"b\"",
        ] {
            let q = query(&[("filter", f)]).unwrap();
            let err = plan(ResourceKind::User, q.filter.as_ref().unwrap()).unwrap_err();
            assert_eq!(
                err.scim_type,
                Some(super::super::error::ScimType::InvalidFilter),
                "{f}"
            );
        }
    }

    #[test]
    fn unparseable_filter_and_unknown_attribute_are_invalid_filter() {
        assert_eq!(query(&[("filter", "userName eq")]).unwrap_err().status, 400);
        assert_eq!(
            query(&[("filter", "shoe eq \"x\"")]).unwrap_err().status,
            400
        );
    }

    #[test]
    fn count_zero_omits_resources() {
        let body = list_response(7, 1, 0, vec![]);
        assert_eq!(body["totalResults"], 7);
        assert!(body.get("Resources").is_none());
    }
}
