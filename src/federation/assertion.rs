//! One client assertion (RFC 7523 §3, checked as RFC 8725 asks): its header names RS256 or ES256
//! and a `kid`; the signature is verified with that key by `jsonwebtoken`; then `iss`, `sub` and
//! `aud` must be the federated credential's, and its times must hold at `now`. Pure: the key and
//! the clock are given.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::Timestamp;

/// Clocks may differ by this much (`exp`, `nbf`, `iat`).
pub const CLOCK_SKEW_SECONDS: i64 = 300;
/// The longest an assertion may live from issue to expiry. Entra's own tokens live 60 to 90
/// minutes (a random lifetime in that range), so an hour would refuse some of them.
pub const MAX_LIFETIME_SECONDS: i64 = 90 * 60;
/// A `jti` longer than this is refused rather than stored.
const MAX_JTI_BYTES: usize = 256;

/// What the assertion must say, from the federated credential.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audience: &'a str,
}

/// The signing algorithm and key an assertion's header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionHeader {
    pub alg: Algorithm,
    pub kid: String,
}

/// A verified assertion: until when it is valid, and its `jti` if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub expires: Timestamp,
    pub jti: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("the client assertion is not a signed JWT (header.payload.signature)")]
    Malformed,
    #[error("the client assertion's alg {0:?} is not accepted: sign it with RS256 or ES256")]
    Algorithm(String),
    #[error("the client assertion's header has no kid naming its signing key")]
    NoKeyId,
    #[error("the signing key {0:?} is not an {1} key for this algorithm")]
    KeyMismatch(String, &'static str),
    #[error("the client assertion's signature does not verify")]
    Signature,
    #[error("the client assertion's {claim} is {found:?}, not the federated credential's")]
    Claim { claim: &'static str, found: String },
    #[error("the client assertion has no {0} claim")]
    Missing(&'static str),
    #[error("the client assertion expired at {0}")]
    Expired(Timestamp),
    #[error("the client assertion is not valid before {0}")]
    NotYetValid(Timestamp),
    #[error("the client assertion was issued in the future ({0})")]
    IssuedInFuture(Timestamp),
    #[error("the client assertion lives {0} seconds; at most {MAX_LIFETIME_SECONDS} are accepted")]
    TooLong(i64),
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<Value>,
    kid: Option<Value>,
}

fn segment(assertion: &str, index: usize) -> Result<Vec<u8>, AssertionError> {
    // An unsigned (`alg: none`) JWT has an empty third part: the header still says so.
    let parts: Vec<&str> = assertion.split('.').collect();
    let part = parts
        .get(index)
        .filter(|p| parts.len() == 3 && !p.is_empty())
        .ok_or(AssertionError::Malformed)?;
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AssertionError::Malformed)
}

/// The header, read before any key is looked up: only RS256 and ES256 pass, so `none`, the HS*
/// family (a public key used as an HMAC secret) and every other algorithm stop here.
pub fn header(assertion: &str) -> Result<AssertionHeader, AssertionError> {
    let raw: RawHeader =
        serde_json::from_slice(&segment(assertion, 0)?).map_err(|_| AssertionError::Malformed)?;
    let alg = match raw.alg {
        Some(Value::String(alg)) if alg == "RS256" => Algorithm::RS256,
        Some(Value::String(alg)) if alg == "ES256" => Algorithm::ES256,
        Some(Value::String(other)) => return Err(AssertionError::Algorithm(other)),
        _ => return Err(AssertionError::Algorithm(String::new())),
    };
    match raw.kid {
        Some(Value::String(kid)) if !kid.is_empty() => Ok(AssertionHeader { alg, kid }),
        _ => Err(AssertionError::NoKeyId),
    }
}

/// The unverified claims, only to choose which federated credential to verify against.
pub fn peek_claims(assertion: &str) -> Result<Value, AssertionError> {
    serde_json::from_slice(&segment(assertion, 1)?).map_err(|_| AssertionError::Malformed)
}

/// The key must be of the header's family (RSA for RS256, P-256 for ES256), meant for
/// signatures, and, if it names an algorithm, that one.
fn check_key(header: &AssertionHeader, key: &Jwk) -> Result<(), AssertionError> {
    let (family, fits) = match header.alg {
        Algorithm::RS256 => ("RSA", matches!(key.algorithm, AlgorithmParameters::RSA(_))),
        _ => (
            "EC P-256",
            matches!(&key.algorithm, AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256),
        ),
    };
    let named = match header.alg {
        Algorithm::RS256 => KeyAlgorithm::RS256,
        _ => KeyAlgorithm::ES256,
    };
    let alg_fits = key.common.key_algorithm.is_none_or(|a| a == named);
    let use_fits = key
        .common
        .public_key_use
        .as_ref()
        .is_none_or(|u| *u == PublicKeyUse::Signature);
    if fits && alg_fits && use_fits {
        Ok(())
    } else {
        Err(AssertionError::KeyMismatch(header.kid.clone(), family))
    }
}

fn seconds(claims: &Value, name: &'static str) -> Result<Option<i64>, AssertionError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(AssertionError::Malformed),
        Some(_) => Err(AssertionError::Malformed),
    }
}

