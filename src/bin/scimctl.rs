//! `scimctl`: administer tenants and SCIM tokens directly in the table, against whatever endpoint the
//! standard AWS configuration (or `--endpoint`) points at.

use clap::{Parser, Subcommand};
use serde_json::json;

use scim_serverless::admin;

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

fn print(json: bool, value: serde_json::Value, human: impl FnOnce() -> String) {
    if json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}
