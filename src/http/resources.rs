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
use crate::protocol::resource::{normalize_with, ResourceKind};
use crate::protocol::Precondition;
use crate::protocol::ScimError;
use crate::service::list::Lists;
use crate::service::resources::{
    path_id, Change, Resources, WriteCommand, WriteOp, WriteOutcome, WriteTarget,
};
use crate::service::{to_scim, Loaded};

fn projection(ctx: &Ctx<'_>) -> Result<Projection, ScimError> {
    let params = query_params(ctx.request);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Projection::parse(ctx.schemas, get("attributes"), get("excludedAttributes"))
}

fn respond(ctx: &Ctx<'_>, status: u16, loaded: &Loaded, projection: &Projection) -> Response<Body> {
    let body = projection.apply(
        ctx.schemas,
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
        schemas: ctx.schemas,
        base_url: &ctx.base_url,
    }
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
            projection.includes(ctx.schemas, "members"),
        )
        .await?;
    // RFC 7644 §3.14: unchanged since the version the client holds.
    let version = loaded.resource.version;
    let if_none_match = header(ctx.request, "if-none-match").map(Precondition::parse);
    if if_none_match.is_some_and(|p| p.names(version)) {
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
        Some(body) => ListQuery::from_search_body(ctx.schemas, kind, body)?,
        None => ListQuery::from_params(ctx.schemas, kind, &query_params(ctx.request))?,
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
        match ListQuery::search_across(ctx.schemas, kind, &ResourceKind::ALL, body) {
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
        schemas: ctx.schemas,
        base_url: &ctx.base_url,
        limits: ctx.limits,
    };
    let page = lists.run(kinds, query).await?;
    let resources = page
        .resources
        .iter()
        .map(|l| {
            query.projection.apply(
                ctx.schemas,
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

/// A create (`id` is `None`), replace, patch or delete: parsed here, run and audited by the
/// service whatever its outcome, rendered here.
pub(super) async fn write(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    op: WriteOp,
    id: Option<&str>,
) -> Result<Response<Body>, ScimError> {
    let (projection, command) = match parse_write(ctx, kind, op) {
        Ok((projection, command)) => (projection, Ok(command)),
        Err(e) => (Projection::default(), Err(e)),
    };
    let target = WriteTarget {
        kind,
        op,
        id,
        actor: ctx.actor.clone(),
    };
    Ok(match resources(ctx).write(&target, command).await? {
        WriteOutcome::Created(loaded) => respond(ctx, 201, &loaded, &projection),
        WriteOutcome::Updated(loaded) | WriteOutcome::Unchanged(loaded) => {
            respond(ctx, 200, &loaded, &projection)
        }
        WriteOutcome::MembersUnread(version) => {
            response::with_headers(204, None, &[("ETag", version.etag())])
        }
        WriteOutcome::Deleted => response::with_headers(204, None, &[]),
    })
}

/// The request's parameters, body and `If-Match`, in the order their errors are reported. A
/// delete has no body, and no representation to project.
fn parse_write(
    ctx: &Ctx<'_>,
    kind: ResourceKind,
    op: WriteOp,
) -> Result<(Projection, WriteCommand), ScimError> {
    let projection = match op {
        WriteOp::Delete => Projection::default(),
        _ => projection(ctx)?,
    };
    let change = match op {
        WriteOp::Create => {
            Change::Create(normalize_with(ctx.schemas, kind, &json_body(ctx.request)?)?)
        }
        WriteOp::Replace => {
            Change::Replace(normalize_with(ctx.schemas, kind, &json_body(ctx.request)?)?)
        }
        WriteOp::Patch => Change::Patch(patch::parse_request(
            ctx.schemas,
            kind,
            &json_body(ctx.request)?,
        )?),
        WriteOp::Delete => Change::Delete,
    };
    let command = WriteCommand {
        change,
        if_match: header(ctx.request, "if-match").map(Precondition::parse),
        show_members: projection.includes(ctx.schemas, "members"),
    };
    Ok((projection, command))
}
