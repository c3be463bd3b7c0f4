//! RFC 7643 resource schemas (core User, core Group, enterprise User extension)
//! as data, plus their `/Schemas` JSON representation (RFC 7643 §7).
//!
//! The definitions follow RFC 7643 §8.7.1 with these deliberate choices:
//! - the common attributes `id`, `externalId` and `meta` (§3.1) are not listed;
//! - Group `displayName` is required (as §4.2 says; §8.7.1 lists it `"required": false`) and
//!   server-unique (this service enforces it). Every other `required` flag is §8.7.1's: only
//!   `userName` besides; no sub-attribute is required (`manager.value`'s description says
//!   "REQUIRED", its flag says false, and §4.3 says RECOMMENDED);
//! - Group `members` has a read-only `display` sub-attribute;
//! - User `addresses` has a `primary` sub-attribute (§4.1.2);
//! - User `groups.$ref` may reference a User or a Group, and every `groups`
//!   sub-attribute is read-only;
//! - `caseExact` is rendered for every attribute (false where it does not apply).

use std::sync::{Arc, LazyLock};

use serde_json::{json, Map, Value};

use super::kind::ResourceKind;

/// Schema URI of the core User resource.
pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URI of the core Group resource.
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Schema URI of the enterprise User extension.
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Schema URI of a schema definition resource (RFC 7643 §7).
const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Attribute data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// When an attribute may be written (RFC 7643 §7 "mutability").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7 "returned").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// How uniqueness of an attribute's values is enforced (RFC 7643 §7 "uniqueness").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl AttrType {
    /// The RFC 7643 keyword, e.g. `"dateTime"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

impl Mutability {
    /// The RFC 7643 keyword, e.g. `"readOnly"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

impl Returned {
    /// The RFC 7643 keyword, e.g. `"never"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

impl Uniqueness {
    /// The RFC 7643 keyword, e.g. `"server"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// An index the store keeps for an attribute, so the query planner can read it instead of
/// examining every resource. A characteristic of this service, not of RFC 7643: it is not
/// rendered in `/Schemas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// The resource's own key (`id`).
    Id,
    /// The unique name: `userName` of a User, `displayName` of a Group.
    Name,
    ExternalId,
    /// `meta.lastModified`.
    LastModified,
    /// A group's `members` and a user's `groups`, with their `value`: the membership items.
    Membership,
}

/// One attribute (or sub-attribute) definition (RFC 7643 §7 "attributes"). Owned data: the
/// standard schemas are built from the builders below, and a tenant's from what it stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    /// Canonical case, e.g. `"userName"`.
    pub name: String,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub description: String,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<AttributeDef>,
    /// The store's index for this attribute, if it has one.
    pub index: Option<Index>,
}

/// One resource schema (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<AttributeDef>,
}

/// Find a definition by name, ignoring ASCII case.
fn find<'s>(defs: &'s [AttributeDef], name: &str) -> Option<&'s AttributeDef> {
    defs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

impl SchemaDef {
    /// The top-level attribute called `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        find(&self.attributes, name)
    }

    /// The attribute at a dotted path such as `"name.givenName"` (case-insensitive).
    pub fn attribute_path(&self, path: &str) -> Option<&AttributeDef> {
        let mut parts = path.split('.');
        let mut current = self.attribute(parts.next()?)?;
        for part in parts {
            current = current.sub_attribute(part)?;
        }
        Some(current)
    }

    /// The full RFC 7643 §7 representation of this schema, as served by `/Schemas`.
    pub fn to_json(&self, base_url: &str) -> Value {
        let attributes: Vec<Value> = self.attributes.iter().map(AttributeDef::to_json).collect();
        json!({
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": attributes,
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            },
        })
    }
}

impl AttributeDef {
    /// The sub-attribute called `name` (case-insensitive).
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        find(&self.sub_attributes, name)
    }

    /// The RFC 7643 §7 representation of this attribute.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.as_str().into());
        m.insert("type".into(), self.ty.as_str().into());
        m.insert("multiValued".into(), self.multi_valued.into());
        m.insert("description".into(), self.description.as_str().into());
        m.insert("required".into(), self.required.into());
        m.insert("caseExact".into(), self.case_exact.into());
        m.insert("mutability".into(), self.mutability.as_str().into());
        m.insert("returned".into(), self.returned.as_str().into());
        m.insert("uniqueness".into(), self.uniqueness.as_str().into());
        if !self.canonical_values.is_empty() {
            m.insert(
                "canonicalValues".into(),
                self.canonical_values.clone().into(),
            );
        }
        if self.ty == AttrType::Reference {
            m.insert("referenceTypes".into(), self.reference_types.clone().into());
        }
        if self.ty == AttrType::Complex {
            let subs: Vec<Value> = self.sub_attributes.iter().map(Self::to_json).collect();
            m.insert("subAttributes".into(), subs.into());
        }
        Value::Object(m)
    }

    // Builders: the standard definitions below use them, and so can an extension schema defined
    // elsewhere (a tenant's, or a test's).

    /// A single-valued, optional, readWrite attribute of type `ty` with the RFC 7643 §7 defaults:
    /// caseExact false, returned default, uniqueness none.
    pub fn new(name: &str, ty: AttrType, description: &str) -> Self {
        AttributeDef {
            name: name.to_string(),
            ty,
            multi_valued: false,
            description: description.to_string(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
            index: None,
        }
    }

    /// This attribute as a complex one with the given sub-attributes.
    pub fn with_sub_attributes(mut self, subs: Vec<AttributeDef>) -> Self {
        self.ty = AttrType::Complex;
        self.sub_attributes = subs;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    pub fn read_only(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self
    }

    pub fn immutable(mut self) -> Self {
        self.mutability = Mutability::Immutable;
        self
    }

    pub fn write_only(mut self) -> Self {
        self.mutability = Mutability::WriteOnly;
        self
    }

    pub fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    pub fn never_returned(self) -> Self {
        self.returned(Returned::Never)
    }

    pub fn server_unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }

    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| v.to_string()).collect();
        self
    }

    pub fn indexed(mut self, index: Index) -> Self {
        self.index = Some(index);
        self
    }
}

