//! HTTP glue between API Gateway (through `lambda_http`) and the protocol and store modules:
//! route → authenticate → handle → respond, with one structured log line per request.

pub mod admin;
mod discovery;
mod guard;
pub mod metrics;
pub mod oauth;
pub mod request;
mod resources;
pub mod response;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::auth::{self, AuthCache};
use crate::federation::jwks::Jwks;
use crate::federation::FederationPolicy;
use crate::protocol::resource::ResourceKind;
use crate::protocol::schema::SchemaSet;
use crate::protocol::{ScimError, TenantId};
use crate::service::list::Limits;
use crate::service::resources::WriteOp;
use crate::store::{counted, Actor, Store};
use request::{parse_route, Route, Target};

pub use guard::{guard, scim_panic_response};

/// Which routes a Lambda function serves; `All` serves everything (tests, a single local server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Users,
    Groups,
    Discovery,
    All,
}

impl Function {
    /// The function's name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Function::Users => "users",
            Function::Groups => "groups",
            Function::Discovery => "discovery",
            Function::All => "all",
        }
    }

    fn serves(self, target: &Target) -> bool {
        let kind = match target {
            Target::Collection(k) | Target::Search(k) | Target::Resource(k, _) => Some(*k),
            _ => None,
        };
        match self {
            Function::All => true,
            Function::Users => kind == Some(ResourceKind::User),
            Function::Groups => kind == Some(ResourceKind::Group),
            // Discovery also answers the root `/.search`, which spans resource types.
            Function::Discovery => kind.is_none(),
        }
    }
}

/// DynamoDB requests one SCIM request made: authenticating it (one GetItem, plus an update of the
/// credential's last use at most once a minute), and handling it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCost {
    pub auth: u32,
    pub handler: u32,
}

/// Everything a handler needs, built once per process.
#[derive(Debug, Clone)]
pub struct App {
    pub store: Store,
    pub function: Function,
    pub limits: Limits,
    /// The schemas every request is served with.
    pub schemas: Arc<SchemaSet>,
    /// The IdPs' signing keys this instance has fetched (the token endpoint's federation).
    pub jwks: Arc<Jwks>,
    /// Credentials this instance verified in the last few seconds.
    pub auth_cache: Arc<AuthCache>,
}

/// A request that passed routing and authentication.
pub(crate) struct Ctx<'a> {
    pub store: &'a Store,
    pub schemas: &'a SchemaSet,
    pub tenant: TenantId,
    pub base_url: String,
    pub request: &'a Request,
    /// Who authenticated the request (a credential, or an OAuth client's access token): the
    /// actor of its audit events.
    pub actor: Actor,
    pub limits: Limits,
}

impl App {
    pub fn new(store: Store, function: Function) -> Self {
        App {
            store,
            function,
            limits: Limits::default(),
            schemas: SchemaSet::shared(),
            jwks: Jwks::new(FederationPolicy::from_env()),
            auth_cache: Arc::new(AuthCache::from_env()),
        }
    }

    /// The same app remembering verified credentials for `ttl` (at most 5 s).
    pub fn with_auth_cache(self, ttl: std::time::Duration) -> Self {
        App {
            auth_cache: Arc::new(AuthCache::new(ttl)),
            ..self
        }
    }

    /// The same app with another federation policy (tests allow their loopback JWKS).
    pub fn with_federation(self, policy: FederationPolicy) -> Self {
        App {
            jwks: Jwks::new(policy),
            ..self
        }
    }

    /// The same app with other list limits (tests reach them without seeding 10,000 users).
    pub fn with_limits(self, limits: Limits) -> Self {
        App { limits, ..self }
    }

    /// The same app serving other schemas (the standard set with a tenant's extensions).
    pub fn with_schemas(self, schemas: Arc<SchemaSet>) -> Self {
        App { schemas, ..self }
    }

