//! The periodic pass (Patchwork's `manage.py cron`): state-change
//! notifications become queued digest mails, then outdated confirmations
//! and never-confirmed registrations expire; then the housekeeping
//! Patchwork has no need of: the count tallies are folded (so list counts
//! stay a few rows' sum) and sent mail older than a week leaves the queue. `patchtrack cron` runs it once
//! (for sites that schedule it themselves); `patchtrack serve` runs it
//! every minute through a [`Scheduler`]. Both run this same pass, and
//! several at once are safe: each recipient's digest is queued and its
//! notifications deleted in one transaction.

use std::sync::Arc;
use std::time::Duration;

use patchtrack_store::{
    CONFIRMATION_VALIDITY, Digest, Expired, NOTIFICATION_DELAY, NotificationRun, OutgoingMail,
    Store,
};

/// Makes the mail of one digest (`patchtrack_web::notification::digest_mail`
/// with the site's URL and sender).
pub type Compose = Arc<dyn Fn(&Digest) -> OutgoingMail + Send + Sync>;

/// What the pass waits for and keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CronConfig {
    /// How old a submitter's newest change must be before they are mailed
    /// (Patchwork's `NOTIFICATION_DELAY_MINUTES`, 10).
    pub notification_delay: Duration,
    /// How long a confirmation link works (Patchwork's
    /// `CONFIRMATION_VALIDITY_DAYS`, 7).
    pub confirmation_validity: Duration,
}

impl Default for CronConfig {
    fn default() -> Self {
        CronConfig {
            notification_delay: NOTIFICATION_DELAY,
            confirmation_validity: CONFIRMATION_VALIDITY,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CronReport {
    /// The notifications part.
    pub notifications: NotificationRun,
    /// The expiry part.
    pub expired: Expired,
    /// Tally rows folded away.
    pub tally_rows: u64,
    /// Finished jobs removed from the queue.
    pub jobs_purged: u64,
    /// Delivered webhook deliveries removed from the log.
    pub deliveries_purged: u64,
}

/// How long a finished job stays in the queue for admins to see.
pub const KEEP_DONE_JOBS: Duration = Duration::from_secs(7 * 86_400);

/// How long a delivered webhook delivery stays in the log.
pub const KEEP_DELIVERIES: Duration = Duration::from_secs(30 * 86_400);

impl CronReport {
    /// Whether the pass changed anything worth a log line.
    pub fn is_empty(&self) -> bool {
        let n = &self.notifications;
        n.mails == 0
            && n.opted_out == 0
            && n.failed.is_empty()
            && self.expired.confirmations == 0
            && self.expired.accounts == 0
    }
}

impl std::fmt::Display for CronReport {
    /// The summary `patchtrack cron` prints, one line per part.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = &self.notifications;
        writeln!(
            f,
            "notifications: {} mails queued for {} patches, {} recipients held back, \
             {} opted out, {} failed",
            n.mails,
            n.patches,
            n.held,
            n.opted_out,
            n.failed.len()
        )?;
        writeln!(
            f,
            "expiry: {} confirmations and {} unconfirmed registrations removed",
            self.expired.confirmations, self.expired.accounts
        )?;
        write!(
            f,
            "housekeeping: {} tally rows folded, {} finished jobs removed, \
             {} delivered webhook deliveries removed",
            self.tally_rows, self.jobs_purged, self.deliveries_purged
        )
    }
}

/// Runs the pass once: notifications, expiry, housekeeping.
pub async fn run_pass(
    store: &Store,
    config: &CronConfig,
    compose: &Compose,
) -> patchtrack_store::Result<CronReport> {
    let notifications = store
        .send_notifications(config.notification_delay, |d| compose(d))
        .await?;
    let expired = store
        .expire_confirmations(config.confirmation_validity)
        .await?;
    let tally_rows = store.compact_tallies().await?;
    let keep = i64::try_from(KEEP_DONE_JOBS.as_micros()).unwrap_or(i64::MAX);
    let jobs_purged = store
        .purge_done_jobs(patchtrack_store::time::now().saturating_sub(keep))
        .await?;
    let keep = i64::try_from(KEEP_DELIVERIES.as_micros()).unwrap_or(i64::MAX);
    let deliveries_purged = store
        .purge_deliveries(patchtrack_store::time::now().saturating_sub(keep))
        .await?;
    Ok(CronReport {
        notifications,
        expired,
        tally_rows,
        jobs_purged,
        deliveries_purged,
    })
}

/// Runs the pass at a fixed interval, for the life of the process.
#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    config: CronConfig,
    compose: Compose,
    every: Duration,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("config", &self.config)
            .field("every", &self.every)
            .finish()
    }
}

impl Scheduler {
    /// A scheduler running the pass every `every` (at least 1 s).
    pub fn new(store: Store, config: CronConfig, compose: Compose, every: Duration) -> Scheduler {
        Scheduler {
            store,
            config,
            compose,
            every: every.max(Duration::from_secs(1)),
        }
    }

    /// Runs the pass now and then every interval; a failed pass (the
    /// database away) is logged and tried again at the next tick.
    pub async fn run(self) {
        tracing::info!(every = ?self.every, "periodic pass (notifications, expiry) started");
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match run_pass(&self.store, &self.config, &self.compose).await {
                Ok(report) => {
                    for (email, why) in &report.notifications.failed {
                        tracing::warn!(email = %email, "Failed sending to {email}: {why}");
                    }
                    if !report.is_empty() {
                        let summary = report.to_string().replace('\n', "; ");
                        tracing::info!("periodic pass: {summary}");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "periodic pass failed: {e}"),
            }
        }
    }
}
