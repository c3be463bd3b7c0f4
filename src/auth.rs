//! Bearer tokens. A token is `scimv2_<credential id>_<64 hex chars>`: a prefix secret scanners can
//! match, the credential id (so verification is one GetItem), and 256 bits from the OS RNG. Only the
//! SHA-256 of the secret part is stored, and it is compared in constant time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::Timestamp;
use crate::protocol::{AccessTokenId, ClientId, CredentialId, ScimError, SecretId, TenantId};
use crate::store::{Actor, ClientAccess, Credential, CredentialStatus, Grant, Store, StoreError};

pub const TOKEN_PREFIX: &str = "scimv2_";
pub const CLIENT_SECRET_PREFIX: &str = "scimcs_";
const SECRET_BYTES: usize = 32;

/// A freshly generated token and what is stored of it.
pub struct IssuedToken {
    pub credential_id: CredentialId,
    /// Shown once, never stored.
    pub token: String,
    pub secret_hash: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("credential_id", &self.credential_id)
            .finish_non_exhaustive()
    }
}

pub fn issue() -> Result<IssuedToken, getrandom::Error> {
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut secret)?;
    let secret = hex(&secret);
    let credential_id = CredentialId::generate();
    Ok(IssuedToken {
        token: format!("{TOKEN_PREFIX}{credential_id}_{secret}"),
        secret_hash: hash_secret(&secret),
        credential_id,
    })
}

/// A freshly generated OAuth client secret and what is stored of it.
pub struct IssuedClientSecret {
    pub secret_id: SecretId,
    /// Shown once, never stored.
    pub secret: String,
    pub secret_hash: String,
}

impl std::fmt::Debug for IssuedClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedClientSecret")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// An OAuth client secret, `scimcs_<secret id>_<64 hex chars>`: like a token, it names the secret
/// whose hash it must match, and the whole string is what is hashed.
pub fn issue_client_secret() -> Result<IssuedClientSecret, getrandom::Error> {
    let mut random = [0u8; SECRET_BYTES];
    getrandom::fill(&mut random)?;
    let secret_id = SecretId::generate();
    let secret = format!("{CLIENT_SECRET_PREFIX}{secret_id}_{}", hex(&random));
    Ok(IssuedClientSecret {
        secret_hash: hash_secret(&secret),
        secret,
        secret_id,
    })
}

/// Whether `text` is the random part every secret of ours ends with: 64 lower-case hex digits.
fn is_random_part(text: &str) -> bool {
    text.len() == SECRET_BYTES * 2
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The secret id a client secret names; `None` if it is not shaped like one of ours.
pub fn parse_client_secret(secret: &str) -> Option<SecretId> {
    let rest = secret.strip_prefix(CLIENT_SECRET_PREFIX)?;
    let (id, random) = rest.split_once('_')?;
    is_random_part(random)
        .then(|| SecretId::parse(id).ok())
        .flatten()
}

/// Splits a token into (credential id, secret); `None` if it is not shaped like one of ours.
pub fn parse(token: &str) -> Option<(CredentialId, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id = CredentialId::parse(id).ok()?;
    is_random_part(secret).then_some((id, secret))
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, rest) = authorization?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
}

pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `secret` matches the stored hash, in time independent of where they differ.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    hash_secret(secret)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// A well-formed id no tenant, credential or client has (ULID zero), looked up in place of a
/// malformed token's, tenant's or client id's.
pub fn decoy<T: From<ulid::Ulid>>() -> T {
    T::from(ulid::Ulid::nil())
}
/// Hashed in place of an unknown credential's secret.
const DECOY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Whether `secret` matches `stored`, the hash of the credential it names (`None`: it names
/// none). The hash is computed either way, so an unknown credential costs what a wrong secret
/// does, and the timing tells nothing.
pub fn verify_stored(secret: &str, stored: Option<&str>) -> bool {
    // black_box: the decoy hash must really be computed, or the timing would differ.
    let matches = std::hint::black_box(verify(
        std::hint::black_box(secret),
        stored.unwrap_or(DECOY_HASH),
    ));
    matches && stored.is_some()
}

/// Who a request authenticated as: its tenant, and the actor its audit events name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub tenant_id: TenantId,
    pub actor: Actor,
}

