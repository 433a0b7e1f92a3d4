//! Patchwork's legacy XML-RPC API at `/xmlrpc/`, which pwclient (before
//! 2.10, and with `backend = xmlrpc` since) and DPDK's CI scripts speak.
//!
//! Answers are Python's bytes (see [`wire`]): HTTP 200 with
//! `text/html; charset=utf-8` even for faults, every fault with code 1 and
//! the text `<class 'Type'>:message`, as Patchwork's dispatcher sends
//! them. `GET` serves the documentation page, other methods a 302 to `/`.
//! Only the two write methods read credentials, HTTP Basic only.

mod methods;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::App;
use crate::server::ClientAddr;

/// The XML-RPC route.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/xmlrpc/", axum::routing::any(endpoint))
}

async fn endpoint(
    State(app): State<Arc<App>>,
    method: Method,
    client: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !app.xmlrpc {
        return crate::api::not_found_page();
    }
    match method {
        Method::POST => {
            let client = client.map(|c| c.0.0.ip());
            let answer = match wire::parse_call(&body) {
                Ok(call) => methods::dispatch(&app, &headers, client, call).await,
                Err(wire::Malformed(why)) => {
                    Err(methods::Fault::new("xml.parsers.expat.ExpatError", why))
                }
            };
            let text = match answer {
                Ok(value) => wire::response(&value).unwrap_or_else(|wire::Unmarshallable(t, m)| {
                    wire::fault(1, &methods::Fault::new(t, m).text())
                }),
                Err(fault) => wire::fault(1, &fault.text()),
            };
            html(StatusCode::OK, text)
        }
        Method::GET | Method::HEAD => html(StatusCode::OK, methods::documentation()),
        _ => (StatusCode::FOUND, [(header::LOCATION, "/")]).into_response(),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}
