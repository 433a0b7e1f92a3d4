//! `patchtrack-worker`: the background work of a patch tracker.
//!
//! Everything that must happen after a request is answered (mail now;
//! webhooks and notifications later) is a job in the store's persistent
//! queue. A [`Worker`] claims due jobs of the kinds it has a [`Handler`]
//! for, runs them, and records the outcome: done, or failed and retried
//! with backoff. Any number of workers, in any number of processes, can
//! share one queue. Outgoing mail is the [`mailer::Mailer`] handler,
//! webhook deliveries the [`webhook::WebhookSender`]; the periodic pass
//! (notifications, expiry) is [`cron`].

#![warn(missing_docs)]

pub mod cron;
pub mod mailer;
pub mod webhook;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use patchtrack_store::{Failure, Job, JobStatus, RetryPolicy, Store};

/// Why one attempt at a job failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    /// What went wrong, kept with the job for the admins.
    pub message: String,
    /// Whether retrying is pointless.
    pub permanent: bool,
}

impl JobError {
    /// A failure worth retrying.
    pub fn transient(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            permanent: true,
        }
    }
}

/// The future a handler returns.
pub type Attempt<'a> = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;

/// Runs the jobs of one kind.
pub trait Handler: Send + Sync + std::fmt::Debug {
    /// The job kind it runs.
    fn kind(&self) -> &'static str;
    /// One attempt at one job.
    fn run<'a>(&'a self, job: &'a Job) -> Attempt<'a>;
    /// How its failed attempts are spaced, when not as the worker's
    /// [`Pace::retry`] (a webhook receiver is retried sooner than mail).
    fn retry(&self) -> Option<RetryPolicy> {
        None
    }
}

/// How a worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// How often it looks for due jobs queued by other processes (jobs
    /// queued by its own process wake it at once).
    pub poll: Duration,
    /// How long a claimed job is its own; past that another worker may
    /// take it, so it must exceed the longest attempt.
    pub lease: Duration,
    /// Jobs claimed at once.
    pub batch: usize,
    /// Spacing of retries.
    pub retry: RetryPolicy,
}

impl Default for Pace {
    /// A 5 s poll; a 10 min lease, more than 8 mails each allowed the
    /// SMTP timeout (30 s) take.
    fn default() -> Self {
        Pace {
            poll: Duration::from_secs(5),
            lease: Duration::from_secs(600),
            batch: 8,
            retry: RetryPolicy::default(),
        }
    }
}

/// Claims and runs queued jobs.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Store,
    host: String,
    name: String,
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
    pace: Pace,
}

impl Worker {
    /// A worker without handlers, named after this host and process (the
    /// name marks the jobs it holds).
    pub fn new(store: Store) -> Worker {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        // The process id is only unique within its pid namespace (a
        // container's); the namespace's inode names it.
        let host = match std::fs::read_link("/proc/self/ns/pid") {
            Ok(ns) => {
                let ns = ns.to_string_lossy().replace(['[', ']'], "");
                format!("{host}@{ns}")
            }
            Err(_) => host,
        };
        let tag = patchtrack_store::random_hex(4).unwrap_or_default();
        Worker {
            store,
            name: format!("{host}:{}:{tag}", std::process::id()),
            host,
            handlers: HashMap::new(),
            pace: Pace::default(),
        }
    }

    /// The worker that also runs `handler`'s kind of job.
    #[must_use]
    pub fn with(mut self, handler: impl Handler + 'static) -> Worker {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    /// The worker with another pace.
    #[must_use]
    pub fn with_pace(mut self, pace: Pace) -> Worker {
        self.pace = pace;
        self
    }

    /// The name it claims jobs under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The job kinds it runs.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    /// Claims one batch of due jobs and runs them side by side (a slow
    /// receiver or SMTP server delays only its own job); how many it ran.
    /// A database error is returned (nothing is lost: unfinished jobs come
    /// back when their lease ends).
    pub async fn run_once(&self) -> patchtrack_store::Result<usize> {
        let kinds = self.kinds();
        if kinds.is_empty() {
            return Ok(0);
        }
        let jobs = self
            .store
            .claim_jobs(&kinds, &self.name, self.pace.batch, self.pace.lease)
            .await?;
        let n = jobs.len();
        let mut running = tokio::task::JoinSet::new();
        for job in jobs {
            let worker = self.clone();
            running.spawn(async move { worker.run_job(&job).await });
        }
        let mut first_error = None;
        while let Some(done) = running.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => tracing::error!(error = %e, "job task failed: {e}"),
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(n),
        }
    }

    async fn run_job(&self, job: &Job) -> patchtrack_store::Result<()> {
        let Some(handler) = self.handlers.get(job.kind.as_str()) else {
            return Ok(());
        };
        match handler.run(job).await {
            Ok(()) => {
                if !self.store.complete_job(job.id, &self.name).await? {
                    tracing::warn!(job = job.id, "job {} done after its lease ended", job.id);
                }
            }
            Err(e) => {
                let failure = if e.permanent {
                    Failure::Permanent
                } else {
                    Failure::Transient
                };
                let retry = handler.retry().unwrap_or(self.pace.retry);
                let status = self
                    .store
                    .fail_job(job, &self.name, &e.message, failure, &retry)
                    .await?;
                match status {
                    Some(JobStatus::Failed) => tracing::error!(
                        job = job.id,
                        kind = %job.kind,
                        attempts = job.attempts,
                        error = %e,
                        "job {} ({}) given up after {} attempts: {e}",
                        job.id,
                        job.kind,
                        job.attempts
                    ),
                    _ => tracing::warn!(
                        job = job.id,
                        kind = %job.kind,
                        attempts = job.attempts,
                        error = %e,
                        "job {} ({}) failed, will retry: {e}",
                        job.id,
                        job.kind
                    ),
                }
            }
        }
        Ok(())
    }

    /// Runs jobs until the process ends: a batch, then the next at once
    /// while there is work, else a wait for a wake-up or the poll.
    pub async fn run(self) {
        if self.handlers.is_empty() {
            return;
        }
        tracing::info!(worker = %self.name, kinds = ?self.kinds(), "job worker started");
        // A server killed mid-job left its jobs leased: take them back now.
        let alive = |pid: u32| std::path::Path::new(&format!("/proc/{pid}")).exists();
        match self
            .store
            .release_jobs_of_dead_workers(&self.host, alive)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!("{n} jobs of a stopped worker on this host taken back"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for the jobs of stopped workers: {e}")
            }
        }
        loop {
            match self.run_once().await {
                Ok(0) => self.store.wait_for_jobs(self.pace.poll).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "job queue unavailable: {e}");
                    tokio::time::sleep(self.pace.poll).await;
                }
            }
        }
    }
}