/// Authenticates a request's `Authorization` header for `tenant` (`None`: the URL named no valid
/// tenant): a static token ([`authenticate_credential`]) or an access token the tenant's token
/// endpoint issued ([`authenticate_access_token`]). One GetItem either way, or none when `cache`
/// verified the same token for the same tenant within its few seconds.
pub async fn authenticate(
    store: &Store,
    cache: &AuthCache,
    tenant: Option<&TenantId>,
    authorization: Option<&str>,
) -> Result<Authenticated, ScimError> {
    let token = bearer(authorization);
    let key = tenant
        .zip(token)
        .map(|(t, token)| hash_secret(&format!("{t}\n{token}")));
    if let Some(hit) = key.as_deref().and_then(|k| cache.get(k)) {
        return Ok(hit);
    }
    let (who, expires) = match token.filter(|t| t.starts_with(ACCESS_TOKEN_PREFIX)) {
        Some(token) => {
            let (who, expires) = authenticate_access_token(store, tenant, token).await?;
            (who, Some(expires))
        }
        None => {
            let credential = authenticate_credential(store, tenant, authorization).await?;
            let who = Authenticated {
                tenant_id: credential.tenant_id,
                actor: Actor::Credential(credential.id),
            };
            (who, credential.expires)
        }
    };
    if let Some(key) = key {
        cache.put(key, &who, expires);
    }
    Ok(who)
}

/// Credentials a warm instance verified, remembered for at most [`MAX_AUTH_CACHE`] so that a
/// busy IdP's requests do not each read the credential (Entra's 25 a second become one read in
/// 5 s). Revocation still reaches reads within that time, and writes at once: each write's
/// transaction checks the credential itself. Keyed by a hash of tenant and token; bounded.
pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Remembered>>,
}

struct Remembered {
    who: Authenticated,
    until: Instant,
    expires: Option<Timestamp>,
}

/// The longest a verified credential is remembered: the revocation promise.
pub const MAX_AUTH_CACHE: Duration = Duration::from_secs(5);
/// Set to the seconds to remember (0 to 5); unset, deployed functions remember 5 s and a local
/// process nothing, so that a revocation made with `scimctl` shows at once.
pub const AUTH_CACHE_ENV: &str = "AUTH_CACHE_SECONDS";
const MAX_REMEMBERED: usize = 4096;

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache").field("ttl", &self.ttl).finish()
    }
}

impl AuthCache {
    /// Remembers for `ttl`, at most [`MAX_AUTH_CACHE`]; zero remembers nothing.
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl: ttl.min(MAX_AUTH_CACHE),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn from_env() -> Self {
        let configured = std::env::var(AUTH_CACHE_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let deployed = crate::deployed();
        let default = if deployed {
            MAX_AUTH_CACHE
        } else {
            Duration::ZERO
        };
        Self::new(configured.unwrap_or(default))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Remembered>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &str) -> Option<Authenticated> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        let hit = entries.get(key)?;
        let live = hit.until > Instant::now() && hit.expires.is_none_or(|e| e > Timestamp::now());
        live.then(|| hit.who.clone())
    }

    fn put(&self, key: String, who: &Authenticated, expires: Option<Timestamp>) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= MAX_REMEMBERED {
            entries.retain(|_, r| r.until > now);
            if entries.len() >= MAX_REMEMBERED {
                entries.clear();
            }
        }
        let remembered = Remembered {
            who: who.clone(),
            until: now + self.ttl,
            expires,
        };
        entries.insert(key, remembered);
    }
}

/// An access token: `scimat_<client id>_<grant id>_<token id>_<64 hex chars>`. It names the
/// client item to read (one GetItem), the grant it was issued for (a secret or a federated
/// credential) and itself; only the SHA-256 of the whole token is stored, under that grant.
pub struct IssuedAccessToken {
    pub access: ClientAccess,
    /// Shown once, never stored.
    pub token: String,
    pub token_hash: String,
}

impl std::fmt::Debug for IssuedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedAccessToken")
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

