//! `/Users` and `/Groups`: the same six operations for both kinds. Users carry their (read-only)
//! `groups`; groups carry `members`, which live in their own items and are only read when the
//! response will show them.

use std::collections::BTreeSet;

use lambda_http::{Body, Response};
use serde_json::{Map, Value};

use super::request::{header, json_body, query_params};
use super::{response, Ctx};
use crate::protocol::list::{list_response, ListPageBody, ListQuery};
use crate::protocol::members::{self, member_ids, MemberChanges};
use crate::protocol::patch;
use crate::protocol::projection::Projection;
use crate::protocol::resource::{normalize, ResourceKind};
use crate::protocol::ScimError;
use crate::service::list::Lists;
use crate::service::{etag, to_scim, Loaded};
use crate::store::{StoreError, StoredResource};

/// A PUT or PATCH that loses a race with another write is re-read and re-applied, up to this often.
const WRITE_ATTEMPTS: u32 = 8;

fn projection(ctx: &Ctx<'_>) -> Result<Projection, ScimError> {
    let params = query_params(ctx.request);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Projection::parse(get("attributes"), get("excludedAttributes"))
}

fn respond(ctx: &Ctx<'_>, status: u16, loaded: &Loaded, projection: &Projection) -> Response<Body> {
    let body = projection.apply(
        loaded.resource.kind,
        to_scim(&ctx.base_url, &loaded.resource, loaded.related.as_ref()),
    );
    let mut headers = vec![("ETag", etag(&loaded.resource))];
    if status == 201 {
        if let Some(location) = body["meta"]["location"].as_str() {
            headers.push(("Location", location.to_string()));
        }
    }
    response::with_headers(status, Some(&body), &headers)
}

/// Reads a resource with what its response needs: a user's groups come with it (same partition);
/// a group's members only when `with_members`.
async fn load(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
    with_members: bool,
) -> Result<Loaded, ScimError> {
    let loaded = match kind {
        ResourceKind::User => {
            let found = ctx.store.get_user(&ctx.tenant, id).await?;
            Loaded {
                resource: found.user,
                related: Some(found.group_ids.into_iter().collect()),
            }
        }
        ResourceKind::Group => {
            let resource = ctx.store.get(&ctx.tenant, kind, id).await?;
            let related = if with_members {
                Some(
                    ctx.store
                        .group_members(&ctx.tenant, &resource.id)
                        .await?
                        .into_iter()
                        .collect(),
                )
            } else {
                None
            };
            Loaded { resource, related }
        }
    };
    Ok(loaded)
}

fn check_if_match(ctx: &Ctx<'_>, resource: &StoredResource) -> Result<(), ScimError> {
    match header(ctx.request, "if-match") {
        Some(wanted)
            if wanted.trim() != "*" && !wanted.split(',').any(|w| w.trim() == etag(resource)) =>
        {
            Err(ScimError::precondition_failed(format!(
                "If-Match {wanted} does not match the current version {}",
                etag(resource)
            )))
        }
        _ => Ok(()),
    }
}

/// Takes `members` out of a group's attributes: they are stored as their own items.
fn take_members(
    kind: ResourceKind,
    attributes: &mut Map<String, Value>,
) -> Result<Option<BTreeSet<String>>, ScimError> {
    match (kind, attributes.remove("members")) {
        (ResourceKind::Group, Some(value)) => member_ids(&value).map(Some),
        _ => Ok(None),
    }
}

pub(super) async fn create(ctx: &Ctx<'_>, kind: ResourceKind) -> Result<Response<Body>, ScimError> {
    let projection = projection(ctx)?;
    let mut attributes = normalize(kind, &json_body(ctx.request)?)?;
    let members = take_members(kind, &mut attributes)?.unwrap_or_default();
    let audit = ctx.audit_event(kind, None, 201);
    let resource = ctx
        .store
        .create(&ctx.tenant, kind, attributes, &members, &audit)
        .await?;
    ctx.mark_audited();
    let related = members
        .iter()
        .filter_map(|m| crate::store::parse_id(m))
        .collect();
    Ok(respond(
        ctx,
        201,
        &Loaded {
            resource,
            related: Some(related),
        },
        &projection,
    ))
}

pub(super) async fn get(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
) -> Result<Response<Body>, ScimError> {
    let projection = projection(ctx)?;
    let loaded = load(ctx, kind, id, projection.includes("members")).await?;
    Ok(respond(ctx, 200, &loaded, &projection))
}

pub(super) async fn list(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    search: Option<&Value>,
) -> Result<Response<Body>, ScimError> {
    let query = match search {
        Some(body) => ListQuery::from_search_body(kind, body)?,
        None => ListQuery::from_params(kind, &query_params(ctx.request))?,
    };
    respond_list(ctx, &[kind], &query).await
}

