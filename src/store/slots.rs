//! What credentials and OAuth clients share: each is an item of its tenant's partition that
//! holds one of a limited number of slots, counted on the tenant item. Reading, listing,
//! switching the status of and deleting one are the same for both; only the item differs.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};

use super::keys::{tenant_pk, PK, SK, TENANT_SK};
use super::{n, query_all, s, Action, Item, Store, StoreError};
use crate::domain::CredentialStatus;
use crate::protocol::TenantId;

/// An UpdateItem's refusal by its condition: the caller says what that means.
pub(super) fn condition_failed(e: &aws_sdk_dynamodb::error::SdkError<UpdateItemError>) -> bool {
    e.as_service_error()
        .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

pub(super) fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl Store {
    /// One item of the tenant's partition, strongly consistent: a disabled or deleted credential
    /// or client stops working at once, not a second later.
    pub(super) async fn get_in_tenant(
        &self,
        tenant: &TenantId,
        sk: String,
    ) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await?
            .item)
    }

    /// The items of the tenant's partition whose sort key starts with `prefix`, strongly
    /// consistent: one Query.
    pub(super) async fn list_in_tenant<T>(
        &self,
        tenant: &TenantId,
        prefix: &str,
        parse: impl Fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        let query = self
            .query()
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true);
        query_all(query, |page| {
            for item in page.items() {
                found.push(parse(item)?);
            }
            Ok(())
        })
        .await?;
        Ok(found)
    }

    /// Sets an existing item's status and returns the item; `NotFound` if there is none.
    pub(super) async fn set_status_in_tenant(
        &self,
        tenant: &TenantId,
        sk: String,
        status: CredentialStatus,
    ) -> Result<Item, StoreError> {
        self.set_in_tenant(tenant, sk, "status", s(status.as_str()))
            .await
    }

    /// Sets one attribute of an existing item of the tenant's partition and returns the item;
    /// `NotFound` if there is none.
    pub(super) async fn set_in_tenant(
        &self,
        tenant: &TenantId,
        sk: impl Into<String>,
        attribute: &str,
        value: AttributeValue,
    ) -> Result<Item, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(sk.into()))
            .update_expression("SET #attribute = :value")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#attribute", attribute)
            .expression_attribute_values(":value", value)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.attributes.unwrap_or_default()),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores `item` and takes its slot with `count` (an update of the tenant item whose
    /// condition holds the limit), in one transaction: concurrent adds never pass the limit.
    /// `refused` is the error when `count`'s condition fails.
    pub(super) async fn insert_counted(
        &self,
        count: Update,
        item: Item,
        refused: StoreError,
    ) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_error)?;
        self.transact(vec![
            Action {
                item: TransactWriteItem::builder().update(count).build(),
                on_fail: refused,
            },
            Action {
                item: TransactWriteItem::builder().put(put).build(),
                on_fail: StoreError::Backend("id collision".into()),
            },
        ])
        .await
    }

    /// Deletes an item and frees its slot (`counter` on the tenant item), in one transaction;
    /// `NotFound` if there is no such item.
    pub(super) async fn delete_counted(
        &self,
        tenant: &TenantId,
        sk: String,
        counter: &str,
    ) -> Result<(), StoreError> {
        let delete = self.delete_in_tenant(tenant, sk, StoreError::NotFound)?;
        let count = Update::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(TENANT_SK))
            .update_expression("SET #counter = #counter - :one")
            .condition_expression("#counter > :zero")
            .expression_attribute_names("#counter", counter)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(build_error)?;
        self.transact(vec![
            delete,
            Action {
                item: TransactWriteItem::builder().update(count).build(),
                on_fail: StoreError::Corrupt(format!("{counter} out of step")),
            },
        ])
        .await
    }

    /// A delete of an existing item of the tenant's partition, as a transaction action.
    pub(super) fn delete_in_tenant(
        &self,
        tenant: &TenantId,
        sk: String,
        on_fail: StoreError,
    ) -> Result<Action, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(sk))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(build_error)?;
        Ok(Action {
            item: TransactWriteItem::builder().delete(delete).build(),
            on_fail,
        })
    }
}