pub const ACCESS_TOKEN_PREFIX: &str = "scimat_";

pub fn issue_access_token(
    client_id: &ClientId,
    grant: &Grant,
) -> Result<IssuedAccessToken, getrandom::Error> {
    let mut random = [0u8; SECRET_BYTES];
    getrandom::fill(&mut random)?;
    let token_id = AccessTokenId::generate();
    let token = format!(
        "{ACCESS_TOKEN_PREFIX}{client_id}_{}_{token_id}_{}",
        grant.id(),
        hex(&random)
    );
    Ok(IssuedAccessToken {
        token_hash: hash_secret(&token),
        token,
        access: ClientAccess {
            client_id: client_id.clone(),
            grant: grant.clone(),
            token_id,
        },
    })
}

/// What an access token names: its client, the id of its grant (which kind of grant it is, the
/// client item says) and itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenName {
    pub client_id: ClientId,
    pub grant_id: String,
    pub token_id: AccessTokenId,
}

/// What an access token names; `None` if it is not shaped like one of ours.
pub fn parse_access_token(token: &str) -> Option<AccessTokenName> {
    let mut parts = token.strip_prefix(ACCESS_TOKEN_PREFIX)?.split('_');
    let client_id = ClientId::parse(parts.next()?).ok()?;
    let grant_id = SecretId::parse(parts.next()?).ok()?.to_string();
    let token_id = AccessTokenId::parse(parts.next()?).ok()?;
    let random = parts.next()?;
    (parts.next().is_none() && is_random_part(random)).then_some(AccessTokenName {
        client_id,
        grant_id,
        token_id,
    })
}

/// Authenticates an access token, returning who it is and when it expires: one consistent
/// GetItem of the client it names. It passes only while the client is enabled, still holds the
/// grant the token was issued for and the token under it, and the token has not expired; so
/// disabling or deleting the client, deleting the secret or federated credential, turning
/// provisioning off or deleting the tenant stops it at once. Every failure is the same 401 after
/// the same work.
pub async fn authenticate_access_token(
    store: &Store,
    tenant: Option<&TenantId>,
    token: &str,
) -> Result<(Authenticated, Timestamp), ScimError> {
    let parsed = parse_access_token(token).filter(|_| tenant.is_some());
    let decoy_tenant: TenantId = decoy();
    let tenant = tenant.unwrap_or(&decoy_tenant);
    let lookup = parsed.as_ref().map_or_else(decoy, |a| a.client_id.clone());
    let client = match store.get_client(tenant, &lookup).await {
        Ok(found) => found,
        Err(StoreError::Throttled) => return Err(ScimError::throttled()),
        Err(e) => return Err(e.into()),
    };
    let now = Timestamp::now();
    let found = parsed.and_then(|name| {
        let client = client.as_ref()?;
        let (grant, tokens) = client.grant(&name.grant_id)?;
        let issued = tokens.iter().find(|t| t.id == name.token_id)?;
        let access = ClientAccess {
            client_id: name.client_id,
            grant,
            token_id: name.token_id,
        };
        Some((client, issued, access))
    });
    let stored = found
        .as_ref()
        .map(|(_, issued, _)| issued.token_hash.as_str());
    let token_matches = verify_stored(token, stored);
    let Some((client, issued, access)) = found.filter(|_| token_matches) else {
        return Err(ScimError::unauthorized());
    };
    if client.status != CredentialStatus::Enabled
        || issued.expires <= now
        || client.tenant_id != *tenant
    {
        return Err(ScimError::unauthorized());
    }
    let who = Authenticated {
        tenant_id: client.tenant_id.clone(),
        actor: Actor::Client(access),
    };
    Ok((who, issued.expires))
}

