//! Downloads: patch, cover, series and bundle mboxes and the raw diff,
//! with Patchwork's content types and unquoted `Content-Disposition`
//! file names (git-pw saves under that name; pwclient strips `.patch`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use patchtrack_mail::export::{self, Submission};
use patchtrack_store::{Parent, Patch, Project, StoreError};

use crate::App;
use crate::api::params::Params;

/// The download routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/project/{linkname}/patch/{msgid}/mbox/", get(patch_mbox))
        .route("/project/{linkname}/patch/{msgid}/raw/", get(patch_raw))
        .route("/project/{linkname}/cover/{msgid}/mbox/", get(cover_mbox))
        .route("/series/{id}/mbox/", get(series_mbox))
        .route("/bundle/{owner}/{name}/mbox/", get(bundle_mbox))
        .route("/patch/{id}/mbox/", get(legacy_patch_mbox))
        .route("/patch/{id}/raw/", get(legacy_patch_raw))
        .route("/cover/{id}/mbox/", get(legacy_cover_mbox))
}

/// Why a download is not sent.
#[derive(Debug)]
pub(crate) enum DownloadError {
    /// Upstream raises `Http404` for every missing download (unknown
    /// patch, `?series=` on a patch outside any series or naming another
    /// one): browsers and clients get Django's HTML 404 page, not text.
    NotFound,
    /// A plain-text 500; the cause is logged, not shown.
    Store(StoreError),
}

impl From<StoreError> for DownloadError {
    fn from(e: StoreError) -> Self {
        DownloadError::Store(e)
    }
}

impl IntoResponse for DownloadError {
    fn into_response(self) -> Response {
        match self {
            DownloadError::NotFound => crate::api::not_found_page(),
            DownloadError::Store(e) => {
                tracing::error!(error = %e, "download failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server error\n").into_response()
            }
        }
    }
}

/// What a download handler answers.
pub(crate) type Download = Result<Response, DownloadError>;

