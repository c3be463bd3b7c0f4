//! `scimctl`: administer tenants, provisioning, SCIM tokens and the audit trail, directly in the
//! table, against whatever endpoint the standard AWS configuration (or `--endpoint`) points at.
//! The tenant, provisioning, token and audit commands run the same `admin` code as the admin API,
//! and `--json` prints what the API returns; `token check` authenticates as a SCIM request does,
//! and `check` (a maintenance scan of the table) has no API counterpart.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::json;

use scim_serverless::domain::Timestamp;
use scim_serverless::protocol::{ClientId, CredentialId, TenantId};
use scim_serverless::service::admin::{
    self, Admin, AdminError, AuditPage, CredentialView, NewCredential, TenantDetail, TenantView,
};
use scim_serverless::service::feed::{ChangeEventView, EventsPage, EventsRequest};
use scim_serverless::service::oauth::{self, NewClient, NewFederation, OAuthClientView};
use scim_serverless::store::{AuditQuery, CheckReport, CredentialStatus, Store};

#[derive(Parser)]
#[command(
    name = "scimctl",
    about = "Administer SCIM tenants, provisioning, tokens, OAuth clients and the audit trail",
    version
)]
struct Cli {
    /// DynamoDB endpoint (default: the standard AWS configuration, e.g. AWS_ENDPOINT_URL_DYNAMODB).
    #[arg(long, global = true)]
    endpoint: Option<String>,
    /// Table name.
    #[arg(long, global = true, env = "TABLE_NAME", default_value = "scim")]
    table: String,
    /// Machine-readable output: the admin API's JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table if it does not exist (local development).
    Table {
        #[command(subcommand)]
        action: TableAction,
    },
    /// Create, list, show and delete tenants.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Turn SCIM provisioning on or off for a tenant.
    Provisioning {
        #[command(subcommand)]
        action: ProvisioningAction,
    },
    /// Manage a tenant's SCIM bearer tokens (at most two).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Manage a tenant's OAuth 2.0 clients (at most two) and their secrets.
    Oauth {
        #[command(subcommand)]
        action: OauthAction,
    },
    /// A tenant's audit events, newest first: who wrote what, and the outcome.
    Audit {
        tenant: String,
        /// Only events of this credential.
        #[arg(long)]
        credential: Option<String>,
        /// Only events since an RFC 3339 time, a date (UTC), or a span back from now: 30m, 12h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// Events per page.
        #[arg(long, default_value_t = admin::DEFAULT_AUDIT_PAGE)]
        limit: usize,
        /// Where to go on from (the `nextCursor` a previous page printed).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// A tenant's change events (RFC 9967 SETs), oldest first; --follow keeps printing new ones.
    Events {
        tenant: String,
        /// Events since an RFC 3339 time, a date (UTC), or a span back from now: 30m, 12h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// Where to go on from (the `nextCursor` a previous page printed).
        #[arg(long)]
        cursor: Option<String>,
        /// Events per page.
        #[arg(long, default_value_t = admin::DEFAULT_AUDIT_PAGE)]
        limit: usize,
        /// Keep reading new events, about once a second, until Ctrl-C.
        #[arg(long)]
        follow: bool,
    },
    /// Verify every invariant of a tenant's data (name guards, memberships, counters, index
    /// attributes); exit 1 if a problem remains. Scans the table in pages, with progress.
    Check {
        tenant: String,
        /// Fix what is safe to fix: orphan guards and memberships, counters, index attributes.
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Subcommand)]
enum TableAction {
    Create,
    /// Print the table definition (CloudFormation shape) the local stack creates.
    Definition,
}

#[derive(Subcommand)]
enum TenantAction {
    /// Create a tenant (provisioning on, no token yet); prints its id and SCIM base path.
    Create { name: String },
    /// List every tenant.
    List,
    /// Show a tenant, its provisioning state and its credentials.
    Show { tenant: String },
    /// Delete a tenant with all its users, groups, memberships, credentials and audit events.
    Delete {
        tenant: String,
        /// Confirm: without it nothing is deleted.
        #[arg(long)]
        yes: bool,
    },
    /// Accept OAuth access tokens only (`on`: the static tokens stop working at once), or both.
    OauthOnly { tenant: String, mode: OnOff },
    /// How long the access tokens of the tenant's token endpoint live: 1 to 6 hours.
    TokenLifetime { tenant: String, hours: u32 },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Subcommand)]
