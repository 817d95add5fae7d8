use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database URL {0:?} is not understood: use sqlite:PATH or postgres://USER@HOST/DB")]
    BadUrl(String),
    #[error("cannot open the database: {0}")]
    Open(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error("ledger: {0}")]
    Ledger(#[from] comity_ledger::LedgerError),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUrl(_) => "store.bad_url",
            Self::Open(_) => "store.unavailable",
            Self::Migrate(_) => "store.migration_failed",
            Self::Sql(_) => "store.error",
            Self::Corrupt(_) => "store.corrupt",
            Self::Conflict(_) => "store.conflict",
            Self::Ledger(e) => e.code(),
        }
    }
}
