//! `scimctl`: administer tenants and SCIM tokens directly in the table, against whatever endpoint the
//! standard AWS configuration (or `--endpoint`) points at.

use clap::{Parser, Subcommand};
use serde_json::json;

use scim_serverless::admin;
use scim_serverless::store::{CredentialStatus, StoreError};

#[derive(Parser)]
#[command(
    name = "scimctl",
    about = "Administer SCIM tenants and tokens",
    version
)]
struct Cli {
    /// DynamoDB endpoint (default: the standard AWS configuration, e.g. AWS_ENDPOINT_URL_DYNAMODB).
    #[arg(long, global = true)]
    endpoint: Option<String>,
    /// Table name.
    #[arg(long, global = true, env = "TABLE_NAME", default_value = "scim")]
    table: String,
    /// Machine-readable output.
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
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Turn SCIM provisioning on or off for a tenant.
    Provisioning {
        #[command(subcommand)]
        action: ProvisioningAction,
    },
}

#[derive(Subcommand)]
enum ProvisioningAction {
    /// Turn provisioning on; prints the SCIM endpoint and a first token, once.
    Enable {
        tenant: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Days until the token expires; 0 means never.
        #[arg(long, default_value_t = admin::DEFAULT_TOKEN_DAYS)]
        expires_in_days: u32,
    },
    /// Turn provisioning off: every token stops working and is deleted; users and groups stay.
    Disable { tenant: String },
    /// Show whether provisioning is on, the endpoint, and the credentials.
    Status { tenant: String },
}

#[derive(Subcommand)]
enum TableAction {
    Create,
    /// Print the table definition (CloudFormation shape) the local stack creates.
    Definition,
}

