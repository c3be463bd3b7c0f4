//! List and search requests (RFC 7644 §3.4.2, §3.4.3; RFC 9865): the filter, sort, paging and
//! projection a client asked for, and the ListResponse body. `planner` decides how to answer.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use sha2::{Digest, Sha256};

use super::error::ScimError;
use super::filter::{parse_filter, Filter};
use super::matcher::{restrict, validate, ForKind};
use super::patch::get_ci;
use super::projection::Projection;
use super::resource::ResourceKind;
use super::schema::SchemaSet;
use super::sort::SortSpec;

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Larger `count` values are clamped to this (advertised as `filter.maxResults`).
pub const MAX_PAGE_SIZE: usize = 100;

/// How the client pages: by position (RFC 7644 §3.4.2.4) or by cursor (RFC 9865).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// 1-based.
    Index { start_index: usize },
    /// `None` for the first page (`cursor=` sent empty).
    Cursor(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<SortSpec>,
    pub paging: Paging,
    pub count: usize,
    pub projection: Projection,
}

/// The parameters as the client sent them, from a query string or a SearchRequest body.
#[derive(Debug, Default)]
struct Raw<'a> {
    filter: Option<&'a str>,
    sort_by: Option<&'a str>,
    sort_order: Option<&'a str>,
    start_index: Option<i64>,
    count: Option<i64>,
    cursor: Option<&'a str>,
}

impl ListQuery {
    /// From the query string of `GET /Users` or `GET /Groups`. The filter, `sortBy` and the
    /// attribute lists are checked against the schemas of `kind` in `schemas`.
    pub fn from_params(
        schemas: &SchemaSet,
        kind: ResourceKind,
        params: &[(String, String)],
    ) -> Result<Self, ScimError> {
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
        let raw = Raw {
            filter: get("filter"),
            sort_by: get("sortBy"),
            sort_order: get("sortOrder"),
            start_index: number("startIndex")?,
            count: number("count")?,
            cursor: get("cursor"),
        };
        Self::build(
            schemas,
            kind,
            &[],
            raw,
            Projection::parse(schemas, get("attributes"), get("excludedAttributes"))?,
        )
        .map(|(query, _)| query)
    }

    /// From a `POST …/.search` body (a SearchRequest, RFC 7644 §3.4.3), checked as
    /// [`ListQuery::from_params`] is.
    pub fn from_search_body(
        schemas: &SchemaSet,
        kind: ResourceKind,
        body: &Value,
    ) -> Result<Self, ScimError> {
        Self::search_across(schemas, kind, &[], body).map(|(query, _)| query)
    }

