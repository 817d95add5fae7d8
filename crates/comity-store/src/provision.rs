use sqlx::Connection;

use crate::{Store, StoreError};

impl Store {
    /// Creates (or re-creates, empty) the PostgreSQL database `name` on the server that
    /// `admin_url` reaches, and returns the URL of the new database. For tests, benchmarks and
    /// first installs; `name` must be a plain identifier.
    pub async fn create_postgres_database(
        admin_url: &str,
        name: &str,
    ) -> Result<String, StoreError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(StoreError::BadUrl(format!("database name {name:?}")));
        }
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(StoreError::Open)?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
        Ok(format!("{base}/{name}"))
    }
}