/// Verifies the signature with `key`, then the claims against `expected` at `now`.
pub fn verify(
    assertion: &str,
    header: &AssertionHeader,
    key: &Jwk,
    expected: Expected<'_>,
    now: Timestamp,
) -> Result<Verified, AssertionError> {
    check_key(header, key)?;
    let decoding = DecodingKey::from_jwk(key)
        .map_err(|_| AssertionError::KeyMismatch(header.kid.clone(), "usable"))?;
    // The crate checks the signature with the one algorithm allowed; the claims are checked
    // below, against `now`, so every refusal can say exactly what is wrong.
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims: Value = jsonwebtoken::decode::<Value>(assertion, &decoding, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => AssertionError::Signature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                AssertionError::KeyMismatch(header.kid.clone(), "matching")
            }
            _ => AssertionError::Malformed,
        })?
        .claims;
    check_claims(&claims, expected, now)
}

/// `iss`, `sub` and `aud` (a string or an array holding it), then the times, with
/// `CLOCK_SKEW_SECONDS` either way.
fn check_claims(
    claims: &Value,
    expected: Expected<'_>,
    now: Timestamp,
) -> Result<Verified, AssertionError> {
    let text = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) => Ok(s.as_str()),
        None | Some(Value::Null) => Err(AssertionError::Missing(name)),
        Some(other) => Err(AssertionError::Claim {
            claim: name,
            found: other.to_string(),
        }),
    };
    for (claim, want) in [("iss", expected.issuer), ("sub", expected.subject)] {
        let found = text(claim)?;
        if found != want {
            return Err(AssertionError::Claim {
                claim,
                found: found.into(),
            });
        }
    }
    let audience_fits = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected.audience)),
        None | Some(Value::Null) => return Err(AssertionError::Missing("aud")),
        Some(_) => false,
    };
    if !audience_fits {
        return Err(AssertionError::Claim {
            claim: "aud",
            found: claims.get("aud").map(Value::to_string).unwrap_or_default(),
        });
    }
    let now_s = now.unix_seconds();
    let exp = seconds(claims, "exp")?.ok_or(AssertionError::Missing("exp"))?;
    if exp.saturating_add(CLOCK_SKEW_SECONDS) <= now_s {
        return Err(AssertionError::Expired(Timestamp::from_unix_seconds(exp)));
    }
    let nbf = seconds(claims, "nbf")?;
    if let Some(nbf) = nbf.filter(|nbf| nbf.saturating_sub(CLOCK_SKEW_SECONDS) > now_s) {
        return Err(AssertionError::NotYetValid(Timestamp::from_unix_seconds(
            nbf,
        )));
    }
    let iat = seconds(claims, "iat")?;
    if let Some(iat) = iat.filter(|iat| iat.saturating_sub(CLOCK_SKEW_SECONDS) > now_s) {
        return Err(AssertionError::IssuedInFuture(
            Timestamp::from_unix_seconds(iat),
        ));
    }
    let lifetime = exp.saturating_sub(iat.or(nbf).unwrap_or(now_s));
    if lifetime > MAX_LIFETIME_SECONDS {
        return Err(AssertionError::TooLong(lifetime));
    }
    let jti = match claims.get("jti") {
        None | Some(Value::Null) => None,
        Some(Value::String(jti)) if !jti.is_empty() && jti.len() <= MAX_JTI_BYTES => {
            Some(jti.clone())
        }
        Some(other) => {
            return Err(AssertionError::Claim {
                claim: "jti",
                found: other.to_string().chars().take(64).collect(),
            })
        }
    };
    Ok(Verified {
        expires: Timestamp::from_unix_seconds(exp.saturating_add(CLOCK_SKEW_SECONDS)),
        jti,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXPECTED: Expected<'static> = Expected {
        issuer: "https://login.microsoftonline.com/t/v2.0",
        subject: "sp-object-id",
        audience: "api://app",
    };

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(seconds)
    }

    fn entra(iat: i64) -> Value {
        json!({
            "iss": EXPECTED.issuer, "sub": EXPECTED.subject, "aud": EXPECTED.audience,
            "iat": iat, "nbf": iat, "exp": iat + 3600, "tid": "t", "ver": "2.0",
        })
    }

    #[test]
    fn an_entra_shaped_assertion_passes_within_the_skew() {
        let now = 1_800_000_000;
        let verified = check_claims(&entra(now), EXPECTED, at(now)).unwrap();
        assert_eq!(verified.jti, None);
        assert_eq!(verified.expires, at(now + 3600 + CLOCK_SKEW_SECONDS));
        assert!(check_claims(&entra(now + 200), EXPECTED, at(now)).is_ok());
        let mut listed = entra(now);
        listed["aud"] = json!(["other", EXPECTED.audience]);
        listed["jti"] = json!("j1");
        assert_eq!(
            check_claims(&listed, EXPECTED, at(now))
                .unwrap()
                .jti
                .as_deref(),
            Some("j1")
        );
    }

    #[test]
    fn each_claim_and_time_is_refused_with_its_reason() {
        let now = 1_800_000_000;
        type Expect = fn(&AssertionError) -> bool;
        let cases: Vec<(Value, Expect)> = vec![
            (json!({"iss": "https://evil"}), |e| {
                matches!(e, AssertionError::Claim { claim: "iss", .. })
            }),
            (json!({"sub": "other"}), |e| {
                matches!(e, AssertionError::Claim { claim: "sub", .. })
            }),
            (json!({"aud": "api://other"}), |e| {
                matches!(e, AssertionError::Claim { claim: "aud", .. })
            }),
            (json!({"aud": ["a", "b"]}), |e| {
                matches!(e, AssertionError::Claim { claim: "aud", .. })
            }),
            (json!({"aud": null}), |e| {
                matches!(e, AssertionError::Missing("aud"))
            }),
            (json!({"exp": null}), |e| {
                matches!(e, AssertionError::Missing("exp"))
            }),
            (json!({"exp": "soon"}), |e| {
                matches!(e, AssertionError::Malformed)
            }),
            (
                json!({"iat": now - 4000, "nbf": now - 4000, "exp": now - 301}),
                |e| matches!(e, AssertionError::Expired(_)),
            ),
            (json!({"nbf": now + 301, "iat": now}), |e| {
                matches!(e, AssertionError::NotYetValid(_))
            }),
            (json!({"iat": now + 301, "nbf": null}), |e| {
                matches!(e, AssertionError::IssuedInFuture(_))
            }),
            (json!({"exp": now + 24 * 3600}), |e| {
                matches!(e, AssertionError::TooLong(_))
            }),
            (json!({"jti": 7}), |e| {
                matches!(e, AssertionError::Claim { claim: "jti", .. })
            }),
            (json!({"jti": "x".repeat(300)}), |e| {
                matches!(e, AssertionError::Claim { claim: "jti", .. })
            }),
        ];
        for (change, expected) in cases {
            let mut claims = entra(now);
            for (k, v) in change.as_object().unwrap() {
                claims[k] = v.clone();
            }
            let err = check_claims(&claims, EXPECTED, at(now)).unwrap_err();
            assert!(expected(&err), "{change}: {err}");
        }
    }

    #[test]
    fn only_rs256_and_es256_headers_with_a_kid_pass() {
        let jwt = |header: Value| {
            format!(
                "{}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode("{}")
            )
        };
        assert_eq!(
            header(&jwt(json!({"alg": "RS256", "kid": "k"}))).unwrap(),
            AssertionHeader {
                alg: Algorithm::RS256,
                kid: "k".into()
            }
        );
        assert!(header(&jwt(json!({"alg": "ES256", "kid": "k"}))).is_ok());
        for alg in [
            "none", "HS256", "HS512", "RS512", "PS256", "ES384", "EdDSA", "rs256",
        ] {
            assert_eq!(
                header(&jwt(json!({"alg": alg, "kid": "k"}))),
                Err(AssertionError::Algorithm(alg.into())),
                "{alg}"
            );
        }
        assert_eq!(
            header(&jwt(json!({"alg": "RS256"}))),
            Err(AssertionError::NoKeyId)
        );
        let unsigned = jwt(json!({"alg": "none", "kid": "k"}));
        let unsigned = unsigned.trim_end_matches("c2ln");
        assert_eq!(
            header(unsigned),
            Err(AssertionError::Algorithm("none".into()))
        );
        for bad in ["", "a.b", "a.b.c.d", "..", "!!.e30.c2ln"] {
            assert_eq!(header(bad), Err(AssertionError::Malformed), "{bad}");
        }
    }
}
