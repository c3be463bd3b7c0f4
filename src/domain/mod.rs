//! The domain's own types, below every layer that stores, serves or renders them: states as
//! enums, not strings and booleans, and instants as [`Timestamp`]s, not text. The store converts
//! them at its edge.

use serde::Serialize;

mod timestamp;
pub use timestamp::{InvalidTimestamp, Timestamp};

/// Where a tenant's SCIM provisioning stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvisioningState {
    /// SCIM requests authenticate with the tenant's credentials.
    Enabled,
    /// Turned off: every credential was deleted; users and groups stay.
    Disabled,
    /// A delete has started: no credential can be added, and a repeated delete resumes it.
    Deleting,
}

impl ProvisioningState {
    pub const fn as_str(self) -> &'static str {
        match self {
            ProvisioningState::Enabled => "enabled",
            ProvisioningState::Disabled => "disabled",
            ProvisioningState::Deleting => "deleting",
        }
    }

    /// The stored name back; a tenant stored before the state existed is enabled.
    pub fn parse(stored: Option<&str>) -> Self {
        match stored {
            Some("disabled") => ProvisioningState::Disabled,
            Some("deleting") => ProvisioningState::Deleting,
            _ => ProvisioningState::Enabled,
        }
    }
}

/// Whether a credential may authenticate (an expired one may not, whatever its status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialStatus {
    Enabled,
    Disabled,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Enabled => "enabled",
            CredentialStatus::Disabled => "disabled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for state in [
            ProvisioningState::Enabled,
            ProvisioningState::Disabled,
            ProvisioningState::Deleting,
        ] {
            assert_eq!(ProvisioningState::parse(Some(state.as_str())), state);
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::json!(state.as_str())
            );
        }
        assert_eq!(ProvisioningState::parse(None), ProvisioningState::Enabled);
    }
}
