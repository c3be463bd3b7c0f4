//! Administrative operations shared by `scimctl` (and, later, the admin API), so the two cannot
//! disagree.

use crate::auth;
use crate::store::{self, Credential, CredentialStatus, Store, StoreError};

pub const DEFAULT_TOKEN_DAYS: u32 = 365;

/// A store for the given endpoint (or the standard AWS configuration) and table.
pub async fn connect(endpoint: Option<&str>, table: &str) -> Store {
    let mut loader = aws_config::from_env();
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    Store::new(store::client_for(&config), table)
}

pub fn scim_base_path(tenant_id: &str) -> String {
    format!("/{tenant_id}/scim/v2")
}

/// Issues a token for an existing tenant. Returns the stored credential and the token, which
/// exists nowhere else.
pub async fn create_token(
    store: &Store,
    tenant_id: &str,
    description: &str,
    expires_in_days: u32,
) -> Result<(Credential, String), StoreError> {
    let tenant = store.get_tenant(tenant_id).await?;
    let issued =
        auth::issue().map_err(|e| StoreError::Backend(format!("OS random source failed: {e}")))?;
    let created = store::now();
    let expires = (expires_in_days > 0).then(|| {
        store::timestamp(
            time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(expires_in_days)),
        )
    });
    let credential = Credential {
        tenant_id: tenant.id,
        id: issued.credential_id.clone(),
        status: CredentialStatus::Enabled,
        description: description.to_string(),
        created,
        expires,
        last_used: None,
        secret_hash: issued.secret_hash.clone(),
    };
    store.create_credential(&credential).await?;
    Ok((credential, issued.token))
}