enum ProvisioningAction {
    /// Turn provisioning on; prints the SCIM endpoint and a first token, once.
    Enable {
        tenant: String,
        #[command(flatten)]
        new: NewCredentialArgs,
    },
    /// Turn provisioning off: every token stops working and is deleted; users and groups stay.
    Disable { tenant: String },
    /// Show whether provisioning is on, the endpoint, and the credentials.
    Status { tenant: String },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a bearer token; it is printed once and never again.
    Create {
        tenant: String,
        #[command(flatten)]
        new: NewCredentialArgs,
    },
    /// List a tenant's credentials (never their secrets); `!` marks expiry within 90 days.
    List { tenant: String },
    /// Stop a credential from authenticating; it can be enabled again.
    Disable { tenant: String, credential: String },
    /// Let a disabled credential authenticate again.
    Enable { tenant: String, credential: String },
    /// Delete a credential for good, freeing its slot.
    Delete { tenant: String, credential: String },
    /// Rotate: without --finish, issue the new token (printed once); after the IdP uses it,
    /// --finish disables and then deletes the old one.
    Rotate {
        tenant: String,
        /// Remove the old credential (refused while it was used more recently than the new one).
        #[arg(long)]
        finish: bool,
        /// With --finish: remove the old credential even if it is still in use.
        #[arg(long, requires = "finish")]
        force: bool,
        #[command(flatten)]
        new: NewCredentialArgs,
    },
    /// Check that a token authenticates for a tenant, as a SCIM request would (exit 1 if not).
    Check { tenant: String, token: String },
}

#[derive(Subcommand)]
enum OauthAction {
    /// OAuth clients: create (prints its first secret once), list, disable, enable, delete.
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// A client's secrets (at most two, so a rotation overlaps): add (printed once), delete.
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
    /// A client's federated credentials (workload identity federation, RFC 7523): add, delete.
    Federation {
        #[command(subcommand)]
        action: FederationAction,
    },
}

#[derive(Subcommand)]
enum FederationAction {
    /// Let assertions that ISSUER signs with a key from its JWKS URL, about SUBJECT, for
    /// AUDIENCE, authenticate the client (Entra: issuer https://login.microsoftonline.com/<tenant
    /// id>/v2.0, its /discovery/v2.0/keys URL, the provisioning service's object id, api://<app>).
    Add {
        tenant: String,
        client: String,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        jwks_url: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        audience: String,
    },
    /// Delete a federated credential: its assertions and the tokens issued for them stop working.
    Delete {
        tenant: String,
        client: String,
        federation: String,
    },
}

#[derive(Subcommand)]
enum ClientAction {
    /// Create a client with its first secret; prints the client id, the secret (once), the
    /// token endpoint and the SCIM URL.
    Create {
        tenant: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Days until the first secret expires (30 to 1095).
        #[arg(long, default_value_t = oauth::DEFAULT_SECRET_DAYS, conflicts_with = "no_secret")]
        secret_expires_in_days: u32,
        /// Create it without a secret, for federated credentials only.
        #[arg(long)]
        no_secret: bool,
    },
    /// List a tenant's clients and their secrets (never the secrets themselves).
    List { tenant: String },
    /// Stop a client from getting tokens; it can be enabled again.
    Disable { tenant: String, client: String },
    /// Let a disabled client get tokens again.
    Enable { tenant: String, client: String },
    /// Delete a client and its secrets for good, freeing its slot.
    Delete { tenant: String, client: String },
}

#[derive(Subcommand)]
enum SecretAction {
    /// Add a secret to a client; it is printed once and never again.
    Add {
        tenant: String,
        client: String,
        /// Days until it expires (30 to 1095).
        #[arg(long, default_value_t = oauth::DEFAULT_SECRET_DAYS)]
        expires_in_days: u32,
    },
    /// Delete a secret: it gets no token from then on.
    Delete {
        tenant: String,
        client: String,
        secret: String,
    },
}

#[derive(Args)]
struct NewCredentialArgs {
    #[arg(long, default_value = "")]
    description: String,
    /// Days until the token expires; 0 means never.
    #[arg(long, default_value_t = admin::DEFAULT_TOKEN_DAYS, conflicts_with = "no_expiry")]
    expires_in_days: u32,
    /// The token never expires (same as --expires-in-days 0).
    #[arg(long)]
    no_expiry: bool,
}

