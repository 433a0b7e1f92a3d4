//! Counts that do not grow with the project: the tallies of patches
//! (per project, state, archived flag and delegate), series (per project)
//! and events (per project and category) that migration 0014's triggers
//! keep, as +1/-1 rows written inside each change's own transaction.
//!
//! A list whose filter only names what a tally is keyed by counts by
//! summing the tally's rows, a handful after [`Store::compact_tallies`]
//! has folded them, instead of counting up to a million index entries.
//! Any other filter (submitter, search, dates, ...) counts the rows it
//! matches, through the index that serves that filter.

use sqlx::Row;

use crate::db::{Backend, Store};
use crate::error::Result;
use crate::sql::Sql;

/// What a patch count may be keyed by; `None` is "any".
#[derive(Debug, Default)]
pub(crate) struct PatchKey<'a> {
    pub projects: &'a [i64],
    pub states: &'a [i64],
    pub archived: Option<bool>,
    pub delegates: &'a [i64],
    pub no_delegate: bool,
}

/// Sums one tally's `n` over the rows a WHERE clause (already in `sql`)
/// selects.
async fn sum(store: &Store, sql: Sql) -> Result<u64> {
    let n: Option<i64> = match sql.fetch_optional(&store.pool).await? {
        Some(row) => row.try_get("n")?,
        None => None,
    };
    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
}

/// `CAST(SUM(n) AS BIGINT)`: PostgreSQL's SUM of BIGINT is NUMERIC,
/// which the Any driver cannot read.
const SUM: &str = "SELECT CAST(SUM(t.n) AS BIGINT) AS n FROM ";

impl Store {
    /// The number of patches a tally-keyed filter matches.
    pub(crate) async fn tallied_patches(&self, key: &PatchKey<'_>) -> Result<u64> {
        let mut sql = Sql::new(SUM);
        sql.push("patch_tally t WHERE 1 = 1");
        if !key.projects.is_empty() {
            sql.push(" AND t.project_id IN ")
                .bind_list(key.projects.iter().copied());
        }
        if !key.states.is_empty() {
            sql.push(" AND t.state_id IN ")
                .bind_list(key.states.iter().copied());
        }
        if let Some(a) = key.archived {
            sql.push(" AND t.archived = ").bind(i64::from(a));
        }
        if !key.delegates.is_empty() {
            sql.push(" AND t.delegate_id IN ")
                .bind_list(key.delegates.iter().copied());
        }
        if key.no_delegate {
            sql.push(" AND t.delegate_id IS NULL");
        }
        sum(self, sql).await
    }

    /// The number of series of these projects (all when empty).
    pub(crate) async fn tallied_series(&self, projects: &[i64]) -> Result<u64> {
        let mut sql = Sql::new(SUM);
        sql.push("series_tally t WHERE 1 = 1");
        if !projects.is_empty() {
            sql.push(" AND t.project_id IN ")
                .bind_list(projects.iter().copied());
        }
        sum(self, sql).await
    }

    /// The number of events of these projects (all when empty), of one
    /// category or all of them, with or without the comment events.
    pub(crate) async fn tallied_events(
        &self,
        projects: &[i64],
        category: Option<&str>,
        without_comments: bool,
        without_extended: bool,
    ) -> Result<u64> {
        let mut sql = Sql::new(SUM);
        sql.push("event_tally t WHERE 1 = 1");
        if !projects.is_empty() {
            sql.push(" AND t.project_id IN ")
                .bind_list(projects.iter().copied());
        }
        if let Some(c) = category {
            sql.push(" AND t.category = ").bind(c.to_string());
        }
        if without_comments {
            sql.push(" AND t.category NOT IN ('patch-comment-created', 'cover-comment-created')");
        }
        if without_extended {
            sql.push(" AND t.category NOT IN ('check-updated', 'recheck-requested')");
        }
        sum(self, sql).await
    }

    /// Folds each tally's rows into one per key (dropping keys that sum to
    /// zero), so that a count reads a few rows again. Run by the
    /// scheduler; safe beside concurrent writers: on PostgreSQL the sums
    /// and the deletions see one snapshot (REPEATABLE READ), so a row
    /// committed meanwhile is neither summed nor deleted; SQLite holds the
    /// write lock throughout. Returns the rows removed.
    pub async fn compact_tallies(&self) -> Result<u64> {
        let mut removed = 0;
        for (table, key) in [
            (
                "patch_tally",
                &["project_id", "state_id", "archived", "delegate_id"][..],
            ),
            ("series_tally", &["project_id"][..]),
            ("event_tally", &["project_id", "category"][..]),
        ] {
            removed += self.compact(table, key).await?;
        }
        Ok(removed)
    }

    async fn compact(&self, table: &str, key: &[&str]) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await?;
        }
        let cols = key.join(", ");
        let before: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        // The folded rows go to a scratch table of this connection, then
        // replace everything the snapshot saw.
        let scratch = format!("{table}_folded");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TEMPORARY TABLE {scratch} AS SELECT {cols}, CAST(SUM(n) AS BIGINT) AS n \
             FROM {table} GROUP BY {cols} HAVING SUM(n) <> 0"
        )))
        .execute(&mut *tx)
        .await?;
        // Everything the snapshot saw: on PostgreSQL a row inserted since
        // is invisible here, so it is neither summed nor deleted.
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} ({cols}, n) SELECT {cols}, n FROM {scratch}"
        )))
        .execute(&mut *tx)
        .await?;
        let after: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {scratch}"
        )))
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {scratch}")))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(u64::try_from(before - after).unwrap_or(0))
    }
}
