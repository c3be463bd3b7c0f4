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

/// Issues a token for an existing tenant whose provisioning is on. Returns the stored credential
/// and the token, which exists nowhere else.
pub async fn create_token(
    store: &Store,
    tenant_id: &str,
    description: &str,
    expires_in_days: u32,
) -> Result<(Credential, String), StoreError> {
    let tenant = store.get_tenant(tenant_id).await?;
    if !tenant.provisioning_enabled {
        return Err(StoreError::Limit(format!(
            "provisioning is disabled for tenant {tenant_id}: `scimctl provisioning enable {tenant_id}` \
             turns it on and issues its first token"
        )));
    }
    let (credential, token) = new_credential(&tenant.id, description, expires_in_days)?;
    store.create_credential(&credential).await?;
    Ok((credential, token))
}

/// Turns provisioning on for a tenant and issues its first token (shown once).
pub async fn enable_provisioning(
    store: &Store,
    tenant_id: &str,
    description: &str,
    expires_in_days: u32,
) -> Result<(Credential, String), StoreError> {
    let tenant = store.get_tenant(tenant_id).await?;
    let (credential, token) = new_credential(&tenant.id, description, expires_in_days)?;
    store.enable_provisioning(&credential).await?;
    Ok((credential, token))
}

fn new_credential(
    tenant_id: &str,
    description: &str,
    expires_in_days: u32,
) -> Result<(Credential, String), StoreError> {
    let issued =
        auth::issue().map_err(|e| StoreError::Backend(format!("OS random source failed: {e}")))?;
    let expires = (expires_in_days > 0).then(|| {
        store::timestamp(
            time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(expires_in_days)),
        )
    });
    let credential = Credential {
        tenant_id: tenant_id.to_string(),
        id: issued.credential_id.clone(),
        status: CredentialStatus::Enabled,
        description: description.to_string(),
        created: store::now(),
        expires,
        last_used: None,
        secret_hash: issued.secret_hash.clone(),
    };
    Ok((credential, issued.token))
}

/// `list` flags credentials expiring within this many days (as Huawei's config rule does).
pub const EXPIRY_WARNING_DAYS: i64 = 90;

/// A credential as the admin surfaces show it: metadata only, never the hash.
pub fn credential_json(credential: &Credential) -> serde_json::Value {
    let days_left = credential.expires.as_deref().and_then(days_until);
    serde_json::json!({
        "id": credential.id,
        "tenantId": credential.tenant_id,
        "status": credential.status.as_str(),
        "description": credential.description,
        "created": credential.created,
        "expires": credential.expires,
        "lastUsed": credential.last_used,
        "daysUntilExpiry": days_left,
        "expiringSoon": days_left.is_some_and(|d| d <= EXPIRY_WARNING_DAYS),
    })
}

fn days_until(timestamp: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some((at - time::OffsetDateTime::now_utc()).whole_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(expires: Option<String>) -> Credential {
        Credential {
            tenant_id: "T".into(),
            id: "C".into(),
            status: CredentialStatus::Enabled,
            description: "d".into(),
            created: store::now(),
            expires,
            last_used: None,
            secret_hash: "secret-hash".into(),
        }
    }

    #[test]
    fn credentials_expiring_within_90_days_are_flagged() {
        let in_days = |d: i64| {
            Some(store::timestamp(
                time::OffsetDateTime::now_utc()
                    + time::Duration::days(d)
                    + time::Duration::hours(1),
            ))
        };
        let soon = credential_json(&credential(in_days(30)));
        assert_eq!(
            (
                soon["daysUntilExpiry"].as_i64(),
                soon["expiringSoon"].as_bool()
            ),
            (Some(30), Some(true))
        );
        let later = credential_json(&credential(in_days(200)));
        assert_eq!(later["expiringSoon"], false);
        let never = credential_json(&credential(None));
        assert!(never["daysUntilExpiry"].is_null() && never["expiringSoon"] == false);
        assert!(
            !never.to_string().contains("secret-hash"),
            "the hash is never shown"
        );
    }
}
