//! `/admin/`: the site administrators' pages (Patchwork uses Django's
//! admin there; these are patchtrack's own, at their own URLs, see
//! docs/compatibility.md). Only superusers see them: anyone else logged
//! in gets 403, an anonymous visitor the login page. Every change is a
//! CSRF-checked form POST, answered with a redirect, and recorded in the
//! admin log ([`record`]) and as a `patchtrack::admin` tracing line.

mod index;
mod job;
mod log;
mod person;
mod project;
mod state;
mod tag;
mod user;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use patchtrack_store::StoreError;

use super::{PageError, Req};
use crate::App;

/// The admin routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/", get(index::index))
        .route("/admin/projects/", get(project::list).post(project::create))
        .route(
            "/admin/projects/{linkname}/",
            get(project::edit).post(project::edit_post),
        )
        .route("/admin/states/", get(state::list).post(state::change))
        .route("/admin/tags/", get(tag::list).post(tag::change))
        .route("/admin/users/", get(user::list).post(user::change))
        .route("/admin/people/", get(person::list).post(person::change))
        .route("/admin/jobs/", get(job::list).post(job::retry))
        .route("/admin/log/", get(log::list))
}

/// The administrator making a request.
pub(super) struct Admin {
    id: i64,
    username: String,
}

/// The requester, when a site administrator; else the login page
/// (anonymous) or 403.
fn admin(req: &Req, back_to: &str) -> Result<Admin, PageError> {
    match &req.principal {
        None => Err(PageError::login_first(back_to)),
        Some(p) if p.superuser => Ok(Admin {
            id: p.user.id,
            username: p.user.username.clone(),
        }),
        Some(_) => Err(PageError::forbidden(
            "Only site administrators can use the administration pages.",
        )),
    }
}

/// Records an administrator's change: a row of the admin log and a
/// tracing line.
async fn record(
    req: &Req,
    who: &Admin,
    action: &str,
    object: &str,
    detail: &str,
) -> Result<(), PageError> {
    tracing::info!(
        target: "patchtrack::admin",
        admin = %who.username,
        action,
        object,
        detail,
        "admin change"
    );
    req.app
        .store
        .record_admin_action(who.id, &who.username, action, object, detail)
        .await?;
    Ok(())
}

/// What the store refused in words an administrator can act on (a value
/// it rejects, a name it does not know); any other failure fails the page.
fn refusal(e: StoreError) -> Result<String, PageError> {
    match e {
        StoreError::Invalid(m) | StoreError::NotFound(m) => Ok(m),
        other => Err(other.into()),
    }
}

/// A form's id field.
fn id_of(form: &super::Form, name: &str) -> Option<i64> {
    form.get(name).and_then(|v| v.trim().parse().ok())
}

/// A checkbox: present (with any value) means on.
fn checked(form: &super::Form, name: &str) -> bool {
    form.get(name).is_some()
}
