//! Small non-API URLs: the `.pwclientrc` download and the legacy id
//! redirects (`/patch/ID/`, `/cover/ID/`, `/comment/ID/`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use patchtrack_store::Parent;

use crate::{App, html, urls};

/// The page routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/project/{linkname}/pwclientrc/", get(pwclientrc))
        .route("/patch/{id}/", get(legacy_patch))
        .route("/cover/{id}/", get(legacy_cover))
        .route("/comment/{id}/", get(legacy_comment))
}

fn page(title: &str, body: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{} – patchtrack</title></head>\
             <body>{body}</body></html>\n",
            html::escape(title)
        ),
    )
        .into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Not found", "<h1>Not found</h1>"),
    )
        .into_response()
}

fn server_error(e: &patchtrack_store::StoreError) -> Response {
    tracing::error!(error = %e, "page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "server error").into_response()
}

async fn pwclientrc(
    State(app): State<Arc<App>>,
    Path(linkname): Path<String>,
    headers: HeaderMap,
) -> Response {
    match app.store.cached_project(&linkname).await {
        Ok(Some(p)) => {
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
            (
                [
                    (header::CONTENT_TYPE, "text/plain"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=.pwclientrc",
                    ),
                ],
                body,
            )
                .into_response()
        }
        Ok(None) => not_found(),
        Err(e) => server_error(&e),
    }
}

async fn legacy_patch(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> crate::download::Download {
    crate::download::legacy_patch_target(&app, &id, "").await
}

async fn legacy_cover(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> crate::download::Download {
    crate::download::legacy_cover_target(&app, &id, "").await
}

/// Straight to the parent's page with the comment id as the fragment, as
/// upstream does (patch comments first, then cover comments: the ids of
/// the two tables overlap). The page anchors each comment by its bare id.
async fn legacy_comment(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let projects = match app.store.projects_by_id().await {
        Ok(p) => p,
        Err(e) => return server_error(&e),
    };
    let link = |project_id: i64| {
        projects
            .get(&project_id)
            .map_or("", |p| p.linkname.as_str())
    };
    let page = match app.store.comment_parent(id).await {
        Ok(Some(Parent::Patch(p))) => app
            .store
            .patch(p)
            .await
            .map(|p| p.map(|p| urls::patch(link(p.project_id), &p.msgid))),
        Ok(Some(Parent::Cover(c))) => app
            .store
            .cover(c)
            .await
            .map(|c| c.map(|c| urls::cover(link(c.project_id), &c.msgid))),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    match page {
        Ok(Some(page)) => found(&format!("{page}#{id}")),
        Ok(None) => not_found(),
        Err(e) => server_error(&e),
    }
}

/// A 302 to `location`, as Django's redirects are.
fn found(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}
