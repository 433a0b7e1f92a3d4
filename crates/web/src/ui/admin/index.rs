//! `/admin/`: what there is to administer, with counts.

use askama::Template;
use axum::response::Response;
use patchtrack_store::{JobStatus, Page};

use super::super::{Base, PageError, Req};
use super::admin;

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    base: Base,
    projects: usize,
    states: usize,
    tags: usize,
    users: u64,
    people: u64,
    pending: i64,
    failed: i64,
}

/// `GET /admin/`.
pub async fn index(req: Req) -> Result<Response, PageError> {
    admin(&req, "/admin/")?;
    let store = &req.app.store;
    let one = Page { number: 1, size: 1 };
    let users = store.users(&[], &[], one).await?.map_or(0, |l| l.total);
    let people = store.people(&[], &[], one).await?.map_or(0, |l| l.total);
    let jobs = store.job_counts().await?;
    let count = |status| {
        jobs.iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    let page = IndexPage {
        base: req.base("Administration", None),
        projects: store.projects().await?.len(),
        states: store.states().await?.len(),
        tags: store.tags().await?.len(),
        users,
        people,
        pending: count(JobStatus::Pending),
        failed: count(JobStatus::Failed),
    };
    Ok(req.render(&page))
}