#[derive(Subcommand)]
enum TenantAction {
    /// Create a tenant; prints its id and SCIM base path.
    Create { name: String },
    /// List every tenant.
    List,
    /// Show a tenant and its credentials.
    Show { tenant: String },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a bearer token for a tenant; it is printed once and never again.
    Create {
        tenant: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Days until the token expires; 0 means never.
        #[arg(long, default_value_t = admin::DEFAULT_TOKEN_DAYS)]
        expires_in_days: u32,
    },
    /// Check that a token authenticates for a tenant, as a SCIM request would (exit 1 if not).
    Check { tenant: String, token: String },
    /// List a tenant's credentials (never their secrets).
    List { tenant: String },
    /// Stop a credential from authenticating; it can be enabled again.
    Disable { tenant: String, credential: String },
    /// Let a disabled credential authenticate again.
    Enable { tenant: String, credential: String },
    /// Delete a credential for good, freeing its slot.
    Delete { tenant: String, credential: String },
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
    match cli.command {
        Command::Table {
            action: TableAction::Definition,
        } => {}
        Command::Table {
            action: TableAction::Create,
        } => {
            let created =
                scim_serverless::store::table::ensure_table(store.client(), store.table()).await?;
            print(
                cli.json,
                json!({"table": store.table(), "created": created}),
                || {
                    format!(
                        "table {} {}",
                        store.table(),
                        if created { "created" } else { "already exists" }
                    )
                },
            );
        }
        Command::Tenant {
            action: TenantAction::Create { name },
        } => {
            let tenant = store.create_tenant(&name).await?;
            let path = admin::scim_base_path(&tenant.id);
            print(
                cli.json,
                json!({"tenantId": tenant.id, "name": tenant.name, "created": tenant.created, "scimBasePath": path}),
                || format!("tenant {}\nSCIM base path {path}", tenant.id),
            );
        }
        Command::Provisioning {
            action:
                ProvisioningAction::Enable {
                    tenant,
                    description,
                    expires_in_days,
                },
        } => {
            let (credential, token) =
                admin::enable_provisioning(&store, &tenant, &description, expires_in_days).await?;
            let path = admin::scim_base_path(&tenant);
            print(
                cli.json,
                json!({"tenantId": tenant, "provisioning": "enabled", "scimBasePath": path,
                       "credential": admin::credential_json(&credential), "token": token}),
                || {
                    format!("provisioning enabled for {tenant}\nSCIM base path {path}\ncredential {}\ntoken {token}\n(shown once: store it now)", credential.id)
                },
            );
        }
        Command::Provisioning {
            action: ProvisioningAction::Disable { tenant },
        } => {
            let deleted = store.disable_provisioning(&tenant).await?;
            print(
                cli.json,
                json!({"tenantId": tenant, "provisioning": "disabled", "deletedCredentials": deleted}),
                || {
                    format!("provisioning disabled for {tenant}; {deleted} credential(s) deleted; users and groups kept")
                },
            );
        }
        Command::Provisioning {
            action: ProvisioningAction::Status { tenant },
        } => {
            let found = store.get_tenant(&tenant).await?;
            let listed: Vec<serde_json::Value> = store
                .list_credentials(&found.id)
                .await?
                .iter()
                .map(admin::credential_json)
                .collect();
            let state = if found.provisioning_enabled {
                "enabled"
            } else {
                "disabled"
            };
            let path = admin::scim_base_path(&found.id);
            print(
                cli.json,
                json!({"tenantId": found.id, "provisioning": state, "scimBasePath": path, "credentials": listed}),
                || {
                    format!(
                        "provisioning {state}\nSCIM base path {path}\n{}",
                        credential_table(&listed)
                    )
                },
            );
        }
        Command::Tenant {
            action: TenantAction::List,
        } => {
            let tenants = store.list_tenants().await?;
            let rows: Vec<serde_json::Value> = tenants
                .iter()
                .map(|t| json!({"tenantId": t.id, "name": t.name, "created": t.created}))
                .collect();
            print(cli.json, json!(rows), || {
                tenants
                    .iter()
                    .map(|t| format!("{}  {}  {}", t.id, t.created, t.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Tenant {
            action: TenantAction::Show { tenant },
        } => {
            let found = store.get_tenant(&tenant).await?;
            let credentials = store.list_credentials(&found.id).await?;
            let listed: Vec<serde_json::Value> =
                credentials.iter().map(admin::credential_json).collect();
            let path = admin::scim_base_path(&found.id);
            print(
                cli.json,
                json!({"tenantId": found.id, "name": found.name, "created": found.created,
                       "scimBasePath": path, "credentials": listed}),
                || {
                    format!(
                        "tenant {} ({})\nSCIM base path {path}\n{}",
                        found.id,
                        found.name,
                        credential_table(&listed)
                    )
                },
            );
        }
        Command::Token {
            action: TokenAction::List { tenant },
        } => {
            let listed: Vec<serde_json::Value> = store
                .list_credentials(&tenant)
                .await?
                .iter()
                .map(admin::credential_json)
                .collect();
            print(cli.json, json!(listed), || credential_table(&listed));
        }
        Command::Token {
            action: TokenAction::Disable { tenant, credential },
        } => {
            store
                .set_credential_status(&tenant, &credential, CredentialStatus::Disabled)
                .await
                .map_err(|e| no_such_credential(e, &tenant, &credential))?;
            print(
                cli.json,
                json!({"id": credential, "status": "disabled"}),
                || format!("credential {credential} disabled"),
            );
        }
        Command::Token {
            action: TokenAction::Enable { tenant, credential },
        } => {
            store
                .set_credential_status(&tenant, &credential, CredentialStatus::Enabled)
                .await
                .map_err(|e| no_such_credential(e, &tenant, &credential))?;
            print(
                cli.json,
                json!({"id": credential, "status": "enabled"}),
                || format!("credential {credential} enabled"),
            );
        }
        Command::Token {
            action: TokenAction::Delete { tenant, credential },
        } => {
            store
                .delete_credential(&tenant, &credential)
                .await
                .map_err(|e| no_such_credential(e, &tenant, &credential))?;
            print(cli.json, json!({"id": credential, "deleted": true}), || {
                format!("credential {credential} deleted")
            });
        }
        Command::Token {
            action: TokenAction::Check { tenant, token },
        } => {
            let header = format!("Bearer {token}");
            let credential = scim_serverless::auth::authenticate(&store, &tenant, Some(&header))
                .await
                .map_err(|e| e.detail)?;
            print(
                cli.json,
                json!({"valid": true, "credentialId": credential.id}),
                || format!("valid: credential {}", credential.id),
            );
        }
        Command::Token {
            action:
                TokenAction::Create {
                    tenant,
                    description,
                    expires_in_days,
                },
        } => {
            let (credential, token) =
                admin::create_token(&store, &tenant, &description, expires_in_days).await?;
            print(
                cli.json,
                json!({
                    "credentialId": credential.id, "tenantId": credential.tenant_id, "token": token,
                    "status": credential.status.as_str(), "created": credential.created, "expires": credential.expires,
                    "description": credential.description,
                }),
                || {
                    format!(
                        "credential {}\ntoken {token}\n(shown once: store it now)",
                        credential.id
                    )
                },
            );
        }
    }
    Ok(())
}

fn no_such_credential(err: StoreError, tenant: &str, credential: &str) -> String {
    match err {
        StoreError::NotFound => format!("tenant {tenant} has no credential {credential}"),
        other => other.to_string(),
    }
}

/// Human-readable credential list; `!` marks credentials expiring within 90 days.
fn credential_table(credentials: &[serde_json::Value]) -> String {
    let text = |v: &serde_json::Value| v.as_str().map_or("-".to_string(), String::from);
    let mut out = format!(
        "{:<26}  {:<8}  {:<24}  {:<24}  {:<24}  {:>5}  {}\n",
        "ID", "STATUS", "CREATED", "EXPIRES", "LAST USED", "DAYS", "DESCRIPTION"
    );
    for c in credentials {
        let days = c["daysUntilExpiry"]
            .as_i64()
            .map_or("-".into(), |d| d.to_string());
        let flag = if c["expiringSoon"] == true { "!" } else { "" };
        out.push_str(&format!(
            "{:<26}  {:<8}  {:<24}  {:<24}  {:<24}  {:>5}{flag}  {}\n",
            text(&c["id"]),
            text(&c["status"]),
            text(&c["created"]),
            text(&c["expires"]),
            text(&c["lastUsed"]),
            days,
            text(&c["description"])
        ));
    }
    out.trim_end().to_string()
}

fn print(json: bool, value: serde_json::Value, human: impl FnOnce() -> String) {
    if json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}
