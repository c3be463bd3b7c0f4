//! `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes`.

use lambda_http::{Body, Response};
use serde_json::Value;

use super::request::Target;
use super::{response, Ctx};
use crate::protocol::discovery::*;
use crate::protocol::list::{list_response, ListPageBody};
use crate::protocol::ScimError;

pub(super) fn handle(ctx: &Ctx<'_>, target: &Target) -> Result<Response<Body>, ScimError> {
    let base = ctx.base_url.as_str();
    let body = match target {
        Target::ServiceProviderConfig => service_provider_config(base),
        Target::Schemas => listed(all_schemas_json(ctx.schemas, base)),
        Target::Schema(id) => schema_json(ctx.schemas, id, base)
            .ok_or_else(|| ScimError::not_found(format!("no schema \"{id}\"")))?,
        Target::ResourceTypes => listed(
            resource_types()
                .into_iter()
                .map(|k| resource_type(ctx.schemas, k, base))
                .collect(),
        ),
        Target::ResourceType(name) => find_resource_type(name)
            .map(|k| resource_type(ctx.schemas, k, base))
            .ok_or_else(|| ScimError::not_found(format!("no resource type \"{name}\"")))?,
        _ => return Err(ScimError::not_found("not a discovery endpoint")),
    };
    Ok(response::json(200, &body))
}

fn listed(items: Vec<Value>) -> Value {
    let n = items.len();
    list_response(ListPageBody {
        total: n,
        start_index: Some(1),
        count: n,
        resources: items,
        next_cursor: None,
    })
}