/// `POST /.search` at the root (RFC 7644 §3.4.3): users, then groups, paged as one list. A filter
/// that does not fit a kind's schema (`userName eq` for groups) selects nothing of that kind.
pub(super) async fn search_all(ctx: &Ctx<'_>, body: &Value) -> Result<Response<Body>, ScimError> {
    let mut usable = Vec::new();
    let mut first_error = None;
    for kind in [ResourceKind::User, ResourceKind::Group] {
        match ListQuery::from_search_body(kind, body) {
            Ok(query) => usable.push((kind, query)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some((_, query)) = usable.first() else {
        // No kind can answer: say why for users, the first kind tried.
        return Err(first_error.unwrap_or_else(|| ScimError::invalid_filter("unsupported filter")));
    };
    let kinds: Vec<ResourceKind> = usable.iter().map(|(kind, _)| *kind).collect();
    respond_list(ctx, &kinds, query).await
}

async fn respond_list(
    ctx: &Ctx<'_>,
    kinds: &[ResourceKind],
    query: &ListQuery,
) -> Result<Response<Body>, ScimError> {
    let lists = Lists {
        store: ctx.store,
        tenant: &ctx.tenant,
        base_url: &ctx.base_url,
        limits: ctx.limits,
    };
    let page = lists.run(kinds, query).await?;
    let resources = page
        .resources
        .iter()
        .map(|l| {
            query.projection.apply(
                l.resource.kind,
                to_scim(&ctx.base_url, &l.resource, l.related.as_ref()),
            )
        })
        .collect();
    Ok(response::json(
        200,
        &list_response(ListPageBody {
            total: page.total,
            start_index: page.start_index,
            count: query.count,
            resources,
            next_cursor: page.next_cursor,
        }),
    ))
}

pub(super) async fn replace(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
) -> Result<Response<Body>, ScimError> {
    let projection = projection(ctx)?;
    let mut attributes = normalize(kind, &json_body(ctx.request)?)?;
    // A PUT without `members` leaves them as they are: replacing them with nothing by omission
    // would empty groups on a careless client.
    let new_members = take_members(kind, &mut attributes)?;
    let changes = MemberChanges {
        replace_with: new_members,
        ..MemberChanges::default()
    };
    write_with_retry(ctx, kind, id, &projection, |_| {
        Ok((attributes.clone(), changes.clone()))
    })
    .await
}

pub(super) async fn patch(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
) -> Result<Response<Body>, ScimError> {
    let projection = projection(ctx)?;
    let ops = patch::parse_request(&json_body(ctx.request)?)?;
    let (changes, ops) = match kind {
        ResourceKind::Group => members::split(ops)?,
        ResourceKind::User => (MemberChanges::default(), ops),
    };
    write_with_retry(ctx, kind, id, &projection, |current| {
        let mut attributes = current.attributes.clone();
        patch::apply(kind, &mut attributes, &ops)?;
        Ok((
            normalize(kind, &Value::Object(attributes))?,
            changes.clone(),
        ))
    })
    .await
}

/// Read, compute the new attributes, write if still at the version read; on a lost race, again.
async fn write_with_retry(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
    projection: &Projection,
    compute: impl Fn(&StoredResource) -> Result<(Map<String, Value>, MemberChanges), ScimError>,
) -> Result<Response<Body>, ScimError> {
    let explicit_version = header(ctx.request, "if-match").is_some();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = load(ctx, kind, id, false).await?;
        check_if_match(ctx, &current.resource)?;
        let (attributes, changes) = compute(&current.resource)?;
        let (add, remove, known_members) = match &changes.replace_with {
            Some(wanted) => {
                let existing: BTreeSet<String> = ctx
                    .store
                    .group_members(&ctx.tenant, &current.resource.id)
                    .await?
                    .into_iter()
                    .collect();
                let wanted: BTreeSet<String> = wanted
                    .iter()
                    .map(|m| crate::store::parse_id(m).unwrap_or_else(|| m.clone()))
                    .collect();
                (
                    wanted.difference(&existing).cloned().collect(),
                    existing.difference(&wanted).cloned().collect(),
                    Some(wanted),
                )
            }
            None => (changes.add.clone(), changes.remove.clone(), None),
        };
        let unchanged =
            attributes == current.resource.attributes && add.is_empty() && remove.is_empty();
        let resource = if unchanged {
            current.resource
        } else {
            let audit = ctx.audit_event(kind, Some(&current.resource.id), 200);
            match ctx
                .store
                .update(
                    &ctx.tenant,
                    &current.resource,
                    attributes,
                    &add,
                    &remove,
                    &audit,
                )
                .await
            {
                Ok(updated) => {
                    ctx.mark_audited();
                    updated
                }
                // Lost a race with another write: re-read and re-apply, unless the client pinned
                // the version with If-Match (then the 412 is the answer).
                Err(StoreError::VersionConflict) if !explicit_version => {
                    if attempt >= WRITE_ATTEMPTS {
                        return Err(ScimError::new(
                            409,
                            None,
                            "the resource is being modified by other requests; retry",
                        ));
                    }
                    tokio::time::sleep(crate::store::backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let related = match kind {
            ResourceKind::User => current.related,
            ResourceKind::Group if !projection.includes("members") => None,
            ResourceKind::Group => match known_members {
                Some(all) => Some(all),
                // The index may lag the write just made: show this request's own changes for sure.
                None => {
                    let mut ids: BTreeSet<String> = ctx
                        .store
                        .group_members(&ctx.tenant, &resource.id)
                        .await?
                        .into_iter()
                        .collect();
                    ids.extend(add.iter().filter_map(|m| crate::store::parse_id(m)));
                    for gone in &remove {
                        ids.remove(gone);
                    }
                    Some(ids)
                }
            },
        };
        return Ok(respond(ctx, 200, &Loaded { resource, related }, projection));
    }
}

pub(super) async fn delete(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
) -> Result<Response<Body>, ScimError> {
    if header(ctx.request, "if-match").is_some() {
        let current = ctx.store.get(&ctx.tenant, kind, id).await?;
        check_if_match(ctx, &current)?;
    }
    let audit = ctx.audit_event(kind, Some(id), 204);
    match kind {
        ResourceKind::User => ctx.store.delete_user(&ctx.tenant, id, &audit).await?,
        ResourceKind::Group => ctx.store.delete_group(&ctx.tenant, id, &audit).await?,
    }
    ctx.mark_audited();
    Ok(response::with_headers(204, None, &[]))
}