    /// From the body of a search across `kinds` (the root `/.search`), checked for `kind`: its
    /// filter as it applies to `kind` ([`restrict`]), and whether it can match any resource of
    /// `kind`. The query keeps the filter as sent.
    pub fn search_across(
        schemas: &SchemaSet,
        kind: ResourceKind,
        kinds: &[ResourceKind],
        body: &Value,
    ) -> Result<(Self, bool), ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the search body must be a JSON object"))?;
        check_search_schemas(obj.get("schemas"))?;
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            match get_ci(obj, name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::invalid_value(format!("\"{name}\" must be an integer"))
                }),
            }
        };
        let text = |name: &str| -> Result<Option<&str>, ScimError> {
            match get_ci(obj, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) if name == "filter" => {
                    Err(ScimError::invalid_filter("\"filter\" must be a string"))
                }
                Some(_) => Err(ScimError::invalid_value(format!(
                    "\"{name}\" must be a string"
                ))),
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
                // A comma-separated string, as in a query string: accepted.
                Some(Value::String(s)) => Ok(s
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "\"{name}\" must be an array"
                ))),
            }
        };
        let raw = Raw {
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            start_index: number("startIndex")?,
            count: number("count")?,
            cursor: text("cursor")?,
        };
        Self::build(
            schemas,
            kind,
            kinds,
            raw,
            Projection::from_lists(
                schemas,
                &names("attributes")?,
                &names("excludedAttributes")?,
            )?,
        )
    }

    /// The query, and whether its filter can match a resource of `kind` (always, unless a
    /// search across `kinds` names attributes `kind` lacks).
    fn build(
        schemas: &SchemaSet,
        kind: ResourceKind,
        kinds: &[ResourceKind],
        raw: Raw<'_>,
        projection: Projection,
    ) -> Result<(Self, bool), ScimError> {
        let mut can_match = true;
        let filter = match raw.filter.map(str::trim).filter(|f| !f.is_empty()) {
            None => None,
            Some(text) => {
                let parsed = parse_filter(text).map_err(|e| {
                    ScimError::invalid_filter(format!(
                        "cannot parse filter \"{}\": {e}",
                        abridged(text)
                    ))
                })?;
                match restrict(schemas, kind, kinds, &parsed) {
                    ForKind::Never => can_match = false,
                    ForKind::Always => {}
                    ForKind::Only(filter) => validate(schemas, kind, &filter)?,
                }
                Some(parsed)
            }
        };
        let paging = match (raw.cursor, raw.start_index) {
            (Some(_), Some(_)) => {
                return Err(ScimError::invalid_value(
                    "send either startIndex (index paging) or cursor (cursor paging), not both",
                ))
            }
            (Some(cursor), None) => Paging::Cursor(
                Some(cursor.trim())
                    .filter(|c| !c.is_empty())
                    .map(String::from),
            ),
            // RFC 7644 §3.4.2.4: startIndex below 1 is read as 1.
            (None, start) => Paging::Index {
                start_index: usize::try_from(start.unwrap_or(1).max(1)).unwrap_or(usize::MAX),
            },
        };
        let query = ListQuery {
            filter,
            sort: SortSpec::parse(schemas, kind, raw.sort_by, raw.sort_order)?,
            paging,
            // A negative count is read as 0; a larger one than the maximum is clamped to it.
            count: raw
                .count
                .unwrap_or(MAX_PAGE_SIZE as i64)
                .clamp(0, MAX_PAGE_SIZE as i64) as usize,
            projection,
        };
        Ok((query, can_match))
    }

    /// Identifies the query apart from its paging: bookmarks and cursors are bound to it.
    pub fn key(&self, kinds: &[ResourceKind]) -> String {
        let mut text = String::new();
        for kind in kinds {
            text.push_str(kind.name());
            text.push('\n');
        }
        if let Some(filter) = &self.filter {
            text.push_str(&filter.to_string());
        }
        text.push('\n');
        if let Some(sort) = &self.sort {
            text.push_str(&format!("{} {:?}", sort.path, sort.order));
        }
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
    }
}

/// The start of a long filter, for an error detail that stays short whatever was sent.
fn abridged(text: &str) -> Cow<'_, str> {
    const SHOWN: usize = 100;
    match text.char_indices().nth(SHOWN) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", text.get(..end).unwrap_or_default())),
    }
}

/// A SearchRequest names its schema (RFC 7644 §3.4.3); anything else is refused.
fn check_search_schemas(schemas: Option<&Value>) -> Result<(), ScimError> {
    let names_it = schemas
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(SEARCH_REQUEST_SCHEMA)));
    if names_it {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "a search request must carry \"schemas\": [\"{SEARCH_REQUEST_SCHEMA}\"]"
        )))
    }
}

/// The body of a list or search response (RFC 7644 §3.4.2, RFC 9865 §2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct ListPageBody {
    /// Every match, not only this page's.
    pub total: usize,
    /// Index paging only.
    pub start_index: Option<usize>,
    pub count: usize,
    pub resources: Vec<Value>,
    /// Cursor paging only, and only when another page follows.
    pub next_cursor: Option<String>,
}

