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
    /// An administrative operation names something that does not exist
    /// (a username, a linkname); the CLI prints it as it is. What a client
    /// got wrong is a [`Refused`] instead, which the web layer words.
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

/// Why the store refused a change: the request's fault, not the
/// server's, so the caller answers the client instead of logging. The store
/// says what is wrong and with which input; `web` words it, byte for byte
/// as Patchwork and Django REST framework do, so the wire's wording has one
/// home and the store none. `field` is the input as the API names it.
// The variants' docs say what their fields hold; a line per field would
// only echo its name.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A value the change cannot do without is missing.
    Required { field: &'static str },
    /// A text is empty once trimmed.
    Blank { field: &'static str },
    /// A text is longer than `max` characters.
    TooLong { field: &'static str, max: usize },
    /// A list holds more than `max` distinct items (the store's group
    /// limit, docs/compatibility.md).
    TooMany { field: &'static str, max: usize },
    /// An id in the input names no object.
    NoSuchObject { field: &'static str, id: i64 },
    /// A bundle needs at least one patch (the pages delete a bundle they
    /// empty rather than save it).
    EmptyBundle,
    /// A bundle's patches come from more than one project.
    BundleAcrossProjects,
    /// The owner already has a bundle of that name.
    BundleNameTaken,
    /// No state has the slug `value` slugifies to; `slugs` are the
    /// states' slugs in their order, for the message listing them.
    UnknownState { value: String, slugs: Vec<String> },
    /// Only a maintainer of the patch's project may be its delegate: `user`
    /// (username) does not maintain `project` (linkname).
    NotMaintainer { user: String, project: String },
    /// The change would grow a relation past the store's group limit `max`
    /// to `size` patches (docs/compatibility.md: every member embeds all
    /// the others).
    RelationTooBig { max: usize, size: usize },
    /// Relating patches takes maintaining every project they belong to.
    RelatesUnmaintained,
    /// The patches belong to different relations: one must be left
    /// explicitly before joining another.
    RelationConflict,
    /// A state cannot be deleted while `patches` are in it or `events`
    /// of the patches' history name it.
    StateInUse { patches: i64, events: i64 },
    /// The only state cannot be deleted: new patches need one.
    LastState,
    /// The patch the change is about does not exist (callers look it up
    /// first, so only a concurrent deletion gets here).
    NoSuchPatch,
    /// The requester may not change this patch (one of several changed
    /// at once: a single patch's handler checks before it asks).
    NotAllowed,
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
            // 40001 serialization failure, 40P01 deadlock, and 57P01-03: the
            // server ended this connection (an admin, a restart), which
            // a new connection may not suffer.
            matches!(
                code.as_str(),
                "5" | "6" | "517" | "261" | "40001" | "40P01" | "57P01" | "57P02" | "57P03"
            ) || db.message().contains("database is locked")
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        _ => false,
    }
}

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
