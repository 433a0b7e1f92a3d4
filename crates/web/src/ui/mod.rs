//! The web UI: server-rendered pages at Patchwork's URLs, usable without
//! JavaScript. Handlers read the request into a [`Req`] (who is asking,
//! their CSRF token, pending messages), call the store, and render an
//! askama template; everything a mail says is escaped by the templates or
//! by [`render`].
//!
//! Forms are protected by a synchronizer token: a logged-in browser's
//! comes with its session (the same token the API's `X-CSRFToken` checks),
//! an anonymous browser's (the login form) sits in a `csrftoken` cookie.
//! Every POST must echo it in `csrfmiddlewaretoken`, and a cross-site
//! `Origin` is refused outright.

// Helpers return the page to answer with as their error, and handlers
// send it back at once: boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod auth;
mod bundle;
mod list;
mod project;
pub(crate) mod render;
mod submission;
mod user;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use patchtrack_store::{Principal, Project, StoreError};

use crate::App;

/// The page routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(project::index))
        .route("/project/{linkname}/", get(project::about))
        .route(
            "/project/{linkname}/settings/",
            get(project::settings).post(project::save_settings),
        )
        .route(
            "/project/{linkname}/list/",
            get(list::project_list).post(list::project_list_post),
        )
        .route(
            "/project/{linkname}/patch/{msgid}/",
            get(submission::patch).post(submission::patch_post),
        )
        .route(
            "/project/{linkname}/cover/{msgid}/",
            get(submission::cover).post(submission::cover_post),
        )
        .route("/project/{linkname}/bundles/", get(bundle::project_bundles))
        .route("/user/bundles/", get(bundle::user_bundles))
        .route(
            "/bundle/{owner}/{name}/",
            get(bundle::bundle).post(bundle::bundle_post),
        )
        .route("/user/login/", get(auth::login).post(auth::login_post))
        .route("/user/logout/", axum::routing::post(auth::logout))
        .route(
            "/user/password-change/",
            get(auth::password).post(auth::password_post),
        )
        .route("/user/", get(user::profile).post(user::profile_post))
        .route("/user/todo/", get(user::todo))
        .route(
            "/user/todo/{linkname}/",
            get(list::todo_list).post(list::project_list_post),
        )
        .route("/static/patchtrack.css", get(stylesheet))
        .route("/static/patchtrack.js", get(script))
}

async fn stylesheet() -> Response {
    static_file("text/css", include_str!("../../static/patchtrack.css"))
}

