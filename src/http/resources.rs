//! `/Users` and `/Groups`: parse each request, call the service (`service::resources`,
//! `service::list`) and render its answer. Users carry their (read-only) `groups`; groups carry
//! `members`, which are only read when the response will show them.

use lambda_http::{Body, Response};
use serde_json::Value;

use super::request::{header, json_body, query_params};
use super::{response, Ctx};
use crate::protocol::list::{list_response, ListPageBody, ListQuery};
use crate::protocol::patch;
use crate::protocol::projection::Projection;
use crate::protocol::resource::{normalize, ResourceKind};
use crate::protocol::schema::SchemaSet;
use crate::protocol::ScimError;
use crate::service::list::Lists;
use crate::service::resources::{names_version, path_id, Resources, Written};
use crate::service::{to_scim, Loaded};

fn projection(ctx: &Ctx<'_>) -> Result<Projection, ScimError> {
    let params = query_params(ctx.request);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Projection::parse(
        SchemaSet::standard(),
        get("attributes"),
        get("excludedAttributes"),
    )
}

fn respond(ctx: &Ctx<'_>, status: u16, loaded: &Loaded, projection: &Projection) -> Response<Body> {
    let body = projection.apply(
        SchemaSet::standard(),
        loaded.resource.kind,
        to_scim(&ctx.base_url, &loaded.resource, loaded.related.as_ref()),
    );
    let mut headers = vec![("ETag", loaded.resource.version.etag())];
    if status == 201 {
        if let Some(location) = body.pointer("/meta/location").and_then(Value::as_str) {
            headers.push(("Location", location.to_string()));
        }
    }
    response::with_headers(status, Some(&body), &headers)
}

fn resources<'a>(ctx: &'a Ctx<'_>) -> Resources<'a> {
    Resources {
        store: ctx.store,
        tenant: &ctx.tenant,
        base_url: &ctx.base_url,
    }
}

pub(super) async fn create(ctx: &Ctx<'_>, kind: ResourceKind) -> Result<Response<Body>, ScimError> {
    let projection = projection(ctx)?;
    let attributes = normalize(kind, &json_body(ctx.request)?)?;
    let audit = ctx.audit_event(kind, None, 201);
    let loaded = resources(ctx).create(kind, attributes, &audit).await?;
    ctx.mark_audited();
    Ok(respond(ctx, 201, &loaded, &projection))
}

pub(super) async fn get(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
) -> Result<Response<Body>, ScimError> {
    let projection = projection(ctx)?;
    let loaded = resources(ctx)
        .load(
            kind,
            &path_id(id)?,
            projection.includes(SchemaSet::standard(), "members"),
        )
        .await?;
    // RFC 7644 §3.14: unchanged since the version the client holds.
    let version = loaded.resource.version;
    if header(ctx.request, "if-none-match").is_some_and(|h| names_version(h, version)) {
        let headers = [("ETag", version.etag())];
        return Ok(response::with_headers(304, None, &headers));
    }
    Ok(respond(ctx, 200, &loaded, &projection))
}

pub(super) async fn list(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    search: Option<&Value>,
) -> Result<Response<Body>, ScimError> {
    let query = match search {
        Some(body) => ListQuery::from_search_body(SchemaSet::standard(), kind, body)?,
        None => ListQuery::from_params(SchemaSet::standard(), kind, &query_params(ctx.request))?,
    };
    respond_list(ctx, &[kind], &query).await
}

/// `POST /.search` at the root (RFC 7644 §3.4.3): users, then groups, paged as one list. A
/// condition on an attribute a type lacks (`userName` for groups) is false for that type.
pub(super) async fn search_all(ctx: &Ctx<'_>, body: &Value) -> Result<Response<Body>, ScimError> {
    let mut kinds = Vec::new();
    let mut query = None;
    let mut first_error = None;
    for kind in ResourceKind::ALL {
        match ListQuery::search_across(SchemaSet::standard(), kind, &ResourceKind::ALL, body) {
            Ok((q, can_match)) => {
                if can_match {
                    kinds.push(kind);
                }
                query.get_or_insert(q);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match query {
        Some(query) => respond_list(ctx, &kinds, &query).await,
        // No type can answer: say why for users, the first type tried.
        None => Err(first_error.unwrap_or_else(|| ScimError::invalid_filter("unsupported filter"))),
    }
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
                SchemaSet::standard(),
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
    let attributes = normalize(kind, &json_body(ctx.request)?)?;
    let written = resources(ctx)
        .replace(
            kind,
            id,
            attributes,
            header(ctx.request, "if-match"),
            projection.includes(SchemaSet::standard(), "members"),
            &ctx.audit_event(kind, Some(id), 200),
        )
        .await?;
    respond_written(ctx, &written, &projection)
}

pub(super) async fn patch(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
) -> Result<Response<Body>, ScimError> {
    let projection = projection(ctx)?;
    let ops = patch::parse_request(SchemaSet::standard(), &json_body(ctx.request)?)?;
    let written = resources(ctx)
        .patch(
            kind,
            id,
            ops,
            header(ctx.request, "if-match"),
            projection.includes(SchemaSet::standard(), "members"),
            &ctx.audit_event(kind, Some(id), 200),
        )
        .await?;
    respond_written(ctx, &written, &projection)
}

fn respond_written(
    ctx: &Ctx<'_>,
    written: &Written,
    projection: &Projection,
) -> Result<Response<Body>, ScimError> {
    if written.wrote {
        ctx.mark_audited();
    }
    if written.members_unread {
        let etag = written.loaded.resource.version.etag();
        return Ok(response::with_headers(204, None, &[("ETag", etag)]));
    }
    Ok(respond(ctx, 200, &written.loaded, projection))
}

pub(super) async fn delete(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    id: &str,
) -> Result<Response<Body>, ScimError> {
    let audit = ctx.audit_event(kind, Some(id), 204);
    resources(ctx)
        .delete(kind, id, header(ctx.request, "if-match"), &audit)
        .await?;
    ctx.mark_audited();
    Ok(response::with_headers(204, None, &[]))
}
