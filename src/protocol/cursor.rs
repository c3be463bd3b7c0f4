//! Cursors of RFC 9865: opaque to the client, signed (HMAC-SHA256) so that a forged or altered one
//! is refused, and bound to the tenant and the query they were issued for.
//!
//! Wire form: `base64url(payload JSON) "." base64url(tag)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::error::ScimError;
use super::ids::TenantId;

/// A cursor is valid this long after it was issued (advertised as `cursorTimeout`).
pub const CURSOR_TIMEOUT_SECONDS: i64 = 3600;
/// Longest cursor accepted, in bytes: checked before any decoding.
pub const MAX_CURSOR_LEN: usize = 2048;

/// What a cursor carries: where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    /// Tenant the cursor was issued to.
    #[serde(rename = "t")]
    pub tenant: TenantId,
    /// The query (`list::QueryKey`) it continues.
    #[serde(rename = "q")]
    pub query: String,
    /// Index of the resource type, for searches that span several.
    #[serde(rename = "k")]
    pub kind_index: usize,
    /// Where the next page starts within that resource type.
    #[serde(rename = "p")]
    pub position: Position,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires: i64,
    /// Each resource type's matches as the walk's first page counted them: a range is counted
    /// once per walk, not on every page.
    #[serde(rename = "n", default, skip_serializing_if = "Vec::is_empty")]
    pub totals: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Position {
    /// After this index key (a streamed source), as DynamoDB's `ExclusiveStartKey`.
    #[serde(rename = "key")]
    After(std::collections::BTreeMap<String, String>),
    /// After this many matches (an examined source).
    #[serde(rename = "n")]
    Offset(usize),
}

type Signer = Hmac<Sha256>;

fn signer(key: &[u8]) -> Result<Signer, ScimError> {
    Signer::new_from_slice(key).map_err(|_| ScimError::internal("the cursor key is unusable"))
}

pub fn encode(key: &[u8], state: &CursorState) -> Result<String, ScimError> {
    let payload = serde_json::to_vec(state)
        .map_err(|_| ScimError::internal("a cursor could not be encoded"))?;
    let mut mac = signer(key)?;
    mac.update(&payload);
    let tag = mac.finalize().into_bytes();
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Checks the signature, then the tenant, the query and the expiry, in that order.
pub fn decode(
    key: &[u8],
    token: &str,
    tenant: &TenantId,
    query: &str,
    now: i64,
) -> Result<CursorState, ScimError> {
    decode_up_to(key, token, tenant, query, now, MAX_CURSOR_LEN)
}

/// `decode` for a cursor that may be up to `max_len` bytes (the change-event feed's names the
/// events it served).
pub fn decode_up_to(
    key: &[u8],
    token: &str,
    tenant: &TenantId,
    query: &str,
    now: i64,
    max_len: usize,
) -> Result<CursorState, ScimError> {
    let invalid = || {
        ScimError::invalid_cursor(
            "the cursor is not one this service issued for this query; start again with cursor= (empty)",
        )
    };
    if token.len() > max_len {
        return Err(invalid());
    }
    let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    let mut mac = signer(key)?;
    mac.update(&payload);
    mac.verify_slice(&tag).map_err(|_| invalid())?;
    let state: CursorState = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if state.tenant != *tenant || state.query != query {
        return Err(invalid());
    }
    if state.expires < now {
        return Err(ScimError::expired_cursor(format!(
            "the cursor expired (cursors are valid for {CURSOR_TIMEOUT_SECONDS} s); start again with cursor= (empty)"
        )));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ScimType;

    const T: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const U: &str = "01BX5ZZKBKACTAV9WEVGEMMVRZ";

    fn tenant(id: &str) -> TenantId {
        TenantId::parse(id).unwrap()
    }

    fn state() -> CursorState {
        CursorState {
            tenant: tenant(T),
            query: "q1".into(),
            kind_index: 0,
            position: Position::After([("PK".to_string(), "x#USER#1".to_string())].into()),
            expires: 1_000,
            totals: vec![],
        }
    }

    #[test]
    fn a_cursor_round_trips_for_its_tenant_and_query() {
        let token = encode(b"key", &state()).unwrap();
        assert_eq!(
            decode(b"key", &token, &tenant(T), "q1", 999).unwrap(),
            state()
        );
    }

    #[test]
    fn forged_foreign_and_expired_cursors_are_refused_with_their_scim_type() {
        let token = encode(b"key", &state()).unwrap();
        let kind = |r: Result<CursorState, ScimError>| r.unwrap_err().scim_type;
        assert_eq!(
            kind(decode(b"other", &token, &tenant(T), "q1", 0)),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            kind(decode(b"key", &token, &tenant(U), "q1", 0)),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            kind(decode(b"key", &token, &tenant(T), "q2", 0)),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            kind(decode(b"key", &token, &tenant(T), "q1", 1_001)),
            Some(ScimType::ExpiredCursor)
        );
        for junk in ["", ".", "abc", "a.b.c", "%%%.%%%", &"x".repeat(5000)] {
            assert_eq!(
                kind(decode(b"key", junk, &tenant(T), "q1", 0)),
                Some(ScimType::InvalidCursor)
            );
        }
        // A payload altered but re-encoded keeps the old tag: refused.
        let (_, tag) = token.split_once('.').unwrap();
        let mut other = state();
        other.kind_index = 1;
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap())
        );
        assert_eq!(
            kind(decode(b"key", &forged, &tenant(T), "q1", 0)),
            Some(ScimType::InvalidCursor)
        );
    }
}
