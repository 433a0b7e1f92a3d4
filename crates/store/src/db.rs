//! Opening the database: the backend comes from the URL, SQLite gets its
//! pragmas, and migrations for the right backend are applied.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::error::{Result, StoreError};

/// Which engine is behind the pool; SQL that must differ asks this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite: one file, one writer at a time.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The database: a connection pool and its backend.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) caches: std::sync::Arc<crate::cache::Caches>,
    pub(crate) group_limit: usize,
    /// Wakes this process's job workers when a job is queued.
    pub(crate) job_wakeup: std::sync::Arc<tokio::sync::Notify>,
    /// Where it connected, for PostgreSQL's `LISTEN`, which needs a
    /// connection of its own outside the pool.
    pub(crate) url: std::sync::Arc<str>,
}

/// The default [`Store::group_limit`]: a large series' worth of patches.
/// Every patch of a relation embeds every other, so a relation of `n`
/// costs `n²` entries on the patch list; 256 keeps a page of 250 patches
/// under 30 MB while leaving room for any real relation.
pub const DEFAULT_GROUP_LIMIT: usize = 256;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The default database: a SQLite file in the current directory.
pub const DEFAULT_URL: &str = "sqlite://./patchtrack.db";

fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Invalid(format!(
            "unsupported database URL {url:?}: use sqlite://PATH or postgres://..."
        )))
    }
}

/// What a connection pool is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Commands and tests.
    Plain,
    /// An archive import.
    Bulk,
    /// The web server.
    Serving,
}

