//! The only SQL that differs between backends.

use crate::db::{Backend, Store};
use crate::error::Result;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Starts the write transaction of one mail for a project, serialised
    /// with every other mail of that project.
    ///
    /// Series grouping reads what earlier mails stored (references, markers,
    /// numbers taken), so two mails of one series stored at the same time
    /// could each start a series. On SQLite `BEGIN IMMEDIATE` serialises all
    /// writers; on PostgreSQL a transaction-scoped advisory lock on the
    /// project does, taken in the same round trip as `BEGIN`. Concurrent
    /// deliveries therefore group exactly like one delivery in commit order.
    pub(crate) async fn begin_for_project(&self, project_id: i64) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                // One 64-bit key: our namespace in the high half, the project
                // in the low half. An integer formatted into the statement:
                // nothing to escape.
                let key = (7176_i64 << 32) | (project_id & 0xffff_ffff);
                let sql = format!("BEGIN; SELECT pg_advisory_xact_lock({key})");
                self.pool.begin_with(sqlx::AssertSqlSafe(sql)).await?
            }
        };
        Ok(tx)
    }
}
