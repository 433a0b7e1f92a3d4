//! What can go wrong in the store, in terms the callers act on.

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or opened: the caller should retry
    /// later (an MTA pipe exits with EX_TEMPFAIL so nothing is lost).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The request names something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is invalid (bad value, duplicate name, ...).
    #[error("{0}")]
    Invalid(String),
    /// The database broke an assumption the store relies on (a row it has
    /// just written is gone, a reference points nowhere): a server error,
    /// never shown to a client as a missing object.
    #[error("inconsistent data: {0}")]
    Inconsistent(String),
}

impl StoreError {
    /// Whether retrying the same work later may succeed (lost races, locked
    /// database, connection trouble).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => is_transient(e),
            _ => false,
        }
    }
}

/// Unique-constraint races, SQLite busy/locked, PostgreSQL serialization
/// failures and deadlocks, and connection loss are worth a retry.
pub(crate) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return true;
            }
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // SQLite: 5 BUSY, 6 LOCKED, 517 BUSY_SNAPSHOT; PostgreSQL:
            // 40001 serialization failure, 40P01 deadlock.
            matches!(code.as_str(), "5" | "6" | "517" | "261" | "40001" | "40P01")
                || db.message().contains("database is locked")
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        _ => false,
    }
}

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
