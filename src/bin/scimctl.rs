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
use serde_json::{json, Value};

use scim_serverless::admin::{self, Admin, NewCredential};
use scim_serverless::store::{AuditQuery, CredentialStatus};

#[derive(Parser)]
#[command(
    name = "scimctl",
    about = "Administer SCIM tenants, provisioning, tokens and the audit trail",
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
    let store = admin::connect(cli.endpoint.as_deref(), &cli.table).await;
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    let admin = Admin::new(store, format!("scimctl:{user}"));
    let json = cli.json;
    let (value, human): (Value, fn(&Value) -> String) = match cli.command {
        Command::Table { .. } => {
            let created = scim_serverless::store::table::ensure_table(
                admin.store().client(),
                admin.store().table(),
            )
            .await?;
            (
                json!({"table": admin.store().table(), "created": created}),
                |v| {
                    let state = if v["created"] == true {
                        "created"
                    } else {
                        "already exists"
                    };
                    format!("table {} {state}", text(&v["table"]))
                },
            )
        }
        Command::Tenant { action } => match action {
            TenantAction::Create { name } => (admin.create_tenant(&name).await?, tenant_text),
            TenantAction::List => (admin.list_tenants().await?, |v| {
                rows(&v["tenants"])
                    .map(|t| {
                        format!(
                            "{}  {:<8}  {}  {}",
                            text(&t["tenantId"]),
                            text(&t["provisioning"]),
                            text(&t["created"]),
                            text(&t["name"])
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            TenantAction::Show { tenant } => (admin.show_tenant(&tenant).await?, tenant_text),
            TenantAction::Delete { tenant, yes } => {
                if !yes {
                    return Err(format!(
                        "this deletes tenant {tenant} for good: all of its users, groups, \
                         memberships, credentials and audit events. Run again with --yes to do it"
                    )
                    .into());
                }
                let mut last = 0;
                let value = admin
                    .delete_tenant(&tenant, usize::MAX, |p| {
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
                (value, |v| {
                    format!("tenant {} deleted", text(&v["tenantId"]))
                })
            }
        },
        Command::Provisioning { action } => match action {
            ProvisioningAction::Enable { tenant, new } => (
                admin.enable_provisioning(&tenant, &new.spec()).await?,
                |v| {
                    format!(
                        "provisioning enabled for {}\nSCIM base path {}\n{}",
                        text(&v["tenantId"]),
                        text(&v["scimBasePath"]),
                        token_text(v)
                    )
                },
            ),
            ProvisioningAction::Disable { tenant } => {
                (admin.disable_provisioning(&tenant).await?, |v| {
                    format!(
                        "provisioning disabled for {}; {} credential(s) deleted; users and groups kept",
                        text(&v["tenantId"]),
                        v["deletedCredentials"]
                    )
                })
            }
            ProvisioningAction::Status { tenant } => {
                (admin.provisioning_status(&tenant).await?, tenant_text)
            }
        },
        Command::Token { action } => match action {
            TokenAction::Create { tenant, new } => (
                admin.create_credential(&tenant, &new.spec()).await?,
                token_text,
            ),
            TokenAction::List { tenant } => (admin.list_credentials(&tenant).await?, |v| {
                credential_table(&v["credentials"])
            }),
            TokenAction::Disable { tenant, credential } => (
                admin
                    .set_credential_status(&tenant, &credential, CredentialStatus::Disabled)
                    .await?,
                |v| format!("credential {} disabled", text(at(v, "/credential/id"))),
            ),
            TokenAction::Enable { tenant, credential } => (
                admin
                    .set_credential_status(&tenant, &credential, CredentialStatus::Enabled)
                    .await?,
                |v| format!("credential {} enabled", text(at(v, "/credential/id"))),
            ),
            TokenAction::Delete { tenant, credential } => {
                (admin.delete_credential(&tenant, &credential).await?, |v| {
                    format!("credential {} deleted", text(&v["credentialId"]))
                })
            }
            TokenAction::Rotate {
                tenant,
                finish: false,
                new,
                ..
            } => (admin.start_rotation(&tenant, &new.spec()).await?, |v| {
                format!(
                    "{}\nreplaces credential {}\nnext: {}",
                    token_text(v),
                    text(&v["replaces"]),
                    text(&v["next"])
                )
            }),
            TokenAction::Rotate {
                tenant,
                finish: true,
                force,
                ..
            } => (admin.finish_rotation(&tenant, force).await?, |v| {
                format!(
                    "rotation finished: credential {} disabled and deleted; {} remains",
                    text(&v["removedCredentialId"]),
                    text(at(v, "/credential/id"))
                )
            }),
            TokenAction::Check { tenant, token } => {
                let header = format!("Bearer {token}");
                // A tenant id that is not a ULID gets the same 401 as a bad token.
                let tenant = scim_serverless::protocol::TenantId::parse(&tenant).ok();
                let credential = scim_serverless::auth::authenticate(
                    admin.store(),
                    tenant.as_ref(),
                    Some(&header),
                )
                .await
                .map_err(|e| e.detail)?;
                (json!({"valid": true, "credentialId": credential.id}), |v| {
                    format!("valid: credential {}", text(&v["credentialId"]))
                })
            }
        },
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
            (admin.audit_events(&tenant, &query).await?, audit_table)
        }
        Command::Events {
            tenant,
            since,
            cursor,
            limit,
            follow,
        } => {
            let mut cursor = cursor;
            loop {
                let page = admin
                    .change_events(&tenant, cursor.as_deref(), since.as_deref(), limit)
                    .await?;
                let events = rows(at(&page, "/events")).cloned().collect::<Vec<_>>();
                let next = page
                    .get("nextCursor")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let behind = page.get("behind").and_then(Value::as_bool) == Some(true);
                if behind && !json {
                    eprintln!(
                        "(more events than a cursor can name are less than a minute old: the \
                         next pages go on as they settle; none is skipped)"
                    );
                }
                // Following, a poll that found nothing prints nothing.
                if json && !(follow && events.is_empty()) {
                    let out = match behind {
                        true => json!({"events": events, "nextCursor": next, "behind": true}),
                        false => json!({"events": events, "nextCursor": next}),
                    };
                    println!("{out}");
                } else if !json {
                    for e in &events {
                        println!(
                            "{}  {:<45}  {:<6}  {}  v{}",
                            text(at(e, "/time")),
                            text(at(e, "/type")),
                            text(at(e, "/resourceType")),
                            text(at(e, "/resourceId")),
                            text(at(e, "/version"))
                        );
                    }
                }
                if !follow {
                    if let (Some(next), false) = (&next, json) {
                        println!("next: --cursor '{next}'");
                    }
                    return Ok(());
                }
                cursor = next;
                // A full page: more are waiting, read on at once.
                if events.len() < limit {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
        Command::Check { tenant, repair } => {
            let tenant = scim_serverless::protocol::TenantId::parse(&tenant)
                .map_err(|_| format!("{tenant} is not a tenant id"))?;
            let report = admin
                .store()
                .check(&tenant, repair, |p| {
                    eprintln!(
                        "scanned {} item(s) in {} page(s), {} of this tenant",
                        p.items_scanned, p.pages, p.tenant_items
                    )
                })
                .await?;
            let unresolved = report.unresolved();
            let value = serde_json::to_value(&report)?;
            if json {
                println!("{value}");
            } else {
                println!("{}", check_table(&value));
            }
            if unresolved > 0 {
                std::process::exit(1);
            }
            return Ok(());
        }
    };
    if json {
        println!("{value}");
    } else {
        println!("{}", human(&value));
    }
    Ok(())
}

/// A table cell: stored text with control characters escaped, so no value can move the
/// cursor or forge a line on the operator's terminal.
/// The value at a JSON pointer, `null` when there is none.
fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s
            .chars()
            .map(|c| match c.is_control() {
                true => c.escape_unicode().to_string(),
                false => c.to_string(),
            })
            .collect(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn rows(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

fn tenant_text(v: &Value) -> String {
    let mut out = format!(
        "tenant {} ({})\nprovisioning {}\nSCIM base path {}",
        text(&v["tenantId"]),
        text(&v["name"]),
        text(&v["provisioning"]),
        text(&v["scimBasePath"])
    );
    if v.get("credentials").is_some() {
        out.push('\n');
        out.push_str(&credential_table(&v["credentials"]));
    }
    out
}

fn token_text(v: &Value) -> String {
    format!(
        "credential {}\nexpires {}\ntoken {}\n(shown once: store it now)",
        text(at(v, "/credential/id")),
        text(at(v, "/credential/expires")),
        text(&v["token"])
    )
}

/// Human-readable credential list; `!` marks credentials expiring within 90 days.
fn credential_table(credentials: &Value) -> String {
    let mut out = format!(
        "{:<26}  {:<8}  {:<24}  {:<24}  {:<24}  {:>5}  {}\n",
        "ID", "STATUS", "CREATED", "EXPIRES", "LAST USED", "DAYS", "DESCRIPTION"
    );
    for c in rows(credentials) {
        let flag = if c["expiringSoon"] == true { "!" } else { "" };
        out.push_str(&format!(
            "{:<26}  {:<8}  {:<24}  {:<24}  {:<24}  {:>5}{flag}  {}\n",
            text(&c["id"]),
            if c["expired"] == true {
                "expired".to_string()
            } else {
                text(&c["status"])
            },
            text(&c["created"]),
            text(&c["expires"]),
            text(&c["lastUsed"]),
            text(&c["daysUntilExpiry"]),
            text(&c["description"])
        ));
    }
    out.trim_end().to_string()
}

fn audit_table(v: &Value) -> String {
    let mut out = format!(
        "{:<24}  {:<40}  {:<6}  {:<20}  {:<10}  {:<26}  {}\n",
        "TIME", "ACTOR", "METHOD", "ACTION", "TYPE", "RESOURCE", "STATUS"
    );
    for e in rows(&v["events"]) {
        let actor = match (&e["credentialId"], &e["principal"]) {
            (Value::String(c), _) => format!("credential {c}"),
            (_, p) => text(p),
        };
        out.push_str(&format!(
            "{:<24}  {:<40}  {:<6}  {:<20}  {:<10}  {:<26}  {}\n",
            text(at(e, "/time")),
            actor,
            text(&e["method"]),
            text(&e["action"]),
            text(at(e, "/resourceType")),
            text(at(e, "/resourceId")),
            text(&e["status"])
        ));
    }
    if let Value::String(cursor) = &v["nextCursor"] {
        out.push_str(&format!("more: --cursor '{cursor}'\n"));
    }
    out.trim_end().to_string()
}

fn check_table(v: &Value) -> String {
    let count = |name: &str| v.get(name).map_or_else(|| "-".into(), text);
    let mut out = format!(
        "tenant {}: {} user(s), {} group(s), {} membership(s), {} name guard(s); {} item(s) scanned\n",
        count("tenant"),
        count("users"),
        count("groups"),
        count("memberships"),
        count("guards"),
        count("itemsScanned")
    );
    let problems: Vec<&Value> = v.get("problems").map(rows).into_iter().flatten().collect();
    if problems.is_empty() {
        out.push_str("no problems found");
        return out;
    }
    out.push_str(&format!(
        "{:<22}  {:<8}  {:<60}  {}\n",
        "PROBLEM", "REPAIRED", "ITEM", "DETAIL"
    ));
    for p in &problems {
        let field = |name: &str| p.get(name).map_or_else(|| "-".into(), text);
        out.push_str(&format!(
            "{:<22}  {:<8}  {:<60}  {}\n",
            field("kind"),
            if p.get("repaired") == Some(&Value::Bool(true)) {
                "yes"
            } else {
                "no"
            },
            format!("{} / {}", field("pk"), field("sk")),
            field("detail")
        ));
    }
    out.trim_end().to_string()
}