    /// Handles one request. Never fails: every error becomes a SCIM error response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        self.handle_counted(request).await.0
    }

    /// One Lambda invocation: `handle`, with a panic in it answered 500 (the instance goes on),
    /// and its metrics line.
    pub async fn invoke(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let tenant =
            parse_route(request.uri().path()).and_then(|route| TenantId::parse(&route.tenant).ok());
        let (response, cost) = guard(self.handle_counted(request), || {
            (scim_panic_response(), RequestCost::default())
        })
        .await;
        metrics::emit(&metrics::RequestMetrics {
            function: self.function.name(),
            tenant: tenant.as_ref().map(TenantId::as_str),
            status: response.status().as_u16(),
            ddb_requests: cost.auth + cost.handler,
            latency: started.elapsed(),
        });
        response
    }

    /// `handle`, also returning the DynamoDB requests it made.
    pub async fn handle_counted(&self, request: Request) -> (Response<Body>, RequestCost) {
        let started = Instant::now();
        let auth_requests = AtomicU32::new(0);
        // Boxed: the handlers' state machines are large, and a caller's stack should not hold them.
        let (outcome, handler) = counted(Box::pin(self.dispatch(&request, &auth_requests))).await;
        let cost = RequestCost {
            auth: auth_requests.load(Ordering::Relaxed),
            handler,
        };
        let response = outcome.unwrap_or_else(|e| response::error(&e));
        tracing::info!(
            method = %request.method(),
            path = request.uri().path(),
            status = response.status().as_u16(),
            ddb_requests = cost.auth + cost.handler,
            duration_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        (response, cost)
    }

    async fn dispatch(
        &self,
        request: &Request,
        auth_requests: &AtomicU32,
    ) -> Result<Response<Body>, ScimError> {
        // A tenant's OAuth routes: OAuth clients, not SCIM ones, authenticate there.
        let oauth_route = oauth::parse_path(request.uri().path())
            .filter(|_| matches!(self.function, Function::Discovery | Function::All));
        if let Some((tenant, target)) = oauth_route {
            return Ok(oauth::handle(&self.store, &self.jwks, request, tenant, target).await);
        }
        let Route { tenant, target } = parse_route(request.uri().path())
            .filter(|r| self.function.serves(&r.target))
            .ok_or_else(|| {
                ScimError::not_found(format!(
                    "no SCIM endpoint at {}; expected /{{tenantId}}/scim/v2/{{Users|Groups|ServiceProviderConfig|Schemas|ResourceTypes}}",
                    request.uri().path()
                ))
            })?;
        check_method(request.method(), &target)?;
        // Tenant ids are ULIDs; anything else is answered like an unknown tenant.
        let tenant = TenantId::parse(&tenant).ok();
        // Counted apart: the cost targets are per SCIM operation, authentication aside.
        let header = request::header(request, "authorization");
        let (authenticated, n) = counted(auth::authenticate(
            &self.store,
            &self.auth_cache,
            tenant.as_ref(),
            header,
        ))
        .await;
        auth_requests.store(n, Ordering::Relaxed);
        let authenticated = authenticated?;
        let tenant = authenticated.tenant_id;
        let ctx = Ctx {
            store: &self.store,
            schemas: &self.schemas,
            base_url: request::base_url(request, &tenant),
            tenant,
            request,
            actor: authenticated.actor,
            limits: self.limits,
        };
        route(&ctx, &target).await
    }
}

/// Sends an authenticated request to its handler.
async fn route(ctx: &Ctx<'_>, target: &Target) -> Result<Response<Body>, ScimError> {
    let request = ctx.request;
    match target {
        Target::Collection(kind) if request.method() == Method::GET => {
            resources::list(ctx, *kind, None).await
        }
        Target::Collection(kind) => resources::write(ctx, *kind, WriteOp::Create, None).await,
        Target::Search(kind) => {
            let body = request::json_body(request)?;
            resources::list(ctx, *kind, Some(&body)).await
        }
        Target::SearchAll => {
            let body = request::json_body(request)?;
            resources::search_all(ctx, &body).await
        }
        Target::Resource(kind, id) => match *request.method() {
            Method::GET => resources::get(ctx, *kind, id).await,
            Method::PUT => resources::write(ctx, *kind, WriteOp::Replace, Some(id)).await,
            Method::PATCH => resources::write(ctx, *kind, WriteOp::Patch, Some(id)).await,
            _ => resources::write(ctx, *kind, WriteOp::Delete, Some(id)).await,
        },
        other => discovery::handle(ctx, other),
    }
}

fn check_method(method: &Method, target: &Target) -> Result<(), ScimError> {
    let allowed: &[Method] = match target {
        Target::Collection(_) => &[Method::GET, Method::POST],
        Target::Search(_) | Target::SearchAll => &[Method::POST],
        Target::Resource(..) => &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
        _ => &[Method::GET],
    };
    if allowed.contains(method) {
        return Ok(());
    }
    let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    Err(ScimError::method_not_allowed(
        format!("{method} is not allowed here; allowed: {}", list.join(", ")),
        &list,
    ))
}

/// The body of each Lambda `main`: build the client once, then serve.
pub async fn serve(function: Function) -> Result<(), lambda_http::Error> {
    crate::telemetry::init_tracing();
    guard::log_panics();
    let app = App::new(Store::from_env().await?, function);
    let app = &app;
    lambda_http::run(lambda_http::service_fn(
        move |request: Request| async move {
            Ok::<_, std::convert::Infallible>(app.invoke(request).await)
        },
    ))
    .await
}
