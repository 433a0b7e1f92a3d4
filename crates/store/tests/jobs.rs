//! The background job queue on both engines: claiming is exclusive even
//! with concurrent workers, a lost lease gives the job back, failures back
//! off and finally give up, and admins see what waits.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::HashSet;
use std::time::Duration;

use patchtrack_store::{Failure, JobStatus, NewJob, OutgoingMail, RetryPolicy, Store};

const LEASE: Duration = Duration::from_secs(60);

fn job(n: usize) -> NewJob {
    NewJob::new("test", format!("payload {n}"))
}

#[tokio::test]
async fn a_claimed_job_is_nobody_elses_until_done() {
    for store in common::stores().await {
        let id = store.enqueue(&job(1)).await.unwrap();
        store
            .enqueue(&NewJob::new("other", "x".into()))
            .await
            .unwrap();
        let claimed = store.claim_jobs(&["test"], "w1", 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 1, "only the kind asked for");
        let j = &claimed[0];
        assert_eq!((j.id, j.payload.as_str()), (id, "payload 1"));
        assert_eq!((j.attempts, j.status), (1, JobStatus::Pending));
        assert_eq!(j.locked_by.as_deref(), Some("w1"));
        assert!(
            store
                .claim_jobs(&["test"], "w2", 10, LEASE)
                .await
                .unwrap()
                .is_empty()
        );
        // Another worker cannot finish what it does not hold.
        assert!(!store.complete_job(id, "w2").await.unwrap());
        assert!(store.complete_job(id, "w1").await.unwrap());
        let done = store.job(id).await.unwrap().unwrap();
        assert_eq!(done.status, JobStatus::Done);
        assert!(done.finished.is_some() && done.locked_by.is_none());
        assert!(
            store
                .claim_jobs(&["test"], "w2", 10, LEASE)
                .await
                .unwrap()
                .is_empty()
        );
        // Done jobs leave the admins' view and are purged later.
        let waiting: Vec<i64> = store
            .waiting_jobs(10)
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        assert!(!waiting.contains(&id));
        assert_eq!(store.purge_done_jobs(i64::MAX).await.unwrap(), 1);
        assert!(store.job(id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_lost_lease_gives_the_job_to_another_worker() {
    for store in common::stores().await {
        let id = store.enqueue(&job(1)).await.unwrap();
        let first = store
            .claim_jobs(&["test"], "dead", 10, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let again = store
            .claim_jobs(&["test"], "alive", 10, LEASE)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].id, again[0].attempts), (id, 2));
        // The dead worker's late report changes nothing.
        assert!(!store.complete_job(id, "dead").await.unwrap());
        assert!(store.complete_job(id, "alive").await.unwrap());
    }
}

/// Eight workers claiming at once from 40 jobs take every job exactly
/// once (PostgreSQL: SKIP LOCKED; SQLite: one writer at a time).
#[tokio::test]
async fn concurrent_workers_never_share_a_job() {
    for store in common::stores().await {
        for n in 0..40 {
            store.enqueue(&job(n)).await.unwrap();
        }
        let mut tasks = Vec::new();
        for w in 0..8 {
            let store: Store = store.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("w{w}");
                let mut mine = Vec::new();
                loop {
                    let got = store.claim_jobs(&["test"], &name, 3, LEASE).await.unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    for j in got {
                        assert!(store.complete_job(j.id, &name).await.unwrap());
                        mine.push(j.id);
                    }
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let unique: HashSet<i64> = all.iter().copied().collect();
        assert_eq!((all.len(), unique.len()), (40, 40), "{:?}", store.backend());
    }
}

#[tokio::test]
async fn failures_back_off_then_give_up_and_an_admin_can_retry() {
    let policy = RetryPolicy {
        base: Duration::from_millis(300),
        cap: Duration::from_secs(3600),
    };
    for store in common::stores().await {
        let id = store
            .enqueue(&NewJob {
                max_attempts: 2,
                ..job(1)
            })
            .await
            .unwrap();
        let j = store
            .claim_jobs(&["test"], "w", 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        let status = store
            .fail_job(&j, "w", "connection refused", Failure::Transient, &policy)
            .await
            .unwrap();
        assert_eq!(status, Some(JobStatus::Pending));
        let after = store.job(id).await.unwrap().unwrap();
        assert_eq!(after.last_error.as_deref(), Some("connection refused"));
        assert_eq!(after.attempts, 1);
        assert!(after.run_at >= j.run_at + 300_000, "backed off");
        // Not due yet.
        assert!(
            store
                .claim_jobs(&["test"], "w", 1, LEASE)
                .await
                .unwrap()
                .is_empty()
        );
        let waiting = store.waiting_jobs(10).await.unwrap();
        assert_eq!(waiting.len(), 1, "the admins see it");
        tokio::time::sleep(Duration::from_millis(350)).await;
        let j = store
            .claim_jobs(&["test"], "w", 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(j.attempts, 2);
        let status = store
            .fail_job(&j, "w", "still refused", Failure::Transient, &policy)
            .await
            .unwrap();
        assert_eq!(status, Some(JobStatus::Failed), "attempts spent");
        let failed = store.job(id).await.unwrap().unwrap();
        assert_eq!(failed.last_error.as_deref(), Some("still refused"));
        assert_eq!(
            store.waiting_jobs(10).await.unwrap()[0].status,
            JobStatus::Failed
        );
        // An admin puts it back; failed jobs are never purged.
        assert_eq!(store.purge_done_jobs(i64::MAX).await.unwrap(), 0);
        assert!(store.retry_job(id).await.unwrap());
        assert!(!store.retry_job(id).await.unwrap(), "only failed jobs");
        let j = store
            .claim_jobs(&["test"], "w", 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        assert_eq!((j.id, j.attempts), (id, 1));
        // A permanent failure gives up at once.
        let status = store
            .fail_job(&j, "w", "550 no such user", Failure::Permanent, &policy)
            .await
            .unwrap();
        assert_eq!(status, Some(JobStatus::Failed));
    }
}

#[tokio::test]
async fn a_queued_mail_keeps_what_it_says() {
    for store in common::stores().await {
        let mut mail = OutgoingMail::new(
            "Zoë <zoe@example.org>",
            "Grüße",
            "line one\nline two\n".into(),
        );
        mail.headers.push(("Precedence".into(), "bulk".into()));
        let id = store.queue_mail(&mail).await.unwrap();
        let j = store
            .claim_jobs(&["mail"], "w", 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(j.id, id);
        assert_eq!(OutgoingMail::from_payload(&j.payload).unwrap(), mail);
    }
}
