//! `If-Match` and `If-None-Match` (RFC 7644 §3.14, RFC 9110 §13.1), parsed once per request.

use std::fmt;

use super::Version;

/// The versions a conditional header names: `*` (any), or a list of entity tags, compared
/// without their weak prefix (every ETag here is weak).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precondition {
    /// The header as the client sent it, for error messages.
    raw: String,
    /// `None` for `*`.
    tags: Option<Vec<String>>,
}

impl Precondition {
    pub fn parse(header: &str) -> Self {
        let raw = header.trim();
        let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
        Precondition {
            raw: raw.to_string(),
            tags: (raw != "*").then(|| raw.split(',').map(bare).collect()),
        }
    }

    /// Whether the header names `version`.
    pub fn names(&self, version: Version) -> bool {
        let current = version.etag();
        let current = current.trim_start_matches("W/");
        self.tags
            .as_ref()
            .is_none_or(|tags| tags.iter().any(|tag| tag == current))
    }
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_its_versions_weak_or_strong_and_star_names_any() {
        let v3 = Version::parse("3").unwrap();
        let v4 = Version::parse("4").unwrap();
        assert!(Precondition::parse("*").names(v3));
        assert!(Precondition::parse(r#"W/"3""#).names(v3));
        assert!(Precondition::parse(r#""3""#).names(v3));
        assert!(Precondition::parse(r#" W/"1", W/"4" "#).names(v4));
        assert!(!Precondition::parse(r#"W/"1", W/"4""#).names(v3));
        assert!(!Precondition::parse("").names(v3));
        assert_eq!(Precondition::parse(r#" W/"3" "#).to_string(), r#"W/"3""#);
    }
}
