//! The node a database belongs to, recorded at its first start, so that a database is never
//! served under another node's identity.

use crate::pool::on_pool;
use crate::{Store, StoreError};

/// Which node a database belongs to, and the signing key it last ran with.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoreIdentity {
    pub node: String,
    /// The signing public key (base64) of the descriptor the node last started with.
    pub signing_key: String,
    pub descriptor_version: i64,
    pub recorded_at: i64,
}

impl Store {
    pub async fn identity(&self) -> Result<Option<StoreIdentity>, StoreError> {
        let sql = "SELECT node, signing_key, descriptor_version, recorded_at FROM node_identity \
                   WHERE id = 1";
        let row = on_pool!(self, pool => sqlx::query_as(sql).fetch_optional(pool).await?);
        Ok(row)
    }

    /// Records (or, after a key rotation the caller checked, updates) the identity.
    pub async fn record_identity(&self, identity: &StoreIdentity) -> Result<(), StoreError> {
        let sql = "INSERT INTO node_identity (id, node, signing_key, descriptor_version, recorded_at) \
                   VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET node = excluded.node, \
                   signing_key = excluded.signing_key, \
                   descriptor_version = excluded.descriptor_version, \
                   recorded_at = excluded.recorded_at";
        on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(&identity.node)
                .bind(&identity.signing_key)
                .bind(identity.descriptor_version)
                .bind(identity.recorded_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }
}