/// `Resources` is omitted when `count=0` asked for none.
pub fn list_response(page: ListPageBody) -> Value {
    let mut body = Map::new();
    body.insert("schemas".into(), json!([LIST_RESPONSE_SCHEMA]));
    body.insert("totalResults".into(), json!(page.total));
    body.insert("itemsPerPage".into(), json!(page.resources.len()));
    if let Some(start) = page.start_index {
        body.insert("startIndex".into(), json!(start));
    }
    if let Some(next) = page.next_cursor {
        body.insert("nextCursor".into(), json!(next));
    }
    if page.count > 0 {
        body.insert("Resources".into(), Value::Array(page.resources));
    }
    Value::Object(body)
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
        ListQuery::from_params(SchemaSet::standard(), ResourceKind::User, &params(pairs))
    }

    #[test]
    fn paging_defaults_clamps_and_floors() {
        let q = query(&[]).unwrap();
        assert_eq!(
            (q.paging, q.count),
            (Paging::Index { start_index: 1 }, MAX_PAGE_SIZE)
        );
        let q = query(&[("startIndex", "0"), ("count", "100000")]).unwrap();
        assert_eq!(
            (q.paging, q.count),
            (Paging::Index { start_index: 1 }, MAX_PAGE_SIZE)
        );
        let q = query(&[("startIndex", "-5"), ("count", "-1")]).unwrap();
        assert_eq!((q.paging, q.count), (Paging::Index { start_index: 1 }, 0));
        assert!(query(&[("count", "ten")]).is_err());
    }

    #[test]
    fn an_empty_cursor_asks_for_the_first_cursor_page_and_mixing_styles_is_refused() {
        assert_eq!(
            query(&[("cursor", "")]).unwrap().paging,
            Paging::Cursor(None)
        );
        assert_eq!(
            query(&[("cursor", "abc")]).unwrap().paging,
            Paging::Cursor(Some("abc".into()))
        );
        assert_eq!(
            query(&[("cursor", ""), ("startIndex", "1")])
                .unwrap_err()
                .status,
            400
        );
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
    fn a_search_body_must_name_the_search_request_schema() {
        let ok = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "filter": "userName sw \"a\"", "sortBy": "userName", "sortOrder": "DESCENDING", "cursor": ""});
        let q =
            ListQuery::from_search_body(SchemaSet::standard(), ResourceKind::User, &ok).unwrap();
        assert_eq!(q.paging, Paging::Cursor(None));
        assert!(q.sort.is_some());
        for bad in [
            json!({}),
            json!({"schemas": ["urn:x"]}),
            json!({"schemas": "x"}),
        ] {
            let err = ListQuery::from_search_body(SchemaSet::standard(), ResourceKind::User, &bad)
                .unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
        }
    }

    #[test]
    fn the_query_key_ignores_paging_but_not_filter_or_sort() {
        let kinds = [ResourceKind::User];
        let a = query(&[("filter", "userName sw \"a\""), ("startIndex", "5")]).unwrap();
        let b = query(&[("filter", "userName sw \"a\""), ("count", "3")]).unwrap();
        let c = query(&[("filter", "userName sw \"b\"")]).unwrap();
        let d = query(&[("filter", "userName sw \"a\""), ("sortBy", "userName")]).unwrap();
        assert_eq!(a.key(&kinds), b.key(&kinds));
        assert_ne!(a.key(&kinds), c.key(&kinds));
        assert_ne!(a.key(&kinds), d.key(&kinds));
        assert_ne!(a.key(&kinds), a.key(&[ResourceKind::Group]));
    }

    #[test]
    fn count_zero_omits_resources_and_cursor_pages_carry_no_start_index() {
        let body = list_response(ListPageBody {
            total: 7,
            start_index: Some(1),
            count: 0,
            resources: vec![],
            next_cursor: None,
        });
        assert_eq!(body["totalResults"], 7);
        assert!(body.get("Resources").is_none());
        let body = list_response(ListPageBody {
            total: 7,
            start_index: None,
            count: 2,
            resources: vec![json!({}), json!({})],
            next_cursor: Some("c".into()),
        });
        assert!(body.get("startIndex").is_none());
        assert_eq!(body["nextCursor"], "c");
    }
}
