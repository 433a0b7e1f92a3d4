//! The admin log: every change a site administrator makes through the
//! admin pages, who made it and when, for the other administrators to
//! read (Django's admin keeps a `LogEntry` per change for the same
//! reason).

use sqlx::Row;

use crate::db::Store;
use crate::error::Result;
use crate::sql::Sql;
use crate::time::{self, Micros};

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAction {
    /// Primary key.
    pub id: i64,
    /// When.
    pub date: Micros,
    /// The administrator's account, while it exists.
    pub actor_id: Option<i64>,
    /// The administrator's username at the time.
    pub actor: String,
    /// What was done, in a word or two (`project.edit`, `state.delete`).
    pub action: String,
    /// What it was done to (`project proj`, `state 11`).
    pub object: String,
    /// The change in words (old and new values, what was refused).
    pub detail: String,
}

impl Store {
    /// Records an administrator's change.
    pub async fn record_admin_action(
        &self,
        actor_id: i64,
        actor: &str,
        action: &str,
        object: &str,
        detail: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO admin_log (date, actor_id, actor, action, object, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(time::now())
        .bind(actor_id)
        .bind(actor)
        .bind(action)
        .bind(object)
        .bind(detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest `limit` recorded changes, newest first.
    pub async fn admin_log(&self, limit: usize) -> Result<Vec<AdminAction>> {
        let mut sql = Sql::new(
            "SELECT id, date, actor_id, actor, action, object, detail FROM admin_log \
             ORDER BY date DESC, id DESC LIMIT ",
        );
        sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(AdminAction {
                    id: r.try_get("id")?,
                    date: r.try_get("date")?,
                    actor_id: r.try_get("actor_id")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    object: r.try_get("object")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
