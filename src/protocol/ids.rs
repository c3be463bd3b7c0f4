//! Identities that can only be built valid: tenant, resource and credential ids (ULIDs, held in
//! their one canonical spelling, upper-case) and resource versions. Parse raw text once, at the
//! edge (a URL, a token, a stored item); whoever holds one of these afterwards holds a valid id.
//!
//! Their text is exactly what the wire and the table have always carried: `Display`, `as_str()`
//! and `Serialize` give the canonical ULID, so keys, items and JSON stay byte-identical.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Raw text that does not spell the id asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {0}")]
pub struct InvalidId(&'static str);

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// A new, unique id (a ULID: ids made later sort after earlier ones).
            pub fn generate() -> Self {
                Self::from(ulid::Ulid::new())
            }

            /// The id `raw` spells, canonicalised (a ULID in any case becomes upper-case).
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                ulid::Ulid::from_string(raw)
                    .map(Self::from)
                    .map_err(|_| InvalidId($what))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<ulid::Ulid> for $name {
            fn from(ulid: ulid::Ulid) -> Self {
                $name(ulid.to_string())
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(raw: &str) -> Result<Self, InvalidId> {
                Self::parse(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Ordering, equality and hashing are those of the text, so a set of ids can be
        /// searched with a `&str`.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

ulid_id!(
    /// A tenant: the first segment of every SCIM URL, and of every key the tenant owns.
    TenantId,
    "tenant id"
);
ulid_id!(
    /// A user or a group (its SCIM `id`).
    ResourceId,
    "resource id"
);
ulid_id!(
    /// A SCIM credential: named in its bearer token, the actor of the writes it makes.
    CredentialId,
    "credential id"
);
ulid_id!(
    /// An OAuth client of a tenant: its `client_id` at the token endpoint.
    ClientId,
    "client id"
);
ulid_id!(
    /// One secret of an OAuth client (a client has at most two, so a rotation overlaps).
    SecretId,
    "secret id"
);
ulid_id!(
    /// One federated credential of an OAuth client: the issuer, subject and audience whose
    /// signed assertions (RFC 7523) authenticate the client in place of a secret.
    FederationId,
    "federated credential id"
);
ulid_id!(
    /// One access token the token endpoint issued (named in the token, as a credential is).
    AccessTokenId,
    "access token id"
);

/// A resource's version: 1 when created, one more with every write. Its weak ETag
/// (`W/"{n}"`) is also `meta.version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// The version of a resource just created.
    pub const FIRST: Version = Version(1);

    /// The version the next write makes.
    pub fn next(self) -> Version {
        Version(self.0.saturating_add(1))
    }

    /// A version as its decimal text (as DynamoDB returns a number).
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        raw.parse().map(Version).map_err(|_| InvalidId("version"))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// `W/"{n}"`: the weak ETag, and the resource's `meta.version`.
    pub fn etag(self) -> String {
        format!("W/\"{}\"", self.0)
    }
}

impl FromStr for Version {
    type Err = InvalidId;

    fn from_str(raw: &str) -> Result<Self, InvalidId> {
        Self::parse(raw)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulid_ids_parse_to_their_canonical_spelling() {
        let id = ResourceId::parse("01arz3ndektsv4rrffq69g5fav").unwrap();
        assert_eq!(id.as_str(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(id.to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!("01ARZ3NDEKTSV4RRFFQ69G5FAV".parse::<ResourceId>(), Ok(id));
    }

    #[test]
    fn text_that_is_not_a_ulid_is_no_id() {
        for bad in [
            "",
            "x",
            "not-a-ulid",
            "01ARZ3NDEKTSV4RRFFQ69G5FA",
            "01ARZ3NDEKTSV4RRFFQ69G5FAU",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
            assert!(CredentialId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_json_strings_and_parse_when_read_back() {
        let id = TenantId::generate();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<TenantId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TenantId>("\"nope\"").is_err());
    }

    #[test]
    fn generated_ids_differ_and_sort_by_creation() {
        let (a, b) = (CredentialId::generate(), CredentialId::generate());
        assert_ne!(a, b);
        assert_eq!(
            CredentialId::from(ulid::Ulid::nil()).as_str(),
            "00000000000000000000000000"
        );
    }

    #[test]
    fn versions_count_up_and_show_as_weak_etags() {
        assert_eq!(Version::FIRST.etag(), "W/\"1\"");
        assert_eq!(Version::FIRST.next(), Version::parse("2").unwrap());
        assert_eq!(Version::parse("41").unwrap().next().to_string(), "42");
        assert!(Version::parse("one").is_err());
        assert!(Version::parse("-1").is_err());
    }
}
