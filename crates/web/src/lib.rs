//! `patchtrack-web`: Patchwork's REST API (1.0 to 1.4), the downloads
//! clients fetch, and the pages, over a [`patchtrack_store::Store`].
//!
//! No SQL here: handlers read the request, call store functions named in
//! domain words, and render.

#![warn(missing_docs)]

pub mod api;
mod download;
mod error;
mod html;
pub mod json;
mod pages;
mod ui;
pub mod urls;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use patchtrack_store::Store;

pub use error::ApiError;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct App {
    /// The database.
    pub store: Store,
    /// External base URL (`https://host`), when the Host header must not
    /// be trusted or a proxy rewrites it.
    pub base_url: Option<String>,
}

/// The whole site: API, downloads and pages.
pub fn router(app: App) -> Router {
    let app = Arc::new(app);
    Router::new()
        .route("/api", axum::routing::any(api_root))
        .route("/api/", axum::routing::any(api_root))
        .route("/api/{*rest}", axum::routing::any(api_rest))
        .merge(pages::routes())
        .merge(ui::routes())
        .merge(download::routes())
        .with_state(app)
}

async fn api_root(
    State(app): State<Arc<App>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    api::serve(&app, method, "", uri.query(), &headers, body).await
}

async fn api_rest(
    State(app): State<Arc<App>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = uri.path().strip_prefix("/api/").unwrap_or("");
    api::serve(&app, method, rest, uri.query(), &headers, body).await
}

/// Serves the site on `listener` until the process is stopped.
///
/// HTTP/1.1 with header names in title case (`Link`, not `link`):
/// pwclient looks the pagination header up case-sensitively, so hyper's
/// default lower-casing would break it.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    use tower::Service;
    let mut make = router(app).into_make_service();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make.call(()).await;
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = hyper_util::service::TowerToHyperService::new(service);
            let conn = hyper::server::conn::http1::Builder::new()
                .title_case_headers(true)
                .serve_connection(io, service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}
