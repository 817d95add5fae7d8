use thiserror::Error;

/// Where the stored log stops matching the tree this node signed: the first entry that does not
/// hash to what was signed (`first == last`), or the smallest range known to hold it when the
/// stored hashes that would narrow it down are missing or changed too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDivergence {
    pub first: u64,
    pub last: u64,
    /// Size of the signed checkpoint the entries fail to rebuild, or `None` for entries after the
    /// last checkpoint whose stored hashes changed.
    pub signed_size: Option<u64>,
    pub detail: String,
}

impl std::fmt::Display for LedgerDivergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "ledger entry {}", self.first)?;
        } else {
            write!(
                f,
                "one of the ledger entries {}..={}",
                self.first, self.last
            )?;
        }
        match self.signed_size {
            Some(size) => write!(
                f,
                " does not match the tree of {size} entries this node signed: {}",
                self.detail
            ),
            None => write!(
                f,
                " no longer matches the hashes stored when it was appended: {}",
                self.detail
            ),
        }
    }
}

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
    #[error(
        "the database file is damaged: SQLite's integrity check (PRAGMA quick_check) reports {0}; \
         the node does not start on it: restore the database from a backup"
    )]
    Damaged(String),
    #[error(
        "{0}; the node refuses to serve or sign a tree that contradicts its own signature: \
         restore the database from a backup taken before the damage"
    )]
    LedgerDiverged(Box<LedgerDivergence>),
    #[error(
        "the database holds {stored} ledger entries but this node signed a checkpoint of {signed}: \
         it was rolled back, replaced or emptied; restore the latest backup of this node's database"
    )]
    LedgerBehind { stored: u64, signed: u64 },
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
            Self::Damaged(_) => "store.damaged",
            Self::LedgerDiverged(_) => "store.ledger_diverged",
            Self::LedgerBehind { .. } => "store.ledger_behind",
            Self::Conflict(_) => "store.conflict",
            Self::Ledger(e) => e.code(),
        }
    }
}