fn attachment(content_type: &'static str, filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename={filename}"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The project of a web URL and its patch with this message-id.
pub(crate) async fn project_patch(
    app: &App,
    linkname: &str,
    msgid: &str,
) -> Result<Option<(Project, Patch)>, StoreError> {
    let Some(project) = app.store.cached_project(linkname).await? else {
        return Ok(None);
    };
    let patch = app
        .store
        .patch_by_msgid(project.id, &format!("<{msgid}>"))
        .await?;
    Ok(patch.map(|p| (project, p)))
}

async fn patch_mbox(
    State(app): State<Arc<App>>,
    Path((linkname, msgid)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Download {
    let (_, patch) = project_patch(&app, &linkname, &msgid)
        .await?
        .ok_or(DownloadError::NotFound)?;
    let params = Params::parse(uri.query());
    let mut patches = vec![patch.clone()];
    // An empty `?series=` is no request for the series (a falsy value
    // upstream).
    if let Some(wanted) = params.last("series").filter(|s| !s.is_empty()) {
        let series = patch.series.as_ref().ok_or(DownloadError::NotFound)?;
        if wanted != "*" && wanted.parse::<i64>().ok() != Some(series.id) {
            return Err(DownloadError::NotFound);
        }
        // The patch and every patch with a lower number, in number order.
        let ids = app.store.series_patch_ids(series.id).await?;
        patches = app.store.patches_by_ids(&ids).await?;
        patches.retain(|p| p.number <= patch.number);
    }
    let text = crate::mbox::patches_mbox(&app.store, &patches).await?;
    Ok(attachment(
        "text/plain; charset=utf-8",
        &format!("{}.patch", export::filename(&patch.name)),
        text,
    ))
}

async fn patch_raw(
    State(app): State<Arc<App>>,
    Path((linkname, msgid)): Path<(String, String)>,
) -> Download {
    let (_, p) = project_patch(&app, &linkname, &msgid)
        .await?
        .ok_or(DownloadError::NotFound)?;
    Ok(attachment(
        "text/x-patch",
        &format!("{}.diff", export::filename(&p.name)),
        p.body.and_then(|b| b.diff).unwrap_or_default(),
    ))
}

async fn cover_mbox(
    State(app): State<Arc<App>>,
    Path((linkname, msgid)): Path<(String, String)>,
) -> Download {
    let project = app
        .store
        .cached_project(&linkname)
        .await?
        .ok_or(DownloadError::NotFound)?;
    let cover = app
        .store
        .cover_by_msgid(project.id, &format!("<{msgid}>"))
        .await?
        .ok_or(DownloadError::NotFound)?;
    let comments = app.store.all_comments(Parent::Cover(cover.id)).await?;
    let body = cover.body.as_ref();
    let (ctime, rfc2822) = crate::mbox::date_forms(cover.date);
    let text = export::mbox(&Submission {
        id: cover.id,
        headers: body.map_or("", |b| b.headers.as_str()),
        content: body.and_then(|b| b.content.as_deref()),
        diff: None,
        submitter_name: cover.submitter.name.as_deref(),
        submitter_email: &cover.submitter.email,
        delegate_email: None,
        list_email: &project.listemail,
        comments: comments
            .iter()
            .filter_map(|c| c.content.as_deref())
            .collect(),
        ctime,
        rfc2822,
    });
    Ok(attachment(
        "text/plain",
        &format!("{}.mbox", export::filename(&cover.name)),
        text,
    ))
}

async fn series_mbox(State(app): State<Arc<App>>, Path(id): Path<String>) -> Download {
    let id = id.parse::<i64>().map_err(|_| DownloadError::NotFound)?;
    let series = app.store.series(id).await?.ok_or(DownloadError::NotFound)?;
    let ids = app.store.series_patch_ids(id).await?;
    let name = series
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("Untitled series #{id}"));
    let text = crate::mbox::patch_ids_mbox(&app.store, &ids).await?;
    Ok(attachment(
        "text/plain",
        &format!("{}.patch", export::filename(&name)),
        text,
    ))
}

async fn bundle_mbox(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Download {
    let viewer = match crate::api::authenticate(&app, &headers, None).await {
        Ok(p) => p.map(|(p, _)| p.user.id),
        Err(_) => None,
    };
    let bundle = app
        .store
        .bundle_by_name(&owner, &name, viewer)
        .await?
        .ok_or(DownloadError::NotFound)?;
    let text = crate::mbox::patch_ids_mbox(&app.store, &bundle.order).await?;
    Ok(attachment(
        "text/plain",
        &format!("bundle-{}-{}.mbox", bundle.id, bundle.name),
        text,
    ))
}

/// A 302 to `location` without cookies, as Django's redirects are: an
/// empty body that still says `text/html; charset=utf-8`.
pub(crate) fn found(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location.to_string()),
            (header::CONTENT_TYPE, DJANGO_HTML.to_string()),
        ],
    )
        .into_response()
}

/// The Content-Type Django gives every response it does not type itself.
pub(crate) const DJANGO_HTML: &str = "text/html; charset=utf-8";

/// A 302 from `/patch/ID/...` to the patch's URL plus `suffix`.
pub(crate) async fn legacy_patch_target(app: &App, id: &str, suffix: &str) -> Download {
    let id = id.parse::<i64>().map_err(|_| DownloadError::NotFound)?;
    let projects = app.store.projects_by_id().await?;
    let p = app.store.patch(id).await?.ok_or(DownloadError::NotFound)?;
    let link = projects.get(&p.project_id).map_or("", |p| &p.linkname);
    Ok(found(&format!(
        "{}{suffix}",
        crate::urls::patch(link, &p.msgid)
    )))
}

async fn legacy_patch_mbox(State(app): State<Arc<App>>, Path(id): Path<String>) -> Download {
    legacy_patch_target(&app, &id, "mbox/").await
}

async fn legacy_patch_raw(State(app): State<Arc<App>>, Path(id): Path<String>) -> Download {
    legacy_patch_target(&app, &id, "raw/").await
}

async fn legacy_cover_mbox(State(app): State<Arc<App>>, Path(id): Path<String>) -> Download {
    legacy_cover_target(&app, &id, "mbox/").await
}

/// A 302 from `/cover/ID/...` to the cover's URL plus `suffix`.
pub(crate) async fn legacy_cover_target(app: &App, id: &str, suffix: &str) -> Download {
    let id = id.parse::<i64>().map_err(|_| DownloadError::NotFound)?;
    let projects = app.store.projects_by_id().await?;
    let c = app.store.cover(id).await?.ok_or(DownloadError::NotFound)?;
    let link = projects.get(&c.project_id).map_or("", |p| &p.linkname);
    Ok(found(&format!(
        "{}{suffix}",
        crate::urls::cover(link, &c.msgid)
    )))
}
