//! The only SQL that differs between backends.

use crate::db::Backend;
use crate::error::Result;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Serialises ingestion within one project for the rest of the transaction.
///
/// Series grouping reads what earlier mails stored (references, markers,
/// numbers taken), so two mails of one series stored at the same time could
/// each start a series. On SQLite `BEGIN IMMEDIATE` already serialises
/// writers; on PostgreSQL a transaction-scoped advisory lock on the project
/// does, so concurrent deliveries group exactly like one delivery in commit
/// order.
pub(crate) async fn lock_project(tx: &mut Tx, backend: Backend, project_id: i64) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7176, CAST($1 AS INTEGER))")
            .bind(project_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
