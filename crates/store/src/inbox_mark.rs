//! Marks of `import-public-inbox`: per public-inbox epoch, the last commit
//! whose mail is stored, so that the next run reads only newer commits.
//! Kept in the database rather than beside the inbox because the inbox is
//! often a read-only mirror, and because the mark must describe what this
//! database holds (a fresh database re-reads everything).

use sqlx::Row;

use crate::db::Store;
use crate::error::Result;
use crate::time::{self, Micros};

/// Where the import of one epoch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMark {
    /// The epoch's root commit: its name wherever it is cloned.
    pub epoch_root: String,
    /// Where the epoch was last read.
    pub path: String,
    /// The newest commit whose mail is stored.
    pub last_commit: String,
    /// Messages read from the epoch over all runs.
    pub messages: i64,
    /// When the mark last moved.
    pub updated_at: Micros,
}

impl Store {
    /// The mark of the epoch whose root commit is `epoch_root`.
    pub async fn inbox_mark(&self, epoch_root: &str) -> Result<Option<InboxMark>> {
        let row = sqlx::query(
            "SELECT epoch_root, path, last_commit, messages, updated_at FROM inbox_mark \
             WHERE epoch_root = $1",
        )
        .bind(epoch_root)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(InboxMark {
                epoch_root: r.try_get("epoch_root")?,
                path: r.try_get("path")?,
                last_commit: r.try_get("last_commit")?,
                messages: r.try_get("messages")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// Moves the mark of an epoch to `last_commit`, adding `read` to its
    /// message count. Called after the mail up to that commit is
    /// committed, so a crash between the two only re-reads mail that
    /// storing then finds already there.
    pub async fn set_inbox_mark(
        &self,
        epoch_root: &str,
        path: &str,
        last_commit: &str,
        read: u64,
    ) -> Result<()> {
        let read = i64::try_from(read).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO inbox_mark (epoch_root, path, last_commit, messages, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (epoch_root) DO UPDATE SET path = excluded.path, \
             last_commit = excluded.last_commit, \
             messages = inbox_mark.messages + excluded.messages, \
             updated_at = excluded.updated_at",
        )
        .bind(epoch_root)
        .bind(path)
        .bind(last_commit)
        .bind(read)
        .bind(time::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