async fn script() -> Response {
    static_file(
        "text/javascript",
        include_str!("../../static/patchtrack.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The project a page belongs to, for the navigation bar.
#[derive(Debug, Clone)]
pub(crate) struct NavProject {
    pub linkname: String,
    pub name: String,
}

/// What the layout (`base.html`) shows on every page.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub title: String,
    pub project: Option<NavProject>,
    /// The logged-in user's name.
    pub user: Option<String>,
    pub csrf: String,
    pub messages: Vec<String>,
    /// Patches waiting for the logged-in user.
    pub todo: i64,
    pub version: &'static str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    base: Base,
    detail: String,
}

/// A page request: who asks, and what the response must carry back.
pub(crate) struct Req {
    pub app: Arc<App>,
    pub principal: Option<Principal>,
    session_id: Option<String>,
    pub csrf: String,
    /// `Set-Cookie` values for the response.
    cookies: Vec<String>,
    messages: Vec<String>,
    todo: i64,
    headers: HeaderMap,
}

/// Parses the `Cookie` headers into (name, value) pairs.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers)
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// Flash messages travel in a cookie from a POST to the page it redirects
/// to, percent-encoded and separated by newlines.
fn flash_messages(headers: &HeaderMap) -> Vec<String> {
    cookie(headers, "flash")
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .split('\n')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `Set-Cookie` attributes every cookie of ours has.
const COOKIE_ATTRS: &str = "Path=/; HttpOnly; SameSite=Lax";

impl Req {
    /// Reads the session (a stale one counts as none), the CSRF token and
    /// pending messages.
    pub async fn new(app: Arc<App>, headers: &HeaderMap) -> Result<Req, Response> {
        let mut req = Req {
            app,
            principal: None,
            session_id: None,
            csrf: String::new(),
            cookies: Vec::new(),
            messages: flash_messages(headers),
            todo: 0,
            headers: headers.clone(),
        };
        if !req.messages.is_empty() {
            req.cookies
                .push(format!("flash=; Max-Age=0; {COOKIE_ATTRS}"));
        }
        if let Some(id) = cookie(headers, "sessionid") {
            match req.app.store.session(id).await {
                Ok(Some(s)) => {
                    req.session_id = Some(id.to_string());
                    req.csrf = s.csrf_token;
                    req.principal = Some(s.principal);
                }
                Ok(None) => {}
                Err(e) => return Err(server_error(&e)),
            }
        }
        if let Some(p) = &req.principal {
            req.todo = match req.app.store.todo_count(p.user.id).await {
                Ok(n) => n,
                Err(e) => return Err(server_error(&e)),
            };
        } else if let Some(t) = cookie(headers, "csrftoken").filter(|t| t.len() == 64) {
            req.csrf = t.to_string();
        } else {
            req.csrf = match patchtrack_store::random_hex(32) {
                Ok(t) => t,
                Err(e) => return Err(server_error(&e)),
            };
            req.cookies
                .push(format!("csrftoken={}; {COOKIE_ATTRS}", req.csrf));
        }
        Ok(req)
    }

    /// Reads a form POST: the request, then its body, which must carry the
    /// token and come from this site (else the 403 page to answer with).
    pub async fn post(
        app: Arc<App>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<(Req, Form), Response> {
        let req = Req::new(app, headers).await?;
        let form = Form::parse(body);
        if form
            .0
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            // No stored text holds a NUL, and PostgreSQL refuses one.
            return Err((
                StatusCode::BAD_REQUEST,
                "Null characters are not allowed.\n",
            )
                .into_response());
        }
        let req = req.check_form(&form)?;
        Ok((req, form))
    }

    /// Logs this browser in as `user_id`: a new session and its cookie.
    pub async fn start_session(&mut self, user_id: i64) -> Result<(), StoreError> {
        let (id, _csrf) = self.app.store.create_session(user_id).await?;
        let max_age = patchtrack_store::SESSION_MICROS / 1_000_000;
        self.cookies
            .push(format!("sessionid={id}; Max-Age={max_age}; {COOKIE_ATTRS}"));
        Ok(())
    }

    /// The layout's data.
    pub fn base(&self, title: impl Into<String>, project: Option<&Project>) -> Base {
        Base {
            title: title.into(),
            project: project.map(|p| NavProject {
                linkname: p.linkname.clone(),
                name: p.name.clone(),
            }),
            user: self.principal.as_ref().map(|p| p.user.username.clone()),
            csrf: self.csrf.clone(),
            messages: self.messages.clone(),
            todo: self.todo,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Adds a message to the page being rendered.
    pub fn message(&mut self, text: impl Into<String>) {
        self.messages.push(text.into());
    }

    /// Whether the browser reached us over HTTPS (directly configured, or
    /// as a proxy says): cookies are then `Secure`.
    fn secure(&self) -> bool {
        self.app
            .base_url
            .as_deref()
            .is_some_and(|b| b.starts_with("https://"))
            || self
                .headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes() == b"https")
    }

    fn finish(self, status: StatusCode, mut response: Response) -> Response {
        *response.status_mut() = status;
        let secure = self.secure();
        let h = response.headers_mut();
        for c in self.cookies {
            let c = if secure { format!("{c}; Secure") } else { c };
            if let Ok(v) = c.parse() {
                h.append(header::SET_COOKIE, v);
            }
        }
        // Pages carry CSRF tokens, and the profile a new API token.
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        // No inline script runs here, so none can be injected either.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            ),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
        response
    }

    /// Renders a page.
    pub fn render(self, page: &impl Template) -> Response {
        self.render_status(StatusCode::OK, page)
    }

    /// Renders a page with another status.
    pub fn render_status(self, status: StatusCode, page: &impl Template) -> Response {
        match page.render() {
            Ok(html) => {
                let response =
                    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
                self.finish(status, response)
            }
            Err(e) => {
                tracing::error!(error = %e, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server error").into_response()
            }
        }
    }

    /// A page saying what went wrong.
    pub fn error(self, status: StatusCode, title: &str, detail: &str) -> Response {
        let page = ErrorPage {
            base: self.base(title, None),
            detail: detail.to_string(),
        };
        self.render_status(status, &page)
    }

    /// 404.
    pub fn not_found(self) -> Response {
        self.error(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing at this address.",
        )
    }

    /// 403.
    pub fn forbidden(self, detail: &str) -> Response {
        self.error(StatusCode::FORBIDDEN, "Forbidden", detail)
    }

    /// 500 for a store failure (logged, not shown).
    pub fn failed(self, e: &StoreError) -> Response {
        tracing::error!(error = %e, "page failed");
        self.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            "Something went wrong on our side; it has been logged.",
        )
    }

    /// A 302 to `location` (after a POST, so that a reload does not repeat
    /// it), with messages for the next page.
    pub fn redirect(mut self, location: &str, messages: &[String]) -> Response {
        if !messages.is_empty() {
            let text = messages.join("\n");
            let encoded =
                percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC);
            self.cookies.retain(|c| !c.starts_with("flash="));
            self.cookies
                .push(format!("flash={encoded}; Max-Age=60; {COOKIE_ATTRS}"));
        }
        let response = (
            StatusCode::FOUND,
            [(header::LOCATION, location.to_string())],
        )
            .into_response();
        self.finish(StatusCode::FOUND, response)
    }

    /// Redirects anonymous users to the login page, coming back here.
    pub fn login_first(self, back_to: &str) -> Response {
        let next =
            percent_encoding::utf8_percent_encode(back_to, percent_encoding::NON_ALPHANUMERIC);
        let location = format!("/user/login/?next={next}");
        self.redirect(&location, &[])
    }

    /// Checks a POST: same-origin (when the browser says) and the form's
    /// token. The error is the 403 page to answer with.
    pub fn check_form(self, form: &Form) -> Result<Req, Response> {
        if let Some(origin) = self
            .headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        {
            // This site's host: configured, else as the proxy or the
            // browser names it.
            let configured = self.app.base_url.as_deref().map(|b| {
                b.split_once("://")
                    .map_or(b, |(_, h)| h)
                    .trim_end_matches('/')
            });
            let header_host = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok());
            let host = configured
                .or_else(|| header_host("x-forwarded-host"))
                .or_else(|| header_host("host"))
                .unwrap_or("");
            let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
            if origin != "null" && !origin_host.eq_ignore_ascii_case(host) {
                return Err(self.forbidden("Cross-site form submissions are refused."));
            }
        }
        let given = form.get("csrfmiddlewaretoken").unwrap_or("");
        if self.csrf.is_empty()
            || !crate::api::constant_time_eq(given.as_bytes(), self.csrf.as_bytes())
        {
            return Err(self.forbidden(
                "CSRF verification failed: reload the page and submit the form again.",
            ));
        }
        Ok(self)
    }

    /// Sets a cookie on the response.
    pub fn set_cookie(&mut self, value: String) {
        self.cookies.push(value);
    }

    /// The session cookie value, when logged in.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The viewer's list settings (Patchwork's defaults when anonymous),
    /// read once per page.
    pub async fn settings(&self) -> Result<patchtrack_store::Settings, StoreError> {
        let stored = match &self.principal {
            Some(p) => self.app.store.user(p.user.id).await?.map(|u| u.settings),
            None => None,
        };
        Ok(stored.unwrap_or(patchtrack_store::Settings {
            send_email: false,
            items_per_page: 100,
            show_ids: false,
        }))
    }
}

/// A 500 before a [`Req`] exists.
fn server_error(e: &StoreError) -> Response {
    tracing::error!(error = %e, "page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "server error").into_response()
}

/// A submitted form (`application/x-www-form-urlencoded`), fields in order.
#[derive(Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Parses a request body.
    pub fn parse(body: &Bytes) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Parses a query string.
    pub fn query(query: Option<&str>) -> Form {
        Form(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A date as lists show it (`2024-01-31`).
pub(crate) fn day(t: patchtrack_store::time::Micros) -> String {
    patchtrack_store::time::iso(t)
        .get(..10)
        .unwrap_or_default()
        .to_string()
}

/// A date and time (`2024-01-31 12:34:56`).
pub(crate) fn when(t: patchtrack_store::time::Micros) -> String {
    patchtrack_store::time::iso(t)
        .get(..19)
        .unwrap_or_default()
        .replace('T', " ")
}

/// How a series is shown: its name, else its id (an empty name, from a
/// cover letter whose subject was only prefixes, shows nothing either).
pub(crate) fn series_label(name: Option<&str>, id: i64) -> String {
    match name {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("Series {id}"),
    }
}

/// How a person is shown: name, else address.
pub(crate) fn person_name(p: &patchtrack_store::PersonRef) -> String {
    match &p.name {
        Some(n) if !n.trim().is_empty() => n.clone(),
        _ => p.email.clone(),
    }
}
