//! `/admin/jobs/`: the queue of background work (outgoing mail): what
//! waits, what failed and why, and a retry for failed jobs.

use askama::Template;
use axum::response::Response;
use patchtrack_store::Job;

use super::super::{Base, FormPost, PageError, Req, when};
use super::{admin, id_of, record};

const HERE: &str = "/admin/jobs/";

struct Row {
    job: Job,
    status: &'static str,
    run_at: String,
    failed: bool,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct ListPage {
    base: Base,
    /// (status, count)
    counts: Vec<(&'static str, i64)>,
    rows: Vec<Row>,
}

/// `GET /admin/jobs/`: failed and pending jobs, at most 500.
pub async fn list(req: Req) -> Result<Response, PageError> {
    admin(&req, HERE)?;
    let store = &req.app.store;
    let counts = store
        .job_counts()
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str(), n))
        .collect();
    let rows = store
        .waiting_jobs(500)
        .await?
        .into_iter()
        .map(|job| Row {
            status: job.status.as_str(),
            run_at: when(job.run_at),
            failed: job.status == patchtrack_store::JobStatus::Failed,
            job,
        })
        .collect();
    let page = ListPage {
        base: req.base("Mail queue · Administration", None),
        counts,
        rows,
    };
    Ok(req.render(&page))
}

/// `POST /admin/jobs/`: retries the failed job `id`.
pub async fn retry(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let who = admin(&req, HERE)?;
    let Some(id) = id_of(&form, "id") else {
        return Ok(req.redirect(HERE, &["No job chosen".to_string()]));
    };
    if !req.app.store.retry_job(id).await? {
        return Ok(req.redirect(HERE, &[format!("Job {id} is not a failed job")]));
    }
    record(&req, &who, "job.retry", &format!("job {id}"), "").await?;
    Ok(req.redirect(HERE, &[format!("Job {id} queued again")]))
}
