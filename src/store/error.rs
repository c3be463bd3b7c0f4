//! Storage errors, and their one mapping to SCIM errors.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::protocol::ScimError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Uniqueness(String),
    #[error("the resource was changed by another request")]
    VersionConflict,
    #[error("no user with id {0} in this tenant")]
    UnknownMember(String),
    #[error("{0}")]
    Limit(String),
    /// A list would examine more items than it may.
    #[error("{0}")]
    TooMany(String),
    #[error("DynamoDB is throttling requests")]
    Throttled,
    /// The write's credential was deleted or disabled (provisioning turned off, the tenant
    /// deleted) after it authenticated the request: the write did not commit.
    #[error("the request's credential was revoked while it ran")]
    Revoked,
    /// A client assertion's `jti` was already used (RFC 7523 §3): nothing was written.
    #[error("the assertion was already used")]
    Replayed,
    #[error("concurrent transactions kept conflicting")]
    TransactionConflict,
    /// DynamoDB failed (a 5xx, a timeout, a dropped connection) after the SDK's retries; nothing
    /// was written, or (a dropped answer) the write may have landed: a retry tells.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    #[error("DynamoDB request failed: {0}")]
    Backend(String),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
}

const THROTTLING_CODES: [&str; 4] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ThrottlingError",
];

pub fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
}

/// Server-side failures DynamoDB names in the body, whatever the status.
fn is_unavailable(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("InternalServerError" | "ServiceUnavailable" | "InternalFailure")
    )
}

impl<E> From<SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn from(err: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>) -> Self {
        if is_throttling(err.code()) {
            return StoreError::Throttled;
        }
        let unavailable = match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(e) => {
                e.raw().status().is_server_error() || is_unavailable(err.code())
            }
            _ => false,
        };
        if unavailable {
            return StoreError::Unavailable(
                aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
            );
        }
        StoreError::Backend(aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string())
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(err: serde_dynamo::Error) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}

impl From<StoreError> for ScimError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ScimError::not_found("resource not found"),
            StoreError::Uniqueness(detail) => ScimError::uniqueness(detail),
            StoreError::VersionConflict => ScimError::precondition_failed(
                "the resource was modified since the version given in If-Match",
            ),
            StoreError::UnknownMember(id) => {
                ScimError::invalid_value(format!("member \"{id}\" is not a user of this tenant"))
            }
            StoreError::Limit(detail) => ScimError::new(409, None, detail),
            StoreError::TooMany(detail) => ScimError::too_many(detail),
            StoreError::Revoked | StoreError::Replayed => ScimError::unauthorized(),
            StoreError::Throttled | StoreError::TransactionConflict => ScimError::throttled(),
            StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "DynamoDB unavailable after retries");
                ScimError::unavailable()
            }
            StoreError::Backend(detail) => {
                tracing::error!(error = %detail, "DynamoDB request failed");
                ScimError::internal("the data store failed; the request was not applied")
            }
            StoreError::Corrupt(detail) => {
                tracing::error!(error = %detail, "malformed item");
                ScimError::internal("a stored item could not be read")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_becomes_429_and_conditions_become_client_errors() {
        assert_eq!(ScimError::from(StoreError::Throttled).status, 429);
        assert_eq!(ScimError::from(StoreError::TransactionConflict).status, 429);
        assert_eq!(
            ScimError::from(StoreError::Unavailable("503".into())).status,
            503
        );
        let e = ScimError::from(StoreError::Uniqueness("taken".into()));
        assert_eq!(
            (e.status, e.scim_type.map(|t| t.as_str())),
            (409, Some("uniqueness"))
        );
        assert_eq!(ScimError::from(StoreError::VersionConflict).status, 412);
        assert_eq!(ScimError::from(StoreError::Revoked).status, 401);
        assert_eq!(ScimError::from(StoreError::NotFound).status, 404);
        assert_eq!(
            ScimError::from(StoreError::UnknownMember("x".into())).status,
            400
        );
    }

    #[test]
    fn every_dynamodb_throttling_code_is_recognised() {
        for code in THROTTLING_CODES {
            assert!(is_throttling(Some(code)));
        }
        assert!(!is_throttling(Some("ConditionalCheckFailedException")));
        assert!(!is_throttling(None));
    }
}