fn string(name: &str, description: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::String, description)
}

fn boolean(name: &str, description: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::Boolean, description)
}

fn binary(name: &str, description: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::Binary, description)
}

fn reference(name: &str, types: &[&str], description: &str) -> AttributeDef {
    AttributeDef {
        reference_types: types.iter().map(|t| t.to_string()).collect(),
        ..AttributeDef::new(name, AttrType::Reference, description)
    }
}

fn complex(name: &str, description: &str, subs: Vec<AttributeDef>) -> AttributeDef {
    string(name, description).with_sub_attributes(subs)
}

// Sub-attributes shared by the multi-valued attributes (RFC 7643 §2.4).

fn display() -> AttributeDef {
    string(
        "display",
        "A human-readable name, primarily used for display purposes.",
    )
}

fn label(description: &str, values: &[&str]) -> AttributeDef {
    string("type", description).canonical(values)
}

fn primary(description: &str) -> AttributeDef {
    boolean("primary", description)
}

const PRIMARY: &str = "A Boolean value indicating the 'primary' or preferred attribute value for \
                       this attribute. The primary attribute value 'true' MUST appear no more \
                       than once.";
const FUNCTION: &str = "A label indicating the attribute's function.";
const WORK_HOME: &str = "A label indicating the attribute's function, e.g., 'work' or 'home'.";

/// The core User schema (RFC 7643 §4.1, §8.7.1).
fn user() -> SchemaDef {
    SchemaDef {
        id: CORE_USER.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes: vec![
        string(
            "userName",
            "Unique identifier for the User, typically used by the user to directly \
             authenticate to the service provider. Each User MUST include a non-empty \
             userName value. This identifier MUST be unique across the service provider's \
             entire set of Users. REQUIRED.",
        )
        .required()
        .server_unique()
        .indexed(Index::Name),
        complex(
            "name",
            "The components of the user's real name.",
            vec![
                string(
                    "formatted",
                    "The full name, including all middle names, titles, and suffixes as \
                     appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
                ),
                string(
                    "familyName",
                    "The family name of the User, or last name in most Western languages.",
                ),
                string(
                    "givenName",
                    "The given name of the User, or first name in most Western languages.",
                ),
                string("middleName", "The middle name(s) of the User."),
                string(
                    "honorificPrefix",
                    "The honorific prefix(es) of the User, or title in most Western languages.",
                ),
                string(
                    "honorificSuffix",
                    "The honorific suffix(es) of the User, or suffix in most Western languages.",
                ),
            ],
        ),
        string(
            "displayName",
            "The name of the User, suitable for display to end-users.",
        ),
        string(
            "nickName",
            "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' \
             instead of 'Robert'.",
        ),
        reference(
            "profileUrl",
            &["external"],
            "A fully qualified URL pointing to a page representing the User's online profile.",
        ),
        string("title", "The user's title, such as 'Vice President'."),
        string(
            "userType",
            "Used to identify the relationship between the organization and the user, \
             e.g., 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown'.",
        ),
        string(
            "preferredLanguage",
            "Indicates the User's preferred written or spoken language, e.g., 'en-US'.",
        ),
        string(
            "locale",
            "Used to indicate the User's default location for purposes of localizing items \
             such as currency, date time format, or numerical representations.",
        ),
        string(
            "timezone",
            "The User's time zone in the 'Olson' time zone database format, e.g., \
             'America/Los_Angeles'.",
        ),
        boolean(
            "active",
            "A Boolean value indicating the User's administrative status.",
        ),
        string(
            "password",
            "The User's cleartext password, used to set an initial password or reset an \
             existing one. Never returned.",
        )
        .write_only()
        .never_returned(),
        complex(
            "emails",
            "Email addresses for the user. Canonical type values of 'work', 'home', and 'other'.",
            vec![
                string("value", "Email address for the User."),
                display(),
                label(WORK_HOME, &["work", "home", "other"]),
                primary(PRIMARY),
            ],
        )
        .multi(),
        complex(
            "phoneNumbers",
            "Phone numbers for the User, e.g., 'tel:+1-201-555-0123'. Canonical type values \
             of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.",
            vec![
                string("value", "Phone number of the User."),
                display(),
                label(
                    "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
                    &["work", "home", "mobile", "fax", "pager", "other"],
                ),
                primary(PRIMARY),
            ],
        )
        .multi(),
        complex(
            "ims",
            "Instant messaging addresses for the User.",
            vec![
                string("value", "Instant messaging address for the User."),
                display(),
                label(
                    "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
                    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                ),
                primary(PRIMARY),
            ],
        )
        .multi(),
        complex(
            "photos",
            "URLs of photos of the User.",
            vec![
                reference("value", &["external"], "URL of a photo of the User."),
                display(),
                label(
                    "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
                    &["photo", "thumbnail"],
                ),
                primary(PRIMARY),
            ],
        )
        .multi(),
        complex(
            "addresses",
            "A physical mailing address for this User. Canonical type values of 'work', \
             'home', and 'other'.",
            vec![
                string(
                    "formatted",
                    "The full mailing address, formatted for display or use with a mailing \
                     label. This attribute MAY contain newlines.",
                ),
                string(
                    "streetAddress",
                    "The full street address component, which may include house number, \
                     street name, P.O. box, and multi-line extended street address \
                     information. This attribute MAY contain newlines.",
                ),
                string("locality", "The city or locality component."),
                string("region", "The state or region component."),
                string("postalCode", "The zip code or postal code component."),
                string("country", "The country name component."),
                label(WORK_HOME, &["work", "home", "other"]),
                primary(PRIMARY),
            ],
        )
        .multi(),
        complex(
            "groups",
            "A list of groups to which the user belongs, either through direct membership, \
             through nested groups, or dynamically calculated.",
            vec![
                string("value", "The identifier of the User's group.")
                    .read_only()
                    .indexed(Index::Membership),
                reference(
                    "$ref",
                    &["User", "Group"],
                    "The URI of the corresponding 'Group' resource to which the user belongs.",
                )
                .read_only(),
                display().read_only(),
                label(
                    "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
                    &["direct", "indirect"],
                )
                .read_only(),
            ],
        )
        .multi()
        .read_only()
        .indexed(Index::Membership),
        complex(
            "entitlements",
            "A list of entitlements for the User that represent a thing the User has.",
            vec![
                string("value", "The value of an entitlement."),
                display(),
                string("type", FUNCTION),
                primary(PRIMARY),
            ],
        )
        .multi(),
        complex(
            "roles",
            "A list of roles for the User that collectively represent who the User is, \
             e.g., 'Student', 'Faculty'.",
            vec![
                string("value", "The value of a role."),
                display(),
                string("type", FUNCTION),
                primary(PRIMARY),
            ],
        )
        .multi(),
        complex(
            "x509Certificates",
            "A list of certificates issued to the User.",
            vec![
                binary("value", "The value of an X.509 certificate."),
                display(),
                string("type", FUNCTION),
                primary(PRIMARY),
            ],
        )
        .multi(),
    ],
    }
}

