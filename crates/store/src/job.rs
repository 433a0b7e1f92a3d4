//! The persistent queue of background work, shared by everything that must
//! happen after a request has been answered (mail now; webhooks and
//! notifications later).
//!
//! A job is a kind (which handler runs it) and an opaque payload the
//! handler understands. Workers in any number of processes claim due jobs
//! with one atomic statement that also gives them a lease; a worker that
//! dies mid-job loses its lease and the job becomes due again, so work is
//! done at least once and never lost. A failed attempt is retried later
//! with exponential backoff until the job's attempts run out; the job then
//! stays `failed`, with its last error, for an admin to see and retry.

use std::time::Duration;

use sqlx::Row;

use crate::db::{Backend, Store};
use crate::error::{Result, StoreError};
use crate::sql::Sql;
use crate::time::{self, Micros};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Work to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Which handler runs it (`mail`, ...).
    pub kind: String,
    /// What the handler needs, in the handler's own encoding.
    pub payload: String,
    /// Attempts before the job is given up as `failed`.
    pub max_attempts: i64,
}

/// The attempts a job gets by default: with [`RetryPolicy::default`] that
/// is about a day of retries, longer than most SMTP outages.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 30;

impl NewJob {
    /// A job with the default number of attempts.
    pub fn new(kind: &str, payload: String) -> NewJob {
        NewJob {
            kind: kind.to_string(),
            payload,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for its run time, or being worked on under a lease.
    Pending,
    /// Done.
    Done,
    /// Given up: attempts exhausted or a permanent error.
    Failed,
}

impl JobStatus {
    /// The status as stored and shown (`pending`, `done`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<JobStatus> {
        match s {
            "pending" => Ok(JobStatus::Pending),
            "done" => Ok(JobStatus::Done),
            "failed" => Ok(JobStatus::Failed),
            other => Err(StoreError::Inconsistent(format!("job status {other:?}"))),
        }
    }
}

/// A queued job as workers and admins see it.
#[allow(missing_docs)] // the fields are the columns
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub status: JobStatus,
    /// Attempts started so far, the current one included.
    pub attempts: i64,
    pub max_attempts: i64,
    /// When it is (next) due.
    pub run_at: Micros,
    /// The worker holding it, while one does.
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created: Micros,
    pub finished: Option<Micros>,
}

/// How failed attempts are spaced: `base`, doubled after each failure, at
/// most `cap`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min, ... then hourly: 30 attempts span about a day.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1 = the first).
    pub fn delay(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

/// How a failed attempt is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth retrying (the server is down, a temporary refusal).
    Transient,
    /// Retrying cannot help (the address is refused for good).
    Permanent,
}

const COLUMNS: &str = "id, kind, payload, status, attempts, max_attempts, run_at, locked_by, \
                       last_error, created, finished";

fn micros(d: Duration) -> Micros {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn job_row(r: &sqlx::any::AnyRow) -> Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        payload: r.try_get("payload")?,
        status: JobStatus::parse(&r.try_get::<String, _>("status")?)?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        run_at: r.try_get("run_at")?,
        locked_by: r.try_get("locked_by")?,
        last_error: r.try_get("last_error")?,
        created: r.try_get("created")?,
        finished: r.try_get("finished")?,
    })
}