impl NewCredentialArgs {
    fn spec(&self) -> NewCredential {
        NewCredential {
            description: self.description.clone(),
            expires_in_days: if self.no_expiry {
                0
            } else {
                self.expires_in_days
            },
        }
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    if let Command::Table {
        action: TableAction::Definition,
    } = cli.command
    {
        println!("{}", scim_serverless::store::table::definition());
        return Ok(());
    }
    let store = Store::connect(cli.endpoint.as_deref(), &cli.table).await;
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    // OAuth endpoints are named under the deployment's URL when it is configured.
    let root = std::env::var("PUBLIC_BASE_URL").unwrap_or_default();
    let admin = Admin::new(store, format!("scimctl:{user}")).with_public_root(root);
    let out = Output { json: cli.json };
    match cli.command {
        Command::Table { .. } => {
            let created = scim_serverless::store::table::ensure_table(
                admin.store().client(),
                admin.store().table(),
            )
            .await?;
            let table = admin.store().table();
            out.print(&json!({"table": table, "created": created}), |_| {
                let state = if created { "created" } else { "already exists" };
                format!("table {} {state}", cell(table))
            })
        }
        Command::Tenant { action } => match action {
            TenantAction::Create { name } => {
                out.print(&admin.create_tenant(&name).await?, tenant_text)
            }
            TenantAction::List => out.print(&admin.list_tenants().await?, |list| {
                list.tenants
                    .iter()
                    .map(|t| {
                        format!(
                            "{}  {:<8}  {}  {}",
                            t.tenant_id,
                            t.provisioning.as_str(),
                            t.created,
                            cell(&t.name)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            TenantAction::Show { tenant } => {
                let detail = admin.show_tenant(&parse_tenant(&tenant)?).await?;
                out.print(&detail, tenant_detail_text)
            }
            TenantAction::Delete { tenant, yes } => {
                if !yes {
                    return Err(format!(
                        "this deletes tenant {tenant} for good: all of its users, groups, \
                         memberships, credentials and audit events. Run again with --yes to do it"
                    )
                    .into());
                }
                let mut last = 0;
                let report = admin
                    .delete_tenant(&parse_tenant(&tenant)?, usize::MAX, |p| {
                        if p.items() > last || p.complete {
                            last = p.items();
                            eprintln!(
                                "deleted {} credential(s), {} group(s), {} user(s), {} membership(s), \
                                 {} name guard(s), {} audit event(s){}",
                                p.credentials,
                                p.groups,
                                p.users,
                                p.memberships,
                                p.guards,
                                p.audit_events,
                                if p.complete { "; tenant deleted" } else { "…" }
                            );
                        }
                    })
                    .await?;
                out.print(&report, |r| format!("tenant {} deleted", r.tenant_id))
            }
            TenantAction::OauthOnly { tenant, mode } => {
                let on = matches!(mode, OnOff::On);
                let changed = admin.set_oauth_only(&parse_tenant(&tenant)?, on).await?;
                out.print(&changed, |c| tenant_text(&c.tenant))
            }
            TenantAction::TokenLifetime { tenant, hours } => {
                let changed = admin
                    .set_access_token_lifetime(&parse_tenant(&tenant)?, hours)
                    .await?;
                out.print(&changed, |c| tenant_text(&c.tenant))
            }
        },
        Command::Provisioning { action } => match action {
            ProvisioningAction::Enable { tenant, new } => {
                let tenant = parse_tenant(&tenant)?;
                let enabled = admin.enable_provisioning(&tenant, &new.spec()).await?;
                out.print(&enabled, |e| {
                    format!(
                        "provisioning enabled for {}\nSCIM base path {}\n{}",
                        e.tenant_id,
                        cell(&e.scim_base_path),
                        token_text(&e.credential, &e.token)
                    )
                })
            }
            ProvisioningAction::Disable { tenant } => {
                let disabled = admin.disable_provisioning(&parse_tenant(&tenant)?).await?;
                out.print(&disabled, |d| {
                    format!(
                        "provisioning disabled for {}; {} credential(s) deleted; users and groups kept",
                        d.tenant_id, d.deleted_credentials
                    )
                })
            }
            ProvisioningAction::Status { tenant } => {
                let detail = admin.provisioning_status(&parse_tenant(&tenant)?).await?;
                out.print(&detail, tenant_detail_text)
            }
        },
        Command::Token { action } => match action {
            TokenAction::Create { tenant, new } => {
                let tenant = parse_tenant(&tenant)?;
                let issued = admin.create_credential(&tenant, &new.spec()).await?;
                out.print(&issued, |i| token_text(&i.credential, &i.token))
            }
            TokenAction::List { tenant } => {
                let list = admin.list_credentials(&parse_tenant(&tenant)?).await?;
                out.print(&list, |l| credential_table(&l.credentials))
            }
            TokenAction::Disable { tenant, credential } => {
                let (tenant, credential) = parse_credential_of(&tenant, &credential)?;
                let changed = admin
                    .set_credential_status(&tenant, &credential, CredentialStatus::Disabled)
                    .await?;
                out.print(&changed, |c| {
                    format!("credential {} disabled", c.credential.id)
                })
            }
            TokenAction::Enable { tenant, credential } => {
                let (tenant, credential) = parse_credential_of(&tenant, &credential)?;
                let changed = admin
                    .set_credential_status(&tenant, &credential, CredentialStatus::Enabled)
                    .await?;
                out.print(&changed, |c| {
                    format!("credential {} enabled", c.credential.id)
                })
            }
            TokenAction::Delete { tenant, credential } => {
                let (tenant, credential) = parse_credential_of(&tenant, &credential)?;
                let deleted = admin.delete_credential(&tenant, &credential).await?;
                out.print(&deleted, |d| {
                    format!("credential {} deleted", d.credential_id)
                })
            }
            TokenAction::Rotate {
                tenant,
                finish: false,
                new,
                ..
            } => {
                let tenant = parse_tenant(&tenant)?;
                let started = admin.start_rotation(&tenant, &new.spec()).await?;
                out.print(&started, |r| {
                    format!(
                        "{}\nreplaces credential {}\nnext: {}",
                        token_text(&r.issued.credential, &r.issued.token),
                        r.replaces,
                        cell(&r.next)
                    )
                })
            }
            TokenAction::Rotate {
                tenant,
                finish: true,
                force,
                ..
            } => {
                let finished = admin
                    .finish_rotation(&parse_tenant(&tenant)?, force)
                    .await?;
                out.print(&finished, |f| {
                    format!(
                        "rotation finished: credential {} disabled and deleted; {} remains",
                        f.removed_credential_id, f.credential.id
                    )
                })
            }
            TokenAction::Check { tenant, token } => {
                let header = format!("Bearer {token}");
                // A tenant id that is not a ULID gets the same 401 as a bad token.
                let tenant = TenantId::parse(&tenant).ok();
                let credential = scim_serverless::auth::authenticate_credential(
                    admin.store(),
                    tenant.as_ref(),
                    Some(&header),
                )
                .await
                .map_err(|e| e.detail)?;
                out.print(
                    &json!({"valid": true, "credentialId": credential.id}),
                    |_| format!("valid: credential {}", credential.id),
                )
            }
        },
        Command::Oauth { action } => run_oauth(&admin, &out, action).await,
        Command::Audit {
            tenant,
            credential,
            since,
            limit,
            cursor,
        } => {
            let query = AuditQuery {
                credential_id: credential,
                since: since.as_deref().map(admin::parse_since).transpose()?,
                cursor,
                limit,
            };
            let page = admin.audit_events(&parse_tenant(&tenant)?, &query).await?;
            out.print(&page, audit_table)
        }
        Command::Events {
            tenant,
            since,
            cursor,
            limit,
            follow,
        } => {
            let tenant = parse_tenant(&tenant)?;
            let mut request = EventsRequest {
                cursor,
                since,
                limit,
            };
            loop {
                let page = admin.change_events(&tenant, &request).await?;
                let json = out.json;
                if page.behind && !json {
                    eprintln!(
                        "(more events than a cursor can name are less than a minute old: the \
                         next pages go on as they settle; none is skipped)"
                    );
                }
                // Following, a poll that found nothing prints nothing.
                if json && !(follow && page.events.is_empty()) {
                    println!("{}", wire(&FollowPage::from(&page))?);
                } else if !json {
                    for e in &page.events {
                        println!(
                            "{}  {:<45}  {:<6}  {}  v{}",
                            e.time,
                            cell(&e.uri),
                            cell(&e.resource_type),
                            e.resource_id,
                            e.version
                        );
                    }
                }
                if !follow {
                    if !json {
                        println!("next: --cursor '{}'", page.next_cursor);
                    }
                    return Ok(());
                }
                request.cursor = Some(page.next_cursor.clone());
                // A full page: more are waiting, read on at once.
                if page.events.len() < limit {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
        Command::Check { tenant, repair } => {
            let tenant =
                TenantId::parse(&tenant).map_err(|_| format!("{tenant} is not a tenant id"))?;
            let report = admin
                .check(&tenant, repair, |p| {
                    eprintln!(
                        "scanned {} item(s) in {} page(s), {} of this tenant",
                        p.items_scanned, p.pages, p.tenant_items
                    )
                })
                .await?;
            let unresolved = report.unresolved();
            out.print(&report, check_table)?;
            if unresolved > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn run_oauth(
    admin: &Admin,
    out: &Output,
    action: OauthAction,
) -> Result<(), Box<dyn std::error::Error>> {
    match action {
        OauthAction::Client { action } => match action {
            ClientAction::Create {
                tenant,
                description,
                secret_expires_in_days,
                no_secret,
            } => {
                let new = NewClient {
                    description,
                    secret_expires_in_days: (!no_secret).then_some(secret_expires_in_days),
                };
                let issued = admin.create_client(&parse_tenant(&tenant)?, &new).await?;
                out.print(&issued, |i| {
                    let secret = match (&i.client_secret, &i.secret_id, &i.secret_expires_at) {
                        (Some(secret), Some(id), Some(expires)) => {
                            format!("client secret {secret}\nsecret id {id} (expires {expires})\n")
                        }
                        _ => "no secret: add a federated credential \
                              (scimctl oauth federation add)\n"
                            .into(),
                    };
                    let shown_once = match i.client_secret {
                        Some(_) => "\n(the secret is shown once: store it now)",
                        None => "",
                    };
                    format!(
                        "client id {}\n{secret}token endpoint {}\nSCIM URL {}{shown_once}",
                        i.client_id,
                        cell(&i.token_endpoint),
                        cell(&i.scim_url)
                    )
                })
            }
            ClientAction::List { tenant } => {
                let list = admin.list_clients(&parse_tenant(&tenant)?).await?;
                out.print(&list, |l| client_table(&l.clients))
            }
            ClientAction::Disable { tenant, client } => {
                let (tenant, client) = parse_client_of(&tenant, &client)?;
                let changed = admin
                    .set_client_status(&tenant, &client, CredentialStatus::Disabled)
                    .await?;
                out.print(&changed, |c| {
                    format!("OAuth client {} disabled", c.client.client_id)
                })
            }
            ClientAction::Enable { tenant, client } => {
                let (tenant, client) = parse_client_of(&tenant, &client)?;
                let changed = admin
                    .set_client_status(&tenant, &client, CredentialStatus::Enabled)
                    .await?;
                out.print(&changed, |c| {
                    format!("OAuth client {} enabled", c.client.client_id)
                })
            }
            ClientAction::Delete { tenant, client } => {
                let (tenant, client) = parse_client_of(&tenant, &client)?;
                let deleted = admin.delete_client(&tenant, &client).await?;
                out.print(&deleted, |d| {
                    format!("OAuth client {} deleted", d.client_id)
                })
            }
        },
        OauthAction::Secret { action } => match action {
            SecretAction::Add {
                tenant,
                client,
                expires_in_days,
            } => {
                let (tenant, client) = parse_client_of(&tenant, &client)?;
                let added = admin
                    .add_client_secret(&tenant, &client, expires_in_days)
                    .await?;
                out.print(&added, |a| {
                    format!(
                        "client secret {}\nsecret id {} (expires {})\n(shown once: store it now)",
                        a.client_secret, a.secret_id, a.secret_expires_at
                    )
                })
            }
            SecretAction::Delete {
                tenant,
                client,
                secret,
            } => {
                let (tenant, client) = parse_client_of(&tenant, &client)?;
                let secret = oauth::parse_secret(&client, &secret)?;
                let changed = admin
                    .delete_client_secret(&tenant, &client, &secret)
                    .await?;
                out.print(&changed, |c| {
                    format!(
                        "secret {secret} of OAuth client {} deleted; {} left",
                        c.client.client_id,
                        c.client.secrets.len()
                    )
                })
            }
        },
        OauthAction::Federation { action } => match action {
            FederationAction::Add {
                tenant,
                client,
                issuer,
                jwks_url,
                subject,
                audience,
            } => {
                let (tenant, client) = parse_client_of(&tenant, &client)?;
                let new = NewFederation {
                    issuer,
                    jwks_url,
                    subject,
                    audience,
                };
                let added = admin.add_federation(&tenant, &client, &new).await?;
                out.print(&added, |a| {
                    format!(
                        "federated credential {} added to OAuth client {}\n\
                         client id {}\ntoken endpoint {}\nSCIM URL {}",
                        a.federation_id,
                        a.client_id,
                        a.client_id,
                        cell(&a.token_endpoint),
                        cell(&a.scim_url)
                    )
                })
            }
            FederationAction::Delete {
                tenant,
                client,
                federation,
            } => {
                let (tenant, client) = parse_client_of(&tenant, &client)?;
                let federation = oauth::parse_federation(&client, &federation)?;
                let changed = admin
                    .delete_federation(&tenant, &client, &federation)
                    .await?;
                out.print(&changed, |c| {
                    format!(
                        "federated credential {federation} of OAuth client {} deleted; {} left",
                        c.client.client_id,
                        c.client.federations.len()
                    )
                })
            }
        },
    }
}

fn parse_client_of(tenant: &str, client: &str) -> Result<(TenantId, ClientId), AdminError> {
    let tenant = admin::parse_tenant(tenant)?;
    let client = oauth::parse_client(&tenant, client)?;
    Ok((tenant, client))
}

/// Human-readable client list: one line per secret under its client; `!` marks secrets
/// expiring within 90 days.
fn client_table(clients: &[OAuthClientView]) -> String {
    let mut out = format!(
        "{:<26}  {:<8}  {:<24}  {}\n",
        "CLIENT ID", "STATUS", "CREATED", "DESCRIPTION"
    );
    for c in clients {
        out.push_str(&format!(
            "{:<26}  {:<8}  {:<24}  {}\n",
            c.client_id,
            c.status.as_str(),
            c.created,
            cell(&c.description)
        ));
        for f in &c.federations {
            out.push_str(&format!(
                "  federation {:<26}  issuer {}  subject {}  audience {}  jwks {}\n",
                f.federation_id,
                cell(&f.issuer),
                cell(&f.subject),
                cell(&f.audience),
                cell(&f.jwks_url)
            ));
        }
        for secret in &c.secrets {
            let flag = if secret.expiring_soon { "!" } else { "" };
            out.push_str(&format!(
                "  secret {:<26}  {:<8}  expires {}  {} days{flag}\n",
                secret.secret_id,
                if secret.expired { "expired" } else { "active" },
                secret.expires,
                secret.days_until_expiry
            ));
        }
    }
    out.trim_end().to_string()
}

/// Where a command's answer goes: its view as the admin API's JSON, or text for a person.
struct Output {
    json: bool,
}

impl Output {
    fn print<T: Serialize>(
        &self,
        view: &T,
        human: impl FnOnce(&T) -> String,
    ) -> Result<(), Box<dyn std::error::Error>> {
        match self.json {
            true => println!("{}", wire(view)?),
            false => println!("{}", human(view)),
        }
        Ok(())
    }
}

/// A view as the admin API answers it: through `Value`, whose objects keep their keys sorted.
fn wire(view: &impl Serialize) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_value(view)?.to_string())
}

/// `events --json` prints each page without its tenant (one line per page when following).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FollowPage<'a> {
    events: &'a [ChangeEventView],
    next_cursor: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    behind: bool,
}

impl<'a> From<&'a EventsPage> for FollowPage<'a> {
    fn from(page: &'a EventsPage) -> Self {
        FollowPage {
            events: &page.events,
            next_cursor: &page.next_cursor,
            behind: page.behind,
        }
    }
}

fn parse_tenant(raw: &str) -> Result<TenantId, AdminError> {
    admin::parse_tenant(raw)
}

fn parse_credential_of(
    tenant: &str,
    credential: &str,
) -> Result<(TenantId, CredentialId), AdminError> {
    let tenant = admin::parse_tenant(tenant)?;
    let credential = admin::parse_credential(&tenant, credential)?;
    Ok((tenant, credential))
}

/// A table cell: stored text with control characters escaped, so no value can move the
/// cursor or forge a line on the operator's terminal.
fn cell(raw: &str) -> String {
    raw.chars()
        .map(|c| match c.is_control() {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect()
}

/// An optional cell: `-` when there is nothing.
fn maybe(raw: Option<&str>) -> String {
    raw.map_or_else(|| "-".into(), cell)
}

/// A time, or `-` for none (never expires, never used).
fn when(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "-".into(), |t| t.to_string())
}

fn tenant_text(t: &TenantView) -> String {
    format!(
        "tenant {} ({})\nprovisioning {}\nSCIM base path {}\nOAuth only {}\n\
         access token lifetime {} h",
        t.tenant_id,
        cell(&t.name),
        t.provisioning.as_str(),
        cell(&t.scim_base_path),
        if t.oauth.oauth_only { "on" } else { "off" },
        t.oauth.access_token_lifetime_hours
    )
}

fn tenant_detail_text(d: &TenantDetail) -> String {
    format!(
        "{}\n{}",
        tenant_text(&d.tenant),
        credential_table(&d.credentials)
    )
}

fn token_text(credential: &CredentialView, token: &str) -> String {
    format!(
        "credential {}\nexpires {}\ntoken {}\n(shown once: store it now)",
        credential.id,
        when(credential.expires),
        token
    )
}

/// Human-readable credential list; `!` marks credentials expiring within 90 days.
fn credential_table(credentials: &[CredentialView]) -> String {
    let mut out = format!(
        "{:<26}  {:<8}  {:<24}  {:<24}  {:<24}  {:>5}  {}\n",
        "ID", "STATUS", "CREATED", "EXPIRES", "LAST USED", "DAYS", "DESCRIPTION"
    );
    for c in credentials {
        let flag = if c.expiring_soon { "!" } else { "" };
        out.push_str(&format!(
            "{:<26}  {:<8}  {:<24}  {:<24}  {:<24}  {:>5}{flag}  {}\n",
            c.id,
            if c.expired {
                "expired"
            } else {
                c.status.as_str()
            },
            c.created.to_string(),
            when(c.expires),
            when(c.last_used),
            c.days_until_expiry
                .map_or_else(|| "-".into(), |d| d.to_string()),
            cell(&c.description)
        ));
    }
    out.trim_end().to_string()
}

fn audit_table(page: &AuditPage) -> String {
    let mut out = format!(
        "{:<24}  {:<40}  {:<6}  {:<20}  {:<10}  {:<26}  {}\n",
        "TIME", "ACTOR", "METHOD", "ACTION", "TYPE", "RESOURCE", "STATUS"
    );
    for e in &page.events {
        let actor = match (&e.credential_id, &e.principal) {
            (Some(c), _) => format!("credential {c}"),
            (None, p) => maybe(p.as_deref()),
        };
        out.push_str(&format!(
            "{:<24}  {:<40}  {:<6}  {:<20}  {:<10}  {:<26}  {}\n",
            e.time,
            actor,
            cell(&e.method),
            cell(&e.action),
            cell(&e.resource_type),
            maybe(e.resource_id.as_deref()),
            e.status
        ));
    }
    if let Some(cursor) = &page.next_cursor {
        out.push_str(&format!("more: --cursor '{cursor}'\n"));
    }
    out.trim_end().to_string()
}

fn check_table(report: &CheckReport) -> String {
    let mut out = format!(
        "tenant {}: {} user(s), {} group(s), {} membership(s), {} name guard(s); {} item(s) scanned\n",
        report.tenant,
        report.users,
        report.groups,
        report.memberships,
        report.guards,
        report.items_scanned
    );
    if report.problems.is_empty() {
        out.push_str("no problems found");
        return out;
    }
    out.push_str(&format!(
        "{:<22}  {:<8}  {:<60}  {}\n",
        "PROBLEM", "REPAIRED", "ITEM", "DETAIL"
    ));
    for p in &report.problems {
        out.push_str(&format!(
            "{:<22}  {:<8}  {:<60}  {}\n",
            p.kind.as_str(),
            if p.repaired { "yes" } else { "no" },
            format!("{} / {}", cell(&p.pk), cell(&p.sk)),
            cell(&p.detail)
        ));
    }
    out.trim_end().to_string()
}
