//! Patch state-change notifications (Patchwork's PatchChangeNotification
//! and `send_notifications`): recorded with the state change, mailed to the
//! patch's submitter later as one digest per person.
//!
//! Recording happens inside the transaction that changes the state, so a
//! change and its notification exist together or not at all. Sending
//! turns each ready recipient's notifications into one queued mail and
//! deletes them in one transaction: the job queue then owns the mail (and
//! retries SMTP failures), and a crash or a second sender racing this one
//! can neither lose a digest nor queue it twice.

use std::time::Duration;

use sqlx::Row;

use crate::db::Store;
use crate::error::Result;
use crate::job::enqueue_in;
use crate::outgoing_mail::OutgoingMail;
use crate::time::{self, Micros};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Patchwork's `NOTIFICATION_DELAY_MINUTES`: a recipient is mailed only
/// once all their pending notifications are this old, so a maintainer's
/// burst of changes becomes one mail.
pub const NOTIFICATION_DELAY: Duration = Duration::from_secs(10 * 60);

/// A state change waiting to be mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNotification {
    /// The patch.
    pub patch_id: i64,
    /// Its state before the first unsent change.
    pub orig_state_id: i64,
    /// When it last changed.
    pub last_modified: Micros,
}

/// One patch in a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedPatch {
    /// The patch.
    pub patch_id: i64,
    /// Its name (subject without the prefixes).
    pub name: String,
    /// Its Message-Id, for its web URL.
    pub msgid: String,
    /// The project's linkname.
    pub linkname: String,
    /// The project's name.
    pub project: String,
    /// State name before the changes.
    pub was: String,
    /// State name now.
    pub now: String,
}

/// What one submitter is told: their changed patches, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The submitter's address as stored.
    pub email: String,
    /// Their name, when known.
    pub name: Option<String>,
    /// At least one.
    pub patches: Vec<ChangedPatch>,
}

impl Digest {
    /// The projects' linknames, sorted and without repeats (Patchwork
    /// joins a set, in no particular order).
    pub fn linknames(&self) -> Vec<&str> {
        let mut l: Vec<&str> = self.patches.iter().map(|p| p.linkname.as_str()).collect();
        l.sort_unstable();
        l.dedup();
        l
    }
}

/// What a sending run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationRun {
    /// Digests queued as mail.
    pub mails: u64,
    /// Notifications those digests covered.
    pub patches: u64,
    /// Recipients whose notifications were dropped: they opted out.
    pub opted_out: u64,
    /// Recipients held back: a change of theirs is younger than the delay
    /// (or changed while this run looked at it).
    pub held: u64,
    /// Recipients whose notifications were dropped because they cannot be
    /// mailed: `(address, why)`.
    pub failed: Vec<(String, String)>,
}

