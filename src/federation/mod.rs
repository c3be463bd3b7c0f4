//! Workload identity federation (RFC 7523 §2.2): an OAuth client authenticated by a JWT its IdP
//! signed, instead of a secret. `assertion` checks one assertion against a key (pure), `jwks`
//! fetches and caches the IdP's keys. `service::token` ties them to the client's federated
//! credentials.

pub mod assertion;
pub mod jwks;

use lambda_http::http::Uri;

/// Where this process may fetch signing keys from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FederationPolicy {
    /// `http://127.0.0.1:…` (or `[::1]`, `localhost`) as a JWKS URL: a local stack's test IdP.
    /// Never in a deployed function ([`crate::deployed`]), whatever the environment says.
    pub allow_loopback_jwks: bool,
}

/// The switch a local stack sets (`scripts/dev.sh` does) to allow a loopback JWKS.
pub const LOOPBACK_JWKS_ENV: &str = "ALLOW_LOOPBACK_JWKS";

impl FederationPolicy {
    pub fn from_env() -> Self {
        let asked = std::env::var(LOOPBACK_JWKS_ENV).is_ok_and(|v| v == "1" || v == "true");
        let deployed = crate::deployed();
        FederationPolicy {
            allow_loopback_jwks: asked && !deployed,
        }
    }

    /// Why `url` cannot be a JWKS URL, if it cannot: it must be an absolute `https` URL without
    /// user info, or a loopback `http` one where the policy allows it.
    pub fn check_jwks_url(&self, url: &str) -> Result<(), String> {
        if url.len() > MAX_URL_BYTES {
            return Err(format!("a JWKS URL is at most {MAX_URL_BYTES} bytes"));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| format!("{url:?} is not a URL such as https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys"))?;
        let Some(authority) = uri.authority() else {
            return Err(format!("{url:?} is not an absolute URL"));
        };
        if authority.as_str().contains('@') {
            return Err("a JWKS URL cannot carry user info".into());
        }
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http") if is_loopback(authority.host()) => match self.allow_loopback_jwks {
                true => Ok(()),
                false => Err(format!(
                    "a JWKS URL must be https; a loopback http URL is allowed only on a local \
                     stack started with {LOOPBACK_JWKS_ENV}=1"
                )),
            },
            _ => Err(format!("a JWKS URL must be https: {url:?}")),
        }
    }
}

/// A stored URL, issuer, subject or audience is at most this long.
pub const MAX_URL_BYTES: usize = 2048;

fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]" | "::1" | "localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_urls_are_https_and_loopback_http_only_when_allowed() {
        let deployed = FederationPolicy::default();
        let local = FederationPolicy {
            allow_loopback_jwks: true,
        };
        let entra = "https://login.microsoftonline.com/72f9/discovery/v2.0/keys";
        assert_eq!(deployed.check_jwks_url(entra), Ok(()));
        assert!(deployed
            .check_jwks_url("http://127.0.0.1:9000/keys")
            .is_err());
        assert_eq!(local.check_jwks_url("http://127.0.0.1:9000/keys"), Ok(()));
        for bad in [
            "http://example.com/keys",
            "http://10.0.0.1/keys",
            "ftp://example.com/keys",
            "/keys",
            "https://user:pw@example.com/keys",
            "not a url",
            "",
        ] {
            assert!(local.check_jwks_url(bad).is_err(), "{bad}");
        }
        assert!(deployed
            .check_jwks_url(&format!("https://a.example/{}", "k".repeat(3000)))
            .is_err());
    }
}