/// The core Group schema (RFC 7643 §4.2, §8.7.1).
fn group() -> SchemaDef {
    SchemaDef {
        id: CORE_GROUP.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            string(
                "displayName",
                "A human-readable name for the Group. REQUIRED.",
            )
            .required()
            .server_unique()
            .indexed(Index::Name),
            complex(
                "members",
                "A list of members of the Group.",
                vec![
                    string("value", "Identifier of the member of this Group.")
                        .immutable()
                        .indexed(Index::Membership),
                    reference(
                        "$ref",
                        &["User", "Group"],
                        "The URI corresponding to a SCIM resource that is a member of this Group.",
                    )
                    .immutable(),
                    string("display", "A human-readable name for the member.").read_only(),
                    label(
                        "A label indicating the type of resource, e.g., 'User' or 'Group'.",
                        &["User", "Group"],
                    )
                    .immutable(),
                ],
            )
            .multi()
            .indexed(Index::Membership),
        ],
    }
}

/// The enterprise User extension schema (RFC 7643 §4.3, §8.7.1).
fn enterprise() -> SchemaDef {
    SchemaDef {
        id: ENTERPRISE_USER.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            string(
                "employeeNumber",
                "Numeric or alphanumeric identifier assigned to a person, typically based on \
             order of hire or association with an organization.",
            ),
            string("costCenter", "Identifies the name of a cost center."),
            string("organization", "Identifies the name of an organization."),
            string("division", "Identifies the name of a division."),
            string("department", "Identifies the name of a department."),
            complex(
                "manager",
                "The User's manager. A complex type that optionally allows service providers to \
             represent organizational hierarchy by referencing the 'id' attribute of another \
             User.",
                vec![
                    string(
                        "value",
                        "The id of the SCIM resource representing the User's manager.",
                    ),
                    reference(
                        "$ref",
                        &["User"],
                        "The URI of the SCIM resource representing the User's manager.",
                    ),
                    string("displayName", "The displayName of the User's manager.").read_only(),
                ],
            ),
        ],
    }
}

/// Why a schema cannot join a [`SchemaSet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaSetError {
    #[error("schema {0} is already in the set")]
    Duplicate(String),
}

/// The schemas one service provider serves: a core schema per resource kind, plus the extension
/// schemas each kind accepts, and the common attributes every resource has. Every rule that
/// depends on a schema takes it as a value: validation (`resource::normalize_with`,
/// `resource::check_immutable_with`), path resolution (`resource::resolve_with`), PATCH
/// (`patch::parse_request`, `patch::apply`, `members::split`), filters (`matcher::validate`,
/// `matcher::matches`), sorting (`sort`), projection (`projection::Projection`), list queries
/// (`list::ListQuery`), the query planner (`planner::plan`, which reads each attribute's
/// [`Index`]) and discovery (`/Schemas`, `/ResourceTypes`). So a per-tenant extension schema is
/// data handed to them, not code, and the `/Schemas` documents describe exactly the rules
/// applied.
///
/// The set owns its definitions. The application holds one `Arc<SchemaSet>` ([`SchemaSet::shared`])
/// and hands it to request handling, lists, writes and discovery.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaSet {
    common: Vec<AttributeDef>,
    user: SchemaDef,
    group: SchemaDef,
    user_extensions: Vec<SchemaDef>,
    group_extensions: Vec<SchemaDef>,
}

