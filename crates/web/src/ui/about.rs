//! `/about/`: the version and which APIs this site serves (Patchwork's
//! help pages redirect here).

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Base, PageError, Req};

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage {
    base: Base,
    xmlrpc: bool,
    api_url: String,
}

/// `GET /about/`.
pub async fn about(req: Req) -> Result<Response, PageError> {
    let page = AboutPage {
        base: req.base("About", None),
        xmlrpc: req.app.xmlrpc,
        api_url: format!("{}/api/", crate::api::base_url(&req.app, req.headers())),
    };
    Ok(req.render(&page))
}

/// `/help/`, `/help/about/` and `/help/pwclient/`: moved for good, as
/// upstream says with a 301.
pub async fn help() -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, "/about/")],
    )
        .into_response()
}
