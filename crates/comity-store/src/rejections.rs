use crate::pool::on_pool;
use crate::{Rejection, Store, StoreError};

impl Store {
    /// Keeps a trace of refused input. Refusals change no other state.
    pub async fn record_rejection(&self, r: &Rejection) -> Result<(), StoreError> {
        let sql = "INSERT INTO rejections (at, peer, message_id, code, detail) VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, pool => {
            sqlx::query(sql).bind(r.at).bind(&r.peer).bind(&r.message_id).bind(&r.code).bind(&r.detail).execute(pool).await.map(|_| ())?
        });
        Ok(())
    }

    /// Newest first.
    pub async fn rejections(&self, limit: i64) -> Result<Vec<Rejection>, StoreError> {
        let sql =
            "SELECT at, peer, message_id, code, detail FROM rejections ORDER BY seq DESC LIMIT $1";
        let rows = on_pool!(self, pool => sqlx::query_as(sql).bind(limit).fetch_all(pool).await?);
        Ok(rows)
    }
}