static STANDARD: LazyLock<Arc<SchemaSet>> = LazyLock::new(|| {
    Arc::new(SchemaSet {
        common: common_attributes(),
        user: user(),
        group: group(),
        user_extensions: vec![enterprise()],
        group_extensions: Vec::new(),
    })
});

/// RFC 7643 §3.1 common attributes: not part of any schema, but paths and filters may name them.
/// Ids are ULIDs, whose letters are case-insensitive; the rest are caseExact.
fn common_attributes() -> Vec<AttributeDef> {
    let read_only = |name: &str, ty| AttributeDef::new(name, ty, "").case_exact().read_only();
    let meta = vec![
        read_only("resourceType", AttrType::String),
        read_only("created", AttrType::DateTime),
        read_only("lastModified", AttrType::DateTime).indexed(Index::LastModified),
        read_only("location", AttrType::String),
        read_only("version", AttrType::String),
    ];
    vec![
        AttributeDef::new("id", AttrType::String, "")
            .read_only()
            .returned(Returned::Always)
            .indexed(Index::Id),
        AttributeDef::new("externalId", AttrType::String, "")
            .case_exact()
            .indexed(Index::ExternalId),
        read_only("meta", AttrType::Complex).with_sub_attributes(meta),
    ]
}

impl SchemaSet {
    /// RFC 7643 as this service implements it: core User with the enterprise extension, core Group.
    pub fn standard() -> &'static SchemaSet {
        &STANDARD
    }

    /// The standard set, shared: what the application holds and hands to every request.
    pub fn shared() -> Arc<SchemaSet> {
        Arc::clone(&STANDARD)
    }

    /// This set plus `extension` for resources of `kind`. Refused when a schema of the set
    /// already has the URI (ignoring case).
    pub fn with_extension(
        mut self,
        kind: ResourceKind,
        extension: SchemaDef,
    ) -> Result<SchemaSet, SchemaSetError> {
        if self.schema(&extension.id).is_some() {
            return Err(SchemaSetError::Duplicate(extension.id));
        }
        match kind {
            ResourceKind::User => self.user_extensions.push(extension),
            ResourceKind::Group => self.group_extensions.push(extension),
        }
        Ok(self)
    }

    /// A common attribute (`id`, `externalId`, `meta`) by name (case-insensitive).
    pub fn common(&self, name: &str) -> Option<&AttributeDef> {
        find(&self.common, name)
    }

    /// The core schema of `kind`.
    pub fn core(&self, kind: ResourceKind) -> &SchemaDef {
        match kind {
            ResourceKind::User => &self.user,
            ResourceKind::Group => &self.group,
        }
    }

    /// The extension schemas resources of `kind` may carry.
    pub fn extensions(&self, kind: ResourceKind) -> &[SchemaDef] {
        match kind {
            ResourceKind::User => &self.user_extensions,
            ResourceKind::Group => &self.group_extensions,
        }
    }

    /// The extension of `kind` with URI `urn` (case-insensitive).
    pub fn extension(&self, kind: ResourceKind, urn: &str) -> Option<&SchemaDef> {
        self.extensions(kind)
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every schema of the set: the core schemas, then the extensions, in `/Schemas` order.
    pub fn all(&self) -> impl Iterator<Item = &SchemaDef> + '_ {
        [&self.user, &self.group]
            .into_iter()
            .chain(self.user_extensions.iter())
            .chain(self.group_extensions.iter())
    }

    /// Any schema of the set by URI (case-insensitive).
    pub fn schema(&self, urn: &str) -> Option<&SchemaDef> {
        self.all().find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE_URL: &str = "https://scim.example.com/v2";

    static USER: LazyLock<&SchemaDef> =
        LazyLock::new(|| SchemaSet::standard().core(ResourceKind::User));
    static GROUP: LazyLock<&SchemaDef> =
        LazyLock::new(|| SchemaSet::standard().core(ResourceKind::Group));
    static ENTERPRISE: LazyLock<&SchemaDef> = LazyLock::new(|| {
        SchemaSet::standard()
            .extension(ResourceKind::User, ENTERPRISE_USER)
            .expect("the standard set has the enterprise extension")
    });

    /// The standard set's schemas, in `/Schemas` order.
    fn schemas() -> Vec<&'static SchemaDef> {
        SchemaSet::standard().all().collect()
    }

    fn schema(id: &str) -> Option<&'static SchemaDef> {
        SchemaSet::standard().schema(id)
    }

    /// Every attribute and sub-attribute of a schema, with its dotted path.
    fn walk(schema: &SchemaDef) -> Vec<(String, &AttributeDef)> {
        let mut out = Vec::new();
        for attr in &schema.attributes {
            out.push((attr.name.to_string(), attr));
            for sub in &attr.sub_attributes {
                out.push((format!("{}.{}", attr.name, sub.name), sub));
            }
        }
        out
    }

    /// Every attribute JSON object of a rendered schema, sub-attributes included.
    fn json_attributes(value: &Value) -> Vec<&Map<String, Value>> {
        fn collect<'a>(list: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
            for item in list.as_array().expect("attribute list is an array") {
                let obj = item.as_object().expect("attribute is an object");
                out.push(obj);
                if let Some(subs) = obj.get("subAttributes") {
                    collect(subs, out);
                }
            }
        }
        let mut out = Vec::new();
        collect(&value["attributes"], &mut out);
        out
    }

    #[test]
    fn every_schema_renders_with_the_schema_urn_id_name_and_location() {
        for s in schemas() {
            let v = s.to_json(BASE_URL);
            assert_eq!(v["schemas"], json!([SCHEMA_URN]));
            assert_eq!(v["id"], s.id);
            assert_eq!(v["name"], s.name);
            assert_eq!(v["description"], s.description);
            assert_eq!(v["meta"]["resourceType"], "Schema");
            let location = v["meta"]["location"].as_str().unwrap();
            assert_eq!(location, format!("{BASE_URL}/Schemas/{}", s.id));
            assert!(location.ends_with(&format!("/Schemas/{}", s.id)));
            assert_eq!(
                v["attributes"].as_array().unwrap().len(),
                s.attributes.len()
            );
        }
    }

    #[test]
    fn schemas_are_listed_as_user_group_enterprise_with_the_published_uris() {
        let ids: Vec<&str> = schemas().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, [CORE_USER, CORE_GROUP, ENTERPRISE_USER]);
        assert_eq!(USER.name, "User");
        assert_eq!(GROUP.name, "Group");
        assert_eq!(ENTERPRISE.name, "EnterpriseUser");
    }

    #[test]
    fn schema_lookup_ignores_case_and_rejects_unknown_uris() {
        assert!(std::ptr::eq(schema(CORE_USER).unwrap(), *USER));
        assert!(std::ptr::eq(
            schema(&CORE_GROUP.to_uppercase()).unwrap(),
            *GROUP
        ));
        assert!(std::ptr::eq(
            schema(&ENTERPRISE_USER.to_lowercase()).unwrap(),
            *ENTERPRISE
        ));
        assert!(schema("urn:ietf:params:scim:schemas:core:2.0:Schema").is_none());
        assert!(schema("").is_none());
    }

    #[test]
    fn the_standard_set_holds_user_with_enterprise_and_group() {
        let set = SchemaSet::standard();
        assert!(std::ptr::eq(set.core(ResourceKind::User), *USER));
        assert!(std::ptr::eq(set.core(ResourceKind::Group), *GROUP));
        let user_ext: Vec<&str> = set
            .extensions(ResourceKind::User)
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(user_ext, [ENTERPRISE_USER]);
        assert!(set.extensions(ResourceKind::Group).is_empty());
        assert!(set
            .extension(ResourceKind::User, &ENTERPRISE_USER.to_uppercase())
            .is_some());
        assert!(set
            .extension(ResourceKind::Group, ENTERPRISE_USER)
            .is_none());
        assert!(set.extension(ResourceKind::User, CORE_USER).is_none());
        let all: Vec<&str> = set.all().map(|s| s.id.as_str()).collect();
        assert_eq!(all, [CORE_USER, CORE_GROUP, ENTERPRISE_USER]);
    }

    const BADGE_URN: &str = "urn:example:params:scim:schemas:extension:badge:2.0:Group";

    fn badge() -> SchemaDef {
        SchemaDef {
            id: BADGE_URN.into(),
            name: "Badge".into(),
            description: "A test extension".into(),
            attributes: vec![
                AttributeDef::new("badge", AttrType::String, "A badge number.").immutable(),
            ],
        }
    }

    #[test]
    fn an_extension_is_data_added_to_a_set_without_touching_the_standard_one() {
        let set = SchemaSet::standard()
            .clone()
            .with_extension(ResourceKind::Group, badge())
            .unwrap();
        assert_eq!(
            set.extension(ResourceKind::Group, BADGE_URN),
            Some(&badge())
        );
        assert!(set.extension(ResourceKind::User, BADGE_URN).is_none());
        assert!(set.schema(BADGE_URN).is_some());
        assert_eq!(set.all().count(), 4);
        assert!(SchemaSet::standard().schema(BADGE_URN).is_none());
        assert_eq!(
            set.clone()
                .with_extension(ResourceKind::User, badge())
                .unwrap_err(),
            SchemaSetError::Duplicate(BADGE_URN.into())
        );
        assert!(set
            .with_extension(ResourceKind::User, ENTERPRISE.clone())
            .is_err());
    }

    #[test]
    fn public_builders_give_the_rfc_defaults() {
        let a = AttributeDef::new("x", AttrType::Integer, "d");
        assert!(!a.multi_valued && !a.required && !a.case_exact);
        assert_eq!(a.mutability, Mutability::ReadWrite);
        assert_eq!(a.returned, Returned::Default);
        assert_eq!(a.uniqueness, Uniqueness::None);
        let c = AttributeDef::new("c", AttrType::String, "d")
            .with_sub_attributes(Vec::new())
            .multi()
            .required();
        assert_eq!(c.ty, AttrType::Complex);
        assert!(c.multi_valued && c.required);
    }

    #[test]
    fn attribute_lookup_ignores_case() {
        assert_eq!(USER.attribute("USERNAME").unwrap().name, "userName");
        assert_eq!(USER.attribute("username").unwrap().name, "userName");
        let given = USER
            .attribute("Name")
            .and_then(|n| n.sub_attribute("GIVENNAME"))
            .unwrap();
        assert_eq!(given.name, "givenName");
        assert_eq!(
            USER.attribute_path("Name.GIVENNAME").unwrap().name,
            "givenName"
        );
        assert_eq!(GROUP.attribute_path("MEMBERS.$REF").unwrap().name, "$ref");
        assert_eq!(ENTERPRISE.attribute("Manager").unwrap().name, "manager");
    }

    #[test]
    fn unknown_attributes_and_paths_are_not_found() {
        assert!(USER.attribute("nope").is_none());
        assert!(USER.attribute("givenName").is_none());
        assert!(USER.attribute_path("name.nope").is_none());
        assert!(USER.attribute_path("userName.value").is_none());
        assert!(USER.attribute_path("").is_none());
        assert!(USER.attribute("name").unwrap().sub_attribute("").is_none());
    }

    #[test]
    fn the_indexed_attributes_are_those_the_store_keys_and_none_is_rendered() {
        let set = SchemaSet::standard();
        let mut indexed = Vec::new();
        for name in ["id", "externalId", "meta"] {
            let attr = set.common(name).unwrap();
            indexed.extend(attr.index.map(|i| (name.to_string(), i)));
            for sub in &attr.sub_attributes {
                indexed.extend(sub.index.map(|i| (format!("{name}.{}", sub.name), i)));
            }
        }
        for s in schemas() {
            for (path, a) in walk(s) {
                indexed.extend(a.index.map(|i| (format!("{}:{path}", s.name), i)));
            }
            assert!(
                !s.to_json(BASE_URL).to_string().contains("index"),
                "{}",
                s.id
            );
        }
        let expected = [
            ("id", Index::Id),
            ("externalId", Index::ExternalId),
            ("meta.lastModified", Index::LastModified),
            ("User:userName", Index::Name),
            ("User:groups", Index::Membership),
            ("User:groups.value", Index::Membership),
            ("Group:displayName", Index::Name),
            ("Group:members", Index::Membership),
            ("Group:members.value", Index::Membership),
        ];
        let expected: Vec<(String, Index)> =
            expected.iter().map(|(p, i)| (p.to_string(), *i)).collect();
        assert_eq!(indexed, expected);
    }

    #[test]
    fn common_attributes_are_not_listed_in_any_schema() {
        for s in schemas() {
            for common in ["id", "externalId", "meta", "schemas"] {
                assert!(s.attribute(common).is_none(), "{} lists {common}", s.id);
            }
        }
    }

    #[test]
    fn password_is_write_only_and_never_returned() {
        let p = USER.attribute("password").unwrap();
        assert_eq!(p.mutability, Mutability::WriteOnly);
        assert_eq!(p.returned, Returned::Never);
        let v = p.to_json();
        assert_eq!(v["mutability"], "writeOnly");
        assert_eq!(v["returned"], "never");
    }

    #[test]
    fn groups_and_all_its_sub_attributes_are_read_only() {
        let groups = USER.attribute("groups").unwrap();
        assert!(groups.multi_valued);
        assert_eq!(groups.mutability, Mutability::ReadOnly);
        let names: Vec<&str> = groups
            .sub_attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["value", "$ref", "display", "type"]);
        for sub in &groups.sub_attributes {
            assert_eq!(sub.mutability, Mutability::ReadOnly, "groups.{}", sub.name);
        }
        assert_eq!(
            groups.sub_attribute("$ref").unwrap().reference_types,
            ["User", "Group"]
        );
        assert_eq!(
            groups.sub_attribute("type").unwrap().canonical_values,
            ["direct", "indirect"]
        );
    }

    #[test]
    fn user_name_is_required_server_unique_and_case_insensitive() {
        let u = USER.attribute("userName").unwrap();
        assert!(u.required);
        assert_eq!(u.uniqueness, Uniqueness::Server);
        assert!(!u.case_exact);
        assert_eq!(
            u.to_json(),
            json!({
                "name": "userName",
                "type": "string",
                "multiValued": false,
                "description": u.description,
                "required": true,
                "caseExact": false,
                "mutability": "readWrite",
                "returned": "default",
                "uniqueness": "server",
            })
        );
    }

    #[test]
    fn only_user_name_and_group_display_name_are_required() {
        for s in schemas() {
            for (path, a) in walk(s) {
                let expected = matches!(
                    (s.id.as_str(), path.as_str()),
                    (CORE_USER, "userName") | (CORE_GROUP, "displayName")
                );
                assert_eq!(a.required, expected, "{}:{path}", s.id);
            }
        }
    }

    #[test]
    fn group_display_name_is_required_and_server_unique() {
        let d = GROUP.attribute("displayName").unwrap();
        assert!(d.required);
        assert_eq!(d.uniqueness, Uniqueness::Server);
        assert!(!d.case_exact);
    }

    #[test]
    fn group_members_are_read_write_with_immutable_identity_and_read_only_display() {
        let members = GROUP.attribute("members").unwrap();
        assert!(members.multi_valued);
        assert_eq!(members.mutability, Mutability::ReadWrite);
        let m = |name: &str| members.sub_attribute(name).unwrap();
        assert_eq!(m("value").mutability, Mutability::Immutable);
        assert_eq!(m("$ref").mutability, Mutability::Immutable);
        assert_eq!(m("$ref").ty, AttrType::Reference);
        assert_eq!(m("$ref").reference_types, ["User", "Group"]);
        assert_eq!(m("display").mutability, Mutability::ReadOnly);
        assert_eq!(m("type").mutability, Mutability::Immutable);
        assert_eq!(m("type").canonical_values, ["User", "Group"]);
    }

    #[test]
    fn enterprise_schema_has_the_rfc_attributes_and_a_manager_reference() {
        let names: Vec<&str> = ENTERPRISE
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "employeeNumber",
                "costCenter",
                "organization",
                "division",
                "department",
                "manager"
            ]
        );
        let manager = ENTERPRISE.attribute("manager").unwrap();
        assert_eq!(manager.ty, AttrType::Complex);
        assert!(!manager.multi_valued);
        let value = manager.sub_attribute("value").unwrap();
        assert_eq!(value.ty, AttrType::String);
        let r = manager.sub_attribute("$ref").unwrap();
        assert_eq!(r.ty, AttrType::Reference);
        assert_eq!(r.reference_types, ["User"]);
        let dn = manager.sub_attribute("displayName").unwrap();
        assert_eq!(dn.mutability, Mutability::ReadOnly);
        assert_eq!(manager.sub_attributes.len(), 3);
    }

    #[test]
    fn canonical_values_appear_only_where_defined() {
        let expected = [
            (CORE_USER, "emails.type", vec!["work", "home", "other"]),
            (
                CORE_USER,
                "phoneNumbers.type",
                vec!["work", "home", "mobile", "fax", "pager", "other"],
            ),
            (
                CORE_USER,
                "ims.type",
                vec!["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            (CORE_USER, "photos.type", vec!["photo", "thumbnail"]),
            (CORE_USER, "addresses.type", vec!["work", "home", "other"]),
            (CORE_USER, "groups.type", vec!["direct", "indirect"]),
            (CORE_GROUP, "members.type", vec!["User", "Group"]),
        ];
        let mut found = Vec::new();
        for s in schemas() {
            for (path, a) in walk(s) {
                let rendered = a.to_json();
                match rendered.get("canonicalValues") {
                    Some(values) => {
                        assert_eq!(values, &json!(a.canonical_values));
                        found.push((s.id.clone(), path, a.canonical_values.clone()));
                    }
                    None => assert!(a.canonical_values.is_empty(), "{path}"),
                }
            }
        }
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(id, path, values)| {
                let values = values.into_iter().map(String::from).collect();
                (id.to_string(), path.to_string(), values)
            })
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn reference_types_appear_only_on_reference_attributes() {
        let mut references = Vec::new();
        for s in schemas() {
            for obj in json_attributes(&s.to_json(BASE_URL)) {
                let is_reference = obj["type"] == "reference";
                assert_eq!(obj.contains_key("referenceTypes"), is_reference, "{obj:?}");
                if is_reference {
                    assert!(!obj["referenceTypes"].as_array().unwrap().is_empty());
                    references.push(obj["name"].as_str().unwrap().to_string());
                }
            }
        }
        assert_eq!(references, ["profileUrl", "value", "$ref", "$ref", "$ref"]);
    }

    #[test]
    fn sub_attributes_appear_only_on_complex_attributes() {
        for s in schemas() {
            for obj in json_attributes(&s.to_json(BASE_URL)) {
                let is_complex = obj["type"] == "complex";
                assert_eq!(obj.contains_key("subAttributes"), is_complex, "{obj:?}");
            }
            for (path, a) in walk(s) {
                if a.ty != AttrType::Complex {
                    assert!(a.sub_attributes.is_empty(), "{path}");
                }
                if a.ty != AttrType::Reference {
                    assert!(a.reference_types.is_empty(), "{path}");
                }
            }
        }
    }

    #[test]
    fn every_complex_attribute_has_sub_attributes_and_none_is_nested_complex() {
        for s in schemas() {
            for a in s.attributes.iter().filter(|a| a.ty == AttrType::Complex) {
                assert!(!a.sub_attributes.is_empty(), "{}", a.name);
                for sub in &a.sub_attributes {
                    assert_ne!(sub.ty, AttrType::Complex, "{}.{}", a.name, sub.name);
                    assert!(sub.sub_attributes.is_empty());
                    assert!(!sub.multi_valued, "{}.{}", a.name, sub.name);
                }
            }
        }
    }

    #[test]
    fn attribute_names_are_unique_ignoring_case_at_every_level() {
        fn assert_unique(defs: &[AttributeDef], context: &str) {
            let mut seen: Vec<String> = Vec::new();
            for a in defs {
                let lower = a.name.to_ascii_lowercase();
                assert!(!seen.contains(&lower), "{context}: duplicate {}", a.name);
                seen.push(lower);
                assert_unique(&a.sub_attributes, &a.name);
            }
        }
        for s in schemas() {
            assert_unique(&s.attributes, &s.id);
        }
    }

    #[test]
    fn every_attribute_has_a_name_and_a_description() {
        for s in schemas() {
            for (path, a) in walk(s) {
                assert!(!a.name.is_empty(), "{path}");
                assert!(!a.description.is_empty(), "{path}");
            }
        }
    }

    #[test]
    fn user_json_contains_exactly_the_rfc_attribute_names() {
        let v = USER.to_json(BASE_URL);
        let names: Vec<&str> = v["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "userName",
                "name",
                "displayName",
                "nickName",
                "profileUrl",
                "title",
                "userType",
                "preferredLanguage",
                "locale",
                "timezone",
                "active",
                "password",
                "emails",
                "phoneNumbers",
                "ims",
                "photos",
                "addresses",
                "groups",
                "entitlements",
                "roles",
                "x509Certificates",
            ]
        );
        for common in ["id", "externalId", "meta"] {
            assert!(!names.contains(&common));
        }
    }

    #[test]
    fn user_sub_attributes_follow_the_rfc() {
        let subs = |name: &str| -> Vec<&str> {
            USER.attribute(name)
                .unwrap()
                .sub_attributes
                .iter()
                .map(|a| a.name.as_str())
                .collect()
        };
        assert_eq!(
            subs("name"),
            [
                "formatted",
                "familyName",
                "givenName",
                "middleName",
                "honorificPrefix",
                "honorificSuffix"
            ]
        );
        assert_eq!(
            subs("addresses"),
            [
                "formatted",
                "streetAddress",
                "locality",
                "region",
                "postalCode",
                "country",
                "type",
                "primary"
            ]
        );
        for multi in [
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "entitlements",
            "roles",
            "x509Certificates",
        ] {
            assert_eq!(
                subs(multi),
                ["value", "display", "type", "primary"],
                "{multi}"
            );
            let a = USER.attribute(multi).unwrap();
            assert!(a.multi_valued, "{multi}");
            assert_eq!(a.sub_attribute("primary").unwrap().ty, AttrType::Boolean);
        }
        assert!(!USER.attribute("name").unwrap().multi_valued);
        assert!(USER.attribute("addresses").unwrap().multi_valued);
        assert_eq!(
            USER.attribute_path("x509Certificates.value").unwrap().ty,
            AttrType::Binary
        );
        let photo = USER.attribute_path("photos.value").unwrap();
        assert_eq!(photo.ty, AttrType::Reference);
        assert_eq!(photo.reference_types, ["external"]);
        let profile = USER.attribute("profileUrl").unwrap();
        assert_eq!(profile.ty, AttrType::Reference);
        assert_eq!(profile.reference_types, ["external"]);
        assert_eq!(USER.attribute("active").unwrap().ty, AttrType::Boolean);
    }

    #[test]
    fn everything_else_uses_the_rfc_defaults() {
        for s in schemas() {
            for (path, a) in walk(s) {
                assert!(!a.case_exact, "{path}");
                if path != "password" {
                    assert_eq!(a.returned, Returned::Default, "{path}");
                }
                let server_unique = matches!(
                    (s.id.as_str(), path.as_str()),
                    (CORE_USER, "userName") | (CORE_GROUP, "displayName")
                );
                let expected = if server_unique {
                    Uniqueness::Server
                } else {
                    Uniqueness::None
                };
                assert_eq!(a.uniqueness, expected, "{}:{path}", s.id);
            }
        }
    }

    #[test]
    fn keywords_render_in_rfc_spelling() {
        let types = [
            (AttrType::String, "string"),
            (AttrType::Boolean, "boolean"),
            (AttrType::Decimal, "decimal"),
            (AttrType::Integer, "integer"),
            (AttrType::DateTime, "dateTime"),
            (AttrType::Binary, "binary"),
            (AttrType::Reference, "reference"),
            (AttrType::Complex, "complex"),
        ];
        for (t, s) in types {
            assert_eq!(t.as_str(), s);
        }
        let mutabilities = [
            (Mutability::ReadOnly, "readOnly"),
            (Mutability::ReadWrite, "readWrite"),
            (Mutability::Immutable, "immutable"),
            (Mutability::WriteOnly, "writeOnly"),
        ];
        for (m, s) in mutabilities {
            assert_eq!(m.as_str(), s);
        }
        let returned = [
            (Returned::Always, "always"),
            (Returned::Never, "never"),
            (Returned::Default, "default"),
            (Returned::Request, "request"),
        ];
        for (r, s) in returned {
            assert_eq!(r.as_str(), s);
        }
        let uniqueness = [
            (Uniqueness::None, "none"),
            (Uniqueness::Server, "server"),
            (Uniqueness::Global, "global"),
        ];
        for (u, s) in uniqueness {
            assert_eq!(u.as_str(), s);
        }
    }

    #[test]
    fn attribute_json_carries_every_rfc_characteristic() {
        let keys = [
            "name",
            "type",
            "multiValued",
            "description",
            "required",
            "caseExact",
            "mutability",
            "returned",
            "uniqueness",
        ];
        for s in schemas() {
            for obj in json_attributes(&s.to_json(BASE_URL)) {
                for key in keys {
                    assert!(obj.contains_key(key), "{key} missing in {obj:?}");
                }
            }
        }
        let emails = USER.attribute("emails").unwrap().to_json();
        assert_eq!(emails["type"], "complex");
        assert_eq!(emails["multiValued"], true);
        assert_eq!(
            emails["subAttributes"][2]["canonicalValues"],
            json!(["work", "home", "other"])
        );
    }
}