impl Store {
    /// Connects to `url` (`sqlite://path` creates the file when missing;
    /// `postgres://...`). Failure to reach the database is
    /// [`StoreError::Unavailable`].
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, 8).await
    }

    /// Connects for a bulk import: on PostgreSQL, commits do not wait for
    /// the WAL flush (`synchronous_commit = off`). A server crash can then
    /// lose the last few imported mails, never corrupt anything, and an
    /// archive import is re-runnable, so this is safe there; mail handed
    /// over by an MTA (`parsemail`) keeps the default. One connection:
    /// mails are stored one after the other anyway, and on SQLite a single
    /// connection keeps its page cache (another connection's commit would
    /// invalidate it).
    pub async fn connect_bulk(url: &str) -> Result<Store> {
        Self::open(url, 1, Mode::Bulk).await
    }

    /// Connects for `patchtrack serve`: 8 connections, and on PostgreSQL
    /// statements planned once per connection.
    pub async fn connect_serving(url: &str) -> Result<Store> {
        Self::open(url, 8, Mode::Serving).await
    }

    /// Connects with at most `max_connections` connections.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Store> {
        Self::open(url, max_connections, Mode::Plain).await
    }

    async fn open(url: &str, max_connections: u32, mode: Mode) -> Result<Store> {
        let bulk = mode == Mode::Bulk;
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(StoreError::Unavailable)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // A ping before every acquire is one more round trip per mail;
            // a dead connection fails the statement instead, which is retried.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 60000;",
                        )
                        .await?;
                        if bulk {
                            // The import's one connection keeps the indexes
                            // it walks for every mail in memory (32 MiB,
                            // whatever the archive's size). Checkpoints are
                            // where the import waits (each ends in fsync):
                            // one per 80 MiB of log instead of per 4 MiB
                            // takes the git-list import from 4.7 to 4.4 s.
                            conn.execute(
                                "PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 20000;",
                            )
                            .await?;
                        }
                    } else if bulk {
                        conn.execute("SET synchronous_commit = off").await?;
                    } else if mode == Mode::Serving {
                        // The pages and the API run the same few statements
                        // all day on tables with statistics (serve refreshes
                        // them at start, autovacuum after): planning them
                        // once per connection instead of per execution is
                        // 9 % more list pages per second. Not for ingestion,
                        // whose first statements on a new database would
                        // keep a plan made without statistics.
                        conn.execute("SET plan_cache_mode = force_generic_plan")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(Store {
            pool,
            backend,
            caches: std::sync::Arc::default(),
            group_limit: DEFAULT_GROUP_LIMIT,
            job_wakeup: std::sync::Arc::default(),
            url: url.as_str().into(),
        })
    }

    /// The same store with another [`Store::group_limit`] (at least 1).
    #[must_use]
    pub fn with_group_limit(mut self, limit: usize) -> Store {
        self.group_limit = limit.max(1);
        self
    }

    /// The most patches a relation or a bundle may be given, and the most
    /// patches any one object lists (a relation's or bundle's members, a
    /// series' patches, its dependencies): without it one maintainer's
    /// write, or one list's mail, makes every later page grow without
    /// bound. Groups already larger are listed up to the limit.
    pub fn group_limit(&self) -> usize {
        self.group_limit
    }

    /// Applies pending migrations, after one cheap query that usually shows
    /// there are none: `parsemail` runs once per mail and should not pay
    /// for a full migration check (which on PostgreSQL also takes a lock).
    pub async fn ensure_migrated(&self) -> Result<()> {
        let latest = match self.backend {
            Backend::Sqlite => SQLITE.iter().map(|m| m.version).max(),
            Backend::Postgres => POSTGRES.iter().map(|m| m.version).max(),
        };
        let applied: Option<i64> = sqlx::query(
            "SELECT MAX(version) AS v FROM _sqlx_migrations WHERE success = CAST(1 AS BOOLEAN)",
        )
        .fetch_one(&self.pool)
        .await
        .ok()
        .and_then(|row| {
            use sqlx::Row;
            row.try_get::<Option<i64>, _>("v").ok().flatten()
        });
        if applied.is_some() && applied == latest {
            return Ok(());
        }
        self.migrate().await
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE,
            Backend::Postgres => &POSTGRES,
        };
        migrator.run(&self.pool).await?;
        self.repair_state_slugs().await
    }

    /// One round trip to the database: whether it answers now (for the
    /// readiness probe).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to `dest` (a new
    /// file) while other connections go on reading and writing: SQLite's
    /// `VACUUM INTO` reads one snapshot, and the copy is compact and
    /// ready to open. PostgreSQL has its own tools (`pg_dump`, base
    /// backups), which this refuses in favour of.
    pub async fn backup_to(&self, dest: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "backup copies SQLite databases; for PostgreSQL use pg_dump -Fc (or \
                 pg_basebackup with WAL archiving), see docs/production.md"
                    .into(),
            ));
        }
        if dest.exists() {
            return Err(StoreError::Invalid(format!(
                "{} exists: a backup is written to a new file",
                dest.display()
            )));
        }
        if sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
            .is_err()
        {
            return Err(StoreError::Invalid(
                "this is not a patchtrack database (no migrations table)".into(),
            ));
        }
        // Written beside the destination and renamed once complete, so
        // that an interrupted backup never looks like a backup.
        let partial = dest.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        let path = partial
            .to_str()
            .ok_or_else(|| StoreError::Invalid("the backup path is not UTF-8".into()))?;
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await;
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
        std::fs::rename(&partial, dest).map_err(|e| {
            StoreError::Invalid(format!("cannot move the copy to {}: {e}", dest.display()))
        })?;
        Ok(())
    }

    /// Runs one administrative statement (for example `CREATE DATABASE`),
    /// outside any transaction. For tools and tests, not for request paths.
    pub async fn execute_admin(&self, sql: &str) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Refreshes the planner's statistics of the tables lists and
    /// ingestion read. Without them both planners guess wrong on a
    /// project's tables: PostgreSQL (an import outruns autovacuum, which
    /// looks once a minute) took `project_id = $1` for a rare value and
    /// answered message-id lookups through the list index, reading every
    /// patch of the project per mail; SQLite (which never gathers them by
    /// itself) read a whole project to find one series' patches.
    /// `parsearchive` calls this as the tables grow, `serve` when it
    /// starts. SQLite samples at most a thousand rows per index.
    pub async fn refresh_statistics(&self) -> Result<()> {
        let sql = match self.backend {
            Backend::Postgres => {
                "ANALYZE patch, cover, patch_comment, cover_comment, series, \
                 series_reference, person, event"
            }
            Backend::Sqlite => "PRAGMA analysis_limit = 1000; ANALYZE;",
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The backend behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so that concurrent writers queue instead of
    /// failing when a read transaction tries to become a write one.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// A write transaction that records events: on PostgreSQL it takes
    /// the event-order lock (migration 0018) before any row lock, so
    /// that two such transactions never wait for each other's rows while
    /// holding it (the trigger would otherwise take it at the first event,
    /// after the rows: a deadlock when two writers change the same
    /// patches in different orders).
    pub(crate) async fn begin_event_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7206318551)")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// The migration versions of each backend's tree, for the parity test.
    pub fn migration_versions() -> (Vec<i64>, Vec<i64>) {
        (
            SQLITE.iter().map(|m| m.version).collect(),
            POSTGRES.iter().map(|m| m.version).collect(),
        )
    }

    /// Every (table, column) of the schema, sorted; the same on both
    /// backends after migration.
    pub async fn schema_columns(&self) -> Result<Vec<(String, String)>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS t, p.name AS c FROM sqlite_schema m \
                 JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name NOT LIKE '_sqlx%'"
            }
            Backend::Postgres => {
                "SELECT table_name::text AS t, column_name::text AS c \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'"
            }
        };
        self.sorted_pairs(sql).await
    }

    /// Every (table, index) of the schema, sorted: what a bulk load that
    /// drops and rebuilds indexes must leave as migrations made it.
    pub async fn schema_indexes(&self) -> Result<Vec<(String, String)>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT tbl_name AS t, name AS c FROM sqlite_schema \
                 WHERE type = 'index' AND tbl_name NOT LIKE '_sqlx%'"
            }
            Backend::Postgres => {
                "SELECT tablename::text AS t, indexname::text AS c FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename NOT LIKE '_sqlx%'"
            }
        };
        self.sorted_pairs(sql).await
    }

    /// The (`t`, `c`) text columns of `sql`'s rows, sorted.
    async fn sorted_pairs(&self, sql: &'static str) -> Result<Vec<(String, String)>> {
        use sqlx::Row;
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        let mut out: Vec<(String, String)> = rows
            .iter()
            .map(|r| Ok((r.try_get::<String, _>("t")?, r.try_get::<String, _>("c")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        out.sort();
        Ok(out)
    }
}
