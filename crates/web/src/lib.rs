//! `patchtrack-web`: Patchwork's REST API (1.0 to 1.4), the downloads
//! clients fetch, and the pages, over a [`patchtrack_store::Store`].
//!
//! No SQL here: handlers read the request, call store functions named in
//! domain words, and render.

#![warn(missing_docs)]

pub mod api;
mod autocomplete;
mod download;
mod error;
mod html;
mod interdiff;
pub mod json;
pub mod mbox;
pub mod metrics;
pub mod notification;
mod pages;
pub mod proxy;
mod refusal;
pub mod server;
pub mod throttle;
mod ui;
pub mod urls;
mod xmlrpc;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use patchtrack_store::Store;
use patchtrack_store::time::SiteZone;

pub use error::ApiError;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct App {
    /// The database.
    pub store: Store,
    /// External base URL (`https://host`), when the Host header must not
    /// be trusted or a proxy rewrites it.
    pub base_url: Option<String>,
    /// Failed logins, for the throttle every password check goes through.
    pub logins: Arc<throttle::Logins>,
    /// Whether `/xmlrpc/` answers (Patchwork's `ENABLE_XMLRPC`; pwclient
    /// before 2.10 and DPDK's CI scripts need it).
    pub xmlrpc: bool,
    /// The zone of event and check dates ([`SiteZone`]).
    pub zone: SiteZone,
    /// The watcher of new events that feeds the event streams.
    pub events: Arc<api::Hub>,
    /// Request counts and latencies for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
}

impl App {
    /// A site over `store` with the defaults: links from the Host header,
    /// XML-RPC on.
    pub fn new(store: Store) -> App {
        App {
            store,
            base_url: None,
            logins: Arc::default(),
            xmlrpc: true,
            zone: SiteZone::utc(),
            events: Arc::default(),
            metrics: Arc::default(),
        }
    }
}

/// The whole site: API, downloads and pages.
pub fn router(app: App) -> Router {
    let app = Arc::new(app);
    Router::new()
        .route("/api", axum::routing::any(api_root))
        .route("/api/", axum::routing::any(api_root))
        .route("/api/{*rest}", axum::routing::any(api_rest))
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(metrics::serve))
        .merge(pages::routes())
        .merge(ui::routes())
        .merge(download::routes())
        .merge(xmlrpc::routes())
        .merge(autocomplete::routes())
        .layer(axum::extract::DefaultBodyLimit::max(api::BODY_LIMIT))
        .layer(axum::middleware::from_fn(refuse_nul))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            metrics::track,
        ))
        .with_state(app)
}

/// `GET /healthz`: the process serves requests (a liveness probe: it
/// asks nothing of the database, so a database outage does not get the
/// server restarted for nothing).
async fn healthz() -> Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        "ok\n",
    )
        .into_response()
}

/// `GET /readyz`: the database answers (a readiness probe: a load
/// balancer sends no traffic to a node whose database is away). 503 with
/// the reason otherwise.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    use axum::response::IntoResponse;
    let text = [(
        axum::http::header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    )];
    let probe = tokio::time::timeout(std::time::Duration::from_secs(5), app.store.ping()).await;
    match probe {
        Ok(Ok(())) => (text, "ready\n".to_string()).into_response(),
        Ok(Err(e)) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            text,
            format!("database unavailable: {e}\n"),
        )
            .into_response(),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            text,
            "database unavailable: no answer within 5 s\n".to_string(),
        )
            .into_response(),
    }
}

/// A NUL can only reach a URL as `%00`, and nothing stored holds one
/// (PostgreSQL cannot store it; it answered such lookups with a 500). A
/// page or download whose path names one is a 404, one whose query has one
/// a 400; the API reads its own query (its list filters match nothing).
async fn refuse_nul(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::response::IntoResponse;
    let uri = request.uri();
    let api = uri.path() == "/api" || uri.path().starts_with("/api/");
    if !api && has_nul(uri.path()) {
        return api::not_found_page();
    }
    if !api && uri.query().is_some_and(has_nul) {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            "Null characters are not allowed.\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// Whether a raw (percent-encoded) path or query holds a NUL.
pub(crate) fn has_nul(raw: &str) -> bool {
    raw.contains("%00") || raw.contains('\0')
}

async fn api_root(
    State(app): State<Arc<App>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    client: Option<axum::Extension<server::ClientAddr>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client = client.map(|c| c.0.0.ip());
    let body = match body {
        Ok(b) => b,
        Err(refused) => return api::body_refused(&refused),
    };
    let mut response = api::serve(&app, method, "", uri.query(), &headers, body, client).await;
    response
        .extensions_mut()
        .insert(metrics::RouteLabel(api::route_label("")));
    response
}

async fn api_rest(
    State(app): State<Arc<App>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    client: Option<axum::Extension<server::ClientAddr>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client = client.map(|c| c.0.0.ip());
    let body = match body {
        Ok(b) => b,
        Err(refused) => return api::body_refused(&refused),
    };
    let rest = uri.path().strip_prefix("/api/").unwrap_or("");
    let mut response = api::serve(&app, method, rest, uri.query(), &headers, body, client).await;
    response
        .extensions_mut()
        .insert(metrics::RouteLabel(api::route_label(rest)));
    response
}

/// Serves the site on `listener` within `limits` (see [`server`]) until
/// `shutdown` resolves, then lets the requests in progress finish.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    limits: server::Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    server::run(router(app), listener, limits, shutdown).await
}
