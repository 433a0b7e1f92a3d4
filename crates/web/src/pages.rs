//! Small non-API URLs: the `.pwclientrc` download and the legacy id
//! redirects (`/patch/ID/`, `/cover/ID/`, `/comment/ID/`). They read no
//! session, so a [`PageError`] here is its bare form (a small 404 page, a
//! plain-text 500); `/patch/ID/` and `/cover/ID/` answer as the downloads
//! they share their code with do.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use patchtrack_store::Parent;

use crate::download::{Download, found};
use crate::ui::PageError;
use crate::{App, urls};

/// The page routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/project/{linkname}/pwclientrc/", get(pwclientrc))
        .route("/patch/{id}/", get(legacy_patch))
        .route("/cover/{id}/", get(legacy_cover))
        .route("/comment/{id}/", get(legacy_comment))
}

async fn pwclientrc(
    State(app): State<Arc<App>>,
    Path(linkname): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let p = app
        .store
        .cached_project(&linkname)
        .await?
        .ok_or(PageError::NotFound)?;
    let base = crate::api::base_url(&app, &headers);
    let body = format!(
        "# Sample .pwclientrc file for the {link} project,\n\
         # downloaded from {base}/\n\
         #\n\
         # To use it, copy it to ~/.pwclientrc and set your credentials.\n\
         [options]\n\
         default={link}\n\
         \n\
         [{link}]\n\
         backend = rest\n\
         url = {base}/api/\n\
         # token = <your API token>\n",
        link = p.linkname
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=.pwclientrc",
            ),
        ],
        body,
    )
        .into_response())
}

async fn legacy_patch(State(app): State<Arc<App>>, Path(id): Path<String>) -> Download {
    crate::download::legacy_patch_target(&app, &id, "").await
}

async fn legacy_cover(State(app): State<Arc<App>>, Path(id): Path<String>) -> Download {
    crate::download::legacy_cover_target(&app, &id, "").await
}

/// Straight to the parent's page with the comment id as the fragment, as
/// upstream does (patch comments first, then cover comments: the ids of
/// the two tables overlap). The page anchors each comment by its bare id.
async fn legacy_comment(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = id.parse::<i64>().map_err(|_| PageError::NotFound)?;
    let projects = app.store.projects_by_id().await?;
    let link = |project_id: i64| {
        projects
            .get(&project_id)
            .map_or("", |p| p.linkname.as_str())
    };
    let page = match app.store.comment_parent(id).await? {
        Some(Parent::Patch(p)) => app
            .store
            .patch(p)
            .await?
            .map(|p| urls::patch(link(p.project_id), &p.msgid)),
        Some(Parent::Cover(c)) => app
            .store
            .cover(c)
            .await?
            .map(|c| urls::cover(link(c.project_id), &c.msgid)),
        None => None,
    };
    let page = page.ok_or(PageError::NotFound)?;
    Ok(found(&format!("{page}#{id}")))
}
