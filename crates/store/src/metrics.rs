//! The figures `/metrics` reads from the database: what became of the
//! mail (counted by whichever process took it in), the job queue, and the
//! connection pool of this process.

use sqlx::Row;

use crate::db::Store;
use crate::error::Result;
use crate::ingest::Outcome;

/// A mail counter: what became of it and, for a drop, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailCount {
    /// `patch`, `cover`, `comment`, `duplicate`, `dropped` or `rejected`.
    pub outcome: String,
    /// For a drop, its kind in a few words (a fixed set, so that the
    /// metric's labels stay few); empty otherwise.
    pub reason: String,
    /// Mails so far.
    pub count: i64,
}

/// Jobs of one kind in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLength {
    /// The job's kind (`mail`, `webhook`, ...).
    pub kind: String,
    /// `pending` or `failed`.
    pub status: String,
    /// Jobs.
    pub count: i64,
}

/// This process's database connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open.
    pub open: u32,
    /// Of those, waiting for work.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// The counter a mail's outcome moves.
pub(crate) fn label(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Patch { .. } => ("patch", ""),
        Outcome::Cover { .. } => ("cover", ""),
        Outcome::PatchComment { .. } | Outcome::CoverComment { .. } => ("comment", ""),
        Outcome::Duplicate => ("duplicate", ""),
        Outcome::Dropped(why) => ("dropped", drop_kind(why)),
        Outcome::Rejected(_) => ("rejected", ""),
    }
}

/// The few kinds of drops, from their worded reasons.
fn drop_kind(why: &str) -> &'static str {
    if why.starts_with("no project") {
        "no project"
    } else if why.contains("X-Patchwork-Hint") {
        "ignore hint"
    } else if why.starts_with("nothing to work with") {
        "no content"
    } else {
        "no parent"
    }
}

impl Store {
    /// Counts mails that were not stored (a stored one is counted in its
    /// own transaction): one write per kind of outcome, so that a bulk
    /// import counts its duplicates and drops in batches, not one commit
    /// each.
    pub async fn count_unstored(&self, outcomes: &[Outcome]) -> Result<()> {
        let mut by_label: std::collections::BTreeMap<(&str, &str), i64> = Default::default();
        for outcome in outcomes.iter().filter(|o| !o.is_stored()) {
            *by_label.entry(label(outcome)).or_default() += 1;
        }
        if by_label.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for ((outcome, reason), n) in by_label {
            sqlx::query(COUNT_MAIL)
                .bind(outcome)
                .bind(reason)
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every mail counter.
    pub async fn mail_counts(&self) -> Result<Vec<MailCount>> {
        sqlx::query("SELECT outcome, reason, count FROM mail_outcome ORDER BY outcome, reason")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(MailCount {
                    outcome: r.try_get("outcome")?,
                    reason: r.try_get("reason")?,
                    count: r.try_get("count")?,
                })
            })
            .collect()
    }

    /// Jobs waiting or given up, by kind (done jobs are not counted: the
    /// cron pass removes them after a while).
    pub async fn queue_lengths(&self) -> Result<Vec<QueueLength>> {
        sqlx::query(
            "SELECT kind, status, COUNT(*) AS n FROM job WHERE status IN ('pending', 'failed') \
             GROUP BY kind, status ORDER BY kind, status",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(QueueLength {
                kind: r.try_get("kind")?,
                status: r.try_get("status")?,
                count: r.try_get("n")?,
            })
        })
        .collect()
    }

    /// This process's pool of connections.
    pub fn pool_state(&self) -> PoolState {
        PoolState {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }
}

/// Adds `$3` to a mail counter.
pub(crate) const COUNT_MAIL: &str = "INSERT INTO mail_outcome (outcome, reason, count) \
     VALUES ($1, $2, $3) ON CONFLICT (outcome, reason) \
     DO UPDATE SET count = mail_outcome.count + excluded.count";
