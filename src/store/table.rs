//! The table's definition, used to create it locally (moto, DynamoDB Local) and checked against
//! `template.yaml` by a test, so the local table is the deployed table.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::error::StoreError;
use super::keys::*;

/// (index name, partition key, sort key)
pub const INDEXES: [(&str, &str, Option<&str>); 4] = [
    (GSI1, GSI1PK, Some(GSI1SK)),
    (GSI2, GSI1PK, Some(GSI2SK)),
    (GSI3, GSI3PK, None),
    (GSI4, GSI1PK, Some(GSI4SK)),
];

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))
}

/// Creates the table if it does not exist and waits until it is active. Returns whether it created it.
pub async fn ensure_table(client: &Client, table: &str) -> Result<bool, StoreError> {
    if client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    let mut attributes = vec![string_attribute(PK)?, string_attribute(SK)?];
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        // The `events` function publishes the change events from the stream (docs/events.md).
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        );
    let mut defined = vec![PK, SK];
    for (name, pk, sk) in INDEXES {
        // Several indexes share the collection partition key: define each attribute once.
        for attribute in std::iter::once(pk).chain(sk) {
            if !defined.contains(&attribute) {
                defined.push(attribute);
                attributes.push(string_attribute(attribute)?);
            }
        }
        let mut index = GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            );
        if let Some(sk) = sk {
            index = index.key_schema(key(sk, KeyType::Range)?);
        }
        request = request.global_secondary_indexes(
            index
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        );
    }
    for attribute in attributes {
        request = request.attribute_definitions(attribute);
    }
    match request.send().await {
        Ok(_) => {}
        // Another process created it first: fine.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(false)
        }
        Err(e) => return Err(e.into()),
    }
    for _ in 0..600 {
        let status = client
            .describe_table()
            .table_name(table)
            .send()
            .await?
            .table
            .and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        )
        .send()
        .await?;
    Ok(true)
}

/// The table definition in CloudFormation's shape, for comparison with `template.yaml`.
pub fn definition() -> serde_json::Value {
    use serde_json::json;
    let key = |name: &str, kind: &str| json!({"AttributeName": name, "KeyType": kind});
    let mut attributes = vec![PK, SK];
    let mut indexes = Vec::new();
    for (name, pk, sk) in INDEXES {
        for attribute in std::iter::once(pk).chain(sk) {
            if !attributes.contains(&attribute) {
                attributes.push(attribute);
            }
        }
        let mut schema = vec![key(pk, "HASH")];
        if let Some(sk) = sk {
            schema.push(key(sk, "RANGE"));
        }
        indexes.push(json!({"IndexName": name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}));
    }
    json!({
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [key(PK, "HASH"), key(SK, "RANGE")],
        "AttributeDefinitions": attributes
            .iter()
            .map(|a| json!({"AttributeName": a, "AttributeType": "S"}))
            .collect::<Vec<_>>(),
        "GlobalSecondaryIndexes": indexes,
        "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": true},
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
    })
}