/// Queues `job` inside the caller's transaction: it exists exactly when
/// what it belongs to was committed (a confirmation and its mail).
pub(crate) async fn enqueue_in(tx: &mut Tx, job: &NewJob) -> Result<i64> {
    let now = time::now();
    let row = sqlx::query(
        "INSERT INTO job (kind, payload, status, attempts, max_attempts, run_at, created) \
         VALUES ($1, $2, 'pending', 0, $3, $4, $4) RETURNING id",
    )
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(job.max_attempts.max(1))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

impl Store {
    /// Queues one job on its own.
    pub async fn enqueue(&self, job: &NewJob) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = enqueue_in(&mut tx, job).await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(id)
    }

    /// Tells a worker of this process that a job was queued, so it need
    /// not wait for its next poll (a worker busy at the time finds the
    /// job when it claims again; workers elsewhere find it when they
    /// poll).
    pub fn wake_workers(&self) {
        self.job_wakeup.notify_one();
    }

    /// Waits until this process queues a job or `timeout` passes.
    pub async fn wait_for_jobs(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.job_wakeup.notified()).await;
    }

    /// Claims up to `limit` due jobs of the given kinds for `worker`, for
    /// `lease` (after which another worker may take them again). One
    /// statement: on PostgreSQL the candidate rows are locked with SKIP
    /// LOCKED, so concurrent workers take different jobs instead of
    /// waiting for each other; SQLite has one writer at a time, which
    /// makes the statement atomic by itself. The conditions are repeated
    /// outside the subquery so that a row another worker claimed first is
    /// never returned twice, whatever the isolation.
    pub async fn claim_jobs(
        &self,
        kinds: &[&str],
        worker: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Job>> {
        let now = time::now();
        let due = |sql: &mut Sql| {
            sql.push("status = 'pending' AND run_at <= ")
                .bind(now)
                .push(" AND (locked_until IS NULL OR locked_until <= ")
                .bind(now)
                .push(") AND kind IN ")
                .bind_list(kinds.iter().map(|k| k.to_string()));
        };
        let mut sql = Sql::new("UPDATE job SET attempts = attempts + 1, locked_by = ");
        sql.bind(worker.to_string())
            .push(", locked_until = ")
            .bind(now.saturating_add(micros(lease)))
            .push(" WHERE id IN (SELECT id FROM job WHERE ");
        due(&mut sql);
        sql.push(" ORDER BY run_at, id LIMIT ")
            .bind(i64::try_from(limit.max(1)).unwrap_or(i64::MAX));
        if self.backend == Backend::Postgres {
            sql.push(" FOR UPDATE SKIP LOCKED");
        }
        sql.push(") AND ");
        due(&mut sql);
        sql.push(" RETURNING ").push(COLUMNS);
        let mut jobs = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(job_row)
            .collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    /// Gives back the jobs held by workers of this host (`host:PID:tag`
    /// names) whose process is gone, so that a restarted server resumes
    /// them at once instead of after the lease. `alive` says whether a
    /// process id still runs; a reused pid only delays the recovery to
    /// the lease's end. How many jobs came back.
    pub async fn release_jobs_of_dead_workers(
        &self,
        host: &str,
        alive: impl Fn(u32) -> bool,
    ) -> Result<u64> {
        let rows = sqlx::query(
            "SELECT DISTINCT locked_by FROM job WHERE status = 'pending' AND locked_by IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut released = 0;
        for r in rows {
            let holder: String = r.try_get("locked_by")?;
            let mut parts = holder.rsplitn(3, ':');
            let (_tag, pid, name) = (parts.next(), parts.next(), parts.next());
            let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if name != Some(host) || alive(pid) {
                continue;
            }
            let res = sqlx::query(
                "UPDATE job SET locked_by = NULL, locked_until = NULL \
                 WHERE locked_by = $1 AND status = 'pending'",
            )
            .bind(&holder)
            .execute(&self.pool)
            .await?;
            released += res.rows_affected();
            // And the webhook receivers its jobs held (`worker/job`).
            sqlx::query(
                "UPDATE webhook SET locked_by = NULL, locked_until = NULL \
                 WHERE substr(locked_by, 1, length($1)) = $1",
            )
            .bind(format!("{holder}/"))
            .execute(&self.pool)
            .await?;
        }
        Ok(released)
    }

    /// Marks a job this worker holds as done. False when the lease was
    /// lost (another worker has the job now).
    pub async fn complete_job(&self, id: i64, worker: &str) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE job SET status = 'done', finished = $1, locked_by = NULL, \
             locked_until = NULL, last_error = NULL \
             WHERE id = $2 AND locked_by = $3 AND status = 'pending'",
        )
        .bind(time::now())
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Records a failed attempt of a job this worker holds: it runs again
    /// after the policy's delay, or, when its attempts are spent or the
    /// failure is permanent, stays `failed`. The error is kept either way.
    /// Returns the job's new status (None when the lease was lost).
    pub async fn fail_job(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        failure: Failure,
        policy: &RetryPolicy,
    ) -> Result<Option<JobStatus>> {
        let now = time::now();
        let give_up = failure == Failure::Permanent || job.attempts >= job.max_attempts;
        let status = if give_up {
            JobStatus::Failed
        } else {
            JobStatus::Pending
        };
        let run_at = now.saturating_add(micros(policy.delay(job.attempts)));
        let res = sqlx::query(
            "UPDATE job SET status = $1, run_at = $2, finished = $3, last_error = $4, \
             locked_by = NULL, locked_until = NULL \
             WHERE id = $5 AND locked_by = $6 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(if give_up { job.run_at } else { run_at })
        .bind(give_up.then_some(now))
        .bind(error)
        .bind(job.id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok((res.rows_affected() == 1).then_some(status))
    }

    /// The queue as an admin sees it: every pending and failed job, the
    /// next due first, at most `limit`.
    pub async fn waiting_jobs(&self, limit: usize) -> Result<Vec<Job>> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM job WHERE status IN ('pending', 'failed') \
             ORDER BY status DESC, run_at, id LIMIT "
        ));
        sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(job_row)
            .collect()
    }

    /// One job, whatever its status.
    pub async fn job(&self, id: i64) -> Result<Option<Job>> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM job WHERE id = "));
        sql.bind(id);
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(job_row)
            .transpose()
    }

    /// Puts a failed job back in the queue, due now, with fresh attempts
    /// (an admin's "retry" after fixing the cause). False when there is no
    /// such failed job.
    pub async fn retry_job(&self, id: i64) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE job SET status = 'pending', attempts = 0, run_at = $1, finished = NULL \
             WHERE id = $2 AND status = 'failed'",
        )
        .bind(time::now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.wake_workers();
        Ok(res.rows_affected() == 1)
    }

    /// How many jobs are pending, done and failed, for the admin pages.
    pub async fn job_counts(&self) -> Result<Vec<(JobStatus, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM job GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut counts: Vec<(JobStatus, i64)> =
            [JobStatus::Pending, JobStatus::Done, JobStatus::Failed]
                .into_iter()
                .map(|s| (s, 0))
                .collect();
        for r in rows {
            let status = JobStatus::parse(&r.try_get::<String, _>("status")?)?;
            let n: i64 = r.try_get("n")?;
            if let Some(c) = counts.iter_mut().find(|(s, _)| *s == status) {
                c.1 = n;
            }
        }
        Ok(counts)
    }

    /// Deletes done jobs finished before `before`; failed ones stay until
    /// an admin retries them. Returns how many went.
    pub async fn purge_done_jobs(&self, before: Micros) -> Result<u64> {
        let res = sqlx::query("DELETE FROM job WHERE status = 'done' AND finished < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (1..=10).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(p.delay(0).as_secs(), 30);
        assert_eq!(p.delay(i64::MAX).as_secs(), 3600);
        // The default attempts cover about a day of outage.
        let total: u64 = (1..DEFAULT_MAX_ATTEMPTS)
            .map(|n| p.delay(n).as_secs())
            .sum();
        assert!((20 * 3600..30 * 3600).contains(&total), "{total}");
    }
}
