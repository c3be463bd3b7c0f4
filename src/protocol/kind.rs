//! The resource types this service provider serves. Their own module, below `schema` and
//! `resource` alike, so that neither has to import the other for it.

/// A SCIM resource type (RFC 7643 §3): its name and endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// Every resource type, in the order a search across types lists them.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }
}