/// Authenticates a static bearer token for `tenant` (`None`: the URL named no valid
/// tenant): one GetItem (and, at most once a minute per credential, an update of its last use).
/// Every failure is the same 401 after the same work (a lookup and a hash, made with decoy values
/// when the token or tenant is malformed), so neither the answer nor its timing tells which part
/// was wrong.
pub async fn authenticate_credential(
    store: &Store,
    tenant: Option<&TenantId>,
    authorization: Option<&str>,
) -> Result<Credential, ScimError> {
    let parsed = bearer(authorization).and_then(parse);
    let well_formed = parsed.is_some() && tenant.is_some();
    let (credential_id, secret) = parsed.unwrap_or_else(|| (decoy(), DECOY_HASH));
    let decoy_tenant: TenantId = decoy();
    let tenant = tenant.unwrap_or(&decoy_tenant);
    let credential = match store.get_credential(tenant, &credential_id).await {
        Ok(found) => found,
        Err(StoreError::Throttled) => return Err(ScimError::throttled()),
        Err(e) => return Err(e.into()),
    };
    let credential = credential.filter(|_| well_formed);
    // The hash is checked first and whatever the status, so every rejection costs the same.
    let stored = credential.as_ref().map(|c| c.secret_hash.as_str());
    let secret_matches = verify_stored(secret, stored);
    let Some(credential) = credential.filter(|_| secret_matches) else {
        return Err(ScimError::unauthorized());
    };
    if credential.oauth_only {
        // The caller holds the token: it may learn why it no longer works.
        return Err(ScimError::new(
            401,
            None,
            format!(
                "tenant {tenant} accepts OAuth access tokens only: get one from \
                 /{tenant}/oauth2/token with an OAuth client"
            ),
        ));
    }
    let now = Timestamp::now();
    let expired = credential.expires.is_some_and(|e| e <= now);
    if credential.status != CredentialStatus::Enabled || expired || credential.tenant_id != *tenant
    {
        return Err(ScimError::unauthorized());
    }
    let cutoff = now.minus(time::Duration::seconds(LAST_USED_RESOLUTION_SECONDS));
    if credential.last_used.is_none_or(|t| t < cutoff) {
        // Best effort: a failure to record the use must not fail the request.
        if let Err(e) = store.touch_credential(&credential, now, cutoff).await {
            tracing::warn!(error = %e, credential = %credential.id, "could not record last use");
        }
    }
    Ok(credential)
}

/// A credential's last use is recorded at most this often, so reads do not each become a write.
pub const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_back_to_their_credential_and_verify() {
        let issued = issue().unwrap();
        let (id, secret) = parse(&issued.token).unwrap();
        assert_eq!(id, issued.credential_id);
        assert!(verify(secret, &issued.secret_hash));
        assert!(!issued.token.contains(&issued.secret_hash));
    }

    #[test]
    fn tokens_carry_256_bits_and_differ_every_time() {
        let (a, b) = (issue().unwrap(), issue().unwrap());
        assert_ne!(a.token, b.token);
        let (_, secret) = parse(&a.token).unwrap();
        assert_eq!(secret.len() * 4, 256);
    }

    #[test]
    fn client_secrets_name_their_id_verify_whole_and_refuse_other_shapes() {
        let issued = issue_client_secret().unwrap();
        assert_eq!(
            parse_client_secret(&issued.secret),
            Some(issued.secret_id.clone())
        );
        assert!(verify(&issued.secret, &issued.secret_hash));
        assert!(!verify(
            &issued.secret.replace('_', "-"),
            &issued.secret_hash
        ));
        assert_ne!(issue_client_secret().unwrap().secret, issued.secret);
        let token = issue().unwrap().token;
        for bad in [
            "",
            "scimcs_",
            token.as_str(),
            &issued.secret[..issued.secret.len() - 1],
            &issued.secret.to_uppercase(),
            &format!("{}0", issued.secret),
        ] {
            assert_eq!(parse_client_secret(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let good = issue().unwrap().token;
        for bad in [
            "",
            "scimv2_",
            "Bearer x",
            &good[..good.len() - 1],
            &good.replace("scimv2_", "scim_"),
            &format!("{good}0"),
            &good.to_uppercase(),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_different_secret_does_not_verify() {
        let a = issue().unwrap();
        let b = issue().unwrap();
        let (_, secret_b) = parse(&b.token).unwrap();
        assert!(!verify(secret_b, &a.secret_hash));
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let issued = issue().unwrap();
        assert!(!format!("{issued:?}").contains(&issued.token));
    }
}