/// Records a state change of a patch in a project that sends
/// notifications, inside the caller's transaction: the first change keeps
/// the old state, later ones move `last_modified`, and a change back to
/// the kept state removes the notification. `own` (the submitter changed
/// their own patch) creates none, though it still moves or removes one
/// that a change by someone else created.
pub(crate) async fn record_state_change(
    tx: &mut Tx,
    patch_id: i64,
    old_state: i64,
    new_state: i64,
    own: bool,
) -> Result<()> {
    let existing =
        sqlx::query("SELECT orig_state_id FROM patch_change_notification WHERE patch_id = $1")
            .bind(patch_id)
            .fetch_optional(&mut **tx)
            .await?;
    let now = time::now();
    match existing {
        None if own => {}
        None => {
            sqlx::query(
                "INSERT INTO patch_change_notification (patch_id, orig_state_id, last_modified) \
                 VALUES ($1, $2, $3)",
            )
            .bind(patch_id)
            .bind(old_state)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Some(r) if r.try_get::<i64, _>("orig_state_id")? == new_state => {
            sqlx::query("DELETE FROM patch_change_notification WHERE patch_id = $1")
                .bind(patch_id)
                .execute(&mut **tx)
                .await?;
        }
        Some(_) => {
            sqlx::query(
                "UPDATE patch_change_notification SET last_modified = $1 WHERE patch_id = $2",
            )
            .bind(now)
            .bind(patch_id)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// A notification as read for sending, with what the digest needs.
struct Candidate {
    submitter: i64,
    email: String,
    name: Option<String>,
    last_modified: Micros,
    patch: ChangedPatch,
}

/// Whether the address cannot be mailed at all (Patchwork records an
/// error for these).
fn unmailable(email: &str) -> bool {
    let e = email.trim();
    e.is_empty() || e == "<>"
}

impl Store {
    /// The pending notifications, by patch id.
    pub async fn pending_notifications(&self) -> Result<Vec<PendingNotification>> {
        let rows = sqlx::query(
            "SELECT patch_id, orig_state_id, last_modified FROM patch_change_notification \
             ORDER BY patch_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingNotification {
                    patch_id: r.try_get("patch_id")?,
                    orig_state_id: r.try_get("orig_state_id")?,
                    last_modified: r.try_get("last_modified")?,
                })
            })
            .collect()
    }

    /// Patchwork's `send_notifications`: groups the pending notifications
    /// by the patches' submitter and, for each submitter whose every
    /// notification is older than `delay`, queues the one digest mail
    /// `compose` makes and deletes the notifications, in one transaction.
    /// Opted-out addresses (any case) lose their notifications without a
    /// mail; an empty or `<>` address loses them with an error in the
    /// result. A notification that changes while the run looks at it
    /// holds its recipient until the next run.
    pub async fn send_notifications<F>(
        &self,
        delay: Duration,
        compose: F,
    ) -> Result<NotificationRun>
    where
        F: Fn(&Digest) -> OutgoingMail,
    {
        let cutoff =
            time::now().saturating_sub(i64::try_from(delay.as_micros()).unwrap_or(i64::MAX));
        let rows = sqlx::query(
            "SELECT n.patch_id, n.last_modified, p.name, p.msgid, p.submitter_id, \
             pe.email, pe.name AS person_name, pr.linkname, pr.name AS project_name, \
             os.name AS was, cs.name AS now \
             FROM patch_change_notification n \
             JOIN patch p ON p.id = n.patch_id \
             JOIN person pe ON pe.id = p.submitter_id \
             JOIN project pr ON pr.id = p.project_id \
             JOIN state os ON os.id = n.orig_state_id \
             JOIN state cs ON cs.id = p.state_id \
             ORDER BY p.submitter_id, n.patch_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut read = Vec::with_capacity(rows.len());
        for r in &rows {
            read.push(Candidate {
                submitter: r.try_get("submitter_id")?,
                email: r.try_get("email")?,
                name: r.try_get("person_name")?,
                last_modified: r.try_get("last_modified")?,
                patch: ChangedPatch {
                    patch_id: r.try_get("patch_id")?,
                    name: r.try_get("name")?,
                    msgid: r.try_get("msgid")?,
                    linkname: r.try_get("linkname")?,
                    project: r.try_get("project_name")?,
                    was: r.try_get("was")?,
                    now: r.try_get("now")?,
                },
            });
        }
        let mut run = NotificationRun::default();
        for group in read.chunk_by(|a, b| a.submitter == b.submitter) {
            if group.iter().any(|n| n.last_modified >= cutoff) {
                run.held += 1;
                continue;
            }
            let first = &group[0];
            let digest = Digest {
                email: first.email.clone(),
                name: first.name.clone().filter(|n| !n.trim().is_empty()),
                patches: group.iter().map(|n| n.patch.clone()).collect(),
            };
            let mut tx = self.begin_write().await?;
            // Only the notifications exactly as read: a change since then
            // (a newer last_modified, a revert that deleted one) makes the
            // count differ, and the recipient waits for the next run. Two
            // senders racing also meet here: the second deletes nothing.
            let mut deleted = 0;
            for n in group {
                deleted += sqlx::query(
                    "DELETE FROM patch_change_notification \
                     WHERE patch_id = $1 AND last_modified = $2",
                )
                .bind(n.patch.patch_id)
                .bind(n.last_modified)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            if deleted != group.len() as u64 {
                tx.rollback().await?;
                run.held += 1;
                continue;
            }
            if unmailable(&digest.email) {
                tx.commit().await?;
                run.failed
                    .push((digest.email.clone(), "the submitter has no address".into()));
                continue;
            }
            let opted_out = sqlx::query("SELECT 1 AS one FROM email_optout WHERE email = $1")
                .bind(digest.email.trim().to_lowercase())
                .fetch_optional(&mut *tx)
                .await?;
            if opted_out.is_some() {
                tx.commit().await?;
                run.opted_out += 1;
                continue;
            }
            enqueue_in(&mut tx, &compose(&digest).to_job()?).await?;
            tx.commit().await?;
            run.mails += 1;
            run.patches += deleted;
        }
        if run.mails > 0 {
            self.wake_workers();
        }
        Ok(run)
    }
}
