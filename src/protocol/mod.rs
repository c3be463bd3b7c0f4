//! The SCIM protocol, pure: no I/O, no DynamoDB, no Lambda. Everything here is a function from
//! values to values, so it is tested with plain unit tests.

pub mod cursor;
pub mod discovery;
pub mod error;
pub mod events;
pub mod filter;
pub mod ids;
pub mod kind;
pub mod list;
pub mod matcher;
pub mod members;
pub mod patch;
pub mod planner;
pub mod precondition;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod sort;

pub use error::{ScimError, ScimType};
pub use ids::{
    AccessTokenId, ClientId, CredentialId, FederationId, InvalidId, ResourceId, SecretId, TenantId,
    Version,
};
pub use precondition::Precondition;
